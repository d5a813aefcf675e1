package io.wscluster.it;

import java.net.URI;
import java.net.URLEncoder;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Predicate;
import org.eclipse.jetty.websocket.api.Callback;
import org.eclipse.jetty.websocket.api.Session;
import org.eclipse.jetty.websocket.client.WebSocketClient;

/**
 * A real WebSocket client of the demo's {@code /chat/{room}?user=<nick>} endpoint. Records every frame it receives
 * (thread-safe) and speaks the demo's JSON ops. Deliveries (a {@code "type":"msg"} text frame, or any binary frame)
 * are counted by their text T, which tests make unique per message.
 *
 * <p>Requests that carry an {@code "id"} ({@code deliver}, {@code presence}) are answered by the frame with that id;
 * {@link #deliverAsync} and {@link #presence} match them up, so several can be in flight at once.
 *
 * <p>Jetty calls the listener methods one at a time per session; tests read from other threads.
 */
public final class TestClient implements Session.Listener.AutoDemanding {

  static final Duration DEFAULT_WAIT = Duration.ofSeconds(20);

  /** One received frame; {@code json} is null for binary frames and non-JSON text. */
  record Frame(boolean binary, String text, Map<String, Object> json) {

    String type() {
      return json == null ? null : (String) json.get("type");
    }

    /** True for a delivered message: a {@code msg} text frame or a binary frame. */
    boolean isDelivery() {
      return binary || "msg".equals(type());
    }

    /** The delivered text T (the message id), or null if not a delivery. */
    String deliveryText() {
      if (binary) {
        return text;
      }
      return "msg".equals(type()) ? (String) json.get("text") : null;
    }
  }

  private static final AtomicLong REQUEST_IDS = new AtomicLong();

  private final String label;
  private final WsNode node;
  private final String room;
  private final String user;
  private final boolean parseJson;
  private final boolean plain;
  private final List<Frame> frames = new ArrayList<>();
  private final CompletableFuture<Integer> closed = new CompletableFuture<>();
  /** Requests sent with an id, waiting for their answer; completed on Jetty's thread with the arrival time. */
  private final Map<String, CompletableFuture<Answer>> pending = new ConcurrentHashMap<>();
  private volatile Session session;
  private volatile String closeReason;
  private Map<String, Object> welcome;

  private TestClient(String label, WsNode node, String room, String user, boolean parseJson) {
    this(label, node, room, user, parseJson, false);
  }

  private TestClient(String label, WsNode node, String room, String user, boolean parseJson, boolean plain) {
    this.label = label;
    this.node = node;
    this.room = room;
    this.user = user;
    this.parseJson = parseJson;
    this.plain = plain;
  }

  /** Connects to {@code /chat/{room}?user=<user>} and waits for the welcome frame. */
  static TestClient chat(WebSocketClient ws, WsNode node, String room, String user) throws Exception {
    String label = user + "@" + node.name() + "/" + room;
    TestClient client = new TestClient(label, node, room, user, true);
    URI uri = node.wsUri("/chat/" + URLEncoder.encode(room, StandardCharsets.UTF_8)
        + "?user=" + URLEncoder.encode(user, StandardCharsets.UTF_8));
    client.session = ws.connect(client, uri).get(10, TimeUnit.SECONDS);
    Frame welcome = client.awaitFrame(f -> "welcome".equals(f.type()), Duration.ofSeconds(10), "welcome");
    client.welcome = welcome.json();
    if (!room.equals(welcome.json().get("room")) || !user.equals(welcome.json().get("user"))) {
      throw new AssertionError(client.label + ": welcome does not echo room/user: " + welcome.text());
    }
    return client;
  }

  /**
   * Connects to any endpoint path; JSON text frames are parsed, so chat deliveries sent there by
   * the cluster are recognised.
   */
  static TestClient connect(WebSocketClient ws, WsNode node, String path, String label) throws Exception {
    TestClient client = new TestClient(label, node, null, null, true);
    client.session = ws.connect(client, node.wsUri(path)).get(10, TimeUnit.SECONDS);
    return client;
  }

  /**
   * Connects to an endpoint that relays raw text (the examples' chats): every text frame is recorded as a delivery
   * of exactly that text, so {@link #count} and the exactly-once checker work on it.
   */
  static TestClient plain(WebSocketClient ws, WsNode node, String path, String label) throws Exception {
    TestClient client = new TestClient(label, node, null, null, false, true);
    client.session = ws.connect(client, node.wsUri(path)).get(10, TimeUnit.SECONDS);
    return client;
  }

