package io.wscluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.wscluster.spi.Transport;
import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The transport contract on a real Redis: a {@code redis-server} of its own on a free port (never
 * the shared one on 6379), started once for this class and killed after it.
 */
class RedisTransportTest extends TransportContractTest {
  private static final AtomicInteger NODES = new AtomicInteger();
  private static Process redis;
  private static int port;

  @BeforeAll
  static void startRedis() throws Exception {
    String binary = findOnPath("redis-server");
    Assumptions.assumeTrue(binary != null, "redis-server is not on PATH: install Redis 7 "
        + "(apt-get install redis-server) to run the Redis transport contract");
    port = freePort();
    redis = new ProcessBuilder(binary, "--port", String.valueOf(port), "--bind", "127.0.0.1",
        "--save", "", "--appendonly", "no")
        .redirectErrorStream(true)
        .redirectOutput(ProcessBuilder.Redirect.DISCARD)
        .start();
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
    while (!ping(port)) {
      if (!redis.isAlive()) {
        throw new IllegalStateException("redis-server on port " + port + " exited with "
            + redis.exitValue());
      }
      if (System.nanoTime() > deadline) {
        throw new IllegalStateException("redis-server on port " + port + " did not answer PING");
      }
      Thread.sleep(20);
    }
  }

  @AfterAll
  static void stopRedis() throws InterruptedException {
    if (redis != null) {
      redis.destroy();
      if (!redis.waitFor(5, TimeUnit.SECONDS)) {
        redis.destroyForcibly().waitFor(5, TimeUnit.SECONDS);
      }
    }
  }

  private static WsClusterConfig config() {
    return WsClusterConfig.builder()
        .redisAddress("redis://127.0.0.1:" + port)
        .channelPrefix("contract-" + UUID.randomUUID().toString().substring(0, 8))
        .nodeName("contract-" + NODES.incrementAndGet())
        .set(WsClusterConfig.REDIS_CONNECTIONS, "2")
        .set(WsClusterConfig.SHUTDOWN_TIMEOUT, "0s")
        .build();
  }

  @Override
  protected Transport createTransport() {
    return new RedisTransport(config(), 0);
  }

  // ================================================================ Redis specifics

  @Test
  void start_redisUnreachable_failsNamingTheAddressAndTheKeys() throws Exception {
    int closed = freePort();
    WsClusterConfig c = WsClusterConfig.builder()
        .redisAddress("redis://127.0.0.1:" + closed)
        .nodeName("unreachable")
        .build();
    RedisTransport t = new RedisTransport(c, 0);

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
    Transport t = new RedisTransport(config(), 1);
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
    org.redisson.config.Config c = RedisTransport.redissonConfig(config());
    assertEquals(org.redisson.client.codec.ByteArrayCodec.INSTANCE, c.getCodec());
    assertEquals(2, c.useSingleServer().getConnectionPoolSize());
    assertEquals("redis://127.0.0.1:" + port, c.useSingleServer().getAddress());
  }

  // ================================================================ the server

  private static String findOnPath(String name) {
    String path = System.getenv("PATH");
    if (path == null) {
      return null;
    }
    for (String dir : path.split(File.pathSeparator)) {
      File f = new File(dir, name);
      if (f.isFile() && f.canExecute()) {
        return f.getAbsolutePath();
      }
    }
    return null;
  }

  private static int freePort() throws IOException {
    try (ServerSocket s = new ServerSocket()) {
      s.setReuseAddress(true);
      s.bind(new InetSocketAddress("127.0.0.1", 0));
      return s.getLocalPort();
    }
  }

  private static boolean ping(int port) {
    try (Socket s = new Socket()) {
      s.connect(new InetSocketAddress("127.0.0.1", port), 200);
      s.setSoTimeout(500);
      OutputStream out = s.getOutputStream();
      out.write("PING\r\n".getBytes(StandardCharsets.US_ASCII));
      out.flush();
      InputStream in = s.getInputStream();
      byte[] buf = new byte[7];
      int n = in.readNBytes(buf, 0, 7);
      return new String(buf, 0, n, StandardCharsets.US_ASCII).equals("+PONG\r\n");
    } catch (IOException e) {
      return false;
    }
  }
}
