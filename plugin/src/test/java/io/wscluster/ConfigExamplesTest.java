package io.wscluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.inject.Injector;
import com.google.inject.Key;
import com.google.inject.servlet.InstanceFilterBinding;
import com.google.inject.servlet.InstanceServletBinding;
import com.google.inject.servlet.LinkedFilterBinding;
import com.google.inject.servlet.LinkedServletBinding;
import com.google.inject.servlet.ServletModuleTargetVisitor;
import com.google.inject.spi.DefaultBindingTargetVisitor;
import java.io.Reader;
import java.lang.reflect.Method;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.stream.Collectors;
import javax.tools.DiagnosticCollector;
import javax.tools.JavaCompiler;
import javax.tools.JavaFileObject;
import javax.tools.StandardJavaFileManager;
import javax.tools.ToolProvider;
import javax.xml.parsers.DocumentBuilderFactory;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.redisson.config.Config;
import org.redisson.config.SslVerificationMode;
import org.w3c.dom.Element;
import org.w3c.dom.NodeList;

/** The examples in config/ load as documented, so they never rot. */
class ConfigExamplesTest {
  private static final Path CONFIG = Paths.get("..", "config");

  @Test
  void propertiesExample_documentsEveryKeyWithItsDefault() throws Exception {
    Path file = CONFIG.resolve("wscluster.properties");
    String text = Files.readString(file, StandardCharsets.UTF_8);
    for (String key : WsClusterConfig.KEYS.keySet()) {
      assertTrue(text.contains(key), "config/wscluster.properties does not mention " + key);
    }
    Properties p = new Properties();
    try (Reader r = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
      p.load(r);
    }
    for (String key : p.stringPropertyNames()) {
      String documentedDefault = WsClusterConfig.KEYS.get(key).defaultValue();
      assertEquals(documentedDefault, p.getProperty(key), key + " in the example is not its default");
    }
  }

  @Test
  void propertiesExample_loadsThroughTheConfigFileKey() {
    Map<String, String> sys = Map.of(WsClusterConfig.CONFIG_FILE,
        CONFIG.resolve("wscluster.properties").toString());

    WsClusterConfig c = ConfigLoader.load(Map.of(), Map.of(), sys, Map.of(), null);

    assertEquals("wscluster", c.channelPrefix());
    assertEquals(1_000_000, c.outboxMaxFrames());
    assertEquals(4 << 20, c.outboxMaxBytes());
  }

  @Test
  void webXmlExample_contextParamsLoad() throws Exception {
    var doc = DocumentBuilderFactory.newInstance().newDocumentBuilder()
        .parse(CONFIG.resolve("web.xml").toFile());
    NodeList params = doc.getElementsByTagName("context-param");
    Map<String, String> context = new HashMap<>();
    for (int i = 0; i < params.getLength(); i++) {
      Element e = (Element) params.item(i);
      context.put(e.getElementsByTagName("param-name").item(0).getTextContent().trim(),
          e.getElementsByTagName("param-value").item(0).getTextContent().trim());
    }
    assertTrue(context.size() >= 3, "the snippet sets context-params: " + context);

    WsClusterConfig c = ConfigLoader.load(Map.of(), context, Map.of(),
        Map.of("REDIS_PASSWORD", "s3cret"), null);

    assertEquals("redis://redis.internal:6379", c.redisAddress().toString());
    assertEquals("s3cret", c.redisPassword());
    assertEquals("myapp", c.channelPrefix());
  }

  @Test
  void redissonYamlExamples_parse() throws Exception {
    assertNotNull(Config.fromYAML(CONFIG.resolve("redisson-single.yaml").toFile())
        .useSingleServer().getAddress());
    Config sentinel = Config.fromYAML(CONFIG.resolve("redisson-sentinel.yaml").toFile());
    assertEquals("mymaster", sentinel.useSentinelServers().getMasterName());
    Config cluster = Config.fromYAML(CONFIG.resolve("redisson-cluster.yaml").toFile());
    assertEquals(3, cluster.useClusterServers().getNodeAddresses().size());
    Config tls = Config.fromYAML(CONFIG.resolve("redisson-tls.yaml").toFile());
    assertEquals("rediss://redis.internal:6380", tls.useSingleServer().getAddress());
    assertEquals("file:/etc/myapp/redis-ca.p12", tls.getSslTruststore().toString());
    assertEquals(SslVerificationMode.STRICT, tls.getSslVerificationMode());
  }