  /** Connects to {@code /bench}; frames are recorded raw (the bench echoes text verbatim). */
  static TestClient bench(WebSocketClient ws, WsNode node, String label) throws Exception {
    TestClient client = new TestClient(label, node, null, null, false);
    client.session = ws.connect(client, node.wsUri("/bench")).get(10, TimeUnit.SECONDS);
    return client;
  }

  // ---- identity ----

  String label() {
    return label;
  }

  WsNode node() {
    return node;
  }

  String room() {
    return room;
  }

  String user() {
    return user;
  }

  /** The cluster session id from the welcome frame. */
  String sessionId() {
    return (String) welcome.get("session");
  }

  /** The node id from the welcome frame (the origin id deliveries from this client carry in "node"). */
  String nodeId() {
    return (String) welcome.get("node");
  }

  @Override
  public String toString() {
    return label;
  }

  // ---- listener (Jetty threads) ----

  @Override
  public void onWebSocketText(String message) {
    Map<String, Object> json = null;
    if (plain) {
      json = Map.of("type", "msg", "text", message);
    } else if (parseJson) {
      json = Json.object(message);
    }
    Frame frame = new Frame(false, message, json);
    record(frame);
    if (json != null && json.get("id") instanceof String id) {
      CompletableFuture<Answer> waiting = pending.remove(id);
      if (waiting != null) {
        waiting.complete(new Answer(frame, System.nanoTime()));
      }
    }
  }

  @Override
  public void onWebSocketBinary(ByteBuffer payload, Callback callback) {
    byte[] bytes = new byte[payload.remaining()];
    payload.get(bytes);
    callback.succeed();
    record(new Frame(true, new String(bytes, StandardCharsets.UTF_8), null));
  }

  @Override
  public void onWebSocketClose(int statusCode, String reason, Callback callback) {
    callback.succeed();
    closeReason = statusCode + " " + reason;
    closed.complete(statusCode);
    failPending();
    synchronized (frames) {
      frames.notifyAll();
    }
  }

  @Override
  public void onWebSocketError(Throwable cause) {
    if (closeReason == null) {
      closeReason = "error: " + cause;
    }
    closed.complete(-1);
    failPending();
    synchronized (frames) {
      frames.notifyAll();
    }
  }

  private void failPending() {
    for (String id : List.copyOf(pending.keySet())) {
      CompletableFuture<Answer> waiting = pending.remove(id);
      if (waiting != null) {
        waiting.completeExceptionally(new AssertionError(label + ": closed (" + closeReason
            + ") before the answer to request " + id));
      }
    }
  }

  private void record(Frame frame) {
    synchronized (frames) {
      frames.add(frame);
      frames.notifyAll();
    }
  }

  // ---- reading what arrived ----

  List<Frame> frames() {
    synchronized (frames) {
      return List.copyOf(frames);
    }
  }

  int frameCount() {
    synchronized (frames) {
      return frames.size();
    }
  }

  /** Delivered texts in arrival order. */
  List<String> deliveries() {
    synchronized (frames) {
      List<String> out = new ArrayList<>();
      for (Frame f : frames) {
        if (f.isDelivery()) {
          out.add(f.deliveryText());
        }
      }
      return out;
    }
  }

  /** Delivery frames (text msg or binary) whose text satisfies the predicate. */
  List<Frame> deliveriesMatching(Predicate<String> textPredicate) {
    synchronized (frames) {
      List<Frame> out = new ArrayList<>();
      for (Frame f : frames) {
        if (f.isDelivery() && textPredicate.test(f.deliveryText())) {
          out.add(f);
        }
      }
      return out;
    }
  }

  /** How many times T was delivered to this client (text or binary). */
  int count(String text) {
    return deliveriesMatching(text::equals).size();
  }

  /** Why the socket closed ("code reason"), or null while it is open. */
  String closeReason() {
    return closed.isDone() ? closeReason : null;
  }

  boolean isOpen() {
    Session s = session;
    return s != null && s.isOpen() && !closed.isDone();
  }

