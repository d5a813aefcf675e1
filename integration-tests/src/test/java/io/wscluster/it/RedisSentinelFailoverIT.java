package io.wscluster.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * Three demo nodes on a Sentinel-managed Redis (master, replica, 3 sentinels, {@link RedisSentinelProcess}),
 * configured by {@code config/redisson-sentinel.yaml} with only the sentinels' addresses replaced and otherwise the
 * default configuration, under a steady stream of broadcasts ({@link FailoverStream}, {@code -Dit.failover.rate}).
 * The master is killed (SIGKILL) mid-stream; the sentinels promote the replica and Redisson follows. Every client
 * must get every message exactly once and in each sender's order; the time from the promotion to the held messages
 * flowing is logged, not asserted.
 */
class RedisSentinelFailoverIT {

  private static final Duration BEFORE = Duration.ofSeconds(2);
  private static final Duration AFTER = Duration.ofSeconds(Long.getLong("it.failover.after-seconds", 3));

  private static Cluster start(String name, Map<String, Object> hooks) throws Exception {
    return start(name, hooks, Map.of());
  }

  private static Cluster start(String name, Map<String, Object> hooks, Map<String, String> parameters)
      throws Exception {
    return FailoverStream.start(name, RedisSentinelProcess.start(), hooks, parameters);
  }

  /** Kills the master; returns when the sentinels report the promoted replica. */
  private static FailoverStream.Fault killMaster(Cluster cluster) {
    RedisSentinelProcess redis = (RedisSentinelProcess) cluster.topology();
    return () -> redis.awaitNewMaster(redis.killMaster(), FailoverStream.LIVENESS);
  }

  @Test
  void masterKilled_defaultConfig_everyMessageExactlyOnceInOrder() throws Exception {
    try (Cluster cluster = start("sentinel-kill", Map.of())) {
      FailoverStream.Result r = FailoverStream.run(cluster, "sentinel-kill", RedisClusterFailoverIT.RATE, BEFORE,
          AFTER, killMaster(cluster), true);
      r.report().assertExactlyOnce(r.messages() + " messages across a Sentinel failover");
      assertEquals(List.of(), r.orderProblems());
      assertEquals(0, r.sum("outageDropped"), r.stats().toString());
      assertTrue(r.sum("outageHeld") > 0, "the kill must have held messages back: " + r.stats());
    }
  }

  /** The control: outage hold and chains off, what was published while there was no master is lost. */
  @Test
  void negativeControl_masterKilled_holdAndChainsOff_checkerSeesLoss() throws Exception {
    // history off: its publish (stream write and PUBLISH in one script) does not go through the transport
    // that the outage-hold hook wraps, so with history on the hold would still protect what it publishes
    try (Cluster cluster = start("sentinel-kill-unheld", FailoverStream.UNPROTECTED,
        Map.of("wscluster.history.enabled", "false"))) {
      FailoverStream.Result r = FailoverStream.run(cluster, "sentinel-kill-unheld", RedisClusterFailoverIT.RATE,
          BEFORE, AFTER, killMaster(cluster), false);
      assertFalse(r.report().missing().isEmpty(), "the checker must see lost messages: " + r.report());
    }
  }
}
