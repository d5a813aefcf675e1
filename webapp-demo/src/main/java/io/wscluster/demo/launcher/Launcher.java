package io.wscluster.demo.launcher;

import java.lang.reflect.Constructor;
import java.lang.reflect.Method;
import java.lang.reflect.Proxy;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicIntegerArray;
import java.util.concurrent.atomic.AtomicReferenceArray;
import java.util.function.BiConsumer;
import java.util.function.Function;
import org.eclipse.jetty.ee10.annotations.AnnotationConfiguration;
import org.eclipse.jetty.ee10.webapp.WebAppContext;
import org.eclipse.jetty.ee10.websocket.jakarta.server.config.JakartaWebSocketConfiguration;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;
import org.eclipse.jetty.util.ClassMatcher;
import org.eclipse.jetty.util.thread.QueuedThreadPool;
import org.eclipse.jetty.util.thread.ScheduledExecutorScheduler;

/**
 * Runs N embedded Jetty 12 servers in one JVM, each deploying {@code wscluster-demo.war}
 * unchanged, as nodes of one wscluster cluster; see {@link LaunchOptions#USAGE}.
 *
 * <p>The launcher knows nothing of the plugin's classes (they live inside the WAR, one copy per
 * webapp class loader); it configures each node only through context init parameters and, for
 * the in-memory transport, one shared bus and one shared directory, both made of JDK types. Standard output carries one line per
 * node when it is up, {@code node <name> ready on http://127.0.0.1:<port>/}, plus banners; logs go
 * to standard error.
 *
 * <p>Exit codes: 0 after a stop requested by SIGINT/SIGTERM (or --help), 1 when a node failed to
 * start or to stop in time, 2 for a bad command line.
 */
public final class Launcher {
  /** Attribute through which the in-memory transport of every node finds the shared bus. */
  static final String MEMORY_BUS_ATTRIBUTE = "io.wscluster.memory.bus";
  /**
   * Attribute through which the in-memory transport of every node finds the shared cluster
   * directory (node leases and who is connected where, for presence and targeted delivery).
   */
  static final String MEMORY_DIRECTORY_ATTRIBUTE = "io.wscluster.memory.directory";
  /**
   * Attribute through which the demo's cluster view restarts a node: a {@code Function<String,
   * String>} from node name to null (accepted) or why not; see the demo's RestartServlet.
   */
  static final String RESTART_HOOK_ATTRIBUTE = "io.wscluster.demo.restart";
  /** How long a restarted node stays down: long enough to watch it leave in the cluster view. */
  static final Duration RESTART_PAUSE = Duration.ofSeconds(3);
  static final Duration PROBE_TIMEOUT = Duration.ofMillis(500);
  /** Jetty's graceful stop per node; the plugin's own shutdown (5 s by default) comes on top. */
  static final Duration GRACEFUL_STOP = Duration.ofSeconds(2);
  /** How long the launcher waits for all nodes to stop before giving up with exit code 1. */
  static final Duration STOP_LIMIT = Duration.ofSeconds(30);

  private final LaunchOptions options;
  private final List<Server> servers = new ArrayList<>();
  private final CountDownLatch stopRequested = new CountDownLatch(1);
  private final AtomicBoolean stopping = new AtomicBoolean();
  /** Per node: whether a restart of it is under way. */
  private final AtomicIntegerArray restarting;

  private Launcher(LaunchOptions options) {
    this.options = options;
    this.restarting = new AtomicIntegerArray(options.nodes);
  }

  public static void main(String[] args) {
    LaunchOptions options;
    try {
      options = LaunchOptions.parse(args, systemProperties(), System.getenv());
    } catch (IllegalArgumentException e) {
      System.err.println("wscluster-demo: " + e.getMessage());
      System.err.println();
      System.err.println(LaunchOptions.USAGE);
      System.exit(2);
      return;
    }
    if (options.help) {
      System.out.println(LaunchOptions.USAGE);
      return;
    }
    configureLogging();
    System.exit(new Launcher(options).run());
  }

