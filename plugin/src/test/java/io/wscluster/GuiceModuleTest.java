package io.wscluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.wscluster.memory.TestMemory;
import com.google.inject.AbstractModule;
import com.google.inject.Guice;
import com.google.inject.Injector;
import com.google.inject.Stage;
import jakarta.inject.Inject;
import jakarta.inject.Singleton;
import jakarta.servlet.ServletContext;
import jakarta.websocket.Endpoint;
import jakarta.websocket.EndpointConfig;
import jakarta.websocket.Session;
import jakarta.websocket.server.ServerEndpoint;
import java.lang.reflect.Proxy;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.function.BiConsumer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** WsClusterModule's binding, its link to a running node, and endpoint injection. */
class GuiceModuleTest {
  private final ConcurrentHashMap<String, List<BiConsumer<String, byte[]>>> bus =
      new ConcurrentHashMap<>();
  private final List<ClusterNode> nodes = new ArrayList<>();
  private final Map<String, Object> attributes = new ConcurrentHashMap<>();
  private final ServletContext context = servletContext(attributes);

  @AfterEach
  void stopNodes() {
    nodes.forEach(ClusterNode::stop);
  }

  private ClusterNode start(String name) throws Exception {
    ClusterNode node = new ClusterNode(WsClusterConfig.builder()
        .transport(WsClusterConfig.TransportType.MEMORY).nodeName(name)
        .set(WsClusterConfig.SHUTDOWN_TIMEOUT, "1s").build(),
        TestMemory.transport(bus, 0), NodeParts.DEFAULT, System::nanoTime,
        t -> TestMemory.directory(null, "wscluster"));
    nodes.add(node);
    node.start();
    return node;
  }

  // ================================================================ the binding

  @Test
  void binding_beforeAttach_failsSayingWhereTheInjectorMustBe() {
    WsCluster cluster = Guice.createInjector(new WsClusterModule()).getInstance(WsCluster.class);

    IllegalStateException e = assertThrows(IllegalStateException.class, cluster::nodeId);
    assertTrue(e.getMessage().contains("ServletContext attribute com.google.inject.Injector"),
        e.getMessage());
  }

  @Test
  void binding_isOnePerInjector() {
    Injector injector = Guice.createInjector(new WsClusterModule());

    assertSame(injector.getInstance(WsCluster.class), injector.getInstance(WsCluster.class));
    assertSame(injector.getInstance(WsCluster.class), GuiceSupport.binding(injector));
  }

  @Test
  void binding_attached_sendsThroughTheNode() throws Exception {
    ClusterNode node = start("a");
    Injector injector = Guice.createInjector(new WsClusterModule());
    GuiceSupport.binding(injector).attach(node, Map.of(), "/app");
    WsCluster cluster = injector.getInstance(WsCluster.class);
    FakeSession s = new FakeSession();
    cluster.join(s.session, "lobby");

    cluster.send(Target.room("lobby"), "hi").toCompletableFuture().get(5, TimeUnit.SECONDS);

    assertEquals(node.nodeId(), cluster.nodeId());
    // the dispatcher writes this node's sessions: the stage does not wait for that write
    org.awaitility.Awaitility.await().atMost(java.time.Duration.ofSeconds(5))
        .until(() -> !s.received().isEmpty());
    assertEquals(List.of("hi"), s.received());
  }

  @Test
  void binding_heldByAnEagerSingleton_worksOnceAttached() throws Exception {
    Injector injector = Guice.createInjector(Stage.PRODUCTION, new WsClusterModule(),
        new AbstractModule() {
          @Override
          protected void configure() {
            bind(Holder.class).asEagerSingleton();
          }
        });
    ClusterNode node = start("a");
    GuiceSupport.binding(injector).attach(node, Map.of(), "/app");

    assertEquals(node.nodeId(), injector.getInstance(Holder.class).cluster.nodeId());
  }

  @Test
  void binding_afterDetach_failsSayingTheWebappStopped() throws Exception {
    ClusterNode node = start("a");
    Injector injector = Guice.createInjector(new WsClusterModule());
    GuiceCluster binding = GuiceSupport.binding(injector);
    binding.attach(node, Map.of(), "/app");

    binding.detach(node, "/app");

    IllegalStateException e = assertThrows(IllegalStateException.class,
        () -> injector.getInstance(WsCluster.class).nodeId());
    assertEquals("wscluster of webapp '/app' has stopped; this injector's WsCluster is no "
        + "longer usable", e.getMessage());
  }

