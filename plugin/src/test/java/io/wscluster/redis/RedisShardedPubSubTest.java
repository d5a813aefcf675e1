package io.wscluster.redis;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.wscluster.ConfigException;
import io.wscluster.WsClusterConfig;
import io.wscluster.spi.TransportContractTest.Inbox;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * {@code wscluster.redis.pubsub}: which configurations get sharded pub/sub, the refusals, and
 * SPUBLISH/SSUBSCRIBE on a real Redis Cluster of three masters (three {@code redis-server
 * --cluster-enabled yes} of its own on free ports, joined by {@code redis-cli --cluster create}):
 * every shard's channels deliver, SPUBLISH counts the subscriptions of the channel's shard, and
 * an unsubscribed channel counts none.
 */
class RedisShardedPubSubTest {
  private static TestRedis.Cluster cluster;
  private static List<TestRedis> masters;
  private static Path dir;
  private static Path clusterYaml;

  @BeforeAll
  static void startCluster() throws Exception {
    cluster = TestRedis.cluster("sharded pub/sub on a Redis Cluster", 3);
    masters = cluster.masters;
    dir = cluster.dir;
    clusterYaml = cluster.yaml;
  }

  @AfterAll
  static void stopCluster() throws Exception {
    if (cluster != null) {
      cluster.close();
    }
  }

  private static WsClusterConfig config(String pubsub, Path yaml) {
    WsClusterConfig.Builder b = WsClusterConfig.builder().nodeName("sharded")
        .channelPrefix("sharded").set(WsClusterConfig.SHUTDOWN_TIMEOUT, "0s")
        .set(WsClusterConfig.REDIS_PUBSUB, pubsub);
    if (yaml != null) {
      b.set(WsClusterConfig.REDIS_CONFIG, yaml.toString());
    } else {
      b.redisAddress(masters.get(0).address());
    }
    return b.build();
  }

  private static boolean sharded(String pubsub, Path yaml) throws Exception {
    WsClusterConfig c = config(pubsub, yaml);
    return RedisTransport.sharded(c.redisPubSub(), TestRedis.redissonConfig(c), c);
  }

  // ================================================================ which pub/sub

  @Test
  void auto_isShardedForAClusterConfig_classicOtherwise() throws Exception {
    assertTrue(sharded("auto", clusterYaml));
    assertFalse(sharded("auto", null));
    assertFalse(sharded("classic", clusterYaml));
    assertTrue(sharded("sharded", clusterYaml));
  }

  @Test
  void sharded_onASingleServer_failsTheStartNamingTheKey() {
    WsClusterConfig c = config("sharded", null);
    RedisTransport t = TestRedis.transport(c, 0);

    ConfigException e = assertThrows(ConfigException.class, () -> t.start(new Inbox()));

    assertEquals("wscluster.redis.pubsub value was set to 'sharded', must be used with a Redis "
        + "Cluster, but wscluster.redis.address names a single server: set it to auto or classic",
        e.getMessage());
  }

  @Test
  void subscriptionsOnReplicas_areRefused_shardedOrClassic() throws Exception {
    Path yaml = dir.resolve("replicas.yaml");
    Files.writeString(yaml, "clusterServersConfig:\n  nodeAddresses:\n    - \"redis://127.0.0.1:"
        + masters.get(0).port + "\"\n  subscriptionMode: \"SLAVE\"\n");
    for (String mode : List.of("auto", "classic")) {
      ConfigException e = assertThrows(ConfigException.class, () -> sharded(mode, yaml));
      assertTrue(e.getMessage().startsWith("subscriptionMode value was set to 'SLAVE' in " + yaml
          + " (wscluster.redis.config), must be MASTER"), e.getMessage());
    }
  }

  @Test
  void badValue_isRefusedNamingKeyValueAndChoices() {
    ConfigException e = assertThrows(ConfigException.class, () -> config("shards", null));
    assertEquals("wscluster.redis.pubsub value was set to 'shards' (builder), must be one of auto "
        + "classic sharded", e.getMessage());
  }

  // ================================================================ on the cluster

  @Test
  void cluster_channelsOnEveryShard_deliverAndCountTheirShardsSubscriptions_untilUnsubscribed()
      throws Exception {
    withTwo(true, (a, inA, b, inB) -> {
      assertTrue(a.sharded());
      // ten rooms' channels, whose slots lie on every master (CLUSTER KEYSLOT tells)
      List<String> channels = new ArrayList<>(List.of("sharded:all", "sharded:node:x"));
      for (int i = 0; i < 10; i++) {
        channels.add("sharded:room:r" + i);
      }
      java.util.Set<String> owners = new java.util.HashSet<>();
      for (String ch : channels) {
        owners.add(ownerOf(ch));
        await(a.subscribe(ch));
        await(b.subscribe(ch));
      }
      assertEquals(3, owners.size(), "the channels spread over the three masters");
      for (String ch : channels) {
        assertEquals(2L, await(a.publish(ch, ch.getBytes(StandardCharsets.UTF_8))),
            "SPUBLISH counts both subscriptions of " + ch + " on its shard");
        assertEquals(ch, inA.nextText(ch));
        assertEquals(ch, inB.nextText(ch));
      }
      await(b.unsubscribe("sharded:room:r0"));
      assertEquals(1L, await(a.publish("sharded:room:r0", new byte[] {1})));
      inA.next();
      inB.assertNothingMore();
      await(b.subscribe("sharded:room:r0"));
      assertEquals(2L, await(a.publish("sharded:room:r0", new byte[] {2})));
    });
  }

