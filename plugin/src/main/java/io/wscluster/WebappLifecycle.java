package io.wscluster;

import jakarta.servlet.ServletContext;
import jakarta.servlet.ServletContextEvent;
import jakarta.servlet.ServletContextListener;
import java.util.Collections;
import java.util.HashMap;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Owns one node per webapp: builds its config, starts it, publishes it as the ServletContext
 * attribute {@link WsCluster#CONTEXT_ATTRIBUTE}, and undoes all of it when the webapp stops.
 *
 * <p>Inputs the webapp may set as ServletContext attributes before it starts:
 * {@code io.wscluster.WsClusterConfig} (a {@link WsClusterConfig.Builder}, highest precedence),
 * {@code io.wscluster.memory.bus} and {@code io.wscluster.memory.directory} (the in-memory bus
 * and directory shared by nodes of one JVM), and the test
 * hooks {@code io.wscluster.test.dedup} ("off") and {@code io.wscluster.test.extra-subscriptions}
 * (an Integer): tests only, they break the guarantees on purpose.
 */
final class WebappLifecycle implements ServletContextListener {
  private static final Logger LOG = LoggerFactory.getLogger(WebappLifecycle.class);
  static final String BUILDER_ATTRIBUTE = WsClusterConfig.class.getName();
  static final String TEST_DEDUP = "io.wscluster.test.dedup";
  static final String TEST_EXTRA_SUBSCRIPTIONS = "io.wscluster.test.extra-subscriptions";
  /** The lifecycle of the context's current start, set by {@link WsClusterInitializer}. */
  static final String CURRENT_ATTRIBUTE = WebappLifecycle.class.getName();

  private ClusterNode node;
  private ContainerSessionHook hook;

  @Override
  public void contextInitialized(ServletContextEvent event) {
    ServletContext context = event.getServletContext();
    if (!isCurrent(context)) {
      return;
    }
    WsClusterConfig config = ConfigLoader.load(builderValues(context), initParameters(context),
        systemProperties(), System.getenv(), context.getClassLoader());
    ClusterNode.Hooks hooks = hooks(context);
    io.wscluster.spi.Transport transport;
    java.util.function.Function<io.wscluster.spi.Transport, Directory> directories;
    String prefix = config.channelPrefix();
    if (!config.enabled()) {
      transport = InMemoryTransport.isolated();
      directories = t -> new InMemoryDirectory(new java.util.concurrent.ConcurrentHashMap<>(), prefix);
    } else if (config.transport() == WsClusterConfig.TransportType.MEMORY) {
      transport = new InMemoryTransport(
          InMemoryTransport.busFrom(context.getAttribute(InMemoryTransport.BUS_ATTRIBUTE)),
          hooks.extraSubscriptions);
      java.util.concurrent.ConcurrentMap<String, java.util.concurrent.ConcurrentMap<String, String>>
          store = InMemoryDirectory.storeFrom(context.getAttribute(InMemoryDirectory.STORE_ATTRIBUTE));
      directories = t -> new InMemoryDirectory(store, prefix);
    } else {
      transport = new RedisTransport(config, hooks.extraSubscriptions);
      directories = t -> ((RedisTransport) t).directory(prefix);
    }
    ClusterNode n = new ClusterNode(config, transport, hooks, System::nanoTime, directories);
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
    node = n;
    hook = ContainerSessionHook.install(context, n.nodeId(), n::onSessionOpened, n::onSessionClosed);
    context.setAttribute(WsCluster.CONTEXT_ATTRIBUTE, n);
  }

  @Override
  public void contextDestroyed(ServletContextEvent event) {
    if (node == null && !isCurrent(event.getServletContext())) {
      return;
    }
    event.getServletContext().removeAttribute(CURRENT_ATTRIBUTE);
    event.getServletContext().removeAttribute(WsCluster.CONTEXT_ATTRIBUTE);
    if (hook != null) {
      hook.uninstall();
      hook = null;
    }
    if (node != null) {
      node.stop();
      node = null;
    }
  }

  /**
   * Whether this listener belongs to the context's current start. A listener of an earlier start,
   * which the container kept across a restart, must do nothing: the current one owns the node.
   */
  boolean isCurrent(ServletContext context) {
    return context.getAttribute(CURRENT_ATTRIBUTE) == this;
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

  private static ClusterNode.Hooks hooks(ServletContext context) {
    boolean dedup = !"off".equals(context.getAttribute(TEST_DEDUP));
    Object extra = context.getAttribute(TEST_EXTRA_SUBSCRIPTIONS);
    int extraSubscriptions = extra instanceof Integer ? (Integer) extra : 0;
    return dedup && extraSubscriptions == 0 ? ClusterNode.Hooks.DEFAULT
        : new ClusterNode.Hooks(dedup, extraSubscriptions);
  }
}