  @Test
  void attach_secondRunningNode_isRefused() throws Exception {
    GuiceCluster binding = GuiceSupport.binding(Guice.createInjector(new WsClusterModule()));
    binding.attach(start("a"), Map.of(), "/a");

    IllegalStateException e = assertThrows(IllegalStateException.class,
        () -> binding.attach(start("b"), Map.of(), "/b"));
    assertTrue(e.getMessage().endsWith("install WsClusterModule in one injector per webapp"),
        e.getMessage());
  }

  @Test
  void attach_afterDetach_servesTheRestartedNode() throws Exception {
    GuiceCluster binding = GuiceSupport.binding(Guice.createInjector(new WsClusterModule()));
    ClusterNode first = start("a");
    binding.attach(first, Map.of(), "/a");
    binding.detach(first, "/a");
    ClusterNode second = start("a");

    binding.attach(second, Map.of(), "/a");

    assertEquals(second.nodeId(), binding.nodeId());
  }

  // ================================================================ module settings

  @Test
  void moduleConfig_isWhatTheModuleWasGiven() {
    attributes.put(GuiceSupport.INJECTOR_ATTRIBUTE, Guice.createInjector(
        new WsClusterModule(WsClusterConfig.builder().nodeName("web"))));

    assertEquals(Map.of(WsClusterConfig.NODE_NAME, "web"), GuiceSupport.moduleConfig(context));
  }

  @Test
  void moduleConfig_noInjectorOrNoModule_isEmpty() {
    assertEquals(Map.of(), GuiceSupport.moduleConfig(context));

    attributes.put(GuiceSupport.INJECTOR_ATTRIBUTE, Guice.createInjector());
    assertEquals(Map.of(), GuiceSupport.moduleConfig(context));

    attributes.put(GuiceSupport.INJECTOR_ATTRIBUTE, "not an injector");
    assertEquals(Map.of(), GuiceSupport.moduleConfig(context));
  }

  @Test
  void attach_moduleSettingsTheNodeDidNotStartWith_isRefusedSayingWhatToDo() throws Exception {
    GuiceCluster binding = GuiceSupport.binding(Guice.createInjector(
        new WsClusterModule(WsClusterConfig.builder().nodeName("web"))));
    ClusterNode node = start("a");

    ConfigException e = assertThrows(ConfigException.class,
        () -> binding.attach(node, Map.of(), "/app"));
    assertEquals("WsClusterModule was given settings [wscluster.node.name] but wscluster in "
        + "webapp '/app' had already started without them: the injector was put in the "
        + "ServletContext after the webapp's listeners ran. Create the injector in a listener "
        + "declared in web.xml (such as a GuiceServletContextListener) or before the server "
        + "starts, or move the settings to context-params", e.getMessage());
  }

  @Test
  void attach_moduleSettingsTheNodeStartedWith_isAccepted() throws Exception {
    GuiceCluster binding = GuiceSupport.binding(Guice.createInjector(
        new WsClusterModule(WsClusterConfig.builder().nodeName("web"))));
    ClusterNode node = start("web");

    binding.attach(node, Map.of(WsClusterConfig.NODE_NAME, "web"), "/app");

    assertEquals(node.nodeId(), binding.nodeId());
  }

  // ================================================================ endpoints

  @Test
  void decorate_annotatedEndpointWithInjectField_getsTheCluster() {
    Injector injector = Guice.createInjector(new WsClusterModule());
    attributes.put(GuiceSupport.INJECTOR_ATTRIBUTE, injector);
    FieldEndpoint endpoint = new FieldEndpoint();

    assertSame(endpoint, GuiceSupport.decorate(context, endpoint));
    assertSame(injector.getInstance(WsCluster.class), endpoint.cluster);
  }

  @Test
  void decorate_programmaticEndpoint_isInjectedToo() {
    attributes.put(GuiceSupport.INJECTOR_ATTRIBUTE, Guice.createInjector(new WsClusterModule()));
    ProgrammaticEndpoint endpoint = new ProgrammaticEndpoint();

    GuiceSupport.decorate(context, endpoint);

    assertTrue(endpoint.cluster != null);
  }

