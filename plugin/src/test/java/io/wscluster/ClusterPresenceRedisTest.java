package io.wscluster;

import static org.junit.jupiter.api.Assertions.assertTrue;

import io.wscluster.redis.TestRedis;
import io.wscluster.spi.Backend;
import io.wscluster.spi.Directory;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * {@link ClusterPresence} on the Redis backend, found by name as a node finds it: what depends on
 * the threads a real directory completes its stages on.
 */
class ClusterPresenceRedisTest {
  private static TestRedis redis;
  private static Backend backend;
  private static Directory dir;

  @BeforeAll
  static void startRedisAndBackend() throws Exception {
    redis = TestRedis.start("presence on Redis");
    backend = Backends.create(WsClusterConfig.builder().redisAddress(redis.address())
        .nodeName("presence").set(WsClusterConfig.CHANNEL_PREFIX, "presence-redis")
        .set(WsClusterConfig.SHUTDOWN_TIMEOUT, "0s").build(), name -> null, null, 0);
    backend.transport().start((channel, frame) -> { });
    dir = backend.directory();
  }

  @AfterAll
  static void stopBackendAndRedis() throws Exception {
    if (backend != null) {
      backend.transport().stop();
    }
    if (redis != null) {
      redis.close();
    }
  }

  /**
   * ClusterPresence promises to tell onNodeGone "on the heartbeat thread"; on Redis, the
   * directory's stages complete on Redisson's threads.
   */
  @Test
  void presenceOnRedis_nodeRemovedByItsGracefulStop_isToldOnTheHeartbeatThread()
      throws Exception {
    List<String> threads = new CopyOnWriteArrayList<>();
    dir.renew("leaver", "token-leaver", 60_000, System.currentTimeMillis())
        .toCompletableFuture().get(10, TimeUnit.SECONDS);
    ClusterPresence p = new ClusterPresence(dir, "n1", WsClusterConfig.builder()
        .transport(WsClusterConfig.TransportType.MEMORY)
        .set(WsClusterConfig.NODE_HEARTBEAT, "50ms")
        .set(WsClusterConfig.NODE_TTL, "5s").build(),
        node -> threads.add(node + " on " + Thread.currentThread().getName()),
        System::currentTimeMillis);
    p.start();
    try {
      dir.removeNode("leaver").toCompletableFuture().get(10, TimeUnit.SECONDS);

      Awaitility.await().atMost(Duration.ofSeconds(10)).until(() -> !threads.isEmpty());
      assertTrue(threads.get(0).startsWith("leaver on wscluster-heartbeat-"), threads.toString());
    } finally {
      p.stop(1_000);
    }
  }
}
