package io.wscluster;

/**
 * Which nodes should receive what this node publishes: the live nodes of the directory. Any
 * thread.
 */
interface Peers {
  /** Live nodes, this one included (1 while no directory is known). */
  int liveCount();

  boolean isLive(String node);
}
