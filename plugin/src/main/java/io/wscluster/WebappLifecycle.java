package io.wscluster;

import io.wscluster.spi.Backend;
import io.wscluster.spi.Transport;
import jakarta.servlet.ServletContext;
import jakarta.servlet.ServletContextAttributeEvent;
import jakarta.servlet.ServletContextAttributeListener;
import jakarta.servlet.ServletContextEvent;
import jakarta.servlet.ServletContextListener;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.WeakHashMap;
import java.util.function.Function;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Owns one node per webapp: builds its config, starts it, publishes it as the ServletContext
 * attribute {@link WsCluster#CONTEXT_ATTRIBUTE}, and undoes all of it when the webapp stops.
 *
 * <p>Inputs the webapp may set as ServletContext attributes before it starts:
 * {@code io.wscluster.WsClusterConfig} (a {@link WsClusterConfig.Builder}, highest precedence),
 * attributes a backend reads (the memory backend's {@code io.wscluster.memory.bus} and {@code
 * io.wscluster.memory.directory}: the in-memory bus and directory shared by nodes of one JVM),
 * and the test hooks {@code io.wscluster.test.dedup} ("off") and {@code
 * io.wscluster.test.extra-subscriptions} (an Integer, given to the backend): tests only, they break the guarantees on purpose. {@code
 * io.wscluster.test.jakarta-writes} ("on") makes every write go through the Jakarta API instead
 * of Jetty's core session: for tests that compare the two.
 *
 * <p>With Guice on the webapp's classpath it also links the node to the injector in the
 * ServletContext attribute {@code com.google.inject.Injector} when that injector holds
 * {@link WsClusterModule} (found at start, or when the attribute is set later: hence the
 * attribute listener), and adds a decorator to Jetty's object factory that injects endpoints.
 * Without Guice, no Guice-aware class is ever loaded.
 */
final class WebappLifecycle implements ServletContextListener, ServletContextAttributeListener {
  private static final Logger LOG = LoggerFactory.getLogger(WebappLifecycle.class);
  static final String BUILDER_ATTRIBUTE = WsClusterConfig.class.getName();
  static final String TEST_DEDUP = "io.wscluster.test.dedup";
  static final String TEST_EXTRA_SUBSCRIPTIONS = "io.wscluster.test.extra-subscriptions";
  static final String TEST_JAKARTA_WRITES = "io.wscluster.test.jakarta-writes";
  /** Test hook: "off" publishes unchained frames (a lost frame stays lost, see Chains). */
  static final String TEST_CHAINS = "io.wscluster.test.chains";
  /**
   * Test hook: "off" gives outboxes the frame bound of old and no byte bound or stall judgement
   * (see {@link OutboxLimits#unjudged}), so a burst closes healthy clients.
   */
  static final String TEST_FLOW_CONTROL = "io.wscluster.test.flow-control";
  /** Test hook: "off" reports every publish as received by all ({@link UnheldTransport}). */
  static final String TEST_OUTAGE_HOLD = "io.wscluster.test.outage-hold";
  /**
   * Test hook: "off" publishes messages to rooms on the broadcast channel, as nodes did before
   * room channels (the rooms benchmark's "before"; see {@link NodeParts#roomChannels}).
   */
  static final String TEST_ROOM_CHANNELS = "io.wscluster.test.room-channels";
  /** "off": recovery writes replayed and live messages as they come ({@link NodeParts#seam}). */
  static final String TEST_SEAM = "io.wscluster.test.seam";
  /** Test hook: an Integer n, lose every n-th frame arriving on the broadcast channel. */
  static final String TEST_LOSE_INCOMING = "io.wscluster.test.lose-incoming";
  /** The lifecycle of the context's current start, set by {@link WsClusterInitializer}. */
  static final String CURRENT_ATTRIBUTE = WebappLifecycle.class.getName();
  /** Jetty's object factory, which makes and decorates the webapp's endpoints. */
  static final String OBJECT_FACTORY = "org.eclipse.jetty.util.DecoratedObjectFactory";
  /** Whether Guice can be loaded by the class loader that loaded the plugin. */
  static final boolean GUICE_PRESENT = guicePresent();

