package io.wscluster.redis;

import io.wscluster.TestBackends;
import io.wscluster.WsClusterConfig;
import java.io.BufferedInputStream;
import java.io.ByteArrayOutputStream;
import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;

/**
 * A {@code redis-server} of a test class's own on a free port (never the shared one on 6379),
 * plain or TLS-only, with any extra arguments (a password, ACL users), plus a minimal RESP client
 * for checks behind the plugin's back on a plain server without a password. Skips the class (an
 * assumption) when redis-server is not on PATH, or cannot speak TLS for a TLS server.
 */
public final class TestRedis implements AutoCloseable {
  final int port;
  private final boolean tls;
  private final Process process;
  private final Path log;

  /** A transport of {@code config}, as {@link RedisBackendProvider} makes it. */
  static RedisTransport transport(WsClusterConfig config, int extraSubscriptions) {
    return new RedisTransport(config, TestBackends.explicit(config), extraSubscriptions,
        java.util.concurrent.Executors.defaultThreadFactory());
  }

  /**
   * A started transport on {@code redis} (2 connections, no shutdown wait) named {@code node},
   * handing what arrives to {@code receiver}: the client a Redis suite checks its parts through.
   */
  static RedisTransport startedTransport(TestRedis redis, String node,
      io.wscluster.spi.Transport.Receiver receiver) throws Exception {
    RedisTransport transport = transport(WsClusterConfig.builder()
        .redisAddress(redis.address())
        .nodeName(node)
        .set(WsClusterConfig.REDIS_CONNECTIONS, "2")
        .set(WsClusterConfig.SHUTDOWN_TIMEOUT, "0s")
        .build(), 0);
    transport.start(receiver);
    return transport;
  }

  /** The Redisson config of {@code config}, as {@link RedisTransport} makes it. */
  static org.redisson.config.Config redissonConfig(WsClusterConfig config) throws IOException {
    return RedisConfigs.redissonConfig(config, TestBackends.explicit(config));
  }

  private TestRedis(int port, boolean tls, Process process, Path log) {
    this.port = port;
    this.tls = tls;
    this.process = process;
    this.log = log;
  }

  /**
   * A plain-TCP server.
   *
   * @param extraArgs more redis-server arguments, such as {@code --requirepass secret}
   */
  public static TestRedis start(String purpose, String... extraArgs) throws Exception {
    int port = freePort();
    List<String> args = new ArrayList<>(List.of("--port", String.valueOf(port)));
    args.addAll(List.of(extraArgs));
    return start(purpose, port, false, args);
  }

  /**
   * A server that speaks TLS only (its plain port is off) with the certificate of {@code certs};
   * clients need not present a certificate.
   */
  static TestRedis startTls(String purpose, TestCertificates certs, String... extraArgs)
      throws Exception {
    int port = freePort();
    List<String> args = new ArrayList<>(List.of("--port", "0",
        "--tls-port", String.valueOf(port),
        "--tls-cert-file", certs.serverCert.toString(),
        "--tls-key-file", certs.serverKey.toString(),
        "--tls-ca-cert-file", certs.caCert.toString(),
        "--tls-auth-clients", "no"));
    args.addAll(List.of(extraArgs));
    return start(purpose, port, true, args);
  }

  private static TestRedis start(String purpose, int port, boolean tls, List<String> args)
      throws Exception {
    String binary = findOnPath("redis-server");
    Assumptions.assumeTrue(binary != null, "redis-server is not on PATH: install Redis 7 "
        + "(apt-get install redis-server) to run " + purpose);
    List<String> command = new ArrayList<>(List.of(binary, "--bind", "127.0.0.1",
        "--save", "", "--appendonly", "no"));
    command.addAll(args);
    Path log = Files.createTempFile("wscluster-test-redis-", ".log");
    Process p = new ProcessBuilder(command)
        .redirectErrorStream(true)
        .redirectOutput(log.toFile())
        .start();
    TestRedis redis = new TestRedis(port, tls, p, log);
    // the log line, not PING: it also works when the server wants a password or speaks TLS only
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
    while (!Files.readString(log).contains("Ready to accept connections")) {
      if (!p.isAlive()) {
        String output = Files.readString(log);
        redis.close();
        Assumptions.assumeFalse(tls && output.contains("Bad directive"), "redis-server "
            + binary + " was built without TLS support: install one with TLS to run " + purpose);
        throw new IllegalStateException("redis-server on port " + port + " exited with "
            + p.exitValue() + ":\n" + output);
      }
      if (System.nanoTime() > deadline) {
        redis.close();
        throw new IllegalStateException("redis-server on port " + port
            + " was not ready within 10 s");
      }
      Thread.sleep(20);
    }
    return redis;
  }