  /** Waits for the first frame from index {@code from} on that matches; fails fast if the socket closes. */
  Frame awaitFrame(int from, Predicate<Frame> predicate, Duration timeout, String what) throws InterruptedException {
    long deadline = System.nanoTime() + timeout.toNanos();
    synchronized (frames) {
      int i = from;
      while (true) {
        for (; i < frames.size(); i++) {
          if (predicate.test(frames.get(i))) {
            return frames.get(i);
          }
        }
        if (closed.isDone()) {
          throw new AssertionError(label + ": closed (" + closeReason + ") while waiting for " + what);
        }
        long left = deadline - System.nanoTime();
        if (left <= 0) {
          throw new AssertionError(label + ": no " + what + " within " + timeout + "; last frames: "
              + tail(frames, 5));
        }
        frames.wait(Math.max(1, TimeUnit.NANOSECONDS.toMillis(left)));
      }
    }
  }

  Frame awaitFrame(Predicate<Frame> predicate, Duration timeout, String what) throws InterruptedException {
    return awaitFrame(0, predicate, timeout, what);
  }

  /** Waits until T has been delivered at least once. */
  Frame awaitDelivery(String text) throws InterruptedException {
    return awaitFrame(f -> f.isDelivery() && text.equals(f.deliveryText()), DEFAULT_WAIT, "delivery of " + text);
  }

  /** Waits until at least {@code n} deliveries matching the predicate arrived. */
  void awaitDeliveryCount(Predicate<String> textPredicate, int n, Duration timeout, String what)
      throws InterruptedException {
    long deadline = System.nanoTime() + timeout.toNanos();
    synchronized (frames) {
      int count = 0;
      int scanned = 0;
      while (true) {
        for (; scanned < frames.size(); scanned++) {
          Frame f = frames.get(scanned);
          if (f.isDelivery() && textPredicate.test(f.deliveryText())) {
            count++;
          }
        }
        if (count >= n) {
          return;
        }
        if (closed.isDone()) {
          throw new AssertionError(label + ": closed (" + closeReason + ") with " + count + "/" + n + " " + what);
        }
        long left = deadline - System.nanoTime();
        if (left <= 0) {
          throw new AssertionError(label + ": only " + count + "/" + n + " " + what + " within " + timeout);
        }
        frames.wait(Math.max(1, TimeUnit.NANOSECONDS.toMillis(left)));
      }
    }
  }

  private static String tail(List<Frame> frames, int n) {
    List<String> out = new ArrayList<>();
    for (int i = Math.max(0, frames.size() - n); i < frames.size(); i++) {
      out.add(frames.get(i).text());
    }
    return out.toString();
  }

  // ---- sending ----

  /** Sends a text frame and waits until it is written. */
  void send(String text) throws Exception {
    sendAsync(text).get(10, TimeUnit.SECONDS);
  }

  /** Sends a text frame; the future completes when it is written (Jetty queues concurrent sends in order). */
  CompletableFuture<Void> sendAsync(String text) {
    Callback.Completable done = new Callback.Completable();
    session.sendText(text, done);
    return done;
  }

  /** {@code {"op":"say","text":T}}: to this client's URL room. */
  void say(String text) throws Exception {
    send(Json.write(op("say", "text", text)));
  }

  /** {@code {"op":"join","room":R}} and wait for its ack. */
  void join(String room) throws Exception {
    request(op("join", "room", room), f -> isAck(f, "join") && room.equals(f.json().get("room")));
  }

  /** {@code {"op":"leave","room":R}} and wait for its ack. */
  void leave(String room) throws Exception {
    request(op("leave", "room", room), f -> isAck(f, "leave") && room.equals(f.json().get("room")));
  }

  /** {@code {"op":"dm","user":U,"text":T}} and wait for its ack. */
  void dm(String toUser, String text) throws Exception {
    Map<String, Object> m = op("dm", "user", toUser);
    m.put("text", text);
    request(m, f -> isAck(f, "dm"));
  }

  /** {@code {"op":"send",...}} and wait for its ack (sent = published); an error frame fails. */
  void send(Send spec) throws Exception {
    request(spec.toJson(), f -> isAck(f, "send"));
  }

  private static boolean isAck(Frame f, String op) {
    return "ack".equals(f.type()) && op.equals(f.json().get("op"));
  }

  private void request(Map<String, Object> message, Predicate<Frame> reply) throws Exception {
    int from = frameCount();
    send(Json.write(message));
    Frame answer = awaitFrame(from, f -> reply.test(f) || "error".equals(f.type()), DEFAULT_WAIT,
        "reply to " + message);
    if ("error".equals(answer.type())) {
      throw new AssertionError(label + ": server answered " + answer.text() + " to " + Json.write(message));
    }
  }

