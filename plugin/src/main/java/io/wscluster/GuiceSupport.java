package io.wscluster;

import com.google.inject.Binding;
import com.google.inject.Injector;
import com.google.inject.Key;
import jakarta.servlet.ServletContext;
import jakarta.websocket.Endpoint;
import jakarta.websocket.server.ServerEndpoint;
import java.lang.reflect.Constructor;
import java.util.Map;

/**
 * Everything the plugin does with Guice, behind signatures without Guice types: the webapp
 * lifecycle calls in only after {@link WebappLifecycle#GUICE_PRESENT} said Guice is on the
 * webapp's classpath, so an app without Guice never loads this class.
 *
 * <p>Only injectors that hold {@link WsClusterModule}'s binding are touched: an app that uses Guice
 * without the module keeps its endpoints exactly as the container makes them.
 */
final class GuiceSupport {
  /** Where guice-servlet's GuiceServletContextListener stores the injector; apps with their own set it. */
  static final String INJECTOR_ATTRIBUTE = "com.google.inject.Injector";

  private GuiceSupport() {}

  /** The module's binding in {@code injector}, or null if it is no injector with the module. */
  static GuiceCluster binding(Object injector) {
    if (!(injector instanceof Injector)) {
      return null;
    }
    Binding<GuiceCluster> b = ((Injector) injector).getExistingBinding(Key.get(GuiceCluster.class));
    return b == null ? null : b.getProvider().get();
  }

  /** The settings of the module in the context's injector; empty if there is none. */
  static Map<String, String> moduleConfig(ServletContext context) {
    GuiceCluster c = binding(context.getAttribute(INJECTOR_ATTRIBUTE));
    return c == null ? Map.of() : c.moduleConfig();
  }

  /**
   * Injects fields and methods of a WebSocket endpoint the container just made, if the context's
   * injector has the module and the endpoint is not made by the injector already (it is when
   * its {@code @ServerEndpoint} names {@link GuiceEndpointConfigurator} or it has an injectable
   * constructor). Called by Jetty's object factory on the upgrading thread; a failed injection
   * throws, which fails that upgrade.
   */
  static Object decorate(ServletContext context, Object o) {
    Class<?> type = o.getClass();
    if (!isEndpoint(type) || madeByInjector(type)) {
      return o;
    }
    Object injector = context.getAttribute(INJECTOR_ATTRIBUTE);
    if (binding(injector) != null) {
      ((Injector) injector).injectMembers(o);
    }
    return o;
  }

  /** An instance of {@code type} made by the context's injector, for the configurator. */
  static <T> T instance(ServletContext context, Class<T> type) throws InstantiationException {
    Object injector = context.getAttribute(INJECTOR_ATTRIBUTE);
    if (!(injector instanceof Injector)) {
      throw new InstantiationException("GuiceEndpointConfigurator cannot make " + type.getName()
          + ": webapp '" + context.getContextPath() + "' has no Guice injector in its "
          + "ServletContext attribute " + INJECTOR_ATTRIBUTE + " (GuiceServletContextListener "
          + "puts it there; an app with its own injector sets it)");
    }
    return ((Injector) injector).getInstance(type);
  }

  private static boolean isEndpoint(Class<?> type) {
    return type.isAnnotationPresent(ServerEndpoint.class) || Endpoint.class.isAssignableFrom(type);
  }

  private static boolean madeByInjector(Class<?> type) {
    ServerEndpoint annotation = type.getAnnotation(ServerEndpoint.class);
    if (annotation != null
        && GuiceEndpointConfigurator.class.isAssignableFrom(annotation.configurator())) {
      return true;
    }
    for (Constructor<?> c : type.getDeclaredConstructors()) {
      if (c.isAnnotationPresent(jakarta.inject.Inject.class)
          || c.isAnnotationPresent(com.google.inject.Inject.class)) {
        return true;
      }
    }
    return false;
  }
}
