package io.wscluster;

import java.lang.reflect.InvocationHandler;
import java.lang.reflect.Method;
import java.lang.reflect.Proxy;
import java.util.function.BiFunction;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A callback registered on a Jetty object through a pair of {@code addXxx}/{@code removeXxx}
 * methods whose parameter is a Jetty interface.
 *
 * <p>Jetty hides {@code org.eclipse.jetty.*} from webapp class loaders, so the interface is never
 * named: it is found as the parameter type of the add method and implemented with a
 * {@link Proxy}. The same code binds to ee10 and ee11 containers. The proxy answers
 * {@code equals}, {@code hashCode} and {@code toString} itself (by identity) and passes every
 * other call to the handler, which runs on Jetty's thread and must be quick.
 */
final class JettyCallback {
  private static final Logger LOG = LoggerFactory.getLogger(JettyCallback.class);

  private final Object target;
  private final Object proxy;
  private final Method remove;

  private JettyCallback(Object target, Object proxy, Method remove) {
    this.target = target;
    this.proxy = proxy;
    this.remove = remove;
  }

  /**
   * Adds a proxy of the add method's parameter type to {@code target}. Returns null, after a WARN
   * that says what the webapp loses ({@code consequence}), when {@code target} has no such
   * method or refuses the proxy.
   *
   * @param handler gets the called method and its arguments, returns the call's result
   */
  static JettyCallback register(Object target, String addName, String removeName,
      String description, String nodeId, String consequence,
      BiFunction<Method, Object[], Object> handler) {
    Method add = interfaceMethod(target.getClass(), addName);
    if (add == null) {
      LOG.warn("[{}] {} has no {}: {}", nodeId, target.getClass().getName(), addName, consequence);
      return null;
    }
    Class<?> type = add.getParameterTypes()[0];
    InvocationHandler invocation = (p, method, args) -> {
      switch (method.getName()) {
        case "equals": return p == args[0];
        case "hashCode": return System.identityHashCode(p);
        case "toString": return description + " of " + nodeId;
        default: return handler.apply(method, args);
      }
    };
    Object proxy = Proxy.newProxyInstance(type.getClassLoader(), new Class<?>[] {type}, invocation);
    try {
      add.invoke(target, proxy);
    } catch (ReflectiveOperationException | RuntimeException e) {
      LOG.warn("[{}] could not add the {} to {}: {}", nodeId, description,
          target.getClass().getName(), consequence, e);
      return null;
    }
    return new JettyCallback(target, proxy, interfaceMethod(target.getClass(), removeName));
  }

  private static Method interfaceMethod(Class<?> type, String name) {
    for (Method m : type.getMethods()) {
      if (m.getName().equals(name) && m.getParameterCount() == 1
          && m.getParameterTypes()[0].isInterface()) {
        m.setAccessible(true);
        return m;
      }
    }
    return null;
  }

  /** Removes the callback; the target belongs to Jetty and is otherwise left as it is. */
  void unregister() {
    if (remove == null) {
      return;
    }
    try {
      remove.invoke(target, proxy);
    } catch (ReflectiveOperationException | RuntimeException e) {
      LOG.debug("could not remove {}", proxy, e);
    }
  }
}