  /**
   * Running clusters by their webapp's WebSocket container, for
   * {@link WsCluster#of(jakarta.websocket.Session)}: an annotated endpoint can reach its
   * session's container but not its ServletContext. Weak keys, and entries removed on stop, so a
   * stopped webapp is never kept alive from here.
   */
  private static final Map<Object, WsCluster> BY_CONTAINER =
      Collections.synchronizedMap(new WeakHashMap<>());

  /**
   * The webapp's class loader, as the initializer saw it: a listener added by an initializer may
   * not ask the context for it (Servlet 3.0 and later; Jetty's ee8 and ee9 contexts throw
   * UnsupportedOperationException).
   */
  private final ClassLoader webappLoader;
  // written on the container's deploying thread; read there and by attribute events
  private volatile ClusterNode node;
  private JettyCallback hook;
  private JettyCallback decorator;
  private NodeMBean mbean;
  private Object container;
  private Map<String, String> startedWith = Map.of();
  private final List<GuiceCluster> attached = new ArrayList<>();

  WebappLifecycle(ClassLoader webappLoader) {
    this.webappLoader = webappLoader;
  }

  @Override
  public void contextInitialized(ServletContextEvent event) {
    ServletContext context = event.getServletContext();
    if (!isCurrent(context)) {
      return;
    }
    Map<String, String> top = topValues(context);
    WsClusterConfig config = loadConfig(context, webappLoader, top);
    ClusterNode n = newNode(config, context::getAttribute, webappLoader);
    try {
      n.start();
    } catch (WsClusterException e) {
      throw e;
    } catch (Exception e) {
      throw new WsClusterException("wscluster could not start in webapp '"
          + context.getContextPath() + "': " + e, e);
    }
    if (!config.enabled()) {
      LOG.info("[{}] wscluster is disabled ({}=false): this webapp runs single-node", n.nodeId(),
          WsClusterConfig.ENABLED);
    }
    startedWith = top;
    node = n;
    hook = ContainerSessionHook.install(context, n.nodeId(), n::onSessionOpened, n::onSessionClosed);
    container = context.getAttribute(ContainerSessionHook.SERVER_CONTAINER);
    if (container != null) {
      BY_CONTAINER.put(container, n);
    }
    context.setAttribute(WsCluster.CONTEXT_ATTRIBUTE, n);
    mbean = NodeMBean.register(n, context.getContextPath());
    if (GUICE_PRESENT) {
      try {
        attachInjector(context, context.getAttribute(GuiceSupport.INJECTOR_ATTRIBUTE));
        decorator = endpointDecorator(context, n.nodeId());
      } catch (RuntimeException e) {
        contextDestroyed(event);
        throw e;
      }
    }
  }

  @Override
  public void attributeAdded(ServletContextAttributeEvent event) {
    onAttribute(event);
  }

  @Override
  public void attributeReplaced(ServletContextAttributeEvent event) {
    onAttribute(event);
  }

  /**
   * An injector put in the context after the node started: link it now. Runs on the thread that
   * set the attribute, so a {@link ConfigException} (module settings the node did not start
   * with) fails that caller, typically the app's own listener, and with it the deployment.
   */
  private void onAttribute(ServletContextAttributeEvent event) {
    if (GUICE_PRESENT && node != null && GuiceSupport.INJECTOR_ATTRIBUTE.equals(event.getName())) {
      attachInjector(event.getServletContext(),
          event.getServletContext().getAttribute(GuiceSupport.INJECTOR_ATTRIBUTE));
    }
  }

