package io.wscluster;

import io.wscluster.spi.Backend;
import io.wscluster.spi.BackendContext;
import io.wscluster.spi.BackendProvider;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.ServiceConfigurationError;
import java.util.ServiceLoader;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ThreadFactory;
import java.util.function.Function;

/**
 * Finds the {@link BackendProvider} that {@code wscluster.transport} names, among those
 * {@link ServiceLoader} finds from the webapp's class loader, and makes a node's backend with it.
 * The core knows no backend by class: the built-in ones are found the same way.
 */
final class Backends {
  /** The backend of a node with {@code wscluster.enabled=false}: the memory one, on its own bus. */
  static final String DISABLED = "memory";
  /** The context attributes in which the memory backend looks for a bus and a directory store. */
  static final String MEMORY_BUS = "io.wscluster.memory.bus";
  static final String MEMORY_STORE = "io.wscluster.memory.directory";

  private Backends() {
  }

  /**
   * A new backend for a node with {@code config}: the provider named by
   * {@link WsClusterConfig#transportName()}, or, when the node is disabled, the memory provider
   * with a bus and store of its own, so it reaches nobody.
   *
   * @param attributes the webapp's ServletContext attributes
   * @param loader the webapp's class loader, where providers are looked for (null: the plugin's)
   * @throws ConfigException when no provider has that name, naming those there are
   */
  static Backend create(WsClusterConfig config, Function<String, Object> attributes,
      ClassLoader loader, int extraSubscriptions) {
    String name = config.enabled() ? config.transportName() : DISABLED;
    BackendContext context;
    if (config.enabled()) {
      context = context(config, attributes, loader, extraSubscriptions);
    } else {
      Map<String, Object> isolated = Map.of(MEMORY_BUS, new ConcurrentHashMap<>(),
          MEMORY_STORE, new ConcurrentHashMap<>());
      context = context(config, isolated::get, loader, 0);
    }
    BackendProvider provider = provider(name, loader);
    Backend backend = provider.create(context);
    if (backend == null || backend.transport() == null) {
      throw new WsClusterException("backend provider " + provider.getClass().getName() + " ('"
          + name + "') made no " + (backend == null ? "backend" : "transport"));
    }
    return backend;
  }

  /** The provider named {@code name} (lower case), from {@code loader} (null: the plugin's). */
  static BackendProvider provider(String name, ClassLoader loader) {
    List<String> broken = new ArrayList<>();
    Map<String, BackendProvider> found = providers(loader, broken);
    BackendProvider p = found.get(name);
    if (p == null) {
      throw new ConfigException(WsClusterConfig.TRANSPORT + " value was set to '" + name
          + "', must be the name of a backend on the class path: one of "
          + String.join(", ", found.keySet()) + " (a backend lists its provider in "
          + "META-INF/services/" + BackendProvider.class.getName() + ")"
          + (broken.isEmpty() ? "" : "; providers that could not be loaded: " + broken));
    }
    return p;
  }

  /**
   * Every provider {@code loader} finds, by name, the first of a name winning (the same jar may
   * be seen through two class loaders); why the others that are listed could not be loaded goes
   * to {@code broken}.
   */
  static Map<String, BackendProvider> providers(ClassLoader loader, List<String> broken) {
    ClassLoader l = loader != null ? loader : Backends.class.getClassLoader();
    Map<String, BackendProvider> found = new TreeMap<>();
    Iterator<BackendProvider> it = ServiceLoader.load(BackendProvider.class, l).iterator();
    while (true) {
      try {
        if (!it.hasNext()) {
          return found;
        }
        BackendProvider p = it.next();
        found.putIfAbsent(p.name(), p);
      } catch (ServiceConfigurationError e) {
        broken.add(e.getMessage());
      }
    }
  }

  private static BackendContext context(WsClusterConfig config,
      Function<String, Object> attributes, ClassLoader loader, int extraSubscriptions) {
    return new BackendContext() {
      @Override
      public WsClusterConfig config() {
        return config;
      }

      @Override
      public String explicitValue(String key) {
        return config.explicitValues().get(key);
      }

      @Override
      public Object attribute(String name) {
        return attributes.apply(name);
      }

      @Override
      public ClassLoader classLoader() {
        return loader;
      }

      @Override
      public ThreadFactory threadFactory(String role) {
        return new NamedThreadFactory(role);
      }

      @Override
      public int extraSubscriptions() {
        return extraSubscriptions;
      }
    };
  }
}
