package io.wscluster.it;

import java.net.URI;
import java.net.URLEncoder;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.eclipse.jetty.websocket.api.Callback;
import org.eclipse.jetty.websocket.api.Session;
import org.eclipse.jetty.websocket.client.WebSocketClient;

/**
 * A client of the demo's chat endpoint that speaks the recovery wire contract (docs/recovery.md) as a browser client
 * would: it connects with the {@code wscluster} query parameter (base64url JSON of the epoch and its last offsets),
 * reads the hello, the {@code "\u001e" + header + "\n" + payload} frames and the {@code resumed} frames, and keeps the
 * last offset per stream for its next connection. A client made with {@link #plain} asks for nothing (the control).
 *
 * <p>Jetty calls the listener one frame at a time; tests read from other threads (all state is guarded by this).
 */
public final class ResumingClient implements Session.Listener.AutoDemanding {
  private static final Pattern OFFSET = Pattern.compile("\"([^\"]+)\":\"([0-9]+-[0-9]+)\"");
  private static final Pattern TEXT = Pattern.compile("\"text\":\"([^\"]*)\"");

  private final String label;
  private final boolean tracked;
  private String epoch;
  private final Map<String, String> offsets = new LinkedHashMap<>();
  /** Texts of the chat messages ({@code "type":"msg"}) received, in order. */
  private final List<String> texts = new ArrayList<>();
  private final Map<String, Boolean> resumed = new LinkedHashMap<>();
  private final List<String> violations = new ArrayList<>();
  private String firstFrame;
  private final CompletableFuture<Integer> closed = new CompletableFuture<>();
  private volatile Session session;

  private ResumingClient(String label, boolean tracked, String epoch, Map<String, String> offsets) {
    this.label = label;
    this.tracked = tracked;
    this.epoch = epoch;
    this.offsets.putAll(offsets);
  }

  /** Connects to /chat/{room}?user=U with the recovery parameter: a fresh state, or {@code from}'s last one. */
  static ResumingClient connect(WebSocketClient ws, WsNode node, String room, String user, ResumingClient from)
      throws Exception {
    ResumingClient c = from == null ? new ResumingClient(user + "@" + node.name(), true, null, Map.of())
        : new ResumingClient(user + "@" + node.name(), true, from.epoch(), from.offsets());
    return c.open(ws, node, room, user, "&wscluster=" + c.token());
  }

  /** Connects without the parameter: plain payloads, nothing resumed. */
  static ResumingClient plain(WebSocketClient ws, WsNode node, String room, String user) throws Exception {
    return new ResumingClient(user + "@" + node.name() + "(plain)", false, null, Map.of())
        .open(ws, node, room, user, "");
  }

  private ResumingClient open(WebSocketClient ws, WsNode node, String room, String user, String query)
      throws Exception {
    URI uri = node.wsUri("/chat/" + URLEncoder.encode(room, StandardCharsets.UTF_8) + "?user="
        + URLEncoder.encode(user, StandardCharsets.UTF_8) + query);
    session = ws.connect(this, uri).get(10, TimeUnit.SECONDS);
    return this;
  }

  /** base64url (no padding) of {"v":1,"e":...,"o":{...}}. */
  synchronized String token() {
    StringBuilder o = new StringBuilder();
    offsets.forEach((s, id) -> o.append(o.length() == 0 ? "" : ",").append('"').append(s).append("\":\"")
        .append(id).append('"'));
    String json = "{\"v\":1,\"e\":" + (epoch == null ? "null" : "\"" + epoch + "\"") + ",\"o\":{" + o + "}}";
    return Base64.getUrlEncoder().withoutPadding().encodeToString(json.getBytes(StandardCharsets.UTF_8));
  }

  @Override
  public synchronized void onWebSocketText(String frame) {
    if (firstFrame == null) {
      firstFrame = frame;
    }
    String payload = frame;
    if (tracked) {
      if (frame.isEmpty() || frame.charAt(0) != '\u001e') {
        violations.add("untracked frame on a tracked session: " + frame);
        return;
      }
      int nl = frame.indexOf('\n');
      String header = nl < 0 ? frame.substring(1) : frame.substring(1, nl);
      if (nl < 0) {
        control(header);
        return;
      }
      payload = frame.substring(nl + 1);
      Matcher m = OFFSET.matcher(header);
      while (m.find()) {
        String before = offsets.get(m.group(1));
        if (before != null && compare(m.group(2), before) <= 0) {
          violations.add(m.group(1) + ": offset " + m.group(2) + " after " + before);
        }
        offsets.put(m.group(1), m.group(2));
      }
    }
    if (payload.contains("\"type\":\"msg\"")) {
      Matcher t = TEXT.matcher(payload);
      if (t.find()) {
        texts.add(t.group(1));
      }
    }
    notifyAll();
  }

  private void control(String header) {
    if (header.contains("\"t\":\"hello\"")) {
      Matcher m = Pattern.compile("\"e\":\"([^\"]+)\"").matcher(header);
      String e = m.find() ? m.group(1) : null;
      if (epoch != null && !epoch.equals(e)) {
        offsets.clear(); // another history: the offsets are void
      }
      epoch = e;
    } else if (header.contains("\"t\":\"resumed\"")) {
      Matcher m = Pattern.compile("\"s\":\"([^\"]+)\"").matcher(header);
      if (m.find()) {
        resumed.put(m.group(1), header.contains("\"recovered\":true"));
      }
    }
  }

  @Override
  public void onWebSocketBinary(ByteBuffer payload, Callback callback) {
    callback.succeed();
  }

  @Override
  public void onWebSocketClose(int statusCode, String reason, Callback callback) {
    callback.succeed();
    closed.complete(statusCode);
    synchronized (this) {
      notifyAll();
    }
  }

  @Override
  public void onWebSocketError(Throwable cause) {
    closed.complete(1006);
    synchronized (this) {
      notifyAll();
    }
  }

  void close() {
    Session s = session;
    if (s != null && s.isOpen()) {
      s.close();
    }
  }

  /** The close code the client saw, waiting up to {@code wait}. */
  int closeCode(Duration wait) throws Exception {
    return closed.get(wait.toMillis(), TimeUnit.MILLISECONDS);
  }

  synchronized void await(String what, Duration wait, BooleanSupplier done) throws InterruptedException {
    long deadline = System.nanoTime() + wait.toNanos();
    while (!done.getAsBoolean()) {
      long left = deadline - System.nanoTime();
      if (left <= 0) {
        throw new AssertionError(label + ": timed out waiting for " + what + "; texts " + texts.size()
            + ", resumed " + resumed + ", first frame " + firstFrame);
      }
      TimeUnit.NANOSECONDS.timedWait(this, Math.min(left, TimeUnit.MILLISECONDS.toNanos(100)));
    }
  }

  synchronized String epoch() {
    return epoch;
  }

  synchronized Map<String, String> offsets() {
    return new LinkedHashMap<>(offsets);
  }

  synchronized List<String> texts() {
    return new ArrayList<>(texts);
  }

  synchronized Map<String, Boolean> resumed() {
    return new LinkedHashMap<>(resumed);
  }

  synchronized List<String> violations() {
    return new ArrayList<>(violations);
  }

  synchronized String firstFrame() {
    return firstFrame;
  }

  private static int compare(String a, String b) {
    String[] x = a.split("-");
    String[] y = b.split("-");
    int c = Long.compare(Long.parseLong(x[0]), Long.parseLong(y[0]));
    return c != 0 ? c : Long.compare(Long.parseLong(x[1]), Long.parseLong(y[1]));
  }

  @Override
  public String toString() {
    return label;
  }
}