  /**
   * A slot move (SETSLOT ... NODE, as a resharding ends) while two transports subscribe to a
   * channel of that slot: both subscriptions follow it to the new master by themselves, so
   * SPUBLISH there counts both again and delivers.
   */
  @Test
  void cluster_slotMoved_subscriptionsFollowTheirSlot() throws Exception {
    withTwo(true, (a, inA, b, inB) -> {
      String ch = "sharded:node:moving";
      await(a.subscribe(ch));
      await(b.subscribe(ch));
      assertEquals(2L, await(a.publish(ch, new byte[] {1})));
      inA.next();
      inB.next();
      moveSlot(ch);
      long receivers = publishUntilCounted(a, ch, 2, 15);
      assertEquals(2L, receivers, "both subscriptions follow the slot to its new master");
      assertEquals("after", inA.nextText(ch).substring(0, 5));
      assertEquals("after", inB.nextText(ch).substring(0, 5));
    });
  }

  /**
   * Redis closes every subscriber connection (CLIENT KILL TYPE pubsub, as for a subscriber over its
   * output buffer limit): the connections come back and subscribe their channels again.
   */
  @Test
  void cluster_subscriberConnectionsClosed_subscriptionsComeBack() throws Exception {
    withTwo(true, (a, inA, b, inB) -> {
      String ch = "sharded:node:dropped";
      await(a.subscribe(ch));
      await(b.subscribe(ch));
      assertEquals(2L, await(a.publish(ch, new byte[] {1})));
      inA.next();
      inB.next();
      for (TestRedis m : masters) {
        m.command("CLIENT", "KILL", "TYPE", "pubsub");
      }
      assertEquals(2L, publishUntilCounted(a, ch, 2, 10), "both subscriptions come back");
    });
  }

  /**
   * The control: Redisson 4.3.1's own sharded topic, subscribed the same way, stays unsubscribed
   * after the same move (its re-subscription waits forever for the old master), so the test above
   * sees a subscription that does not follow.
   */
  @Test
  void negativeControl_redissonShardedTopic_doesNotFollowASlotMove() throws Exception {
    WsClusterConfig c = config("sharded", clusterYaml);
    org.redisson.api.RedissonClient client =
        org.redisson.Redisson.create(TestRedis.redissonConfig(c));
    try {
      String ch = "sharded:node:control";
      org.redisson.api.RShardedTopic topic = client.getShardedTopic(ch,
          org.redisson.client.codec.ByteArrayCodec.INSTANCE);
      topic.addListener(byte[].class, (channel, frame) -> { });
      assertEquals(1L, topic.publish(new byte[] {1}));
      moveSlot(ch);
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(8);
      long receivers = 0;
      while (System.nanoTime() < deadline && receivers == 0) {
        receivers = topic.publish(new byte[] {2});
        Thread.sleep(100);
      }
      assertEquals(0L, receivers, "Redisson's sharded topic stays unsubscribed after the move");
    } finally {
      client.shutdown(0, 2, TimeUnit.SECONDS);
    }
  }

  /**
   * A subscription Redis still counts but whose frames no longer reach the receiver (the test
   * hook deafens it, as a wedged connection would): the senders' SPUBLISH counts it as reached, so
   * only the subscriber can notice. Its probe of the quiet channel does not come back, the
   * connection is replaced, and frames arrive again.
   */
  @Test
  void cluster_subscriptionDeliversNothing_probeNotices_subscribesAgainOnANewConnection()
      throws Exception {
    assertDeafSubscription(true);
  }

  /** The control: with the probes off, the deaf subscription stays deaf, and the test sees it. */
  @Test
  void negativeControl_probesOff_deafSubscriptionStaysDeaf() throws Exception {
    assertDeafSubscription(false);
  }

