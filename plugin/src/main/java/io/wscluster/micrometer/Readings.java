package io.wscluster.micrometer;

import io.wscluster.Health;
import io.wscluster.WsCluster;
import java.util.Map;

/**
 * A node's stats and health for the meters, each read at most once per {@code maxAgeNanos}: a
 * registry reads its meters one after the other, and {@link WsCluster#stats()} walks every local
 * session's outbox, so one snapshot serves the whole scrape. A newer snapshot never gives way to
 * an older one, so a counter read through it never goes back.
 */
final class Readings {
  private final WsCluster cluster;
  private final long maxAgeNanos;
  private Map<String, Long> stats;
  private long statsAt;
  private Health health;
  private long healthAt;

  Readings(WsCluster cluster, long maxAgeNanos) {
    this.cluster = cluster;
    this.maxAgeNanos = maxAgeNanos;
  }

  /** A counter or stats gauge; 0 while the node never bumped it. */
  double stat(String name) {
    Long v = stats().get(name);
    return v == null ? 0 : v;
  }

  synchronized Map<String, Long> stats() {
    long now = System.nanoTime();
    if (stats == null || now - statsAt >= maxAgeNanos) {
      stats = cluster.stats();
      statsAt = now;
    }
    return stats;
  }

  synchronized Health health() {
    long now = System.nanoTime();
    if (health == null || now - healthAt >= maxAgeNanos) {
      health = cluster.health();
      healthAt = now;
    }
    return health;
  }
}