  /**
   * A Redis Cluster of {@code n} masters without replicas: {@code redis-server --cluster-enabled
   * yes} processes of its own on free ports, joined by {@code redis-cli --cluster create}, ready
   * (cluster_state:ok on every master) when this returns; with a Redisson YAML file naming the
   * first master ({@link Cluster#yaml}).
   */
  public static Cluster cluster(String purpose, int n) throws Exception {
    Assumptions.assumeTrue(findOnPath("redis-cli") != null, "redis-cli is not on PATH: install "
        + "Redis 7 (apt-get install redis-tools) to run " + purpose);
    Path dir = Files.createTempDirectory("wscluster-test-cluster-");
    Cluster c = new Cluster(dir);
    try {
      List<String> create = new ArrayList<>(List.of("redis-cli", "--cluster", "create"));
      for (int i = 0; i < n; i++) {
        TestRedis m = start(purpose, "--cluster-enabled", "yes", "--dir", dir.toString(),
            "--cluster-config-file", "nodes-" + i + ".conf");
        c.masters.add(m);
        create.add("127.0.0.1:" + m.port);
      }
      create.addAll(List.of("--cluster-replicas", "0", "--cluster-yes"));
      Process p = new ProcessBuilder(create).redirectErrorStream(true).start();
      String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
      if (!p.waitFor(30, TimeUnit.SECONDS) || p.exitValue() != 0) {
        throw new IllegalStateException("redis-cli --cluster create failed:\n" + out);
      }
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
      for (TestRedis m : c.masters) {
        while (!String.valueOf(m.command("CLUSTER", "INFO")).contains("cluster_state:ok")) {
          if (System.nanoTime() > deadline) {
            throw new IllegalStateException("the cluster never got to state ok");
          }
          Thread.sleep(50);
        }
      }
      c.yaml = dir.resolve("cluster.yaml");
      Files.writeString(c.yaml, "clusterServersConfig:\n  nodeAddresses:\n    - \""
          + c.masters.get(0).address() + "\"\n  subscriptionMode: \"MASTER\"\n");
      return c;
    } catch (Exception | Error e) {
      c.close();
      throw e;
    }
  }

  /** Masters of a test's Redis Cluster (see {@link #cluster}); closing stops them all. */
  public static final class Cluster implements AutoCloseable {
    public final List<TestRedis> masters = new ArrayList<>();
    public final Path dir;
    /** A Redisson YAML file of the cluster, for {@code wscluster.redis.config}. */
    public Path yaml;

    private Cluster(Path dir) {
      this.dir = dir;
    }

    @Override
    public void close() throws Exception {
      for (TestRedis m : masters) {
        m.close();
      }
      try (var files = Files.list(dir)) {
        for (Path f : files.toList()) {
          Files.deleteIfExists(f);
        }
      }
      Files.deleteIfExists(dir);
    }
  }

  public String address() {
    return (tls ? "rediss" : "redis") + "://127.0.0.1:" + port;
  }

  @Override
  public void close() throws InterruptedException {
    process.destroy();
    if (!process.waitFor(5, TimeUnit.SECONDS)) {
      process.destroyForcibly().waitFor(5, TimeUnit.SECONDS);
    }
    try {
      Files.deleteIfExists(log);
    } catch (IOException e) {
      // a temp file: the OS cleans it up
    }
  }

  /** Every key matching a glob pattern (KEYS: fine on a test's own, small server). */
  List<String> keys(String pattern) throws IOException {
    @SuppressWarnings("unchecked")
    List<String> keys = (List<String>) command("KEYS", pattern);
    return keys;
  }

  /**
   * Sends one command, returns its reply: a String for simple and bulk strings, a Long for
   * integers, a List for arrays, null for nil. Plain TCP without AUTH only.
   */
  Object command(String... args) throws IOException {
    if (tls) {
      throw new UnsupportedOperationException("the test's RESP client speaks plain TCP only");
    }
    try (Socket s = new Socket()) {
      s.connect(new InetSocketAddress("127.0.0.1", port), 500);
      s.setSoTimeout(5_000);
      ByteArrayOutputStream req = new ByteArrayOutputStream();
      req.writeBytes(("*" + args.length + "\r\n").getBytes(StandardCharsets.US_ASCII));
      for (String a : args) {
        byte[] b = a.getBytes(StandardCharsets.UTF_8);
        req.writeBytes(("$" + b.length + "\r\n").getBytes(StandardCharsets.US_ASCII));
        req.writeBytes(b);
        req.writeBytes("\r\n".getBytes(StandardCharsets.US_ASCII));
      }
      OutputStream out = s.getOutputStream();
      out.write(req.toByteArray());
      out.flush();
      return read(new BufferedInputStream(s.getInputStream()));
    }
  }

  private static Object read(InputStream in) throws IOException {
    int type = in.read();
    String line = line(in);
    switch (type) {
      case '+':
        return line;
      case '-':
        throw new IOException("redis error: " + line);
      case ':':
        return Long.parseLong(line);
      case '$': {
        int n = Integer.parseInt(line);
        if (n < 0) {
          return null;
        }
        byte[] b = in.readNBytes(n + 2);
        return new String(b, 0, n, StandardCharsets.UTF_8);
      }
      case '*': {
        int n = Integer.parseInt(line);
        if (n < 0) {
          return null;
        }
        List<Object> out = new ArrayList<>();
        for (int i = 0; i < n; i++) {
          out.add(read(in));
        }
        return out;
      }
      default:
        throw new IOException("unexpected RESP type " + type);
    }
  }

  private static String line(InputStream in) throws IOException {
    ByteArrayOutputStream b = new ByteArrayOutputStream();
    int c;
    while ((c = in.read()) != '\r') {
      if (c < 0) {
        throw new IOException("connection closed");
      }
      b.write(c);
    }
    in.read(); // \n
    return b.toString(StandardCharsets.UTF_8);
  }

  static String findOnPath(String name) {
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

  static int freePort() throws IOException {
    try (ServerSocket s = new ServerSocket()) {
      s.setReuseAddress(true);
      s.bind(new InetSocketAddress("127.0.0.1", 0));
      return s.getLocalPort();
    }
  }
}