  @Test
  void decorate_injectorWithoutTheModule_leavesTheEndpointAlone() {
    attributes.put(GuiceSupport.INJECTOR_ATTRIBUTE, Guice.createInjector(new AbstractModule() {
      @Override
      protected void configure() {
        bind(WsCluster.class).toInstance(new GuiceCluster(Map.of()));
      }
    }));
    FieldEndpoint endpoint = new FieldEndpoint();

    GuiceSupport.decorate(context, endpoint);

    assertNull(endpoint.cluster);
  }

  @Test
  void decorate_noInjector_leavesTheEndpointAlone() {
    FieldEndpoint endpoint = new FieldEndpoint();

    GuiceSupport.decorate(context, endpoint);

    assertNull(endpoint.cluster);
  }

  @Test
  void decorate_objectThatIsNoEndpoint_isLeftAlone() {
    attributes.put(GuiceSupport.INJECTOR_ATTRIBUTE, Guice.createInjector(new WsClusterModule()));
    Holder servletLike = new Holder(null);

    GuiceSupport.decorate(context, servletLike);

    assertNull(servletLike.cluster);
  }

  @Test
  void decorate_endpointTheConfiguratorMakes_isNotInjectedTwice() {
    attributes.put(GuiceSupport.INJECTOR_ATTRIBUTE, Guice.createInjector(new WsClusterModule()));
    ConfiguratorEndpoint endpoint = new ConfiguratorEndpoint();

    GuiceSupport.decorate(context, endpoint);

    assertEquals(0, endpoint.injections);
  }

  @Test
  void instance_withInjector_usesTheInjectConstructor() throws Exception {
    Injector injector = Guice.createInjector(new WsClusterModule());
    attributes.put(GuiceSupport.INJECTOR_ATTRIBUTE, injector);

    ConstructorEndpoint endpoint = GuiceSupport.instance(context, ConstructorEndpoint.class);

    assertSame(injector.getInstance(WsCluster.class), endpoint.cluster);
  }

  @Test
  void instance_noInjector_failsNamingTheAttribute() {
    InstantiationException e = assertThrows(InstantiationException.class,
        () -> GuiceSupport.instance(context, ConstructorEndpoint.class));

    assertEquals("GuiceEndpointConfigurator cannot make " + ConstructorEndpoint.class.getName()
        + ": webapp '/app' has no Guice injector in its ServletContext attribute "
        + "com.google.inject.Injector (GuiceServletContextListener puts it there; an app with its "
        + "own injector sets it)", e.getMessage());
  }

  // ================================================================ fixtures

  @Singleton
  static final class Holder {
    final WsCluster cluster;

    @Inject
    Holder(WsCluster cluster) {
      this.cluster = cluster;
    }
  }

  @ServerEndpoint("/field")
  static final class FieldEndpoint {
    @Inject
    WsCluster cluster;
  }

  static final class ProgrammaticEndpoint extends Endpoint {
    @Inject
    WsCluster cluster;

    @Override
    public void onOpen(Session session, EndpointConfig config) {
    }
  }

  @ServerEndpoint(value = "/made", configurator = GuiceEndpointConfigurator.class)
  static final class ConfiguratorEndpoint {
    int injections;

    @Inject
    void count(WsCluster cluster) {
      injections++;
    }
  }

  @ServerEndpoint(value = "/ctor", configurator = GuiceEndpointConfigurator.class)
  static final class ConstructorEndpoint {
    final WsCluster cluster;

    @Inject
    ConstructorEndpoint(WsCluster cluster) {
      this.cluster = cluster;
    }
  }

  /** A ServletContext with attributes and a context path; anything else is not needed here. */
  static ServletContext servletContext(Map<String, Object> attributes) {
    return (ServletContext) Proxy.newProxyInstance(GuiceModuleTest.class.getClassLoader(),
        new Class<?>[] {ServletContext.class}, (proxy, method, args) -> {
          switch (method.getName()) {
            case "getAttribute": return attributes.get((String) args[0]);
            case "setAttribute": attributes.put((String) args[0], args[1]); return null;
            case "removeAttribute": attributes.remove((String) args[0]); return null;
            case "getContextPath": return "/app";
            default: throw new UnsupportedOperationException(method.getName());
          }
        });
  }
}
