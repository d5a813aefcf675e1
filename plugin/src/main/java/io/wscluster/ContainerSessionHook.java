package io.wscluster;

import jakarta.servlet.ServletContext;
import jakarta.websocket.Session;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Tells the node about every WebSocket session of the webapp, also of endpoints it does not own,
 * through Jetty's container session listener ({@code addSessionListener} of the object stored as
 * {@code jakarta.websocket.server.ServerContainer}), bound through {@link JettyCallback}.
 * Callbacks run on Jetty's threads, after the endpoint's own {@code @OnOpen}, and only update the
 * session registry.
 */
final class ContainerSessionHook {
  private static final Logger LOG = LoggerFactory.getLogger(ContainerSessionHook.class);
  static final String SERVER_CONTAINER = "jakarta.websocket.server.ServerContainer";
  private static final String CONSEQUENCE =
      "sessions are tracked only once passed to the cluster API";

  private ContainerSessionHook() {}

  /**
   * Installs the listener; returns null (and logs why) when the container offers none, in which
   * case sessions are registered when the app first passes them to the cluster.
   */
  static JettyCallback install(ServletContext context, String nodeId,
      Consumer<Session> onOpened, Consumer<Session> onClosed) {
    Object container = context.getAttribute(SERVER_CONTAINER);
    if (container == null) {
      LOG.warn("[{}] no WebSocket container in this webapp ({} attribute missing): {}", nodeId,
          SERVER_CONTAINER, CONSEQUENCE);
      return null;
    }
    return JettyCallback.register(container, "addSessionListener", "removeSessionListener",
        "wscluster session listener", nodeId, CONSEQUENCE, (method, args) -> {
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
        });
  }
}
