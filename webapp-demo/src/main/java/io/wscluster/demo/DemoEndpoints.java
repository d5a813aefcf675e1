package io.wscluster.demo;

import io.wscluster.WsCluster;
import jakarta.servlet.ServletContext;
import jakarta.servlet.ServletContextEvent;
import jakarta.servlet.ServletContextListener;
import jakarta.servlet.annotation.WebListener;
import jakarta.websocket.CloseReason;
import jakarta.websocket.DeploymentException;
import jakarta.websocket.Session;
import jakarta.websocket.server.ServerContainer;
import jakarta.websocket.server.ServerEndpointConfig;
import java.io.IOException;
import java.time.Duration;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Deploys the demo's WebSocket endpoints, {@code /chat/{room}}, {@code /cluster/feed} and
 * {@code /bench}, reads the demo's settings ({@link DemoSettings}) and runs the cluster view's
 * {@link StatusFeed} when they ask for it.
 *
 * <p>They are registered here rather than through {@code @ServerEndpoint} because an annotated
 * endpoint has no portable way to reach its ServletContext, which {@code WsCluster.of} needs.
 * The endpoints themselves know nothing of the plugin's lifecycle: they look the cluster up when
 * a connection opens, so it does not matter whether the plugin's listener runs before or after
 * this one (the order of ServletContainerInitializers and listeners is not guaranteed).
 *
 * <p>Called by the servlet container once per deployment, on its deploying thread; the feed stops
 * in {@link #contextDestroyed}, before the plugin's own listener (listeners are destroyed in the
 * reverse order of their initialization, and this one may run before or after the plugin's: the
 * feed looks the cluster up at every tick and skips while there is none).
 */
@WebListener
public final class DemoEndpoints implements ServletContextListener {

  /**
   * Connections idle this long are closed. The container's default (30 s in Jetty) would
   * disconnect a quiet chat page or a test client waiting out a Redis outage.
   */
  static final Duration IDLE_TIMEOUT = Duration.ofHours(1);

  /**
   * Largest message accepted from a client; above the plugin's default message.max-bytes (1 MiB)
   * so that the plugin's limit, with its error message, is the one a client meets first.
   */
  static final int MAX_MESSAGE_CHARS = 2 * 1024 * 1024;

  private static final Logger LOG = LoggerFactory.getLogger(DemoEndpoints.class);
  private static final String SETTINGS_ATTRIBUTE = DemoSettings.class.getName();

  private StatusFeed feed;

  /**
   * Container thread, in an endpoint's {@code onOpen}: joins {@code session} to {@code room} and
   * returns the cluster, or, when the cluster is not running, closes the session with {@code code}
   * ("cluster unavailable") and returns null. {@code what} names the endpoint in debug logs.
   */
  static WsCluster joinOrRefuse(ServletContext context, Session session, String room,
      CloseReason.CloseCode code, String what) {
    try {
      WsCluster cluster = WsCluster.of(context);
      cluster.join(session, room);
      return cluster;
    } catch (IllegalStateException e) {
      LOG.debug("{}: refusing session {}: {}", what, session.getId(), e.getMessage());
      try {
        session.close(new CloseReason(code, "cluster unavailable"));
      } catch (IOException closeFailed) {
        LOG.debug("{}: closing session {} failed", what, session.getId(), closeFailed);
      }
      return null;
    }
  }

  /** The settings read at deployment; absent (a context not started through this listener): none. */
  static DemoSettings settings(ServletContext context) {
    Object settings = context.getAttribute(SETTINGS_ATTRIBUTE);
    return settings instanceof DemoSettings ? (DemoSettings) settings
        : DemoSettings.NONE;
  }

  @Override
  public void contextInitialized(ServletContextEvent event) {
    ServletContext context = event.getServletContext();
    DemoSettings settings = DemoSettings.of(context);
    context.setAttribute(SETTINGS_ATTRIBUTE, settings);
    Object attribute = context.getAttribute(ServerContainer.class.getName());
    if (!(attribute instanceof ServerContainer)) {
      throw new IllegalStateException("No Jakarta WebSocket container in webapp '"
          + context.getContextPath() + "' (attribute " + ServerContainer.class.getName() + " is "
          + attribute + "): deploy the demo on a server with WebSocket support enabled");
    }
    ServerContainer container = (ServerContainer) attribute;
    container.setDefaultMaxSessionIdleTimeout(IDLE_TIMEOUT.toMillis());
    container.setDefaultMaxTextMessageBufferSize(MAX_MESSAGE_CHARS);
    container.setDefaultMaxBinaryMessageBufferSize(MAX_MESSAGE_CHARS);
    try {
      container.addEndpoint(ServerEndpointConfig.Builder.create(ChatEndpoint.class, ChatEndpoint.PATH)
          .configurator(new EndpointInstanceConfigurator(() -> new ChatEndpoint(context)))
          .build());
      container.addEndpoint(ServerEndpointConfig.Builder.create(ClusterViewEndpoint.class,
              ClusterViewEndpoint.PATH)
          .configurator(new EndpointInstanceConfigurator(() -> new ClusterViewEndpoint(context)))
          .build());
      container.addEndpoint(ServerEndpointConfig.Builder.create(BenchEndpoint.class, BenchEndpoint.PATH)
          .configurator(new EndpointInstanceConfigurator(() -> new BenchEndpoint(context)))
          .build());
    } catch (DeploymentException e) {
      throw new IllegalStateException("Could not deploy the demo's WebSocket endpoints: "
          + e.getMessage(), e);
    }
    if (settings.clusterView()) {
      feed = new StatusFeed(context, settings);
      feed.start();
    }
  }

  @Override
  public void contextDestroyed(ServletContextEvent event) {
    if (feed != null) {
      feed.stop();
      feed = null;
    }
  }
}
