package io.wscluster.it;

import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A private {@code redis-server} process for one test class, on a free port of 127.0.0.1, with persistence off.
 * Never the shared Redis on 6379.
 *
 * <p>The binary is {@code redis-server} from PATH; failing that, the Linux binary shipped in the
 * {@code com.github.codemonstur:embedded-redis} artifact (Redis 6.2) is extracted and run the same way; failing
 * that, the test is aborted (skipped) with a message saying to install redis-server.
 *
 * <p>{@link #command} and the helpers share one RESP connection and are synchronized.
 */
final class RedisServer implements RedisTopology {

  private static final Logger LOG = LoggerFactory.getLogger(RedisServer.class);
  private static final long STOP_GRACE_MILLIS = 5_000;
  /** Stopped by {@link #pause}: alive as a process, answering nothing. */
  private volatile boolean paused;

  private final Path dir;
  private final Path binary;
  /** Lines of the config file the server starts with (empty: none); the sentinel rewrites its own. */
  private final List<String> configLines;
  private final boolean sentinel;
  private Process process;
  private int port;
  private RespConnection connection;

  private RedisServer(Path dir, Path binary, List<String> configLines, boolean sentinel) {
    this.dir = dir;
    this.binary = binary;
    this.configLines = List.copyOf(configLines);
    this.sentinel = sentinel;
  }

  /** Starts a fresh server, or aborts the calling test if no Redis binary can be found. */
  static RedisServer start() throws Exception {
    return start(List.of());
  }

  /**
   * Starts a fresh server whose config file holds {@code configLines} (such as {@code cluster-enabled yes} or
   * {@code replicaof 127.0.0.1 6400}) besides its port, persistence off and its own directory.
   */
  static RedisServer start(List<String> configLines) throws Exception {
    return start(configLines, false);
  }

  /** Starts a Redis Sentinel ({@code redis-server FILE --sentinel}) whose config file holds {@code configLines}. */
  static RedisServer startSentinel(List<String> configLines) throws Exception {
    return start(configLines, true);
  }

  private static RedisServer start(List<String> configLines, boolean sentinel) throws Exception {
    Path dir = Files.createTempDirectory(sentinel ? "wscluster-it-sentinel-" : "wscluster-it-redis-");
    Path binary = findBinary(dir);
    RedisServer server = new RedisServer(dir, binary, configLines, sentinel);
    server.launch();
    return server;
  }

  int port() {
    return port;
  }

  /** The host:port other Redis processes and redis-cli name this server by. */
  String hostPort() {
    return "127.0.0.1:" + port;
  }

  boolean isAlive() {
    Process p = process;
    return p != null && p.isAlive() && !paused;
  }

  /**
   * SIGSTOP, as a hung host or a long pause: the process keeps its sockets open and answers nothing, so clients
   * notice only by their timeouts. Not {@link #isAlive} until {@link #resume}.
   */
  void pause() throws IOException, InterruptedException {
    signal("STOP");
    paused = true;
  }

  /** SIGCONT after {@link #pause}: the server goes on where it stopped. */
  void resume() throws IOException, InterruptedException {
    signal("CONT");
    paused = false;
  }

  private void signal(String name) throws IOException, InterruptedException {
    Process p = new ProcessBuilder("kill", "-" + name, Long.toString(process.pid())).inheritIO().start();
    if (p.waitFor() != 0) {
      throw new IOException("kill -" + name + " " + process.pid() + " failed");
    }
  }

  /** The directory this server runs in (its config file, cluster node file and log). */
  Path dir() {
    return dir;
  }

  /** The address the plugin's {@code wscluster.redis.address} takes. */
  String address() {
    return "redis://127.0.0.1:" + port;
  }

  @Override
  public Map<String, String> nodeParameters(Path unused) {
    return Map.of("wscluster.redis.address", address());
  }

  /** Sends one command (arguments {@code String} or {@code byte[]}) and returns the reply; see {@link RespConnection}. */
  @Override
  public synchronized Object command(Object... args) throws IOException {
    if (connection == null) {
      connection = new RespConnection("127.0.0.1", port, 2_000);
      connection.setReadTimeout(10_000);
    }
    try {
      return connection.command(args);
    } catch (IOException e) {
      connection.close();
      connection = null;
      throw e;
    }
  }

  /** {@code PUBLISH channel payload}; returns the number of receivers. */
  long publish(String channel, byte[] payload) throws IOException {
    return (Long) command("PUBLISH", channel, payload);
  }

  /**
   * PUBLISHes each message in order on a connection of its own, pipelined in batches of {@code batch} (one round trip
   * per batch, so tens of thousands of frames take seconds, and each batch is answered before the next is sent);
   * returns the number of receivers of each, in order.
   */
  long[] publishAll(List<RedisCapture.Captured> messages, int batch) throws IOException {
    long[] receivers = new long[messages.size()];
    try (RespConnection c = new RespConnection("127.0.0.1", port, 2_000)) {
      c.setReadTimeout(30_000);
      for (int from = 0; from < messages.size(); from += batch) {
        int to = Math.min(messages.size(), from + batch);
        for (int i = from; i < to; i++) {
          c.send("PUBLISH", messages.get(i).channel(), messages.get(i).payload());
        }
        for (int i = from; i < to; i++) {
          receivers[i] = (Long) c.read();
        }
      }
    }
    return receivers;
  }

  /** {@code PUBSUB NUMSUB channel}. */
  @Override
  public long numsub(String channel) throws IOException {
    List<?> reply = (List<?>) command("PUBSUB", "NUMSUB", channel);
    return (Long) reply.get(1);
  }

  /** {@code PUBSUB CHANNELS pattern}, sorted. */
  List<String> channels(String pattern) throws IOException {
    List<?> reply = (List<?>) command("PUBSUB", "CHANNELS", pattern);
    List<String> names = new ArrayList<>();
    for (Object o : reply) {
      names.add(new String((byte[]) o, StandardCharsets.UTF_8));
    }
    names.sort(null);
    return names;
  }

  /** Sum of {@code PUBSUB NUMSUB} over every channel matching the pattern (all subscriptions of a cluster). */
  long totalSubscriptions(String pattern) throws IOException {
    long total = 0;
    for (String channel : channels(pattern)) {
      total += numsub(channel);
    }
    return total;
  }

  /** {@code connected_clients} from {@code INFO clients} (includes this harness's own connection). */
  long connectedClients() throws IOException {
    String info = new String((byte[]) command("INFO", "clients"), StandardCharsets.UTF_8);
    for (String line : info.split("\r\n")) {
      if (line.startsWith("connected_clients:")) {
        return Long.parseLong(line.substring("connected_clients:".length()).trim());
      }
    }
    throw new IllegalStateException("no connected_clients in INFO clients: " + info);
  }

  /** {@code CLIENT LIST}: per connection, its fields ({@code name}, {@code sub}, {@code psub}, {@code cmd}, ...). */
  List<Map<String, String>> clientList() throws IOException {
    String list = new String((byte[]) command("CLIENT", "LIST"), StandardCharsets.UTF_8);
    List<Map<String, String>> out = new ArrayList<>();
    for (String line : list.split("\n")) {
      if (line.isBlank()) {
        continue;
      }
      Map<String, String> fields = new TreeMap<>();
      for (String field : line.trim().split(" ")) {
        int eq = field.indexOf('=');
        if (eq > 0) {
          fields.put(field.substring(0, eq), field.substring(eq + 1));
        }
      }
      out.add(fields);
    }
    return out;
  }

  /**
   * What Redis counted since the last {@link #resetStats()}: calls per command ({@code INFO commandstats}, keyed
   * like {@code get} or {@code config|resetstat}) and network bytes in and out ({@code INFO stats}). Read with one
   * INFO command, whose own call and reply are not yet counted in what it reports.
   */
  record CommandStats(Map<String, Long> calls, long netInputBytes, long netOutputBytes) {

    /** Calls summed over every command except those named. */
    long callsExcept(Set<String> excluded) {
      return calls.entrySet().stream().filter(e -> !excluded.contains(e.getKey()))
          .mapToLong(Map.Entry::getValue).sum();
    }

    /** The per-command calls without the named commands, sorted by name. */
    Map<String, Long> callsWithout(Set<String> excluded) {
      Map<String, Long> out = new TreeMap<>(calls);
      out.keySet().removeAll(excluded);
      return out;
    }
  }

  /** {@code CONFIG RESETSTAT}: zeroes command stats and network byte counters (its own call then counts as 1). */
  void resetStats() throws IOException {
    command("CONFIG", "RESETSTAT");
  }

  /** {@code INFO stats commandstats}, parsed; see {@link CommandStats}. */
  CommandStats commandStats() throws IOException {
    String info = new String((byte[]) command("INFO", "stats", "commandstats"), StandardCharsets.UTF_8);
    Map<String, Long> calls = new TreeMap<>();
    long in = -1;
    long out = -1;
    for (String line : info.split("\r\n")) {
      if (line.startsWith("cmdstat_")) {
        int colon = line.indexOf(':');
        int at = line.indexOf("calls=", colon);
        int end = line.indexOf(',', at);
        calls.put(line.substring("cmdstat_".length(), colon), Long.parseLong(line.substring(at + 6, end)));
      } else if (line.startsWith("total_net_input_bytes:")) {
        in = Long.parseLong(line.substring(line.indexOf(':') + 1).trim());
      } else if (line.startsWith("total_net_output_bytes:")) {
        out = Long.parseLong(line.substring(line.indexOf(':') + 1).trim());
      }
    }
    if (in < 0 || out < 0) {
      throw new IllegalStateException("no total_net_input_bytes/total_net_output_bytes in INFO stats: " + info);
    }
    return new CommandStats(calls, in, out);
  }

  /** Opens a separate connection that subscribes to channels matching a pattern and records their messages. */
  RedisCapture capture(String pattern) throws IOException {
    return RedisCapture.open(port, pattern);
  }

  /** SIGKILL, as a crash: no shutdown, and (no persistence) every key is gone. */
  void kill() throws InterruptedException {
    synchronized (this) {
      if (connection != null) {
        connection.close();
        connection = null;
      }
    }
    Process p = process;
    if (p != null) {
      p.destroyForcibly();
      p.waitFor(STOP_GRACE_MILLIS, TimeUnit.MILLISECONDS);
    }
  }

  /** Starts a new, empty server on the port of the killed one, as a supervisor restarting it would. */
  void restartOnSamePort() throws Exception {
    launch(port);
  }

  private void launch() throws Exception {
    launch(0);
  }

  /** Starts the server on {@code fixedPort}, or on a free port (three attempts) when it is 0. */
  private void launch(int fixedPort) throws Exception {
    Exception last = null;
    for (int attempt = 1; attempt <= 3; attempt++) {
      port = fixedPort != 0 ? fixedPort : freePort();
      Path log = dir.resolve("redis-" + port + ".log");
      List<String> command = new ArrayList<>(List.of(binary.toString()));
      if (sentinel || !configLines.isEmpty()) {
        // the config file comes first; a sentinel needs one it can rewrite
        Path conf = dir.resolve("redis-" + port + ".conf");
        Files.write(conf, configLines, StandardCharsets.UTF_8);
        command.add(conf.toString());
      }
      if (sentinel) {
        command.add("--sentinel");
      }
      command.addAll(List.of("--port", Integer.toString(port), "--bind", "127.0.0.1", "--daemonize", "no",
          "--dir", dir.toString()));
      if (!sentinel) {
        command.addAll(List.of("--save", "", "--appendonly", "no"));
      }
      ProcessBuilder pb = new ProcessBuilder(command)
          .redirectErrorStream(true)
          .redirectOutput(log.toFile());
      process = pb.start();
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
      while (System.nanoTime() < deadline && process.isAlive()) {
        try (RespConnection c = new RespConnection("127.0.0.1", port, 500)) {
          c.setReadTimeout(2_000);
          if ("PONG".equals(c.command("PING"))) {
            LOG.info("redis-server {} started on 127.0.0.1:{} (pid {})", binary, port, process.pid());
            return;
          }
        } catch (IOException e) {
          last = e;
          Thread.sleep(50);
        }
      }
      String output = Files.exists(log) ? Files.readString(log) : "";
      destroy();
      LOG.warn("redis-server on port {} did not answer PING (attempt {}): {}", port, attempt, output);
      last = new IllegalStateException("redis-server did not start on port " + port + "; output:\n" + output, last);
    }
    throw last;
  }

  private static int freePort() throws IOException {
    try (ServerSocket s = new ServerSocket(0)) {
      s.setReuseAddress(true);
      return s.getLocalPort();
    }
  }

  private static Path findBinary(Path dir) throws IOException {
    String path = System.getenv("PATH");
    if (path != null) {
      for (String entry : path.split(File.pathSeparator)) {
        Path candidate = Path.of(entry, "redis-server");
        if (Files.isRegularFile(candidate) && Files.isExecutable(candidate)) {
          return candidate;
        }
      }
    }
    String os = System.getProperty("os.name", "").toLowerCase(Locale.ROOT);
    String arch = System.getProperty("os.arch", "").toLowerCase(Locale.ROOT);
    String resource = null;
    if (os.contains("linux")) {
      if (arch.equals("amd64") || arch.equals("x86_64")) {
        resource = "redis-server-6.2.6-v5-linux-amd64";
      } else if (arch.equals("aarch64") || arch.equals("arm64")) {
        resource = "redis-server-6.2.7-linux-arm64";
      }
    }
    if (resource != null) {
      try (InputStream in = RedisServer.class.getClassLoader().getResourceAsStream(resource)) {
        if (in != null) {
          Path target = dir.resolve("redis-server");
          Files.copy(in, target, StandardCopyOption.REPLACE_EXISTING);
          if (!target.toFile().setExecutable(true)) {
            throw new IOException("cannot make " + target + " executable");
          }
          LOG.warn("redis-server is not on PATH: using the Redis 6.2 binary {} from the embedded-redis artifact; "
              + "install redis-server (Redis 7) to test against the version the plugin targets", resource);
          return target;
        }
      }
    }
    Assumptions.abort("No redis-server on PATH and no embedded-redis binary for " + os + "/" + arch
        + ": install redis-server (Redis 7, e.g. `apt-get install redis-server`) to run the integration tests");
    throw new AssertionError("unreachable");
  }

  /** Stops the process (SIGTERM, then SIGKILL after a bound) and deletes its directory. Idempotent. */
  void stop() {
    synchronized (this) {
      if (connection != null) {
        connection.close();
        connection = null;
      }
    }
    destroy();
    deleteRecursively(dir);
  }

  private void destroy() {
    Process p = process;
    if (p == null) {
      return;
    }
    if (paused) {
      // a stopped process acts on SIGTERM only once continued
      try {
        resume();
      } catch (IOException | InterruptedException e) {
        LOG.warn("could not continue paused redis-server pid {}", p.pid(), e);
      }
    }
    p.destroy();
    try {
      if (!p.waitFor(STOP_GRACE_MILLIS, TimeUnit.MILLISECONDS)) {
        LOG.warn("redis-server pid {} did not exit within {} ms; killing it", p.pid(), STOP_GRACE_MILLIS);
        p.destroyForcibly();
        p.waitFor(STOP_GRACE_MILLIS, TimeUnit.MILLISECONDS);
      }
    } catch (InterruptedException e) {
      p.destroyForcibly();
      Thread.currentThread().interrupt();
    }
  }

  static void deleteRecursively(Path root) {
    if (root == null || !Files.exists(root)) {
      return;
    }
    try (var walk = Files.walk(root)) {
      walk.sorted((a, b) -> b.getNameCount() - a.getNameCount()).forEach(p -> {
        try {
          Files.deleteIfExists(p);
        } catch (IOException ignored) {
          // best effort
        }
      });
    } catch (IOException ignored) {
      // best effort
    }
  }

  @Override
  public String toString() {
    return (sentinel ? "redis-sentinel " : "redis-server ") + hostPort();
  }

  @Override
  public void close() {
    stop();
  }
}
