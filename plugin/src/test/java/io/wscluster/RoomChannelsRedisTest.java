package io.wscluster;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.wscluster.redis.TestRedis;
import io.wscluster.spi.Backend;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Room channels on a real Redis, classic pub/sub on a {@code redis-server} of its own and sharded
 * pub/sub on a Redis Cluster of three masters of its own (free ports, never the shared server): a
 * node subscribes a room's channel once a session joins, Redis counts exactly the nodes with
 * members, and the node unsubscribes after its last member left.
 */
class RoomChannelsRedisTest {
  private static final Duration WAIT = Duration.ofSeconds(15);
  private static TestRedis redis;
  private static TestRedis.Cluster cluster;
  private final List<ClusterNode> nodes = new ArrayList<>();
  private final List<Backend> backends = new ArrayList<>();

  @BeforeAll
  static void startRedis() throws Exception {
    redis = TestRedis.start("room channels on Redis");
    cluster = TestRedis.cluster("room channels on a Redis Cluster", 3);
  }

  @AfterAll
  static void stopRedis() throws Exception {
    if (redis != null) {
      redis.close();
    }
    if (cluster != null) {
      cluster.close();
    }
  }

  @AfterEach
  void stopNodes() throws Exception {
    nodes.forEach(ClusterNode::stop);
    for (Backend b : backends) {
      b.transport().stop();
    }
  }

  /** Classic pub/sub on the single server, or (sharded) the default, auto, on the cluster. */
  private boolean sharded;

  private WsClusterConfig config(String name) {
    WsClusterConfig.Builder b = WsClusterConfig.builder().nodeName(name)
        .channelPrefix("rooms-redis").set(WsClusterConfig.SHUTDOWN_TIMEOUT, "1s");
    if (sharded) {
      b.set(WsClusterConfig.REDIS_CONFIG, cluster.yaml.toString());
    } else {
      b.redisAddress(redis.address());
    }
    return b.build();
  }

  private ClusterNode start(String name) throws Exception {
    WsClusterConfig config = config(name);
    Backend backend = Backends.create(config, key -> null, null, 0);
    ClusterNode node = new ClusterNode(config, backend.transport(), NodeParts.DEFAULT,
        System::nanoTime, t -> backend.directory(), backend.publishCountsReceivers());
    nodes.add(node);
    node.start();
    return node;
  }

  /** Redis's count of subscriptions of a channel, read by a publish from a transport of its own. */
  private long subscribers(String channel) throws Exception {
    if (backends.isEmpty()) {
      Backend probe = Backends.create(config("probe"), key -> null, null, 0);
      probe.transport().start((ch, frame) -> { });
      backends.add(probe);
    }
    // a frame no node decodes: counted as rejected there, never delivered
    return backends.get(0).transport().publish(channel, new byte[] {0})
        .toCompletableFuture().get(10, TimeUnit.SECONDS);
  }

  @ParameterizedTest(name = "sharded={0}")
  @ValueSource(booleans = {false, true})
  void join_subscribesTheRoomsChannel_leave_unsubscribesIt_andMessagesReachOnlyMembersOnce(
      boolean sharded) throws Exception {
    this.sharded = sharded;
    ClusterNode a = start("a");
    ClusterNode b = start("b");
    ClusterNode c = start("c");
    String lobby = "rooms-redis:room:lobby";
    String news = "rooms-redis:room:news";
    FakeSession a1 = new FakeSession();
    FakeSession b1 = new FakeSession();
    a.onSessionOpened(a1.session);
    b.onSessionOpened(b1.session);
    assertEquals(0, subscribers(lobby));

    a.join(a1.session, "lobby");
    b.join(b1.session, "lobby");
    b.join(b1.session, "news");
    await().atMost(WAIT).until(() -> c.presence().sessionsInRoom("lobby")
        .toCompletableFuture().get().size() == 2
        && c.presence().sessionsInRoom("news").toCompletableFuture().get().size() == 1);
    assertEquals(2, subscribers(lobby), "the directory lists members once subscribed");
    assertEquals(1, subscribers(news));

    c.send(Target.rooms("lobby", "news"), "hello").toCompletableFuture().get(10, TimeUnit.SECONDS);
    await().atMost(WAIT).until(() -> a1.count("hello") == 1 && b1.count("hello") == 1);
    Thread.sleep(300);
    assertEquals(List.of("hello"), a1.received());
    assertEquals(List.of("hello"), b1.received(), "the copy on the second channel is dropped");
    assertEquals(1, b.stats().get("roomCopies"));
    assertEquals(0, c.stats().getOrDefault("envelopesReceived", 0L),
        "c has no member: it receives no room frame, not even its own");

    b.leave(b1.session, "lobby");
    b.onSessionClosed(b1.session);
    await().atMost(WAIT).until(() -> subscribers(lobby) == 1 && subscribers(news) == 0);
    assertTrue(b.subscribedRooms().isEmpty());
  }
}
