package io.wscluster.it;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One stock Jetty 12 distribution process: a {@code jetty.base} of its own, made by
 * {@code start.jar --add-modules} against the unpacked {@code jetty-home} (system property
 * {@code it.jetty.home}), with a WAR deployed as {@code webapps/ROOT.war} and its context-params in
 * {@code webapps/ROOT.xml}, the way docs/jetty-home.md tells users to do it. Nothing of this test's
 * class path reaches it.
 *
 * <p>Its standard output and error are kept whole ({@link #output()}, for asserting log lines) and
 * copied to this JVM's log, prefixed with the name. The base (with {@code work/}, where Jetty
 * unpacks the WAR) is deleted by {@link #close()}, which also kills the process if it still runs.
 */
final class JettyHomeNode implements WsNode, AutoCloseable {

  private static final Logger LOG = LoggerFactory.getLogger(JettyHomeNode.class);
  /** A JVM + Jetty + Redisson start on 2 busy cores takes 3-12 s; a bound, not the expectation. */
  static final Duration STARTUP_LIMIT = Duration.ofSeconds(60);
  /** SIGTERM runs Jetty's shutdown hook: it undeploys the webapp (wscluster.shutdown.timeout). */
  static final Duration STOP_LIMIT = Duration.ofSeconds(20);
  /** What a stock base needs for a Jakarta WebSocket WAR; annotations, webapp come with them. */
  static final String MODULES = "http,ee10-deploy,ee10-websocket-jakarta";
  /** Jetty's line once the server is started (also when a webapp failed to deploy). */
  private static final String SERVER_STARTED = ":oejs.Server:main: Started oejs.Server@";
  private static final String DEPLOY_FAILED = "Failed startup of context";

  private final String name;
  private final Path base;
  private final Map<String, String> environment;
  private final List<String> output = new ArrayList<>();
  private final CompletableFuture<Void> ready = new CompletableFuture<>();
  private int port;
  private Process process;
  private Thread copier;

  private JettyHomeNode(String name, Path base, Map<String, String> environment) {
    this.name = name;
    this.base = base;
    this.environment = environment;
  }

  /** The unpacked distribution the build made ({@code it.jetty.home}), with its start.jar. */
  static Path home() {
    String configured = System.getProperty("it.jetty.home");
    if (configured == null || !Files.isRegularFile(Path.of(configured, "start.jar"))) {
      throw new IllegalStateException("jetty-home not found at " + configured + ": run the IT "
          + "through Maven (mvn -B verify -pl integration-tests -am unpacks it)");
    }
    return Path.of(configured);
  }

  /**
   * Makes a base: enables {@link #MODULES} plus the modules of {@code moduleFiles}, copied into
   * {@code modules/} first, and deploys {@code war} at "/" with {@code contextParams}. The process
   * gets {@code environment} added to this JVM's.
   */
  static JettyHomeNode create(String name, Path war, List<Path> moduleFiles,
      Map<String, String> contextParams, Map<String, String> environment) throws Exception {
    Path base = Files.createTempDirectory("wscluster-it-jetty-base-" + name + "-");
    JettyHomeNode node = new JettyHomeNode(name, base, environment);
    try {
      Files.createDirectories(base.resolve("modules"));
      StringBuilder modules = new StringBuilder(MODULES);
      for (Path module : moduleFiles) {
        Files.copy(module, base.resolve("modules").resolve(module.getFileName()));
        String file = module.getFileName().toString();
        modules.append(',').append(file, 0, file.length() - ".mod".length());
      }
      node.runStartJar("--add-modules=" + modules);
      // with ${jetty.base}/work present, Jetty unpacks WARs there rather than in java.io.tmpdir
      Files.createDirectories(base.resolve("work"));
      Files.copy(war, base.resolve("webapps").resolve("ROOT.war"));
      Files.writeString(base.resolve("webapps").resolve("ROOT.xml"), contextXml(contextParams));
      return node;
    } catch (Exception | Error e) {
      node.close();
      throw e;
    }
  }

  /** The deployable descriptor of docs/jetty-home.md: the WAR at "/" plus context-params. */
  static String contextXml(Map<String, String> contextParams) {
    StringBuilder xml = new StringBuilder()
        .append("<?xml version=\"1.0\"?>\n")
        .append("<!DOCTYPE Configure PUBLIC \"-//Jetty//Configure//EN\" ")
        .append("\"https://jetty.org/configure_10_0.dtd\">\n")
        .append("<Configure class=\"org.eclipse.jetty.ee10.webapp.WebAppContext\">\n")
        .append("  <Set name=\"contextPath\">/</Set>\n")
        .append("  <Set name=\"war\">")
        .append("<Property name=\"jetty.webapps\" default=\".\"/>/ROOT.war</Set>\n");
    contextParams.forEach((key, value) -> xml
        .append("  <Call name=\"setInitParameter\">\n")
        .append("    <Arg>").append(escape(key)).append("</Arg>\n")
        .append("    <Arg>").append(escape(value)).append("</Arg>\n")
        .append("  </Call>\n"));
    return xml.append("</Configure>\n").toString();
  }

  private static String escape(String text) {
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;");
  }

  /** Runs {@code java -jar start.jar args} in the base, bounded; throws with its output. */
  private void runStartJar(String... args) throws Exception {
    List<String> command = javaCommand();
    command.addAll(List.of(args));
    Process p = new ProcessBuilder(command).directory(base.toFile()).redirectErrorStream(true)
        .start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    if (!p.waitFor(60, TimeUnit.SECONDS) || p.exitValue() != 0) {
      p.destroyForcibly();
      throw new IllegalStateException(name + ": " + String.join(" ", command) + " failed:\n" + out);
    }
  }

  private List<String> javaCommand() {
    List<String> command = new ArrayList<>();
    command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    command.add("-Xmx256m");
    command.add("-XX:+UseSerialGC");
    command.add("-jar");
    command.add(home().resolve("start.jar").toString());
    command.add("jetty.base=" + base);
    return command;
  }

  /** Starts Jetty on a free port of 127.0.0.1 without waiting; see {@link #awaitStarted()}. */
  synchronized void start() throws IOException {
    if (process != null) {
      throw new IllegalStateException(name + " already started");
    }
    port = NodeProcess.freePort();
    List<String> command = javaCommand();
    command.add("jetty.http.host=127.0.0.1");
    command.add("jetty.http.port=" + port);
    ProcessBuilder builder = new ProcessBuilder(command).directory(base.toFile())
        .redirectErrorStream(true);
    builder.environment().putAll(environment);
    process = builder.start();
    LOG.info("{}: started pid {} in {}: {}", name, process.pid(), base, String.join(" ", command));
    copier = new Thread(this::copyOutput, "it-" + name + "-output");
    copier.setDaemon(true);
    copier.start();
  }

  /**
   * Waits (at most {@link #STARTUP_LIMIT}) until Jetty reports the server started; throws with the
   * output if the process ends first, does not start in time, or a webapp failed to deploy.
   */
  void awaitStarted() throws Exception {
    try {
      ready.get(STARTUP_LIMIT.toMillis(), TimeUnit.MILLISECONDS);
    } catch (TimeoutException | ExecutionException e) {
      String cause = e instanceof ExecutionException ? e.getCause().getMessage() : e.toString();
      throw new IllegalStateException(name + " (pid " + process.pid() + ") did not start within "
          + STARTUP_LIMIT + " (" + cause + "); output:\n  " + String.join("\n  ", output()), e);
    }
    if (output().stream().anyMatch(line -> line.contains(DEPLOY_FAILED))) {
      throw new IllegalStateException(name + ": the webapp failed to deploy; output:\n  "
          + String.join("\n  ", output()));
    }
  }

  private void copyOutput() {
    try (BufferedReader in = new BufferedReader(
        new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8))) {
      String line;
      while ((line = in.readLine()) != null) {
        LOG.info("[{}] {}", name, line);
        synchronized (output) {
          output.add(line);
        }
        if (line.contains(SERVER_STARTED)) {
          ready.complete(null);
        }
      }
    } catch (IOException e) {
      LOG.debug("{}: output stream ended", name, e);
    }
    ready.completeExceptionally(new IllegalStateException("the process ended its output"));
  }

  /** Every line the process printed so far. */
  List<String> output() {
    synchronized (output) {
      return List.copyOf(output);
    }
  }

  /**
   * SIGTERM, as an init system stops Jetty: its shutdown hook stops the server and undeploys the
   * webapp. Returns the exit code; throws if the process is still alive after {@link #STOP_LIMIT}.
   */
  int stop() throws InterruptedException {
    // SIGTERM through the handle: Process.destroy() would also close the output pipe, losing the
    // lines Jetty's shutdown hook prints
    if (!process.toHandle().destroy()) {
      throw new IllegalStateException(name + ": SIGTERM to pid " + process.pid() + " failed");
    }
    if (!process.waitFor(STOP_LIMIT.toMillis(), TimeUnit.MILLISECONDS)) {
      throw new IllegalStateException(name + " (pid " + process.pid() + ") still alive "
          + STOP_LIMIT + " after SIGTERM");
    }
    copier.join(5_000);
    LOG.info("{}: stopped, exit code {}", name, process.exitValue());
    return process.exitValue();
  }

  @Override
  public String name() {
    return name;
  }

  @Override
  public URI wsUri(String pathAndQuery) {
    return URI.create("ws://127.0.0.1:" + port + pathAndQuery);
  }

  /** Kills the process if it still runs and deletes the base. Idempotent. */
  @Override
  public void close() {
    Process p = process;
    if (p != null && p.isAlive()) {
      p.destroyForcibly();
      try {
        p.waitFor(10, TimeUnit.SECONDS);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
    RedisServer.deleteRecursively(base);
  }

  @Override
  public String toString() {
    return name + (process != null ? "(pid " + process.pid() + ", port " + port + ")" : "");
  }

  /** Context-params in insertion order, for {@link #create}. */
  static Map<String, String> params(String... keysAndValues) {
    Map<String, String> map = new LinkedHashMap<>();
    for (int i = 0; i < keysAndValues.length; i += 2) {
      map.put(keysAndValues[i], keysAndValues[i + 1]);
    }
    return map;
  }
}