  // ---- requests with an id: deliver, presence ----

  /** An answer frame and when it arrived (System.nanoTime). */
  record Answer(Frame frame, long arrivedNanos) {
  }

  /**
   * Sends a request with a fresh {@code "id"} and returns its answer (the next frame carrying that id: the reply,
   * or an {@code error}). The future fails if the socket closes first.
   */
  CompletableFuture<Answer> requestWithId(Map<String, Object> message) {
    String id = "r" + REQUEST_IDS.incrementAndGet();
    Map<String, Object> m = new LinkedHashMap<>(message);
    m.put("id", id);
    CompletableFuture<Answer> answer = new CompletableFuture<>();
    pending.put(id, answer);
    sendAsync(Json.write(m)).whenComplete((ok, failure) -> {
      if (failure != null && pending.remove(id) != null) {
        answer.completeExceptionally(new AssertionError(label + ": could not send " + m, failure));
      }
    });
    if (closed.isDone() && pending.remove(id) != null) {
      answer.completeExceptionally(new AssertionError(label + ": closed (" + closeReason + ") before " + m));
    }
    return answer;
  }

  /**
   * The outcome of a {@code deliver}: a {@code receipt} or a {@code deliveryError} (any other answer is an
   * assertion failure), with the time from sending the request to the answer's arrival.
   */
  record Outcome(String id, String type, String reason, Set<String> delivered, Map<String, String> failed,
      String message, long millis) {

    boolean isReceipt() {
      return "receipt".equals(type);
    }

    @Override
    public String toString() {
      return type + (reason != null ? " " + reason : "") + " delivered=" + delivered + " failed=" + failed
          + (message != null ? " message=" + message : "") + " after " + millis + " ms";
    }
  }

  /** Sends {@code {"op":"deliver",...}}; the future completes with the receipt or deliveryError. */
  CompletableFuture<Outcome> deliverAsync(Deliver spec) {
    long t0 = System.nanoTime();
    Map<String, Object> message = spec.toJson();
    return requestWithId(message).thenApply(answer -> {
      Frame f = answer.frame();
      String type = f.type();
      if (!"receipt".equals(type) && !"deliveryError".equals(type)) {
        throw new AssertionError(label + ": answer to " + Json.write(message) + " is neither receipt nor "
            + "deliveryError: " + f.text());
      }
      return new Outcome((String) f.json().get("id"), type, (String) f.json().get("reason"),
          strings(f.json().get("delivered"), f), stringMap(f.json().get("failed"), f),
          (String) f.json().get("message"), TimeUnit.NANOSECONDS.toMillis(answer.arrivedNanos() - t0));
    });
  }

  /** {@link #deliverAsync}, waiting at most {@link #DEFAULT_WAIT} for the answer. */
  Outcome deliver(Deliver spec) throws Exception {
    return await(deliverAsync(spec), DEFAULT_WAIT, "answer to deliver " + spec);
  }

  /**
   * {@code {"op":"presence","query":Q,"name":N}}: the sorted result; an error answer fails.
   *
   * @param name ignored by the server for {@code nodes}; may be null then
   */
  List<String> presence(String query, String name) throws Exception {
    return presence(query, name, DEFAULT_WAIT);
  }

  List<String> presence(String query, String name, Duration timeout) throws Exception {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("op", "presence");
    m.put("query", query);
    if (name != null) {
      m.put("name", name);
    }
    Frame f = await(requestWithId(m), timeout, "answer to presence " + query + " " + name).frame();
    if (!"presence".equals(f.type()) || !query.equals(f.json().get("query"))) {
      throw new AssertionError(label + ": answer to " + Json.write(m) + ": " + f.text());
    }
    return List.copyOf(strings(f.json().get("result"), f));
  }

  /** The frames received so far that carry this request id (to assert an id was answered once). */
  List<Frame> framesWithId(String id) {
    synchronized (frames) {
      return frames.stream().filter(f -> f.json() != null && id.equals(f.json().get("id"))).toList();
    }
  }

