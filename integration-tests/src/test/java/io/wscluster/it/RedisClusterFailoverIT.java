package io.wscluster.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Consumer;
import org.junit.jupiter.api.Test;

/**
 * Three demo nodes on a real Redis Cluster (3 masters, 3 replicas, {@link RedisClusterProcess}), configured by
 * {@code config/redisson-cluster.yaml} with only its addresses replaced and otherwise the default configuration,
 * under a steady stream of messages to one room that every client is in ({@link FailoverStream};
 * {@code -Dit.failover.rate}, default {@value #RATE} messages a second to 9 clients), carried by that room's channel
 * ({@link FailoverStream#streamChannel}). The master owning that channel's slot is killed (SIGKILL) or hung
 * (SIGSTOP) and its replica takes over; or the slot moves to another master mid-stream; or one node's subscription
 * goes deaf. Every client must get every message exactly once and in each sender's order; how soon the held
 * messages flow after the promotion is logged, not asserted. The pub/sub mode is {@code -Dit.redis.pubsub} when set, else the node's default.
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

  /** A fault on the server that owns the stream channel's slot, returning that server. */
  private interface MasterFault {
    RedisServer apply(RedisClusterProcess redis, RedisServer master) throws Exception;
  }

  /**
   * {@code fault} on the master owning the stream channel's slot ({@link FailoverStream#streamChannel}); returns
   * when its replica serves the slot.
   */
  private static FailoverStream.Fault onStreamMaster(Cluster cluster, MasterFault fault) {
    RedisClusterProcess redis = (RedisClusterProcess) cluster.topology();
    return () -> {
      int slot = redis.slotOf(FailoverStream.streamChannel(cluster));
      RedisServer master = fault.apply(redis, redis.slotOwnerOf(slot));
      return redis.awaitNewOwner(slot, master, FailoverStream.LIVENESS);
    };
  }

  /** Kills the master owning the stream channel's slot; returns when its replica serves the slot. */
  private static FailoverStream.Fault killStreamMaster(Cluster cluster) {
    return onStreamMaster(cluster, RedisClusterProcess::killMaster);
  }

  @Test
  void streamSlotMasterKilled_defaultConfig_everyMessageExactlyOnceInOrder() throws Exception {
    try (Cluster cluster = start("cluster-kill", Map.of())) {
      FailoverStream.Result r = FailoverStream.run(cluster, "cluster-kill", RATE, BEFORE, AFTER,
          killStreamMaster(cluster), true);
      r.report().assertExactlyOnce(r.messages() + " messages across a Redis Cluster master kill");
      assertEquals(List.of(), r.orderProblems());
      assertEquals(0, r.sum("outageDropped"), r.stats().toString());
      // Not asserted: how much the kill held back (FailoverStream logs outageHeld per run); the control below
      // shows the kill loses messages when the hold and the chains are off.
    }
  }

  /**
   * The control for the kill: with the outage hold and the chains off, what the nodes published to the dead master
   * and what reached fewer nodes until they all followed the replica is lost, and the checker says so.
   */
  @Test
  void negativeControl_streamSlotMasterKilled_holdAndChainsOff_checkerSeesLoss() throws Exception {
    try (Cluster cluster = start("cluster-kill-unheld", FailoverStream.UNPROTECTED)) {
      FailoverStream.Result r = FailoverStream.run(cluster, "cluster-kill-unheld", RATE, BEFORE, AFTER,
          killStreamMaster(cluster), false);
      assertFalse(r.report().missing().isEmpty(), "the checker must see lost messages: " + r.report());
    }
  }

  /**
   * Pauses the master owning the stream channel's slot (SIGSTOP: a hung host that keeps its connections open,
   * and stays hung to the end of the test); returns when its replica serves the slot.
   */
  private static FailoverStream.Fault hangStreamMaster(Cluster cluster) {
    return onStreamMaster(cluster, RedisClusterProcess::hangMaster);
  }

  /**
   * A hung master: publishes to it go unanswered and subscriptions on it deliver nothing until its replica is
   * promoted and the nodes follow; every message still arrives exactly once, in order.
   */
  @Test
  void streamSlotMasterHung_everyMessageExactlyOnceInOrder() throws Exception {
    try (Cluster cluster = start("cluster-hang", Map.of())) {
      FailoverStream.Result r = FailoverStream.run(cluster, "cluster-hang", RATE, BEFORE, AFTER,
          hangStreamMaster(cluster), true);
      r.report().assertExactlyOnce(r.messages() + " messages across a hung Redis Cluster master");
      assertEquals(List.of(), r.orderProblems());
      assertEquals(0, r.sum("outageDropped"), r.stats().toString());
      assertEquals(0, r.sum("outageGaveUp"), r.stats().toString());
    }
  }

  /**
   * Three nodes on a new Redis Cluster; node n2 gets {@code deafen} (and, for the control, no probes), the others
   * nothing.
   */
  private static Cluster startWithDeafN2(String name, AtomicReference<Consumer<String>> deafen, boolean probes)
      throws Exception {
    Map<String, Object> n2 = new java.util.HashMap<>(Map.of(JettyNode.TEST_DEAFEN, deafen));
    if (!probes) {
      n2.putAll(FailoverStream.UNPROTECTED);
      n2.put(JettyNode.TEST_SHARD_PROBES, "off");
    }
    return Cluster.start(name, RedisClusterProcess.start(3, 1), 3, Map.of(0, Map.of(), 1, Map.of(), 2, n2),
        FailoverStream.nodeParameters(3, Map.of()));
  }

  /** Makes n2's subscription of the stream channel deliver nothing while Redis still counts it. */
  private static FailoverStream.Fault deafenStreamOnN2(Cluster cluster, AtomicReference<Consumer<String>> deafen) {
    return () -> {
      deafen.get().accept(FailoverStream.streamChannel(cluster));
      return System.nanoTime();
    };
  }

  /**
   * One node's subscription of the stream's channel stops delivering while Redis still counts it (a wedged
   * connection, or a client library that lost track of it: the senders see every node reached and hold nothing).
   * The node's probe of the channel does not come back, it subscribes again on a new connection, and what it missed
   * comes again through its chains: every message exactly once, in order.
   */
  @Test
  void streamSubscriptionDeafOnOneNode_probeNotices_everyMessageExactlyOnceInOrder() throws Exception {
    AtomicReference<Consumer<String>> deafen = new AtomicReference<>();
    try (Cluster cluster = startWithDeafN2("cluster-deaf", deafen, true)) {
      FailoverStream.Result r = FailoverStream.run(cluster, "cluster-deaf", RATE, BEFORE, AFTER,
          deafenStreamOnN2(cluster, deafen), true);
      r.report().assertExactlyOnce(r.messages() + " messages across a deaf subscription");
      assertEquals(List.of(), r.orderProblems());
      assertEquals(0, r.sum("outageDropped"), r.stats().toString());
    }
  }

  /** The control: with n2's probes, its outage hold and its chains off, the checker sees n2's clients miss messages. */
  @Test
  void negativeControl_deafSubscription_probesHoldAndChainsOff_checkerSeesLoss() throws Exception {
    AtomicReference<Consumer<String>> deafen = new AtomicReference<>();
    try (Cluster cluster = startWithDeafN2("cluster-deaf-unprobed", deafen, false)) {
      FailoverStream.Result r = FailoverStream.run(cluster, "cluster-deaf-unprobed", RATE, BEFORE, AFTER,
          deafenStreamOnN2(cluster, deafen), false);
      assertFalse(r.report().missing().isEmpty(), "the checker must see lost messages: " + r.report());
    }
  }

  /** Closes every subscriber connection on every master; Redis serves on, so it returns at once. */
  private static FailoverStream.Fault dropSubscribers(Cluster cluster) {
    RedisClusterProcess redis = (RedisClusterProcess) cluster.topology();
    return () -> {
      redis.dropSubscribers();
      return System.nanoTime();
    };
  }

  /**
   * Redis closes every subscriber connection (as it does to a subscriber over its output buffer limit): until the
   * nodes have subscribed again, what is published reaches fewer of them than are live; they hold it and publish it
   * again, and every message arrives exactly once, in order.
   */
  @Test
  void subscriberConnectionsDropped_everyMessageExactlyOnceInOrder() throws Exception {
    try (Cluster cluster = start("cluster-drop", Map.of())) {
      FailoverStream.Result r = FailoverStream.run(cluster, "cluster-drop", RATE, BEFORE, AFTER,
          dropSubscribers(cluster), true);
      r.report().assertExactlyOnce(r.messages() + " messages across dropped subscriber connections");
      assertEquals(List.of(), r.orderProblems());
      assertEquals(0, r.sum("outageDropped"), r.stats().toString());
      assertEquals(0, r.sum("outageGaveUp"), r.stats().toString());
    }
  }

  /**
   * The control for the Cluster tests: with the outage hold and the chains off, what was published while the
   * subscriptions were gone is lost, and the checker says so. (A master kill, a hung master or a slot move are
   * each followed so closely by the subscriptions that unprotected nodes lost nothing in most runs: no control of
   * those faults bites reliably.)
   */
  @Test
  void negativeControl_subscriberConnectionsDropped_holdAndChainsOff_checkerSeesLoss() throws Exception {
    try (Cluster cluster = start("cluster-drop-unheld", FailoverStream.UNPROTECTED)) {
      FailoverStream.Result r = FailoverStream.run(cluster, "cluster-drop-unheld", RATE, BEFORE, AFTER,
          dropSubscribers(cluster), false);
      assertFalse(r.report().missing().isEmpty(), "the checker must see lost messages: " + r.report());
    }
  }

  /**
   * Moves the slots of the stream channel, of the broadcast channel and of n0's own channel (receipts, resend
   * requests and its liveness probe) each to another master; returns when every master knows the new owners.
   */
  private static FailoverStream.Fault moveSlots(Cluster cluster) {
    RedisClusterProcess redis = (RedisClusterProcess) cluster.topology();
    return () -> {
      java.util.Set<Integer> slots = new java.util.LinkedHashSet<>();
      slots.add(redis.slotOf(FailoverStream.streamChannel(cluster)));
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

  /** How long after a move the test waits for a node's own channel to be subscribed on its new master. */
  private static final Duration FOLLOW = Duration.ofSeconds(10);

  /**
   * Whether, within {@link #FOLLOW}, Redis counts a subscription of n0's own channel (its receipts, resend
   * requests and probes) on the master that owns the channel's slot now.
   */
  private static boolean nodeChannelFollowed(Cluster cluster) throws Exception {
    String channel = cluster.prefix() + ":node:" + cluster.node(0).nodeId();
    long deadline = System.nanoTime() + FOLLOW.toNanos();
    while (System.nanoTime() < deadline) {
      if (cluster.topology().numsub(channel) == 1) {
        return true;
      }
      Thread.sleep(50);
    }
    return false;
  }

  /**
   * The slots of the stream's, the broadcast and a node's own channel move to other masters mid-stream
   * ({@link RedisClusterProcess#moveSlot}). Redis ends the subscriptions of a moved sharded channel; the nodes
   * subscribe on the new owner, holding meanwhile what reached fewer nodes than are live. Every message arrives
   * exactly once, in order, and the node's own channel is subscribed on its new master.
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
      assertTrue(nodeChannelFollowed(cluster), "n0's own channel must be subscribed on its slot's new master");
    }
  }

  /**
   * The control for the move, under sharded pub/sub: with the channels subscribed through Redisson 4.3.1's own
   * sharded topics, n0's own channel stays unsubscribed after its slot moved (Redisson's re-subscription waits
   * forever for the old master's answer, and the probe's subscribing again times out on the lock it left taken),
   * and the check of the test above sees it. Whether the stream loses messages this way is not asserted.
   */
  @Test
  void negativeControl_channelSlotsMoved_subscriptionsNotFollowing_nodeChannelStaysUnsubscribed() throws Exception {
    try (Cluster cluster = start("cluster-move-stuck", Map.of(JettyNode.TEST_SHARDED_SUBSCRIBER, "redisson"),
        Map.of("wscluster.redis.pubsub", "sharded"))) {
      FailoverStream.run(cluster, "cluster-move-stuck", RATE, BEFORE, AFTER, moveSlots(cluster), false);
      assertFalse(nodeChannelFollowed(cluster), "n0's own channel stays unsubscribed: the check must see it");
    }
  }
}