  private synchronized void attachInjector(ServletContext context, Object injector) {
    ClusterNode n = node;
    GuiceCluster binding = n == null ? null : GuiceSupport.binding(injector);
    if (binding != null && !attached.contains(binding)) {
      binding.attach(n, startedWith, context.getContextPath());
      attached.add(binding);
      LOG.info("[{}] WsCluster is injectable through the webapp's Guice injector", n.nodeId());
    }
  }

  /** Injects endpoints Jetty makes, when the context's injector has the module. */
  private static JettyCallback endpointDecorator(ServletContext context, String nodeId) {
    Object factory = context.getAttribute(OBJECT_FACTORY);
    if (factory == null) {
      LOG.warn("[{}] no Jetty object factory in this webapp ({} attribute missing): endpoints are "
          + "injected only through GuiceEndpointConfigurator", nodeId, OBJECT_FACTORY);
      return null;
    }
    return JettyCallback.register(factory, "addDecorator", "removeDecorator",
        "wscluster Guice endpoint decorator", nodeId,
        "endpoints are injected only through GuiceEndpointConfigurator", (method, args) -> {
          if ("decorate".equals(method.getName()) && args != null && args.length == 1) {
            return GuiceSupport.decorate(context, args[0]);
          }
          return null;
        });
  }

  @Override
  public void contextDestroyed(ServletContextEvent event) {
    if (node == null && !isCurrent(event.getServletContext())) {
      return;
    }
    event.getServletContext().removeAttribute(CURRENT_ATTRIBUTE);
    event.getServletContext().removeAttribute(WsCluster.CONTEXT_ATTRIBUTE);
    if (mbean != null) {
      mbean.unregister();
      mbean = null;
    }
    if (decorator != null) {
      decorator.unregister();
      decorator = null;
    }
    if (hook != null) {
      hook.unregister();
      hook = null;
    }
    if (container != null) {
      BY_CONTAINER.remove(container);
      container = null;
    }
    ClusterNode n = node;
    if (n != null) {
      synchronized (this) {
        for (GuiceCluster binding : attached) {
          binding.detach(n, event.getServletContext().getContextPath());
        }
        attached.clear();
      }
      node = null;
      n.stop();
    }
  }

  /**
   * Whether this listener belongs to the context's current start. A listener of an earlier start,
   * which the container kept across a restart, must do nothing: the current one owns the node.
   */
  boolean isCurrent(ServletContext context) {
    return context.getAttribute(CURRENT_ATTRIBUTE) == this;
  }

  /**
   * The webapp's configuration from every source; {@code top} are the highest-ranked settings
   * (the module's), else the builder attribute is used. Keys no source sets take the defaults
   * of the webapp's context path (its own channel prefix). The context's class loader finds the
   * properties file: callable where the context may be asked for it (an initializer).
   */
  static WsClusterConfig loadConfig(ServletContext context, Map<String, String> top) {
    return loadConfig(context, context.getClassLoader(), top);
  }

  /** As {@link #loadConfig(ServletContext, Map)}, with the webapp's class loader given. */
  static WsClusterConfig loadConfig(ServletContext context, ClassLoader webappLoader,
      Map<String, String> top) {
    return ConfigLoader.load(top.isEmpty() ? builderValues(context) : top, initParameters(context),
        systemProperties(), System.getenv(), webappLoader, context.getContextPath());
  }