  private <T> T await(CompletableFuture<T> future, Duration timeout, String what) throws Exception {
    try {
      return future.get(timeout.toMillis(), TimeUnit.MILLISECONDS);
    } catch (TimeoutException e) {
      throw new AssertionError(label + ": no " + what + " within " + timeout + "; last frames: " + tail(frames(), 5));
    } catch (ExecutionException e) {
      if (e.getCause() instanceof AssertionError a) {
        throw a;
      }
      throw e;
    }
  }

  private Set<String> strings(Object value, Frame f) {
    if (!(value instanceof Object[] array)) {
      throw new AssertionError(label + ": expected an array of strings in " + f.text());
    }
    Set<String> set = new LinkedHashSet<>();
    for (Object o : Arrays.asList(array)) {
      set.add((String) o);
    }
    if (set.size() != array.length) {
      throw new AssertionError(label + ": repeated element in " + f.text());
    }
    return set;
  }

  private Map<String, String> stringMap(Object value, Frame f) {
    if (!(value instanceof Map<?, ?> map)) {
      throw new AssertionError(label + ": expected an object in " + f.text());
    }
    Map<String, String> out = new LinkedHashMap<>();
    map.forEach((k, v) -> out.put((String) k, (String) v));
    return out;
  }

  private static Map<String, Object> op(String op, String key, Object value) {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("op", op);
    m.put(key, value);
    return m;
  }

  void close() {
    Session s = session;
    if (s != null && s.isOpen()) {
      s.close(1000, "test done", Callback.NOOP);
    }
  }

  /** Drops the connection without a close frame, as a client that loses its network does. */
  void abort() {
    Session s = session;
    if (s != null) {
      s.disconnect();
    }
  }

  /** Closes and waits for the close handshake (bounded). */
  void closeAndWait() throws Exception {
    close();
    try {
      closed.get(5, TimeUnit.SECONDS);
    } catch (java.util.concurrent.TimeoutException e) {
      session.disconnect();
    }
  }

  /** The {@code {"op":"deliver",...}} message: sessions and users, text T (or T's UTF-8 bytes if binary). */
  static final class Deliver {
    private final List<String> sessions = new ArrayList<>();
    private final List<String> users = new ArrayList<>();
    private boolean binary;
    private final String text;

    private Deliver(String text) {
      this.text = text;
    }

    static Deliver text(String text) {
      return new Deliver(text);
    }

    Deliver sessions(String... ids) {
      sessions.addAll(List.of(ids));
      return this;
    }

    Deliver users(String... names) {
      users.addAll(List.of(names));
      return this;
    }

    Deliver binary() {
      binary = true;
      return this;
    }

    Map<String, Object> toJson() {
      Map<String, Object> m = new LinkedHashMap<>();
      m.put("op", "deliver");
      m.put("sessions", sessions);
      m.put("users", users);
      m.put("binary", binary);
      m.put("text", text);
      return m;
    }

    @Override
    public String toString() {
      return Json.write(toJson());
    }
  }

  /** The {@code {"op":"send",...}} message: union of targets minus except (minus self if exceptSelf). */
  static final class Send {
    private boolean all;
    private final List<String> rooms = new ArrayList<>();
    private final List<String> users = new ArrayList<>();
    private final List<String> sessions = new ArrayList<>();
    private final List<String> except = new ArrayList<>();
    private boolean exceptSelf;
    private boolean binary;
    private final String text;

    private Send(String text) {
      this.text = text;
    }

    static Send text(String text) {
      return new Send(text);
    }

    Send all() {
      all = true;
      return this;
    }

    Send rooms(String... names) {
      rooms.addAll(List.of(names));
      return this;
    }

    Send users(String... names) {
      users.addAll(List.of(names));
      return this;
    }

    Send sessions(String... ids) {
      sessions.addAll(List.of(ids));
      return this;
    }

    Send except(String... sessionIds) {
      except.addAll(List.of(sessionIds));
      return this;
    }

    Send exceptSelf() {
      exceptSelf = true;
      return this;
    }

    Send binary() {
      binary = true;
      return this;
    }

    Map<String, Object> toJson() {
      Map<String, Object> m = new LinkedHashMap<>();
      m.put("op", "send");
      m.put("all", all);
      m.put("rooms", rooms);
      m.put("users", users);
      m.put("sessions", sessions);
      m.put("except", except);
      m.put("exceptSelf", exceptSelf);
      m.put("binary", binary);
      m.put("text", text);
      return m;
    }

    @Override
    public String toString() {
      return Json.write(toJson());
    }
  }
}
