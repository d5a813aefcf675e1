package io.wscluster.redis;

import io.wscluster.WsClusterConfig;
import io.wscluster.spi.Directory;
import io.wscluster.spi.DirectoryContractTest;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The directory contract on a real Redis (a redis-server of this class's own), through the
 * Redisson client of a started {@link RedisTransport}, plus the Redis layout the Javadoc of
 * {@link Directory} documents.
 */
class RedisDirectoryTest extends DirectoryContractTest {
  private static TestRedis redis;
  private static RedisTransport transport;

  @BeforeAll
  static void startRedisAndTransport() throws Exception {
    redis = TestRedis.start("the Redis directory contract");
    transport = TestRedis.startedTransport(redis, "directory-contract", (channel, frame) -> { });
  }

  @AfterAll
  static void stopTransportAndRedis() throws Exception {
    if (transport != null) {
      transport.stop();
    }
    if (redis != null) {
      redis.close();
    }
  }

  @Override
  protected Directory createDirectory(String prefix) {
    return transport.directory(prefix);
  }

  @Override
  protected Set<String> keysUnder(String prefix) throws Exception {
    return new TreeSet<>(redis.keys(prefix + ":*"));
  }

  // ================================================================ the documented layout

  @Test
  void layout_matchesTheDirectoryJavadoc() throws Exception {
    long now = System.currentTimeMillis();
    get(dir.renew("n1", "token-1", 60_000, now));
    get(dir.apply("n1", List.of(open("s1", "alice"), join("s1", "alice", "lobby"))));
    String p = prefix + ":";

    assertEquals(new TreeSet<>(Set.of(p + "nodes", p + "lease:n1", p + "ses:s1", p + "room:lobby",
        p + "user:alice", p + "nses:n1")), keysUnder(prefix));
    assertEquals("zset", redis.command("TYPE", p + "nodes"));
    assertEquals(String.valueOf(now + 60_000), redis.command("ZSCORE", p + "nodes", "n1"));
    assertEquals("token-1", redis.command("GET", p + "lease:n1"));
    long pttl = (Long) redis.command("PTTL", p + "lease:n1");
    assertTrue(pttl > 50_000 && pttl <= 60_000, "the lease key expires with the ttl: " + pttl);
    assertEquals(new TreeSet<>(List.of("node", "n1", "user", "alice", "r:lobby", "")),
        new TreeSet<>(castList(redis.command("HGETALL", p + "ses:s1"))));
    assertEquals(List.of("n1\u001fs1\u001falice"), redis.command("SMEMBERS", p + "room:lobby"));
    assertEquals(List.of("n1\u001fs1"), redis.command("SMEMBERS", p + "user:alice"));
    assertEquals(List.of("s1"), redis.command("SMEMBERS", p + "nses:n1"));
  }

  @Test
  void directory_transportNotStarted_isRefused() {
    RedisTransport notStarted = TestRedis.transport(WsClusterConfig.builder()
        .redisAddress(redis.address()).nodeName("x").build(), 0);

    IllegalStateException e = assertThrows(IllegalStateException.class,
        () -> notStarted.directory(prefix));
    assertEquals("not started", e.getMessage());
  }

  @SuppressWarnings("unchecked")
  private static List<String> castList(Object o) {
    return (List<String>) o;
  }
}
