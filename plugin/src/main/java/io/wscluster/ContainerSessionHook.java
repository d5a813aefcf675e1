package io.wscluster;

import jakarta.servlet.ServletContext;
import jakarta.websocket.Session;
import java.lang.reflect.InvocationHandler;
import java.lang.reflect.Method;
import java.lang.reflect.Proxy;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Tells the node about every WebSocket session of the webapp, also of endpoints it does not own,
 * through Jetty's container session listener ({@code addSessionListener} of the object stored as
 * {@code jakarta.websocket.server.ServerContainer}).
 *
 * <p>Jetty hides {@code org.eclipse.jetty.*} from webapp class loaders, so the listener interface
 * is never named: it is found as the parameter type of {@code addSessionListener} and implemented
 * with a {@link Proxy}. The same code binds to ee10 and ee11 containers. Callbacks run on Jetty's
 * threads and only update the session registry.
 */
final class ContainerSessionHook {
  private static final Logger LOG = LoggerFactory.getLogger(ContainerSessionHook.class);
  static final String SERVER_CONTAINER = "jakarta.websocket.server.ServerContainer";

  private final Object container;
  private final Object listener;
  private final Method remove;

  private ContainerSessionHook(Object container, Object listener, Method remove) {
    this.container = container;
    this.listener = listener;
    this.remove = remove;
  }

  /**
   * Installs the listener; returns null (and logs why) when the container offers none, in which
   * case sessions are registered when the app first passes them to the cluster.
   */
  static ContainerSessionHook install(ServletContext context, String nodeId,
      Consumer<Session> onOpened, Consumer<Session> onClosed) {
    Object container = context.getAttribute(SERVER_CONTAINER);
    if (container == null) {
      LOG.warn("[{}] no WebSocket container in this webapp ({} attribute missing): sessions are "
          + "tracked only once passed to the cluster API", nodeId, SERVER_CONTAINER);
      return null;
    }
    Method add = findListenerMethod(container.getClass(), "addSessionListener");
    Method remove = findListenerMethod(container.getClass(), "removeSessionListener");
    if (add == null) {
      LOG.warn("[{}] the WebSocket container {} has no addSessionListener: sessions are tracked "
          + "only once passed to the cluster API", nodeId, container.getClass().getName());
      return null;
    }
    Class<?> type = add.getParameterTypes()[0];
    InvocationHandler handler = (proxy, method, args) -> {
      switch (method.getName()) {
        case "equals": return proxy == args[0];
        case "hashCode": return System.identityHashCode(proxy);
        case "toString": return "wscluster session listener of " + nodeId;
        default: break;
      }
      if (args != null && args.length == 1 && args[0] instanceof Session) {
        String name = method.getName();
        try {
          if (name.endsWith("Opened")) {
            onOpened.accept((Session) args[0]);
          } else if (name.endsWith("Closed")) {
            onClosed.accept((Session) args[0]);
          }
        } catch (RuntimeException e) {
          // never into Jetty's thread
          LOG.error("[{}] session callback {} failed", nodeId, name, e);
        }
      }
      return null;
    };
    Object listener = Proxy.newProxyInstance(type.getClassLoader(), new Class<?>[] {type}, handler);
    try {
      add.invoke(container, listener);
    } catch (ReflectiveOperationException | RuntimeException e) {
      LOG.warn("[{}] could not add a session listener to {}: sessions are tracked only once "
          + "passed to the cluster API", nodeId, container.getClass().getName(), e);
      return null;
    }
    return new ContainerSessionHook(container, listener, remove);
  }

  private static Method findListenerMethod(Class<?> type, String name) {
    for (Method m : type.getMethods()) {
      if (m.getName().equals(name) && m.getParameterCount() == 1
          && m.getParameterTypes()[0].isInterface()) {
        m.setAccessible(true);
        return m;
      }
    }
    return null;
  }

  /** Removes the listener; the container belongs to Jetty and stays as it is. */
  void uninstall() {
    if (remove == null) {
      return;
    }
    try {
      remove.invoke(container, listener);
    } catch (ReflectiveOperationException | RuntimeException e) {
      LOG.debug("could not remove the session listener", e);
    }
  }
}