  /** Starts the nodes, waits for a stop request, stops them; returns the exit code. */
  private int run() {
    Path war = options.war != null ? options.war : defaultWar();
    if (war == null || !Files.exists(war)) {
      System.err.println("wscluster-demo: no WAR at " + war
          + " (build it with mvn package, or pass --war PATH)");
      return 1;
    }
    String transport = chooseTransport();
    Map<String, CopyOnWriteArrayList<BiConsumer<String, byte[]>>> bus =
        transport.equals("memory") ? new ConcurrentHashMap<>() : null;
    ConcurrentHashMap<String, ConcurrentMap<String, String>> directory =
        transport.equals("memory") ? new ConcurrentHashMap<>() : null;
    for (int i = 0; i < options.nodes; i++) {
      servers.add(newNode(i, war, transport, bus, directory));
    }

    boolean signals = onStopSignals(this::requestStop);
    Thread hook = new Thread(this::stopAll, "wscluster-shutdown-0");
    Runtime.getRuntime().addShutdownHook(hook);

    if (!startAll()) {
      stopAll();
      return 1;
    }
    System.out.println("wscluster demo: " + options.nodes + (options.nodes == 1 ? " node" : " nodes")
        + " up, transport " + transport + "; "
        + Served.of((WebAppContext) servers.get(0).getHandler()).describe(options.url(0))
        + (signals ? " - Ctrl-C stops" : ""));
    try {
      stopRequested.await();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    boolean clean = stopAll();
    System.out.println(clean ? "wscluster demo: all nodes stopped"
        : "wscluster demo: some nodes did not stop within " + STOP_LIMIT.toSeconds() + " s");
    return clean ? 0 : 1;
  }

  /** The explicit transport, else redis when Redis answers, else memory with a banner. */
  private String chooseTransport() {
    if (options.transport != null) {
      return options.transport;
    }
    if (options.redisConfigFile) {
      return "redis";
    }
    String problem = RedisProbe.problem(options.redis, PROBE_TIMEOUT);
    if (problem == null) {
      return "redis";
    }
    String rule = "=".repeat(78);
    System.out.println(rule);
    System.out.println(" Redis is not reachable: " + problem + ".");
    System.out.println(" Running on the IN-MEMORY transport: the " + options.nodes
        + (options.nodes == 1 ? " node" : " nodes") + " of this JVM form a cluster of their own;");
    System.out.println(" other launchers will not join it. Start Redis (or pass --redis URL), or pass");
    System.out.println(" --transport memory to silence this banner.");
    System.out.println(rule);
    return "memory";
  }

  private Server newNode(int index, Path war, String transport,
      Map<String, CopyOnWriteArrayList<BiConsumer<String, byte[]>>> bus,
      ConcurrentHashMap<String, ConcurrentMap<String, String>> directory) {
    // thread names say which node a thread serves: wscluster-node-<i>-<n>, wscluster-timer-<i>
    QueuedThreadPool threads = new QueuedThreadPool();
    threads.setName("wscluster-node-" + index);
    Server server = new Server(threads,
        new ScheduledExecutorScheduler("wscluster-timer-" + index, false), null);
    server.setStopTimeout(GRACEFUL_STOP.toMillis());
    ServerConnector connector = new ServerConnector(server);
    connector.setHost("127.0.0.1");
    connector.setPort(options.port(index));
    server.addConnector(connector);

    WebAppContext webapp = new WebAppContext();
    webapp.setContextPath("/");
    webapp.setWar(war.toString());
    // what a distribution's ee10-annotations and ee10-websocket-jakarta modules provide: scanning
    // finds the plugin's ServletContainerInitializer, @WebListener and @WebServlet classes. Jetty
    // enables both by default when their jars are on the class path; asking makes it certain.
    if (webapp.getConfiguration(AnnotationConfiguration.class) == null) {
      webapp.addConfiguration(new AnnotationConfiguration());
    }
    if (webapp.getConfiguration(JakartaWebSocketConfiguration.class) == null) {
      webapp.addConfiguration(new JakartaWebSocketConfiguration());
    }
    // a plugin that cannot start (bad config, Redis refused) fails the launch with its message
    webapp.setThrowUnavailableOnStartupException(true);
    // the WAR's own slf4j-api would find no provider and log nothing; share the launcher's instead
    webapp.addProtectedClassMatcher(new ClassMatcher("org.slf4j."));
    Map<String, String> params = new LinkedHashMap<>();
    params.put("wscluster.node.name", options.nodeName(index));
    params.put("wscluster.transport", transport);
    // the demo's own settings (its DemoSettings): the cluster view's feed, the chat page's failover
    params.put("demo.cluster-view", "true");
    params.put("demo.url", options.url(index));
    List<String> urls = new ArrayList<>();
    for (int i = 0; i < options.nodes; i++) {
      urls.add(options.url(i));
    }
    params.put("demo.nodes", String.join(",", urls));
    if (transport.equals("redis") && !options.redisConfigFile) {
      params.put("wscluster.redis.address", options.redis);
    }
    webapp.addOverrideDescriptor(overrideDescriptor(index, params).toString());
    if (bus != null) {
      webapp.setAttribute(MEMORY_BUS_ATTRIBUTE, bus);
    }
    if (directory != null) {
      webapp.setAttribute(MEMORY_DIRECTORY_ATTRIBUTE, directory);
    }
    webapp.setAttribute(RESTART_HOOK_ATTRIBUTE, (Function<String, String>) this::restart);
    server.setHandler(webapp);
    return server;
  }

  /**
   * The launcher's settings as context-params of an override descriptor (what a distribution's
   * override-web.xml is), so they win over the same keys in the WAR's own web.xml, as the
   * example WARs set them; plain init-parameters would lose. A temporary file, gone at exit.
   */
  private static Path overrideDescriptor(int index, Map<String, String> params) {
    StringBuilder xml = new StringBuilder("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
        + "<web-app xmlns=\"https://jakarta.ee/xml/ns/jakartaee\" version=\"6.0\">\n");
    params.forEach((k, v) -> xml.append("  <context-param><param-name>").append(xmlText(k))
        .append("</param-name><param-value>").append(xmlText(v))
        .append("</param-value></context-param>\n"));
    xml.append("</web-app>\n");
    try {
      Path file = Files.createTempFile("wscluster-demo-node-" + index + "-", ".xml");
      file.toFile().deleteOnExit();
      return Files.writeString(file, xml.toString());
    } catch (java.io.IOException e) {
      throw new java.io.UncheckedIOException("could not write the node's override descriptor", e);
    }
  }

  private static String xmlText(String s) {
    return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;");
  }

  /**
   * Starts every node at once (each plugin spends a second or more connecting to Redis) and
   * prints each ready line as its node comes up.
   *
   * @return false when any node failed; its reason is printed
   */
  private boolean startAll() {
    AtomicReferenceArray<Throwable> failures = new AtomicReferenceArray<>(servers.size());
    List<Thread> starters = new ArrayList<>();
    for (int i = 0; i < servers.size(); i++) {
      int index = i;
      Thread starter = new Thread(() -> {
        try {
          Server server = servers.get(index);
          server.start();
          if (!server.isStarted() || !((WebAppContext) server.getHandler()).isAvailable()) {
            throw new IllegalStateException("the webapp is unavailable (see the log above)");
          }
          System.out.println("node " + options.nodeName(index) + " ready on " + options.url(index));
        } catch (Throwable e) {
          failures.set(index, e);
        }
      }, "wscluster-start-" + index);
      starters.add(starter);
      starter.start();
    }
    boolean ok = true;
    for (int i = 0; i < starters.size(); i++) {
      try {
        starters.get(i).join();
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return false;
      }
      if (failures.get(i) != null) {
        ok = false;
        System.err.println("wscluster-demo: node " + options.nodeName(i) + " on port "
            + options.port(i) + " failed to start: " + describe(failures.get(i)));
      }
    }
    return ok;
  }

  /**
   * Restarts the node named {@code name} on a thread of its own ({@code wscluster-restart-<i>}):
   * Jetty stops it (the plugin leaves the cluster), {@link #RESTART_PAUSE} later it starts again on
   * the same port. Called by the demo's RestartServlet on a request thread, possibly of that very
   * node, hence the thread.
   *
   * @return null when the restart was started, else why not
   */
  private String restart(String name) {
    int index = -1;
    for (int i = 0; i < servers.size(); i++) {
      if (options.nodeName(i).equals(name)) {
        index = i;
      }
    }
    if (index < 0) {
      return "no node named '" + name + "' in this launcher";
    }
    if (stopping.get()) {
      return "the launcher is stopping";
    }
    if (!restarting.compareAndSet(index, 0, 1)) {
      return "node " + name + " is already restarting";
    }
    int node = index;
    Thread restarter = new Thread(() -> {
      Server server = servers.get(node);
      try {
        System.out.println("node " + name + " restarting");
        server.stop();
        Thread.sleep(RESTART_PAUSE.toMillis());
        synchronized (this) { // not after stopAll began: that would leave a node running
          if (stopping.get()) {
            return;
          }
          server.start();
        }
        if (!((WebAppContext) server.getHandler()).isAvailable()) {
          throw new IllegalStateException("the webapp is unavailable (see the log above)");
        }
        System.out.println("node " + name + " ready on " + options.url(node));
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      } catch (Throwable e) {
        System.err.println("wscluster-demo: node " + name + " failed to restart: " + describe(e));
      } finally {
        restarting.set(node, 0);
      }
    }, "wscluster-restart-" + index);
    restarter.setDaemon(true);
    restarter.start();
    return null;
  }

  /** Called from a signal: the main thread does the stopping. A second signal forces the exit. */
  private void requestStop() {
    if (stopRequested.getCount() == 0) {
      System.err.println("wscluster-demo: second stop signal, exiting without waiting");
      Runtime.getRuntime().halt(1);
    }
    stopRequested.countDown();
  }

  /**
   * Stops every node, in parallel, waiting at most {@link #STOP_LIMIT}. Idempotent: called by the
   * main thread after a stop signal, and by the shutdown hook when the JVM exits some other way.
   *
   * @return true when every node stopped in time (always true after the first call)
   */
  private boolean stopAll() {
    synchronized (this) { // waits for a restart that is starting its node: it is stopped below
      if (!stopping.compareAndSet(false, true)) {
        return true;
      }
    }
    List<Thread> stoppers = new ArrayList<>();
    for (int i = 0; i < servers.size(); i++) {
      Server server = servers.get(i);
      String name = options.nodeName(i);
      Thread stopper = new Thread(() -> {
        try {
          server.stop();
        } catch (Throwable e) {
          System.err.println("wscluster-demo: node " + name + " did not stop cleanly: "
              + describe(e));
        }
      }, "wscluster-stop-" + i);
      stoppers.add(stopper);
      stopper.start();
    }
    long deadline = System.nanoTime() + STOP_LIMIT.toNanos();
    boolean all = true;
    for (Thread stopper : stoppers) {
      try {
        stopper.join(Math.max(1, TimeUnit.NANOSECONDS.toMillis(deadline - System.nanoTime())));
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
      all &= !stopper.isAlive();
    }
    return all;
  }

  /** wscluster-demo.war in the directory of the launcher jar (target/ when run from classes). */
  private static Path defaultWar() {
    try {
      Path self = Paths.get(Launcher.class.getProtectionDomain().getCodeSource().getLocation().toURI());
      return self.toAbsolutePath().getParent().resolve("wscluster-demo.war");
    } catch (URISyntaxException | RuntimeException e) {
      return null;
    }
  }

  /**
   * Routes SIGINT and SIGTERM to {@code action} instead of the JVM's default (run shutdown hooks,
   * exit 130/143), so that a requested stop exits with 0. Through reflection because
   * {@code sun.misc.Signal} is unsupported API; without it, the shutdown hook still stops the
   * nodes, only the exit code differs.
   *
   * @return whether the handlers were installed
   */
  private static boolean onStopSignals(Runnable action) {
    try {
      Class<?> signalType = Class.forName("sun.misc.Signal");
      Class<?> handlerType = Class.forName("sun.misc.SignalHandler");
      Object handler = Proxy.newProxyInstance(handlerType.getClassLoader(),
          new Class<?>[] {handlerType}, (proxy, method, args) -> {
            switch (method.getName()) {
              case "handle":
                action.run();
                return null;
              case "hashCode":
                return System.identityHashCode(proxy);
              case "equals":
                return proxy == args[0];
              default:
                return "wscluster-demo stop signal handler";
            }
          });
      Constructor<?> signal = signalType.getConstructor(String.class);
      Method handle = signalType.getMethod("handle", signalType, handlerType);
      handle.invoke(null, signal.newInstance("INT"), handler);
      handle.invoke(null, signal.newInstance("TERM"), handler);
      return true;
    } catch (ReflectiveOperationException | RuntimeException | LinkageError e) {
      System.err.println("wscluster-demo: cannot handle stop signals (" + e
          + "); a stop will still stop the nodes, with a non-zero exit code");
      return false;
    }
  }

  /** Quiet defaults for slf4j-simple, each overridable with -D. Must run before any logger exists. */
  private static void configureLogging() {
    Map<String, String> defaults = Map.of(
        "org.slf4j.simpleLogger.showDateTime", "true",
        "org.slf4j.simpleLogger.dateTimeFormat", "HH:mm:ss.SSS",
        "org.slf4j.simpleLogger.showShortLogName", "true",
        "org.slf4j.simpleLogger.log.org.eclipse.jetty", "warn",
        "org.slf4j.simpleLogger.log.org.redisson", "warn",
        "org.slf4j.simpleLogger.log.io.netty", "warn");
    defaults.forEach((key, value) -> {
      if (System.getProperty(key) == null) {
        System.setProperty(key, value);
      }
    });
  }

  private static Map<String, String> systemProperties() {
    Map<String, String> map = new HashMap<>();
    for (String name : System.getProperties().stringPropertyNames()) {
      map.put(name, System.getProperty(name));
    }
    return map;
  }

  /** The exception's messages down its cause chain (at most 8 deep), on one line. */
  static String describe(Throwable e) {
    StringBuilder sb = new StringBuilder();
    int depth = 0;
    for (Throwable t = e; t != null && depth < 8; t = t.getCause(), depth++) {
      String message = t.getMessage() != null ? t.getMessage() : t.getClass().getSimpleName();
      if (sb.indexOf(message) < 0) {
        sb.append(sb.length() == 0 ? "" : ": ").append(message);
      }
    }
    return sb.toString();
  }
}
