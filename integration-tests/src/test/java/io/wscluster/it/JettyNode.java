package io.wscluster.it;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.eclipse.jetty.ee10.annotations.AnnotationConfiguration;
import org.eclipse.jetty.ee10.webapp.Configuration;
import org.eclipse.jetty.ee10.webapp.WebAppContext;
import org.eclipse.jetty.ee10.websocket.jakarta.server.config.JakartaWebSocketConfiguration;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;
import org.eclipse.jetty.server.handler.ContextHandlerCollection;
import org.eclipse.jetty.util.thread.QueuedThreadPool;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One embedded Jetty 12 server on a free port of 127.0.0.1 deploying the demo WAR unchanged through an ee10
 * {@link WebAppContext} at "/", with annotations and Jakarta WebSocket support, exactly like a Jetty distribution
 * with the {@code ee10-annotations} and {@code ee10-websocket-jakarta} modules. The plugin is loaded from the WAR's
 * WEB-INF/lib by the webapp class loader (Jetty hides {@code org.eclipse.jetty.*} from it).
 *
 * <p>Configuration goes in as context init-parameters; test hooks as context attributes set before start.
 * {@link #undeploy()} / {@link #redeploy()} stop and start only the WebAppContext; the Server keeps running.
 */
final class JettyNode implements WsNode, AutoCloseable {

  private static final Logger LOG = LoggerFactory.getLogger(JettyNode.class);

  /** Context attribute: "off" disables all dedup on the node (own-echo drop and sequence window). */
  static final String TEST_DEDUP = "io.wscluster.test.dedup";
  /** Context attribute: Integer n makes the node register its Redis listener n extra times. */
  static final String TEST_EXTRA_SUBSCRIPTIONS = "io.wscluster.test.extra-subscriptions";
  /** Context attribute: Integer n makes the node lose every n-th frame arriving on the broadcast channel. */
  static final String TEST_LOSE_INCOMING = "io.wscluster.test.lose-incoming";
  /** Context attribute: "off" makes the node publish unchained frames (receivers cannot ask for lost ones). */
  static final String TEST_CHAINS = "io.wscluster.test.chains";
  /** Context attribute: "off" makes every publish count as received by all (nothing is held for an outage). */
  static final String TEST_OUTAGE_HOLD = "io.wscluster.test.outage-hold";
  /** "redisson": sharded channels subscribed through Redisson's own sharded topics (see RedisBackendProvider). */
  static final String TEST_SHARDED_SUBSCRIBER = "io.wscluster.test.sharded-subscriber";
  /**
   * An {@code AtomicReference<Consumer<String>>} the node fills with an action that makes a channel's sharded
   * subscription deliver nothing while Redis still counts it (see RedisBackendProvider).
   */
  static final String TEST_DEAFEN = "io.wscluster.test.deafen";
  /** "off": no sharded channel is probed (see RedisBackendProvider). */
  static final String TEST_SHARD_PROBES = "io.wscluster.test.shard-probes";

  private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

  private final String name;
  private final Path war;
  private final Map<String, String> initParameters;
  private final Map<String, Object> attributes;
  private Path tempDir;
  private Server server;
  private ServerConnector connector;
  private ContextHandlerCollection contexts;
  private WebAppContext webapp;
  private String descriptor;
  private Path overrideDescriptor;

  JettyNode(String name, Path war, Map<String, String> initParameters, Map<String, Object> attributes) {
    this.name = name;
    this.war = war;
    this.initParameters = new LinkedHashMap<>(initParameters);
    this.attributes = new LinkedHashMap<>(attributes);
  }

  /** The demo WAR copied by the build (system property {@code it.wscluster.war}), or target/wars in the IDE. */
  static Path demoWar() {
    String configured = System.getProperty("it.wscluster.war");
    return existingWar(configured != null ? Path.of(configured) : Path.of("target", "wars", "wscluster-demo.war"));
  }

  /** Another WAR the build copied beside the demo's, by file name (e.g. "wscluster-legacy-example.war"). */
  static Path war(String fileName) {
    return existingWar(demoWar().resolveSibling(fileName));
  }

  private static Path existingWar(Path war) {
    if (!Files.isRegularFile(war)) {
      throw new IllegalStateException("WAR not found at " + war.toAbsolutePath()
          + ": build it first (mvn -B verify -pl integration-tests -am copies it in pre-integration-test)");
    }
    return war;
  }

  /**
   * Deploys with this deployment descriptor (a path inside the WAR such as "WEB-INF/web-own-injector.xml")
   * instead of WEB-INF/web.xml. Call before {@link #start()}.
   */
  JettyNode descriptor(String pathInWar) {
    this.descriptor = pathInWar;
    return this;
  }

  /** Whether the running webapp's class loader can load {@code className} (from WEB-INF or its parents). */
  boolean webappCanLoad(String className) {
    try {
      Class.forName(className, false, webapp.getClassLoader());
      return true;
    } catch (ClassNotFoundException | LinkageError e) {
      return false;
    }
  }

  @Override
  public String name() {
    return name;
  }

  synchronized void start() throws Exception {
    if (server != null) {
      throw new IllegalStateException("node " + name + " already started");
    }
    tempDir = Files.createTempDirectory("wscluster-it-" + name + "-");
    connector = newConnector("it-jetty-" + name);
    server = connector.getServer();

    // like a distribution: the webapp lives in a (dynamic) ContextHandlerCollection
    contexts = new ContextHandlerCollection();
    webapp = newWebapp();
    contexts.addHandler(webapp);
    server.setHandler(contexts);

    long t0 = System.nanoTime();
    server.start();
    LOG.info("node {} started on port {} in {} ms (attributes {})", name, connector.getLocalPort(),
        (System.nanoTime() - t0) / 1_000_000, attributes);
  }

  /**
   * A new, stopped server with a thread pool of its own named {@code poolName} and one connector on a free port of
   * 127.0.0.1; the connector's {@code getServer()} is the server.
   */
  static ServerConnector newConnector(String poolName) {
    QueuedThreadPool threads = new QueuedThreadPool(64, 4);
    threads.setName(poolName);
    Server server = new Server(threads);
    server.setStopTimeout(5_000);
    ServerConnector connector = new ServerConnector(server, 1, 1);
    connector.setHost("127.0.0.1");
    connector.setPort(0);
    server.addConnector(connector);
    return connector;
  }

  /** Deletes a stopped node's files: its webapp temp directory and its override descriptor (null: none). */
  static void deleteFiles(Path tempDir, Path overrideDescriptor) {
    RedisServer.deleteRecursively(tempDir);
    if (overrideDescriptor != null) {
      try {
        Files.deleteIfExists(overrideDescriptor);
      } catch (IOException e) {
        LOG.warn("could not delete {}", overrideDescriptor, e);
      }
    }
  }

  private WebAppContext newWebapp() {
    WebAppContext webapp = new WebAppContext();
    webapp.setContextPath("/");
    webapp.setWar(war.toAbsolutePath().toString());
    webapp.setExtractWAR(true);
    webapp.setTempDirectory(tempDir.toFile());
    webapp.setThrowUnavailableOnStartupException(true);
    if (Boolean.parseBoolean(System.getProperty("it.wscluster.shared-slf4j", "true"))) {
      // Make the webapp log through the server's SLF4J provider (as with Jetty's logging modules) so the plugin's
      // log lines appear in the test output; without it a WAR shipping slf4j-api but no provider logs nothing.
      webapp.getProtectedClassMatcher().add("org.slf4j.");
    }
    if (descriptor != null) {
      // Jetty resolves a descriptor path on its own, not inside the WAR: name the entry of the WAR file
      webapp.setDescriptor("jar:" + war.toAbsolutePath().toUri() + "!/" + descriptor);
    }
    webapp.addOverrideDescriptor(overrideDescriptor().toString());
    attributes.forEach(webapp::setAttribute);
    requireConfiguration(webapp, AnnotationConfiguration.class);
    requireConfiguration(webapp, JakartaWebSocketConfiguration.class);
    return webapp;
  }

  /**
   * The init-parameters as context-params of an override descriptor (as a distribution's override-web.xml), so they
   * replace values the WAR's own web.xml sets; plain {@code setInitParameter} would lose to those.
   */
  private Path overrideDescriptor() {
    String xml = overrideXml(initParameters, "https://jakarta.ee/xml/ns/jakartaee", "6.0");
    try {
      // not inside tempDir: Jetty empties the webapp's temp directory when the webapp starts
      if (overrideDescriptor == null) {
        overrideDescriptor = Files.createTempFile("wscluster-it-" + name + "-override-", ".xml");
      }
      return Files.writeString(overrideDescriptor, xml);
    } catch (IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
  }

  /** A web.xml of the given namespace and version holding only these context-params. */
  static String overrideXml(Map<String, String> initParameters, String namespace, String version) {
    StringBuilder xml = new StringBuilder("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<web-app xmlns=\"")
        .append(namespace).append("\" version=\"").append(version).append("\">\n");
    initParameters.forEach((k, v) -> xml.append("  <context-param><param-name>").append(xmlText(k))
        .append("</param-name><param-value>").append(xmlText(v)).append("</param-value></context-param>\n"));
    return xml.append("</web-app>\n").toString();
  }

  private static String xmlText(String s) {
    return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;");
  }

  private static void requireConfiguration(WebAppContext webapp, Class<? extends Configuration> type) {
    if (webapp.getConfiguration(type) == null) {
      webapp.addConfiguration(newInstance(type));
    }
  }

  private static Configuration newInstance(Class<? extends Configuration> type) {
    try {
      return type.getDeclaredConstructor().newInstance();
    } catch (ReflectiveOperationException e) {
      throw new IllegalStateException(e);
    }
  }

  int port() {
    return connector.getLocalPort();
  }

  @Override
  public URI wsUri(String pathAndQuery) {
    return URI.create("ws://127.0.0.1:" + port() + pathAndQuery);
  }

  URI httpUri(String pathAndQuery) {
    return URI.create("http://127.0.0.1:" + port() + pathAndQuery);
  }

  /**
   * Stops the whole server (its connections close, the plugin leaves the cluster), waits {@code down}, and starts it
   * again on the same port with the same WebAppContext: a node restart as clients see it. Unlike {@link #undeploy()},
   * which leaves open WebSocket connections standing.
   */
  synchronized void restart(Duration down) throws Exception {
    int port = port();
    long t0 = System.nanoTime();
    server.stop();
    LOG.info("node {} stopped for a restart in {} ms", name, (System.nanoTime() - t0) / 1_000_000);
    Thread.sleep(down.toMillis());
    connector.setPort(port);
    t0 = System.nanoTime();
    server.start();
    if (!webapp.isAvailable()) {
      throw new IllegalStateException("node " + name + " webapp unavailable after restart",
          webapp.getUnavailableException());
    }
    LOG.info("node {} restarted on port {} in {} ms", name, port, (System.nanoTime() - t0) / 1_000_000);
  }

  /** Stops the webapp only (the plugin's contextDestroyed runs); the server and its connector stay up. */
  synchronized void undeploy() throws Exception {
    long t0 = System.nanoTime();
    webapp.stop();
    LOG.info("node {} webapp undeployed in {} ms", name, (System.nanoTime() - t0) / 1_000_000);
  }

  /**
   * Starts the same WebAppContext instance again (re-extracts the WAR, new class loader, re-runs initializers), as
   * JMX, jetty-maven-plugin scans and IDE redeploys do.
   */
  synchronized void redeploy() throws Exception {
    startWebapp(false);
  }

  /** Replaces the stopped WebAppContext with a new instance and starts it, as Jetty's deployer does. */
  synchronized void redeployAsNewContext() throws Exception {
    startWebapp(true);
  }

  private void startWebapp(boolean newContext) throws Exception {
    long t0 = System.nanoTime();
    if (newContext) {
      WebAppContext fresh = newWebapp();
      contexts.removeHandler(webapp);
      contexts.addHandler(fresh);
      webapp = fresh;
    }
    webapp.start();
    Throwable unavailable = webapp.getUnavailableException();
    if (unavailable != null || !webapp.isAvailable()) {
      throw new IllegalStateException("node " + name + " webapp unavailable after redeploy", unavailable);
    }
    LOG.info("node {} webapp redeployed{} in {} ms", name, newContext ? " as a new context" : "",
        (System.nanoTime() - t0) / 1_000_000);
  }

  /** What the running webapp's object factory decorates with, by {@code toString()}. */
  synchronized List<String> objectFactoryDecorators() {
    return webapp.getObjectFactory().getDecorators().stream().map(Object::toString).toList();
  }

  /**
   * The webapp's registered event listeners that come from the WAR (not Jetty's own), each with the identity of
   * its class loader and whether that is the webapp's current class loader: a diagnostic for redeploy failures.
   */
  synchronized List<String> webappListeners() {
    ClassLoader current = webapp.getClassLoader();
    return webapp.getEventListeners().stream()
        .filter(l -> !l.getClass().getName().startsWith("org.eclipse.jetty."))
        .map(l -> l.getClass().getName() + " (class loader @" + Integer.toHexString(
            System.identityHashCode(l.getClass().getClassLoader()))
            + (l.getClass().getClassLoader() == current ? ", current" : ", NOT the webapp's current loader") + ")")
        .toList();
  }

  boolean isWebappRunning() {
    return webapp != null && webapp.isRunning();
  }

  /** GET /status as text. */
  String statusText() throws IOException, InterruptedException {
    HttpResponse<String> response = HTTP.send(
        HttpRequest.newBuilder(httpUri("/status")).timeout(Duration.ofSeconds(10)).GET().build(),
        HttpResponse.BodyHandlers.ofString());
    if (response.statusCode() != 200) {
      throw new IllegalStateException("GET /status on node " + name + " returned " + response.statusCode()
          + ": " + response.body());
    }
    return response.body();
  }

  /** GET /status parsed: {@code {"node":"...","stats":{...}}}. */
  Map<String, Object> statsJson() throws IOException, InterruptedException {
    return Json.object(statusText());
  }

  /** The node id the running webapp reports in /status. */
  String nodeId() throws IOException, InterruptedException {
    return (String) statsJson().get("node");
  }

  /** One counter of /status "stats" (missing counters fail: the counter names are part of the WAR's protocol). */
  long stat(String counter) throws IOException, InterruptedException {
    Long value = stats().get(counter);
    if (value == null) {
      throw new AssertionError("node " + name + " /status has no numeric stats." + counter + ": " + statusText());
    }
    return value;
  }

  /** Every numeric counter and gauge of /status "stats", sorted by name (counters never bumped may be absent). */
  Map<String, Long> stats() throws IOException, InterruptedException {
    Map<String, Object> json = statsJson();
    if (!(json.get("stats") instanceof Map<?, ?> map)) {
      throw new AssertionError("node " + name + " /status has no stats object: " + json);
    }
    Map<String, Long> out = new java.util.TreeMap<>();
    map.forEach((k, v) -> {
      if (v instanceof Number n) {
        out.put((String) k, n.longValue());
      }
    });
    return out;
  }

  synchronized void stop() {
    if (server == null) {
      return;
    }
    try {
      // a context added to the running collection by a new-context redeploy is not managed by it: stop it first
      webapp.stop();
      server.stop();
    } catch (Exception e) {
      LOG.warn("node {} did not stop cleanly", name, e);
    }
    server = null;
    deleteFiles(tempDir, overrideDescriptor);
    overrideDescriptor = null;
  }

  @Override
  public void close() {
    stop();
  }

  @Override
  public String toString() {
    return name + (connector != null ? "@" + connector.getLocalPort() : "");
  }

  static List<String> names(List<JettyNode> nodes) {
    return nodes.stream().map(JettyNode::name).toList();
  }
}
