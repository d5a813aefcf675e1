package io.wscluster;

import java.util.concurrent.CompletableFuture;

/**
 * Which nodes should receive what this node publishes: the live nodes of the directory. Any
 * thread.
 */
interface Peers {
  /** Live nodes, this one included (1 while no directory is known). */
  int liveCount();

  boolean isLive(String node);

  /**
   * The live nodes the directory lists with members in {@code room} (this one included if it
   * has any there): the subscriptions a frame on the room's channel must reach. Fails when the
   * directory cannot answer; with no directory known yet, 1 if this node has members there.
   */
  CompletableFuture<Integer> roomNodes(String room);
}
