package io.wscluster.it;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.net.ServerSocket;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One cluster node in a JVM of its own: {@code java -jar wscluster-demo.jar --nodes 1} (the demo launcher, with
 * {@code lib/} beside it) deploying the same WAR as the in-process nodes, so that a test can SIGKILL or SIGSTOP a
 * node, which an in-process {@link JettyNode} cannot survive or simulate.
 *
 * <p>Plugin configuration goes in as {@code -D} system properties (the launcher itself sets only the node name,
 * transport and Redis address as context-params, so nothing it sets conflicts with them). The node is named
 * {@code node-<port>}. Its standard output and error are copied to this JVM's log, prefixed with the name.
 *
 * <p>{@link #close()} kills the process if it is still alive (SIGKILL works on a stopped process too); call it from
 * {@code @AfterAll} whatever happened.
 */
final class NodeProcess implements WsNode, AutoCloseable {

  private static final Logger LOG = LoggerFactory.getLogger(NodeProcess.class);
  /** Startup of a fresh JVM + Jetty + Redisson on 2 busy cores takes ~5 s; this is the bound, not the expectation. */
  static final Duration STARTUP_LIMIT = Duration.ofSeconds(60);
  private static final int TAIL_LINES = 40;

  private final String name;
  private final int port;
  private final Process process;
  private final CompletableFuture<Void> ready = new CompletableFuture<>();
  private final Deque<String> tail = new ArrayDeque<>();

  private NodeProcess(int port, Process process) {
    this.name = "node-" + port;
    this.port = port;
    this.process = process;
  }

  /** The launcher jar the build made ({@code it.wscluster.launcher}), with {@code lib/} beside it. */
  static Path launcherJar() {
    String configured = System.getProperty("it.wscluster.launcher");
    Path jar = configured != null ? Path.of(configured)
        : Path.of("..", "webapp-demo", "target", "wscluster-demo.jar");
    if (!Files.isRegularFile(jar) || !Files.isDirectory(jar.toAbsolutePath().getParent().resolve("lib"))) {
      throw new IllegalStateException("demo launcher not found at " + jar.toAbsolutePath()
          + " (with lib/ beside it): build it first (mvn -B verify -pl integration-tests -am packages webapp-demo)");
    }
    return jar;
  }

  /**
   * Starts a node on a free port connected to {@code redisAddress}, waits (at most {@link #STARTUP_LIMIT}) for the
   * launcher's {@code node node-<port> ready on} line, and returns it; kills it and throws with its last output if
   * it exits or does not get ready in time.
   *
   * @param systemProperties plugin configuration ({@code wscluster.*} keys) and any other -D for the child JVM
   */
  static NodeProcess start(String redisAddress, Map<String, String> systemProperties) throws Exception {
    int port = freePort();
    List<String> command = new ArrayList<>();
    command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    command.add("-Xmx256m");
    command.add("-XX:+UseSerialGC");
    systemProperties.forEach((key, value) -> command.add("-D" + key + "=" + value));
    command.add("-jar");
    command.add(launcherJar().toAbsolutePath().toString());
    command.add("--nodes");
    command.add("1");
    command.add("--port");
    command.add(Integer.toString(port));
    command.add("--redis");
    command.add(redisAddress);
    command.add("--transport");
    command.add("redis");
    command.add("--war");
    command.add(JettyNode.demoWar().toAbsolutePath().toString());
    long t0 = System.nanoTime();
    Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
    NodeProcess node = new NodeProcess(port, process);
    LOG.info("{}: started pid {}: {}", node.name, process.pid(), String.join(" ", command));
    Thread reader = new Thread(node::copyOutput, "it-" + node.name + "-output");
    reader.setDaemon(true);
    reader.start();
    try {
      node.ready.get(STARTUP_LIMIT.toMillis(), TimeUnit.MILLISECONDS);
    } catch (TimeoutException | ExecutionException | InterruptedException e) {
      node.close();
      throw new IllegalStateException(node.name + " (pid " + process.pid() + ") did not print its ready line within "
          + STARTUP_LIMIT + " (" + (e instanceof ExecutionException ? e.getCause().getMessage() : e.toString())
          + "); last output:\n  " + String.join("\n  ", node.tail()), e);
    }
    LOG.info("{}: ready in {} ms (pid {})", node.name, (System.nanoTime() - t0) / 1_000_000, process.pid());
    return node;
  }

  /** Copies the child's output to the log, remembers the last lines, and spots the ready line. */
  private void copyOutput() {
    String readyLine = "node " + name + " ready on ";
    try (BufferedReader in = new BufferedReader(
        new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8))) {
      String line;
      while ((line = in.readLine()) != null) {
        LOG.info("[{}] {}", name, line);
        synchronized (tail) {
          tail.addLast(line);
          if (tail.size() > TAIL_LINES) {
            tail.removeFirst();
          }
        }
        if (line.startsWith(readyLine)) {
          ready.complete(null);
        }
      }
    } catch (IOException e) {
      LOG.debug("{}: output stream ended", name, e);
    }
    ready.completeExceptionally(new IllegalStateException("the process ended its output"
        + (process.isAlive() ? "" : " and exited with " + exitCode())));
  }

  private String exitCode() {
    try {
      return Integer.toString(process.waitFor(1, TimeUnit.SECONDS) ? process.exitValue() : -1);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return "?";
    }
  }

  List<String> tail() {
    synchronized (tail) {
      return List.copyOf(tail);
    }
  }

  @Override
  public String name() {
    return name;
  }

  @Override
  public URI wsUri(String pathAndQuery) {
    return URI.create("ws://127.0.0.1:" + port + pathAndQuery);
  }

  long pid() {
    return process.pid();
  }

  boolean isAlive() {
    return process.isAlive();
  }

  /** SIGSTOP: the JVM freezes (sockets stay open, nothing is answered) until {@link #resume()}. */
  void suspend() throws Exception {
    signal("STOP");
  }

  /** SIGCONT after {@link #suspend()}. */
  void resume() throws Exception {
    signal("CONT");
  }

  private void signal(String signal) throws Exception {
    Process kill = new ProcessBuilder("kill", "-" + signal, Long.toString(process.pid()))
        .redirectErrorStream(true).start();
    String output = new String(kill.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
    if (!kill.waitFor(5, TimeUnit.SECONDS) || kill.exitValue() != 0) {
      throw new IllegalStateException("kill -" + signal + " " + process.pid() + " failed: " + output);
    }
    LOG.info("{}: sent SIG{} to pid {}", name, signal, process.pid());
  }

  /** SIGKILL ({@link Process#destroyForcibly()} on Linux) and wait until the process is gone. */
  void kill() throws InterruptedException {
    process.destroyForcibly();
    if (!process.waitFor(10, TimeUnit.SECONDS)) {
      throw new IllegalStateException(name + " (pid " + process.pid() + ") still alive 10 s after SIGKILL");
    }
    LOG.info("{}: killed (SIGKILL), exit code {}", name, process.exitValue());
  }

  /** Kills the process if it is still alive. Idempotent. */
  @Override
  public void close() {
    if (process.isAlive()) {
      try {
        kill();
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      } catch (RuntimeException e) {
        LOG.warn("{}: {}", name, e.getMessage());
      }
    }
  }

  /** A port of 127.0.0.1 free at the time of the call (the caller binds it soon after). */
  static int freePort() throws IOException {
    try (ServerSocket s = new ServerSocket(0)) {
      s.setReuseAddress(true);
      return s.getLocalPort();
    }
  }

  @Override
  public String toString() {
    return name + "(pid " + process.pid() + ")";
  }
}
