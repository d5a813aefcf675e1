package io.wscluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

import jakarta.servlet.ServletContext;
import jakarta.servlet.ServletContextEvent;
import jakarta.servlet.ServletContextListener;
import java.lang.reflect.Proxy;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import org.junit.jupiter.api.Test;

/**
 * A listener that an initializer adds may not ask the ServletContext for its class loader (Servlet 3.0 and later:
 * UnsupportedOperationException; Jetty's ee8 and ee9 contexts enforce it, ee10 does not). The plugin's listener is
 * such a listener, so it starts its node with the class loader the initializer saw. The fake context below
 * enforces the rule as those containers do.
 */
class RestrictedListenerContextTest {

  /** A ServletContext that refuses getClassLoader() once its initializers have run, as Jetty's ee8 and ee9 do. */
  private static final class RestrictedContext {
    final Map<String, Object> attributes = new ConcurrentHashMap<>();
    final Map<String, String> params = Map.of(WsClusterConfig.TRANSPORT, "memory",
        WsClusterConfig.CHANNEL_PREFIX, "restricted-" + System.nanoTime());
    final List<Object> listeners = new ArrayList<>();
    volatile boolean initializersDone;
    final ServletContext context = (ServletContext) Proxy.newProxyInstance(getClass().getClassLoader(),
        new Class<?>[] {ServletContext.class}, (proxy, method, args) -> {
          switch (method.getName()) {
            case "getContextPath": return "/restricted";
            case "getInitParameterNames": return Collections.enumeration(params.keySet());
            case "getInitParameter": return params.get((String) args[0]);
            case "getAttribute": return attributes.get((String) args[0]);
            case "getAttributeNames": return Collections.enumeration(Set.copyOf(attributes.keySet()));
            case "setAttribute": attributes.put((String) args[0], args[1]); return null;
            case "removeAttribute": attributes.remove((String) args[0]); return null;
            case "addListener": listeners.add(args[0]); return null;
            case "getClassLoader":
              if (initializersDone) {
                throw new UnsupportedOperationException("getClassLoader() from a listener an initializer added");
              }
              return RestrictedListenerContextTest.class.getClassLoader();
            case "hashCode": return System.identityHashCode(proxy);
            case "equals": return proxy == args[0];
            case "toString": return "restricted context";
            default: throw new UnsupportedOperationException(method.getName());
          }
        });
  }

  @Test
  void contextInitialized_contextRefusesItsClassLoader_nodeStartsWithTheInitializersLoader() {
    RestrictedContext restricted = new RestrictedContext();
    new WsClusterInitializer().onStartup(Set.of(), restricted.context);
    restricted.initializersDone = true;
    ServletContextListener listener = (ServletContextListener) restricted.listeners.get(0);
    ServletContextEvent event = new ServletContextEvent(restricted.context);

    listener.contextInitialized(event);
    try {
      assertInstanceOf(ClusterNode.class, restricted.attributes.get(WsCluster.CONTEXT_ATTRIBUTE),
          "the node runs: " + restricted.attributes);
    } finally {
      listener.contextDestroyed(event);
    }
    assertNull(restricted.attributes.get(WsCluster.CONTEXT_ATTRIBUTE), "stopped and removed");
  }

  @Test
  void restrictedContext_refusesItsClassLoaderAfterTheInitializers() {
    RestrictedContext restricted = new RestrictedContext();
    assertEquals(RestrictedListenerContextTest.class.getClassLoader(), restricted.context.getClassLoader());
    restricted.initializersDone = true;

    assertThrows(UnsupportedOperationException.class, restricted.context::getClassLoader);
  }
}