  private static void assertDeafSubscription(boolean probes) throws Exception {
    withTwo(probes, (a, inA, b, inB) -> {
      String ch = "sharded:room:deaf";
      await(b.subscribe(ch));
      assertEquals(1L, await(a.publish(ch, "before".getBytes(StandardCharsets.UTF_8))));
      assertEquals("before", inB.nextText(ch));
      b.shards().deafen(ch);
      assertEquals(1L, await(a.publish(ch, "unheard".getBytes(StandardCharsets.UTF_8))),
          "Redis still counts the deaf subscription");
      // publish now and then (the channel stays quiet enough to be probed) for 8 s
      String heard = null;
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(8);
      for (int i = 0; heard == null && System.nanoTime() < deadline; i++) {
        await(a.publish(ch, ("after " + i).getBytes(StandardCharsets.UTF_8)));
        heard = inB.pollText(1500);
      }
      if (probes) {
        assertTrue(heard != null && heard.startsWith("after"), "frames arrive again: " + heard);
        assertTrue(b.shards().replaced() >= 1, "the connection was replaced");
      } else {
        assertEquals(null, heard, "without probes nothing arrives");
        assertEquals(0, b.shards().replaced());
      }
    });
  }

  /** Probes keep quiet channels checked, and no subscriber ever receives one. */
  @Test
  void cluster_quietChannels_areProbed_probesNeverReachTheReceiver() throws Exception {
    withTwo(true, (a, inA, b, inB) -> {
      for (String ch : List.of("sharded:room:q1", "sharded:room:q2", "sharded:all")) {
        await(a.subscribe(ch));
        await(b.subscribe(ch));
      }
      Thread.sleep(3_500);
      assertTrue(a.shards().probesSent() + b.shards().probesSent() >= 3,
          "quiet channels were probed");
      assertEquals(null, inA.pollText(0), "no probe reaches a receiver");
      assertEquals(null, inB.pollText(0), "no probe reaches a receiver");
      assertEquals(0, a.shards().replaced() + b.shards().replaced(), "working connections stay");
    });
  }

  /** A test on two started sharded transports on the cluster, both stopped afterwards. */
  private interface TwoTransports {
    void run(RedisTransport a, Inbox inA, RedisTransport b, Inbox inB) throws Exception;
  }

  /** Runs {@code test} on two sharded transports; {@code probesOnB} false: b probes nothing. */
  private static void withTwo(boolean probesOnB, TwoTransports test) throws Exception {
    RedisTransport a = TestRedis.transport(config("sharded", clusterYaml), 0);
    RedisTransport b = TestRedis.transport(config("sharded", clusterYaml), 0);
    if (!probesOnB) {
      b.withoutShardProbes();
    }
    Inbox inA = new Inbox();
    Inbox inB = new Inbox();
    try {
      a.start(inA);
      b.start(inB);
      test.run(a, inA, b, inB);
    } finally {
      a.stop();
      b.stop();
    }
  }

  /** Publishes "after n" on {@code ch} every 100 ms until {@code want} subscriptions count it. */
  private static long publishUntilCounted(RedisTransport t, String ch, long want, int seconds)
      throws Exception {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
    long n = -1;
    for (int i = 0; n != want && System.nanoTime() < deadline; i++) {
      Thread.sleep(100);
      n = await(t.publish(ch, ("after " + i).getBytes(StandardCharsets.UTF_8)));
    }
    return n;
  }

  /** Moves {@code channel}'s slot (no keys in it) to another master, as a resharding does. */
  private static void moveSlot(String channel) throws Exception {
    String slot = String.valueOf(masters.get(0).command("CLUSTER", "KEYSLOT", channel));
    String owner = ownerOf(channel);
    TestRedis from = masters.stream().filter(m -> m.address().endsWith(":" + owner))
        .findFirst().orElseThrow();
    TestRedis to = masters.stream().filter(m -> m != from).findFirst().orElseThrow();
    String toId = String.valueOf(to.command("CLUSTER", "MYID"));
    assertEquals("OK", String.valueOf(to.command("CLUSTER", "SETSLOT", slot, "IMPORTING",
        String.valueOf(from.command("CLUSTER", "MYID")))));
    assertEquals("OK", String.valueOf(from.command("CLUSTER", "SETSLOT", slot, "MIGRATING",
        toId)));
    to.command("CLUSTER", "SETSLOT", slot, "NODE", toId);
    from.command("CLUSTER", "SETSLOT", slot, "NODE", toId);
    for (TestRedis m : masters) {
      if (m != to && m != from) {
        m.command("CLUSTER", "SETSLOT", slot, "NODE", toId);
      }
    }
  }

  /** The port of the master whose slots hold {@code channel}'s. */
  private static String ownerOf(String channel) throws Exception {
    long slot = (Long) masters.get(0).command("CLUSTER", "KEYSLOT", channel);
    for (Object range : (List<?>) masters.get(0).command("CLUSTER", "SLOTS")) {
      List<?> r = (List<?>) range;
      if ((Long) r.get(0) <= slot && slot <= (Long) r.get(1)) {
        return String.valueOf(((List<?>) r.get(2)).get(1));
      }
    }
    throw new AssertionError("no master serves slot " + slot);
  }

  private static <T> T await(java.util.concurrent.CompletionStage<T> stage) throws Exception {
    return stage.toCompletableFuture().get(10, TimeUnit.SECONDS);
  }

}
