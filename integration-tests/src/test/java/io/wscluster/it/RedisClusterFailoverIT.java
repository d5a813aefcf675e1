package io.wscluster.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * Three demo nodes on a real Redis Cluster (3 masters, 3 replicas, {@link RedisClusterProcess}), configured by
 * {@code config/redisson-cluster.yaml} with only its addresses replaced and otherwise the default configuration,
 * under a steady stream of broadcasts ({@link FailoverStream}; {@code -Dit.failover.rate}, default
 * {@value #RATE} messages a second to 9 clients). The master owning the broadcast channel's slot is killed (SIGKILL)
 * and its replica takes over; or the slot moves to another master mid-stream. Every client must get every message
 * exactly once and in each sender's order; how soon the held messages flow after the promotion is logged, not
 * asserted. The pub/sub mode is {@code -Dit.redis.pubsub} when set, else the node's default.
 */
class RedisClusterFailoverIT {

  static final int RATE = Integer.getInteger("it.failover.rate", 3_400);
  private static final Duration BEFORE = Duration.ofSeconds(2);
  private static final Duration AFTER = Duration.ofSeconds(Long.getLong("it.failover.after-seconds", 3));

  private static Cluster start(String name, Map<String, Object> hooks) throws Exception {
    return start(name, hooks, Map.of());
  }

  private static Cluster start(String name, Map<String, Object> hooks, Map<String, String> parameters)
      throws Exception {
    return FailoverStream.start(name, RedisClusterProcess.start(3, 1), hooks, parameters);
  }

  /** Kills the master owning the broadcast channel's slot; returns when its replica serves the slot. */
  private static FailoverStream.Fault killBroadcastMaster(Cluster cluster) {
    RedisClusterProcess redis = (RedisClusterProcess) cluster.topology();
    return () -> {
      int slot = redis.slotOf(cluster.prefix() + ":all");
      RedisServer master = redis.killMaster(redis.slotOwnerOf(slot));
      return redis.awaitNewOwner(slot, master, FailoverStream.LIVENESS);
    };
  }

  @Test
  void broadcastSlotMasterKilled_defaultConfig_everyMessageExactlyOnceInOrder() throws Exception {
    try (Cluster cluster = start("cluster-kill", Map.of())) {
      FailoverStream.Result r = FailoverStream.run(cluster, "cluster-kill", RATE, BEFORE, AFTER,
          killBroadcastMaster(cluster), true);
      r.report().assertExactlyOnce(r.messages() + " messages across a Redis Cluster master kill");
      assertEquals(List.of(), r.orderProblems());
      assertEquals(0, r.sum("outageDropped"), r.stats().toString());
      // Not asserted: that the kill held anything back. Redisson's own retries ride over the failover in some
      // runs (nothing held) and not in others; the control below shows the kill loses messages when the hold
      // and the chains are off, and FailoverStream logs outageHeld per run.
    }
  }

  /**
   * The control: with the outage hold off (every publish counts as received) and the chains off (nobody asks for a
   * missing frame again), what the nodes published while the slot had no master is lost, and the checker says so.
   */
  @org.junit.jupiter.api.Disabled("Redisson's retries ride over a master kill in some runs: with nothing lost even "
      + "unprotected, this control does not reliably show loss")
  @Test
  void negativeControl_broadcastSlotMasterKilled_holdAndChainsOff_checkerSeesLoss() throws Exception {
    try (Cluster cluster = start("cluster-kill-unheld", FailoverStream.UNPROTECTED)) {
      FailoverStream.Result r = FailoverStream.run(cluster, "cluster-kill-unheld", RATE, BEFORE, AFTER,
          killBroadcastMaster(cluster), false);
      assertFalse(r.report().missing().isEmpty(), "the checker must see lost messages: " + r.report());
    }
  }

  /**
   * Moves the slots of the broadcast channel and of n0's own channel (receipts, resend requests and its liveness
   * probe) each to another master; returns when every master knows the new owners.
   */
  private static FailoverStream.Fault moveSlots(Cluster cluster) {
    RedisClusterProcess redis = (RedisClusterProcess) cluster.topology();
    return () -> {
      java.util.Set<Integer> slots = new java.util.LinkedHashSet<>();
      slots.add(redis.slotOf(cluster.prefix() + ":all"));
      slots.add(redis.slotOf(cluster.prefix() + ":node:" + cluster.node(0).nodeId()));
      for (int slot : slots) {
        RedisServer from = redis.slotOwnerOf(slot);
        RedisServer to = redis.masters().stream().filter(m -> m != from).findFirst().orElseThrow();
        redis.moveSlot(slot, to);
      }
      return System.nanoTime();
    };
  }

  /**
   * The slots of the broadcast channel and of a node's own channel move to other masters mid-stream
   * ({@link RedisClusterProcess#moveSlot}). The publishes then reach the new owner, which counts none of the
   * subscriptions still on the old one, until Redisson reads the new topology and subscribes there: the nodes hold
   * their frames meanwhile (and replay the second before), and nothing is delivered twice.
   */
  @Test
  void channelSlotsMovedToOtherMasters_everyMessageExactlyOnceInOrder() throws Exception {
    try (Cluster cluster = start("cluster-move", Map.of())) {
      FailoverStream.Result r = FailoverStream.run(cluster, "cluster-move", RATE, BEFORE, AFTER,
          moveSlots(cluster), true);
      r.report().assertExactlyOnce(r.messages() + " messages across a slot move");
      assertEquals(List.of(), r.orderProblems());
      assertEquals(0, r.sum("outageDropped"), r.stats().toString());
      assertEquals(0, r.sum("outageGaveUp"), "every node must receive on the new owner: " + r.stats());
    }
  }

  /**
   * The control: without dedup the copies published again around the move reach other nodes' clients twice.
   * Disabled: since room channels and the message history, a move made no node publish again in these runs (the
   * checker saw only the own echoes), so this control no longer shows what the move test guards against; the move
   * test therefore has no working negative control until the fault is made to bite again.
   */
  @org.junit.jupiter.api.Disabled("a slot move no longer makes the nodes publish again: the control shows nothing")
  @Test
  void negativeControl_channelSlotsMoved_dedupOff_checkerSeesDuplicates() throws Exception {
    try (Cluster cluster = start("cluster-move-nodedup", Map.of(JettyNode.TEST_DEDUP, "off"))) {
      FailoverStream.Result r = FailoverStream.run(cluster, "cluster-move-nodedup", RATE, BEFORE, AFTER,
          moveSlots(cluster), false);
      assertFalse(r.duplicatesFromOtherNodes().isEmpty(), "the checker must see copies published again: "
          + r.report());
    }
  }
}
