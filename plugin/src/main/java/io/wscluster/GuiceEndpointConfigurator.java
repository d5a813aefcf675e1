package io.wscluster;

import jakarta.servlet.ServletContext;
import jakarta.websocket.server.ServerEndpointConfig;
import java.lang.reflect.Method;
import java.util.ServiceConfigurationError;
import java.util.ServiceLoader;

/**
 * Makes endpoint instances with the webapp's Guice injector, so endpoints take their
 * dependencies through an {@code @Inject} constructor:
 *
 * <pre>{@code
 * @ServerEndpoint(value = "/chat", configurator = GuiceEndpointConfigurator.class)
 * public class ChatEndpoint {
 *   @Inject
 *   ChatEndpoint(WsCluster cluster) { ... }
 * }
 * }</pre>
 *
 * <p>The injector is the ServletContext attribute {@code com.google.inject.Injector} of the
 * webapp handling the upgrade (see {@link WsClusterModule}). The Jakarta API hands a configurator
 * no context, so the webapp is the one Jetty is handling the request in, found through Jetty's
 * {@code ServletContextHandler.getCurrentServletContext()}: this configurator needs Jetty 12.
 * Jetty calls {@link #getEndpointInstance} once per accepted connection, on its upgrading thread.
 * Every other step of the handshake keeps the container's default.
 */
public class GuiceEndpointConfigurator extends ServerEndpointConfig.Configurator {
  private volatile Method currentContext;

  @Override
  public <T> T getEndpointInstance(Class<T> endpointClass) throws InstantiationException {
    return GuiceSupport.instance(currentContext(endpointClass), endpointClass);
  }

  private ServletContext currentContext(Class<?> endpointClass) throws InstantiationException {
    try {
      Method m = currentContext;
      if (m == null) {
        m = currentContextMethod();
        currentContext = m;
      }
      Object context = m.invoke(null);
      if (context instanceof ServletContext) {
        return (ServletContext) context;
      }
    } catch (ReflectiveOperationException | RuntimeException | LinkageError e) {
      InstantiationException x = new InstantiationException("GuiceEndpointConfigurator cannot "
          + "make " + endpointClass.getName() + ": it needs Jetty 12 to find the webapp (" + e + ")");
      x.initCause(e);
      throw x;
    }
    throw new InstantiationException("GuiceEndpointConfigurator cannot make "
        + endpointClass.getName() + ": Jetty is handling no webapp on this thread");
  }

  /**
   * Jetty's static accessor of the webapp in scope, found through the class loader of the
   * container's default configurator (Jetty hides its classes from webapps) and in the same
   * environment (ee8 to ee11) as that configurator: {@code getCurrentServletContext()} of ee10
   * and later, {@code getCurrentContext()} of ee8 and ee9.
   */
  private static Method currentContextMethod() throws ReflectiveOperationException {
    Class<?> defaults = containerDefaultConfigurator().getClass();
    String name = defaults.getName();
    String prefix = "org.eclipse.jetty.";
    if (!name.startsWith(prefix) || name.indexOf('.', prefix.length()) < 0) {
      throw new ClassNotFoundException("the container's configurator " + name + " is not Jetty's");
    }
    String environment = name.substring(prefix.length(), name.indexOf('.', prefix.length()));
    Class<?> handler = Class.forName(prefix + environment + ".servlet.ServletContextHandler", false,
        defaults.getClassLoader());
    try {
      return handler.getMethod("getCurrentServletContext");
    } catch (NoSuchMethodException beforeEe10) {
      return handler.getMethod("getCurrentContext");
    }
  }

  /**
   * The container's default configurator, looked up as the WebSocket API itself does (a service
   * of the thread context class loader, which Jetty exposes to webapps). Not {@code
   * getContainerDefaultConfigurator()}: that is public only since Jakarta WebSocket 2.1, and this
   * class also runs on 2.0 (ee9) and, as the ee8 artifact, on javax.websocket 1.1.
   */
  private static ServerEndpointConfig.Configurator containerDefaultConfigurator()
      throws ClassNotFoundException {
    String service = ServerEndpointConfig.Configurator.class.getName();
    try {
      return ServiceLoader.load(ServerEndpointConfig.Configurator.class).findFirst()
          .orElseThrow(() -> new ClassNotFoundException("no " + service + " service: the "
              + "container provides none"));
    } catch (ServiceConfigurationError e) {
      throw new ClassNotFoundException("the container's " + service + " service failed", e);
    }
  }
}
