package io.wscluster;

import jakarta.servlet.ServletContext;
import jakarta.websocket.Session;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletionStage;

/**
 * The cluster as the application sees it: one per webapp (ServletContext), started by
 * {@link WsClusterInitializer} when the webapp deploys and stopped when it undeploys.
 *
 * <p>Every method is thread-safe and never blocks on Redis: sends are written to matching sessions
 * on this node at once and published to the other nodes asynchronously. Each intended session on
 * every node receives a message exactly once, in the order its sending node sent it.
 *
 * <p>Sessions are those of every Jakarta WebSocket endpoint of the webapp, including endpoints the
 * application wrote without knowing about wscluster. A session's rooms are cleared when it closes.
 */
public interface WsCluster {

  /** The ServletContext attribute under which the running cluster is stored. */
  String CONTEXT_ATTRIBUTE = WsCluster.class.getName();

  /**
   * The cluster of the webapp that owns {@code context}.
   *
   * @throws IllegalStateException when the plugin did not start in this webapp (not deployed as a
   *     drop-in, startup failed, or the webapp is stopping)
   */
  static WsCluster of(ServletContext context) {
    Object cluster = context.getAttribute(CONTEXT_ATTRIBUTE);
    if (cluster instanceof WsCluster) {
      return (WsCluster) cluster;
    }
    throw new IllegalStateException("wscluster is not running in webapp '" + context.getContextPath()
        + "': is the wscluster jar in WEB-INF/lib and did startup succeed? (see the log)");
  }

  /**
   * The cluster of the webapp whose endpoint owns {@code session}. Meant for annotated
   * ({@code @ServerEndpoint}) endpoints, which have no portable way to reach their ServletContext:
   * the session's WebSocket container is one per webapp, and the plugin records which cluster
   * runs with it. Works from {@code @OnOpen} on.
   *
   * @throws IllegalStateException when the plugin is not running in the session's webapp (not
   *     deployed as a drop-in, startup failed, or the webapp is stopping)
   */
  static WsCluster of(Session session) {
    WsCluster cluster = WebappLifecycle.clusterOf(session.getContainer());
    if (cluster != null) {
      return cluster;
    }
    throw new IllegalStateException("wscluster is not running in the webapp of session "
        + session.getId() + ": is the wscluster jar in WEB-INF/lib and did startup succeed? "
        + "(see the log)");
  }

  /** This node's origin id: its configured name plus a random part chosen at each start. */
  String nodeId();

  /**
   * The cluster-wide id of a local session, usable in {@link Target#session} and
   * {@link Target#except} on any node.
   */
  String sessionId(Session session);

  /** Adds a local session to a room. Idempotent. */
  void join(Session session, String room);

  /** Removes a local session from a room. Idempotent. */
  void leave(Session session, String room);

  /** The rooms a local session is in (a snapshot). */
  Set<String> rooms(Session session);

  /**
   * Assigns the user of a local session, replacing its handshake principal's name; {@code null}
   * goes back to the principal.
   */
  void setUser(Session session, String userId);

  /** The user of a local session: the assigned id, else the principal's name, else null. */
  String user(Session session);

  /**
   * Sends a text message to every session the target matches, on every node, exactly once each.
   *
   * @return completes when the message has been handed to this node's matching sessions and
   *     published to the other nodes; fails with {@link WsClusterException} when it could not be
   *     published (the local sessions have it regardless)
   * @throws IllegalArgumentException the text exceeds {@code wscluster.message.max-bytes}
   * @throws IllegalStateException the cluster is stopped
   */
  CompletionStage<Void> send(Target target, String text);

  /** Binary counterpart of {@link #send(Target, String)}; the array is not copied: do not modify it. */
  CompletionStage<Void> send(Target target, byte[] data);

  /**
   * Sends to the sessions of {@code target} wherever they are connected and reports which got it.
   * The target may name sessions and users only (no rooms, not all). The message goes to the
   * owning nodes only (found in the cluster directory), each writes it to its sessions and
   * confirms; sessions of this node are written directly.
   *
   * @return completes with the {@link Delivery} once every owning node confirmed or is known to
   *     have left, if at least one session was written (the others are listed in
   *     {@link Delivery#failed()} with their reason). Fails with {@link DeliveryException}:
   *     {@code NOT_CONNECTED} when no targeted session is connected anywhere, {@code WRITE_FAILED}
   *     when none could be written, {@code NODE_GONE} when none was written because an owner
   *     left first (or this node stopped), {@code TIMEOUT} when an owner did not answer within
   *     {@code wscluster.receipt.timeout}, whatever the others did (its sessions' outcome is
   *     unknown; {@link DeliveryException#delivery()} lists what is known). Completes on a
   *     wscluster callback thread.
   * @throws IllegalArgumentException the target has rooms or is all, or the text is too large
   */
  CompletionStage<Delivery> deliver(Target target, String text);

  /** Binary counterpart of {@link #deliver(Target, String)}. */
  CompletionStage<Delivery> deliver(Target target, byte[] data);

  /** Cluster-wide presence: sessions, rooms, users and live nodes. */
  Presence presence();

  /**
   * Writes a text message to one local session only (no other node is involved), through the
   * same per-session outbox as cluster deliveries: use it instead of the session's own remote
   * endpoint in code that also receives cluster messages, so writes to the session never overlap.
   *
   * @return completes when the message is written; fails with {@link WsClusterException} when the
   *     session is closed, its outbox overflows, or the write fails
   * @throws IllegalArgumentException the text exceeds {@code wscluster.message.max-bytes}
   */
  CompletionStage<Void> sendLocal(Session session, String text);

  /** Binary counterpart of {@link #sendLocal(Session, String)}; the array is not copied. */
  CompletionStage<Void> sendLocal(Session session, byte[] data);

  /**
   * Resumes a local session's history streams for an application that carries the client's
   * recovery state itself (instead of the {@code wscluster} query parameter; see the README's
   * "Recovery"): the session is tracked from now on (a hello frame, offsets on each message), and
   * each stream of {@code offsets} it is in now ({@code all}; {@code room:<name>} of its rooms;
   * {@code user:<id>} of its user) is replayed from the given offset, then continued live; the
   * others when the session joins them.
   *
   * @param epoch the epoch the offsets belong to (from the client's last hello), or null
   * @param offsets stream name to the id of the last message the client has from it
   * @return completes, on a wscluster callback thread, once the streams it is in now were
   *     resumed: per stream, true when every message after its offset was sent, false when the
   *     history no longer covers the gap or the epoch differs (the client should reload state)
   * @throws IllegalArgumentException an offset is not a stream id {@code <ms>-<seq>}
   * @throws IllegalStateException the session already resumes with other offsets
   */
  CompletionStage<Map<String, Boolean>> resume(Session session, String epoch,
      Map<String, String> offsets);

  /**
   * Counters of this node since it started (name to value), for metrics and tests, and gauges
   * read at the call: {@code sessions}; {@code outbox.queued.max} and {@code outbox.queued.total}
   * (frames waiting in the local sessions' outboxes); {@code outbox.bytes.max} and
   * {@code outbox.bytes.total} (what they count against {@code wscluster.outbox.max-bytes}).
   */
  Map<String, Long> stats();

  /**
   * This node's link to the cluster: whether its own messages come back through Redis (a probe
   * every {@code wscluster.node.heartbeat}), how many nodes are live, what waits to be published.
   */
  Health health();
}