  @Test
  void redissonYamlExample_isAcceptedAsRedisConfig() {
    Map<String, String> context = Map.of(WsClusterConfig.REDIS_CONFIG,
        CONFIG.resolve("redisson-single.yaml").toString());

    WsClusterConfig c = ConfigLoader.load(Map.of(), context, Map.of(), Map.of(), null);

    assertEquals(CONFIG.resolve("redisson-single.yaml"), c.redisConfig());
  }

  /**
   * config/guice/AppListener.java compiles against the plugin and guice-servlet as a user's app
   * would, and the injector it builds outside any webapp binds WsCluster (not yet attached to a
   * node, so its calls fail saying why) and serves its servlet, injected, at /announce.
   */
  @Test
  void guiceSnippet_compilesAndBindsTheCluster(@TempDir Path classes) throws Exception {
    Path source = CONFIG.resolve("guice").resolve("AppListener.java");
    JavaCompiler javac = ToolProvider.getSystemJavaCompiler();
    assertNotNull(javac, "the tests need a JDK, not a JRE");
    DiagnosticCollector<JavaFileObject> diagnostics = new DiagnosticCollector<>();
    boolean compiled;
    try (StandardJavaFileManager files = javac.getStandardFileManager(diagnostics, null,
        StandardCharsets.UTF_8)) {
      compiled = javac.getTask(null, files, diagnostics,
          List.of("-d", classes.toString(), "-classpath", System.getProperty("java.class.path")),
          null, files.getJavaFileObjects(source)).call();
    }
    assertTrue(compiled, () -> source + " does not compile:\n" + diagnostics.getDiagnostics()
        .stream().map(Object::toString).collect(Collectors.joining("\n")));

    try (URLClassLoader loader = new URLClassLoader(new URL[] {classes.toUri().toURL()},
        getClass().getClassLoader())) {
      Class<?> listenerClass = loader.loadClass("example.AppListener");
      Method getInjector = listenerClass.getDeclaredMethod("getInjector");
      getInjector.setAccessible(true);
      Injector injector = (Injector) getInjector.invoke(
          listenerClass.getDeclaredConstructor().newInstance());

      assertNotNull(injector.getExistingBinding(Key.get(WsCluster.class)),
          "the snippet's injector binds WsCluster");
      WsCluster cluster = injector.getInstance(WsCluster.class);
      assertNotNull(cluster);
      IllegalStateException e = assertThrows(IllegalStateException.class, cluster::nodeId);
      assertEquals("wscluster is not attached to this injector yet: calls work once the webapp "
          + "has started and the injector is the ServletContext attribute "
          + "com.google.inject.Injector (GuiceServletContextListener puts it there; an app with "
          + "its own injector sets it)", e.getMessage());
      // guice-servlet records the served servlet's key without binding it: Guice makes it
      // just in time when GuiceFilter starts, as getInstance does here
      Class<?> servletClass = loader.loadClass("example.AnnounceServlet");
      ServedServlets served = new ServedServlets();
      injector.getBindings().values().forEach(b -> b.acceptTargetVisitor(served));
      assertEquals(Map.of("/announce", Key.get(servletClass)), served.byPattern);
      Object servlet = injector.getInstance(servletClass);
      assertNotNull(servlet);
      assertSame(servlet, injector.getInstance(servletClass), "guice-servlet needs a singleton");
    }
  }

  /** Collects the servlets that guice-servlet's ServletModule serves, by URL pattern. */
  private static final class ServedServlets extends DefaultBindingTargetVisitor<Object, Void>
      implements ServletModuleTargetVisitor<Object, Void> {
    final Map<String, Key<?>> byPattern = new HashMap<>();

    @Override
    public Void visit(LinkedServletBinding binding) {
      byPattern.put(binding.getPattern(), binding.getLinkedKey());
      return null;
    }

    @Override
    public Void visit(InstanceServletBinding binding) {
      byPattern.put(binding.getPattern(), Key.get(binding.getServletInstance().getClass()));
      return null;
    }

    @Override
    public Void visit(LinkedFilterBinding binding) {
      return null;
    }

    @Override
    public Void visit(InstanceFilterBinding binding) {
      return null;
    }
  }
}
