package io.wscluster.redis;

import io.wscluster.WsClusterConfig;
import io.wscluster.WsClusterException;
import io.wscluster.spi.TransportContractTest;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.wscluster.spi.Transport;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The transport contract on a real Redis: a {@code redis-server} of its own on a free port (never
 * the shared one on 6379), started once for this class and killed after it.
 */
class RedisTransportTest extends TransportContractTest {
  private static final AtomicInteger NODES = new AtomicInteger();
  private static TestRedis redis;

  @BeforeAll
  static void startRedis() throws Exception {
    redis = TestRedis.start("the Redis transport contract");
  }

  @AfterAll
  static void stopRedis() throws InterruptedException {
    if (redis != null) {
      redis.close();
    }
  }

  private static WsClusterConfig config() {
    return WsClusterConfig.builder()
        .redisAddress(redis.address())
        .channelPrefix("contract-" + UUID.randomUUID().toString().substring(0, 8))
        .nodeName("contract-" + NODES.incrementAndGet())
        .set(WsClusterConfig.REDIS_CONNECTIONS, "2")
        .set(WsClusterConfig.SHUTDOWN_TIMEOUT, "0s")
        .build();
  }

  @Override
  protected Transport createTransport() {
    return TestRedis.transport(config(), 0);
  }

  // ================================================================ Redis specifics

  /** The version gates: history needs 6.2 (XTRIM MINID), sharded pub/sub 7.0. */
  @Test
  void atLeast_comparesMajorThenMinor_andRefusesWhatItCannotRead() {
    assertTrue(RedisTransport.atLeast("7.0.15", 6, 2));
    assertTrue(RedisTransport.atLeast("6.2.0", 6, 2));
    assertTrue(!RedisTransport.atLeast("6.0.20", 6, 2));
    assertTrue(!RedisTransport.atLeast("5.0.14", 6, 2));
    assertTrue(RedisTransport.atLeast("10.0", 7, 0));
    assertTrue(!RedisTransport.atLeast("0", 7, 0));
    assertTrue(!RedisTransport.atLeast("x.y", 6, 2));
  }

  @Test
  void start_redisUnreachable_failsNamingTheAddressAndTheKeys() throws Exception {
    int closed = TestRedis.freePort();
    WsClusterConfig c = WsClusterConfig.builder()
        .redisAddress("redis://127.0.0.1:" + closed)
        .nodeName("unreachable")
        .build();
    RedisTransport t = TestRedis.transport(c, 0);

    WsClusterException e = assertThrows(WsClusterException.class, () -> t.start(new Inbox()));

    assertTrue(e.getMessage().startsWith("wscluster cannot connect to Redis at redis://127.0.0.1:"
        + closed + ": "), e.getMessage());
    assertTrue(e.getMessage().endsWith("(set wscluster.redis.address, or wscluster.enabled=false "
        + "to run single-node)"), e.getMessage());
    t.stop(); // nothing was created: harmless
  }

  @Test
  void subscribe_withExtraSubscriptions_receivesEveryFrameThatManyMoreTimes() throws Exception {
    Inbox in = new Inbox();
    Transport t = TestRedis.transport(config(), 1);
    try {
      t.start(in);
      t.subscribe(channel).toCompletableFuture().get(10, TimeUnit.SECONDS);
      Transport a = newTransport();
      a.start(new Inbox());

      assertEquals(1L, a.publish(channel, new byte[] {7}).toCompletableFuture()
          .get(10, TimeUnit.SECONDS), "Redis counts one subscribed connection");

      assertEquals(7, in.next().getValue()[0]);
      assertEquals(7, in.next().getValue()[0], "the second listener got its own copy");
      in.assertNothingMore();
    } finally {
      t.stop();
    }
  }

  @Test
  void redissonConfig_usesTheRawByteCodecAndTheConfiguredPool() throws Exception {
    org.redisson.config.Config c = TestRedis.redissonConfig(config());
    assertEquals(org.redisson.client.codec.ByteArrayCodec.INSTANCE, c.getCodec());
    assertEquals(2, c.useSingleServer().getConnectionPoolSize());
    assertEquals(redis.address(), c.useSingleServer().getAddress());
  }
}
