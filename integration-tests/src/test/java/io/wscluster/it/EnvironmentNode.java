package io.wscluster.it;

import java.io.File;
import java.lang.reflect.Array;
import java.lang.reflect.Method;
import java.net.URI;
import java.net.URL;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.Supplier;
import org.eclipse.jetty.server.Handler;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;
import org.eclipse.jetty.server.handler.ContextHandlerCollection;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One embedded Jetty 12 server on a free port of 127.0.0.1 deploying a WAR at "/" in one Jetty environment (ee8,
 * ee9, ee10, ee11) through that environment's {@code WebAppContext}, with its annotations and WebSocket
 * configurations, as a distribution's {@code <env>-deploy}, {@code <env>-annotations} and {@code <env>-websocket-*}
 * modules do.
 *
 * <p>The environments' classes differ only in their package names, so they are bound by name: this class compiles
 * with Jetty's core alone, and each test module puts exactly one environment on its class path (ee9, ee10 and ee11
 * need different versions of the same {@code jakarta.servlet} classes, so they cannot share one). ee8 and ee9
 * contexts are Jetty's nested ones, which hand the server their core handler through {@link Supplier#get()}.
 *
 * <p>Configuration goes in as context-params of an override descriptor (they win over the WAR's web.xml), test
 * hooks as context attributes set before start, as with {@link JettyNode}.
 */
final class EnvironmentNode implements WsNode, AutoCloseable {

  private static final Logger LOG = LoggerFactory.getLogger(EnvironmentNode.class);

  /** A Jetty 12 environment: its package segment, WebSocket API flavour and web.xml schema. */
  enum Environment {
    EE8("javax", "http://xmlns.jcp.org/xml/ns/javaee", "4.0"),
    EE9("jakarta", "https://jakarta.ee/xml/ns/jakartaee", "5.0"),
    EE10("jakarta", "https://jakarta.ee/xml/ns/jakartaee", "6.0"),
    EE11("jakarta", "https://jakarta.ee/xml/ns/jakartaee", "6.1");

    private final String api;
    private final String namespace;
    private final String servletVersion;

    Environment(String api, String namespace, String servletVersion) {
      this.api = api;
      this.namespace = namespace;
      this.servletVersion = servletVersion;
    }

    /** "ee8" ... "ee11": the package segment under org.eclipse.jetty. */
    String id() {
      return name().toLowerCase(java.util.Locale.ROOT);
    }

    /** "javax" or "jakarta": the namespace of the servlet and WebSocket APIs webapps compile against. */
    String api() {
      return api;
    }

    private String webappClass() {
      return "org.eclipse.jetty." + id() + ".webapp.WebAppContext";
    }

    private String configurationType() {
      return "org.eclipse.jetty." + id() + ".webapp.Configuration";
    }

    private String[] configurations() {
      String webSocket = api.equals("javax") ? "javax.server.config.JavaxWebSocketConfiguration"
          : "jakarta.server.config.JakartaWebSocketConfiguration";
      return new String[] {"org.eclipse.jetty." + id() + ".annotations.AnnotationConfiguration",
          "org.eclipse.jetty." + id() + ".websocket." + webSocket};
    }
  }

  private final String name;
  private final Environment environment;
  private final Path war;
  private final Map<String, String> initParameters;
  private final Map<String, Object> attributes;
  private Path tempDir;
  private Path overrideDescriptor;
  private Server server;
  private ServerConnector connector;
  private Object webapp;

  EnvironmentNode(String name, Environment environment, Path war, Map<String, String> initParameters,
      Map<String, Object> attributes) {
    this.name = name;
    this.environment = environment;
    this.war = war;
    this.initParameters = new LinkedHashMap<>(initParameters);
    this.attributes = new LinkedHashMap<>(attributes);
  }

  @Override
  public String name() {
    return name;
  }

  synchronized void start() throws Exception {
    if (server != null) {
      throw new IllegalStateException("node " + name + " already started");
    }
    tempDir = Files.createTempDirectory("wscluster-it-" + environment.id() + "-" + name + "-");
    overrideDescriptor = Files.createTempFile("wscluster-it-" + name + "-override-", ".xml");
    Files.writeString(overrideDescriptor,
        JettyNode.overrideXml(initParameters, environment.namespace, environment.servletVersion));

    connector = JettyNode.newConnector("it-jetty-" + environment.id() + "-" + name);
    server = connector.getServer();
    ContextHandlerCollection contexts = new ContextHandlerCollection();
    webapp = newWebapp();
    contexts.addHandler(webapp instanceof Handler h ? h : (Handler) ((Supplier<?>) webapp).get());
    server.setHandler(contexts);

    long t0 = System.nanoTime();
    server.start();
    if (!(Boolean) call("isAvailable")) {
      throw new IllegalStateException("node " + name + ": the " + environment.id() + " webapp is unavailable",
          (Throwable) call("getUnavailableException"));
    }
    LOG.info("{} node {} started on port {} in {} ms (attributes {})", environment.id(), name,
        connector.getLocalPort(), (System.nanoTime() - t0) / 1_000_000, attributes);
  }

  private Object newWebapp() throws ReflectiveOperationException {
    Object context = Class.forName(environment.webappClass()).getConstructor().newInstance();
    invoke(context, "setContextPath", String.class, "/");
    invoke(context, "setWar", String.class, war.toAbsolutePath().toString());
    invoke(context, "setExtractWAR", boolean.class, true);
    invoke(context, "setTempDirectory", File.class, tempDir.toFile());
    invoke(context, "setThrowUnavailableOnStartupException", boolean.class, true);
    if (Boolean.parseBoolean(System.getProperty("it.wscluster.shared-slf4j", "true"))) {
      // the webapp logs through the server's SLF4J provider, so the plugin's lines appear in the test output
      Object matcher = context.getClass().getMethod("getProtectedClassMatcher").invoke(context);
      matcher.getClass().getMethod("add", String[].class).invoke(matcher, (Object) new String[] {"org.slf4j."});
    }
    invoke(context, "addOverrideDescriptor", String.class, overrideDescriptor.toString());
    for (Map.Entry<String, Object> a : attributes.entrySet()) {
      context.getClass().getMethod("setAttribute", String.class, Object.class).invoke(context, a.getKey(),
          a.getValue());
    }
    Class<?> configurationType = Class.forName(environment.configurationType());
    String[] names = environment.configurations();
    Object configurations = Array.newInstance(configurationType, names.length);
    for (int i = 0; i < names.length; i++) {
      Array.set(configurations, i, Class.forName(names[i]).getConstructor().newInstance());
    }
    context.getClass().getMethod("addConfiguration", configurations.getClass()).invoke(context, configurations);
    return context;
  }

  private static void invoke(Object target, String method, Class<?> type, Object value)
      throws ReflectiveOperationException {
    target.getClass().getMethod(method, type).invoke(target, value);
  }

  private Object call(String method) throws ReflectiveOperationException {
    return webapp.getClass().getMethod(method).invoke(webapp);
  }

  /** The webapp's class loader (WEB-INF/classes and lib first, then what Jetty lets it see). */
  synchronized ClassLoader webappClassLoader() {
    try {
      return (ClassLoader) call("getClassLoader");
    } catch (ReflectiveOperationException e) {
      throw new IllegalStateException(e);
    }
  }

  /** Where the webapp loads a class from (a jar: URL into its WEB-INF/lib, say), or null if it cannot see it. */
  URL webappResourceOf(String className) {
    return webappClassLoader().getResource(className.replace('.', '/') + ".class");
  }

  /** Whether the running webapp's class loader can load {@code className}. */
  boolean webappCanLoad(String className) {
    try {
      Class.forName(className, false, webappClassLoader());
      return true;
    } catch (ClassNotFoundException | LinkageError e) {
      return false;
    }
  }

  Environment environment() {
    return environment;
  }

  @Override
  public URI wsUri(String pathAndQuery) {
    return URI.create("ws://127.0.0.1:" + connector.getLocalPort() + pathAndQuery);
  }

  synchronized void stop() {
    if (server == null) {
      return;
    }
    try {
      server.stop();
    } catch (Exception e) {
      LOG.warn("node {} did not stop cleanly", name, e);
    }
    server = null;
    JettyNode.deleteFiles(tempDir, overrideDescriptor);
  }

  @Override
  public void close() {
    stop();
  }

  @Override
  public String toString() {
    return environment.id() + ":" + name + (connector != null ? "@" + connector.getLocalPort() : "");
  }
}
