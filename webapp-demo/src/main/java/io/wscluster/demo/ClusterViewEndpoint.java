package io.wscluster.demo;

import io.wscluster.WsCluster;
import jakarta.servlet.ServletContext;
import jakarta.websocket.CloseReason;
import jakarta.websocket.Endpoint;
import jakarta.websocket.EndpointConfig;
import jakarta.websocket.Session;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@code /cluster/feed}: the cluster view's connection. It joins the room {@link #ROOM}, where
 * every node's {@link StatusFeed} sends {@code {"type":"status","status":<NodeStatus>}} once a
 * second; so a page connected to one node sees every node, through the cluster itself.
 *
 * <p>On open it answers {@code {"type":"hello","node":ID,"clusterView":B,"restart":B}} ({@code
 * clusterView}: whether this node's feed is on, {@code restart}: whether the launcher lets the view
 * restart nodes), then this node's status at once. Frames from the page are ignored.
 *
 * <p>Threads: the container's, never concurrently for one session.
 */
public final class ClusterViewEndpoint extends Endpoint {
  static final String PATH = "/cluster/feed";
  /** The room of the view's sessions (a chat session that joins it just receives status frames). */
  static final String ROOM = "demo/cluster-view";

  private static final Logger LOG = LoggerFactory.getLogger(ClusterViewEndpoint.class);
  private static final String ATTRIBUTE = ClusterViewEndpoint.class.getName() + ".local";

  private final ServletContext context;

  ClusterViewEndpoint(ServletContext context) {
    this.context = context;
  }

  /** The view sessions open on this node (thread-safe), one set per deployment. */
  @SuppressWarnings("unchecked")
  static Set<Session> local(ServletContext context) {
    synchronized (ClusterViewEndpoint.class) {
      Object set = context.getAttribute(ATTRIBUTE);
      if (set == null) {
        set = ConcurrentHashMap.newKeySet();
        context.setAttribute(ATTRIBUTE, set);
      }
      return (Set<Session>) set;
    }
  }

  @Override
  public void onOpen(Session session, EndpointConfig config) {
    WsCluster cluster = DemoEndpoints.joinOrRefuse(context, session, ROOM,
        CloseReason.CloseCodes.TRY_AGAIN_LATER, "cluster view");
    if (cluster == null) {
      return;
    }
    local(context).add(session);
    DemoSettings settings = DemoEndpoints.settings(context);
    SessionReply.send(cluster, session, "{\"type\":\"hello\",\"node\":" + Json.quote(cluster.nodeId())
        + ",\"clusterView\":" + settings.clusterView()
        + ",\"restart\":" + (context.getAttribute(RestartServlet.HOOK_ATTRIBUTE) != null) + "}");
    SessionReply.send(cluster, session,
        StatusFeed.frame(NodeStatus.json(cluster, context, settings, null)));
  }

  @Override
  public void onClose(Session session, CloseReason reason) {
    local(context).remove(session);
  }

  @Override
  public void onError(Session session, Throwable failure) {
    LOG.debug("cluster view session {} failed", session.getId(), failure);
  }
}