  /**
   * A node of {@code config}, not started: its backend made by the provider that
   * {@code wscluster.transport} names (see {@link Backends}), with the test switches among
   * {@code attributes} (the webapp's ServletContext attributes) applied.
   *
   * @param loader where backend providers are looked for: the webapp's class loader
   * @throws ConfigException when no provider has that name
   */
  static ClusterNode newNode(WsClusterConfig config, Function<String, Object> attributes,
      ClassLoader loader) {
    Object extra = attributes.apply(TEST_EXTRA_SUBSCRIPTIONS);
    Backend backend = Backends.create(config, attributes, loader,
        extra instanceof Integer ? (Integer) extra : 0);
    Transport transport = backend.transport();
    Object lose = attributes.apply(TEST_LOSE_INCOMING);
    if (lose instanceof Integer && config.enabled()) {
      LOG.warn("TEST HOOK: every {}th frame arriving on the broadcast channel is lost", lose);
      transport = new LosingTransport(transport, (Integer) lose);
    }
    if ("off".equals(attributes.apply(TEST_OUTAGE_HOLD)) && config.enabled()) {
      LOG.warn("TEST HOOK: the outage hold is off; what Redis does not take is lost");
      transport = new UnheldTransport(transport);
    }
    // the directory is the backend's whichever transport the node sees: a Redis directory
    // shares the real transport's client
    return new ClusterNode(config, transport, parts(attributes), System::nanoTime,
        t -> backend.directory(), backend.publishCountsReceivers(), backend::history);
  }

  /** The running cluster whose webapp's WebSocket container is {@code container}, or null. */
  static WsCluster clusterOf(Object container) {
    return container == null ? null : BY_CONTAINER.get(container);
  }

  private static boolean guicePresent() {
    try {
      Class.forName(GuiceSupport.INJECTOR_ATTRIBUTE, false, WebappLifecycle.class.getClassLoader());
      return true;
    } catch (ClassNotFoundException | LinkageError e) {
      return false;
    }
  }

  /**
   * The highest-precedence settings: the builder in the context attribute, or those given to
   * {@link WsClusterModule} in an injector already in the context; both at once is refused.
   */
  private static Map<String, String> topValues(ServletContext context) {
    Map<String, String> builder = builderValues(context);
    Map<String, String> module = GUICE_PRESENT ? GuiceSupport.moduleConfig(context) : Map.of();
    if (!builder.isEmpty() && !module.isEmpty()) {
      throw new ConfigException("wscluster settings were given both to WsClusterModule " + module.keySet()
          + " and in the ServletContext attribute " + BUILDER_ATTRIBUTE + " " + builder.keySet()
          + ": give them in one place");
    }
    return module.isEmpty() ? builder : module;
  }

  private static Map<String, String> builderValues(ServletContext context) {
    Object b = context.getAttribute(BUILDER_ATTRIBUTE);
    if (b == null) {
      return Map.of();
    }
    if (!(b instanceof WsClusterConfig.Builder)) {
      throw new ConfigException("ServletContext attribute " + BUILDER_ATTRIBUTE + " is a "
          + b.getClass().getName() + ", must be a " + WsClusterConfig.Builder.class.getName());
    }
    return ((WsClusterConfig.Builder) b).values();
  }

  private static Map<String, String> initParameters(ServletContext context) {
    Map<String, String> out = new HashMap<>();
    for (String name : Collections.list(context.getInitParameterNames())) {
      out.put(name, context.getInitParameter(name));
    }
    return out;
  }

  private static Map<String, String> systemProperties() {
    Map<String, String> out = new HashMap<>();
    System.getProperties().forEach((k, v) -> {
      if (k instanceof String && v instanceof String) {
        out.put((String) k, (String) v);
      }
    });
    return out;
  }

  /** The node's parts: the defaults, unless a test's attribute swaps one (see {@link NodeParts}). */
  private static NodeParts parts(Function<String, Object> attributes) {
    return NodeParts.DEFAULT
        .dedup(!"off".equals(attributes.apply(TEST_DEDUP)))
        .coreWrites(!"on".equals(attributes.apply(TEST_JAKARTA_WRITES)))
        .chains(!"off".equals(attributes.apply(TEST_CHAINS)))
        .flowControl(!"off".equals(attributes.apply(TEST_FLOW_CONTROL)))
        .roomChannels(!"off".equals(attributes.apply(TEST_ROOM_CHANNELS)))
        .seam(!"off".equals(attributes.apply(TEST_SEAM)));
  }
}
