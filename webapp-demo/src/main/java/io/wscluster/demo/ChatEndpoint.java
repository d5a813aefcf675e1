package io.wscluster.demo;

import io.wscluster.Delivery;
import io.wscluster.DeliveryException;
import io.wscluster.Presence;
import io.wscluster.Target;
import io.wscluster.WsCluster;
import jakarta.servlet.ServletContext;
import jakarta.websocket.CloseReason;
import jakarta.websocket.Endpoint;
import jakarta.websocket.EndpointConfig;
import jakarta.websocket.Session;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.security.Principal;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CompletionStage;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@code /chat/{room}?user=<nick>}: the browser chat, and the protocol the integration tests
 * drive. One instance per connection.
 *
 * <p>On open the session takes the user from the {@code user} query parameter (else its
 * principal), joins the room of its URL and receives a welcome frame, after the join: a client
 * that has its welcome is in the room. The welcome names the node, the session, the room, the
 * user, and the base URLs of the cluster's nodes ({@code demo.nodes}, often empty) that the chat
 * page may reconnect to. A {@code msg} carries {@code "direct":true} when it was sent to users or
 * sessions ({@code dm}, {@code deliver}) rather than to rooms. It then sends JSON ops; every reply ({@code ack},
 * {@code error}) goes to the sender only, every {@code msg} through the cluster:
 *
 * <pre>
 * {"op":"say","text":T}                         msg to the URL room
 * {"op":"join","room":R} / {"op":"leave",...}   ack {"type":"ack","op":"join","room":R}
 * {"op":"dm","user":U,"text":T}                 msg to the user's sessions, then ack
 * {"op":"send","all":b,"rooms":[..],"users":[..],"sessions":[..],"except":[..],
 *  "exceptSelf":b,"binary":b,"text":T}          msg (or T's UTF-8 bytes) to the union, then ack
 * {"op":"deliver","sessions":[..],"users":[..],"text":T,"binary":b,"id":I}
 *                                               msg (or T's bytes) with a receipt (see below)
 * {"op":"presence","query":Q,"name":N,"id":I}   who is where, cluster-wide (see below)
 * </pre>
 *
 * <p>{@code deliver} calls {@code cluster.deliver} (sessions and users only) and answers
 * {@code {"type":"receipt","id":I,"delivered":[sid..],"failed":{sid:reason,..}}} once every owning
 * node confirmed, or {@code {"type":"deliveryError","id":I,"reason":R,"delivered":[..],
 * "failed":{..},"message":M}} with R one of NOT_CONNECTED, WRITE_FAILED, NODE_GONE, TIMEOUT.
 *
 * <p>{@code presence} answers {@code {"type":"presence","id":I,"query":Q,"name":N,
 * "result":[..]}}, the result sorted: Q {@code node} gives the node id of session N (or nothing),
 * {@code room} the session ids in room N, {@code roomUsers} the users in room N, {@code user} the
 * session ids of user N, {@code nodes} the live node ids (N not needed).
 *
 * <p>{@code id} is optional on both: any string, echoed in the answer (and in an {@code error}
 * answer to that request) so that a client can match answers to requests.
 *
 * <p>Threads: {@link #onOpen} and the message handler run on the container's threads, never
 * concurrently for one session; acks run on whatever thread completes the plugin's
 * CompletionStage. Replies go through {@code cluster.sendLocal(session, text)}, the session's outbox
 * in the plugin, which never blocks and never overlaps with cluster deliveries to the session
 * (Jetty refuses a text message while a binary one is being started on another thread).
 */
public final class ChatEndpoint extends Endpoint {
  static final String PATH = "/chat/{room}";

  private static final Logger LOG = LoggerFactory.getLogger(ChatEndpoint.class);

  private final ServletContext context;
  private WsCluster cluster;
  private Session session;
  private String room;
  /** This session's cluster id once it is listed by {@link SessionsServlet}, else null. */
  private String listedId;

  ChatEndpoint(ServletContext context) {
    this.context = context;
  }

  @Override
  public void onOpen(Session session, EndpointConfig config) {
    this.session = session;
    this.room = session.getPathParameters().get("room");
    try {
      cluster = WsCluster.of(context);
    } catch (IllegalStateException e) {
      refuse(CloseReason.CloseCodes.UNEXPECTED_CONDITION, e.getMessage());
      return;
    }
    String user = queryParameter(session, "user");
    if (user == null) {
      Principal principal = session.getUserPrincipal();
      user = principal == null ? null : principal.getName();
    }
    String welcome;
    String id;
    try {
      if (user != null) {
        cluster.setUser(session, user);
      }
      cluster.join(session, room);
      id = cluster.sessionId(session);
      welcome = "{\"type\":\"welcome\",\"node\":" + Json.quote(cluster.nodeId())
          + ",\"session\":" + Json.quote(id)
          + ",\"room\":" + Json.quote(room)
          + ",\"user\":" + Json.quote(user)
          + ",\"nodes\":" + Json.appendArray(new StringBuilder(), DemoEndpoints.settings(context).nodes())
          + "}";
    } catch (IllegalArgumentException | IllegalStateException e) {
      // an invalid room or user name, or the cluster stopping under us
      refuse(CloseReason.CloseCodes.VIOLATED_POLICY, e.getMessage());
      return;
    }
    session.addMessageHandler(String.class, this::onText);
    listedId = id; // for GET /sessions, the benchmark's per-node listing
    SessionsServlet.local(context).add(id);
    // this connection only, through its outbox: no other node is involved
    reply(welcome);
  }

  @Override
  public void onClose(Session session, CloseReason reason) {
    if (listedId != null) {
      SessionsServlet.local(context).remove(listedId);
    }
  }

  @Override
  public void onError(Session session, Throwable failure) {
    LOG.debug("chat session {} failed", session.getId(), failure);
  }

  /** One client frame: parse, act, reply. Errors of the client's making become error replies. */
  private void onText(String text) {
    Map<String, Object> frame;
    try {
      frame = Json.parseObject(text);
    } catch (IllegalArgumentException e) {
      replyError(e.getMessage());
      return;
    }
    try {
      Object op = frame.get("op");
      if (op == null) {
        replyError("missing \"op\"");
      } else if ("say".equals(op)) {
        onSay(frame);
      } else if ("join".equals(op) || "leave".equals(op)) {
        onMembership((String) op, frame);
      } else if ("dm".equals(op)) {
        onDirectMessage(frame);
      } else if ("send".equals(op)) {
        onSend(frame);
      } else if ("deliver".equals(op)) {
        onDeliver(frame);
      } else if ("presence".equals(op)) {
        onPresence(frame);
      } else {
        replyError("unknown op " + (op instanceof String ? Json.quote((String) op) : String.valueOf(op))
            + ", expected say, join, leave, dm, send, deliver or presence");
      }
    } catch (IllegalArgumentException | IllegalStateException e) {
      // bad field types, invalid names, oversized text, or a stopped cluster
      replyError(e.getMessage());
    }
  }

  private void onSay(Map<String, Object> frame) {
    String text = string(frame, "text");
    CompletionStage<Void> sent = cluster.send(Target.room(room), message(text, false));
    sent.whenComplete((ok, failure) -> {
      if (failure != null) {
        replyError("say failed: " + describe(failure));
      }
    });
  }

  private void onMembership(String op, Map<String, Object> frame) {
    String target = string(frame, "room");
    if (op.equals("join")) {
      cluster.join(session, target);
    } else {
      cluster.leave(session, target);
    }
    reply("{\"type\":\"ack\",\"op\":\"" + op + "\",\"room\":" + Json.quote(target) + "}");
  }

  private void onDirectMessage(Map<String, Object> frame) {
    String user = string(frame, "user");
    String text = string(frame, "text");
    ackWhenDone("dm", cluster.send(Target.user(user), message(text, true)));
  }

  private void onSend(Map<String, Object> frame) {
    String text = string(frame, "text");
    Target target = flag(frame, "all")
        ? Target.all()
        : Target.rooms(strings(frame, "rooms"));
    target = target.andUsers(strings(frame, "users").toArray(String[]::new))
        .andSessions(strings(frame, "sessions").toArray(String[]::new))
        .except(strings(frame, "except"));
    if (flag(frame, "exceptSelf")) {
      target = target.except(cluster.sessionId(session));
    }
    CompletionStage<Void> sent = flag(frame, "binary")
        ? cluster.send(target, text.getBytes(StandardCharsets.UTF_8))
        : cluster.send(target, message(text, false));
    ackWhenDone("send", sent);
  }

  /**
   * {@code deliver}: a targeted send whose outcome goes back to the sender. Errors found before
   * anything is sent (bad fields, a target the plugin refuses) are answered with the request's id.
   */
  private void onDeliver(Map<String, Object> frame) {
    String id = optionalString(frame, "id");
    CompletionStage<Delivery> delivery;
    try {
      String text = string(frame, "text");
      Target target = Target.sessions(strings(frame, "sessions").toArray(String[]::new))
          .andUsers(strings(frame, "users").toArray(String[]::new));
      delivery = flag(frame, "binary")
          ? cluster.deliver(target, text.getBytes(StandardCharsets.UTF_8))
          : cluster.deliver(target, message(text, true));
    } catch (IllegalArgumentException | IllegalStateException e) {
      replyError(e.getMessage(), id);
      return;
    }
    delivery.whenComplete((receipt, failure) -> {
      if (failure == null) {
        reply(deliveryReply("receipt", id, null, receipt, null));
        return;
      }
      Throwable cause = unwrap(failure);
      if (cause instanceof DeliveryException) {
        DeliveryException e = (DeliveryException) cause;
        reply(deliveryReply("deliveryError", id, e.reason().name(), e.delivery(), describe(e)));
      } else {
        replyError("deliver failed: " + describe(cause), id);
      }
    });
  }

  private static String deliveryReply(String type, String id, String reason, Delivery delivery,
      String message) {
    StringBuilder sb = new StringBuilder(128).append("{\"type\":\"").append(type).append('"');
    if (id != null) {
      Json.appendQuoted(sb.append(",\"id\":"), id);
    }
    if (reason != null) {
      Json.appendQuoted(sb.append(",\"reason\":"), reason);
    }
    Json.appendArray(sb.append(",\"delivered\":"),
        delivery == null ? List.of() : delivery.delivered());
    Json.appendObject(sb.append(",\"failed\":"), delivery == null ? Map.of() : delivery.failed());
    if (message != null) {
      Json.appendQuoted(sb.append(",\"message\":"), message);
    }
    return sb.append('}').toString();
  }

  /** {@code presence}: one query of the cluster directory, answered to the sender only. */
  private void onPresence(Map<String, Object> frame) {
    String id = optionalString(frame, "id");
    String query;
    String name;
    CompletionStage<? extends Collection<String>> result;
    try {
      query = string(frame, "query");
      name = "nodes".equals(query) ? optionalString(frame, "name") : string(frame, "name");
      Presence presence = cluster.presence();
      switch (query) {
        case "node":
          result = presence.nodeOf(name).thenApply(node -> node.map(List::of).orElse(List.of()));
          break;
        case "room":
          result = presence.sessionsInRoom(name);
          break;
        case "roomUsers":
          result = presence.usersInRoom(name);
          break;
        case "user":
          result = presence.sessionsOfUser(name);
          break;
        case "nodes":
          result = presence.nodes();
          break;
        default:
          throw new IllegalArgumentException("unknown presence query " + Json.quote(query)
              + ", expected node, room, roomUsers, user or nodes");
      }
    } catch (IllegalArgumentException | IllegalStateException e) {
      replyError(e.getMessage(), id);
      return;
    }
    result.whenComplete((names, failure) -> {
      if (failure != null) {
        replyError("presence " + query + " failed: " + describe(failure), id);
        return;
      }
      List<String> sorted = new ArrayList<>(names);
      sorted.sort(null);
      StringBuilder sb = new StringBuilder(64 + 40 * sorted.size()).append("{\"type\":\"presence\"");
      if (id != null) {
        Json.appendQuoted(sb.append(",\"id\":"), id);
      }
      Json.appendQuoted(sb.append(",\"query\":"), query);
      sb.append(",\"name\":");
      if (name == null) {
        sb.append("null");
      } else {
        Json.appendQuoted(sb, name);
      }
      Json.appendArray(sb.append(",\"result\":"), sorted);
      reply(sb.append('}').toString());
    });
  }

  /**
   * The chat message every recipient gets, built once per send; {@code direct} marks one sent to
   * users or sessions ({@code dm}, {@code deliver}) rather than to a room.
   */
  private String message(String text, boolean direct) {
    return "{\"type\":\"msg\",\"from\":" + Json.quote(cluster.user(session))
        + (direct ? ",\"direct\":true" : "")
        + ",\"node\":" + Json.quote(cluster.nodeId())
        + ",\"room\":" + Json.quote(room)
        + ",\"text\":" + Json.quote(text) + "}";
  }

  private void ackWhenDone(String op, CompletionStage<Void> sent) {
    sent.whenComplete((ok, failure) -> {
      if (failure == null) {
        reply("{\"type\":\"ack\",\"op\":\"" + op + "\"}");
      } else {
        replyError(op + " failed: " + describe(failure));
      }
    });
  }

  private void replyError(String message) {
    replyError(message, null);
  }

  /** An error answer, carrying the request's id when it had one. */
  private void replyError(String message, String id) {
    reply("{\"type\":\"error\"" + (id == null ? "" : ",\"id\":" + Json.quote(id))
        + ",\"message\":" + Json.quote(message) + "}");
  }

  /** Writes to this connection only, through the plugin's outbox; never blocks. */
  private void reply(String text) {
    SessionReply.send(cluster, session, text);
  }

  /** Tells the client why it cannot stay, then closes (the close reason is limited to 123 bytes). */
  private void refuse(CloseReason.CloseCode code, String why) {
    LOG.debug("chat: refusing session {}: {}", session.getId(), why);
    try {
      session.getBasicRemote().sendText("{\"type\":\"error\",\"message\":" + Json.quote(why) + "}");
      session.close(new CloseReason(code, code == CloseReason.CloseCodes.VIOLATED_POLICY
          ? "invalid room or user" : "cluster unavailable"));
    } catch (IOException | RuntimeException e) {
      LOG.debug("chat: closing session {} failed", session.getId(), e);
    }
  }

  private static String queryParameter(Session session, String name) {
    List<String> values = session.getRequestParameterMap().get(name);
    if (values == null || values.isEmpty() || values.get(0) == null || values.get(0).isEmpty()) {
      return null;
    }
    return values.get(0);
  }

  private static String string(Map<String, Object> frame, String key) {
    Object v = frame.get(key);
    if (v instanceof String) {
      return (String) v;
    }
    throw new IllegalArgumentException(v == null ? "missing \"" + key + "\""
        : "\"" + key + "\" must be a string");
  }

  private static String optionalString(Map<String, Object> frame, String key) {
    return frame.get(key) == null ? null : string(frame, key);
  }

  private static boolean flag(Map<String, Object> frame, String key) {
    Object v = frame.get(key);
    if (v == null || v instanceof Boolean) {
      return Boolean.TRUE.equals(v);
    }
    throw new IllegalArgumentException("\"" + key + "\" must be true or false");
  }

  @SuppressWarnings("unchecked")
  private static List<String> strings(Map<String, Object> frame, String key) {
    Object v = frame.get(key);
    if (v == null) {
      return List.of();
    }
    if (v instanceof List) {
      return (List<String>) v; // the parser only makes lists of strings
    }
    throw new IllegalArgumentException("\"" + key + "\" must be an array of strings");
  }

  private static String describe(Throwable failure) {
    Throwable cause = unwrap(failure);
    return cause.getMessage() != null ? cause.getMessage() : cause.getClass().getSimpleName();
  }

  /** The failure itself, not the CompletionException a dependent stage wraps it in. */
  private static Throwable unwrap(Throwable failure) {
    return failure instanceof CompletionException && failure.getCause() != null
        ? failure.getCause() : failure;
  }
}
