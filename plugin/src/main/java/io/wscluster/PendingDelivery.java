package io.wscluster;

import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;

/**
 * What one deliver() waits for: its own local writes, the directory lookup, and one receipt
 * from each owning node. Thread-safe: reports come from Jetty threads (local writes), the
 * dispatcher (receipts), the heartbeat (node gone) and the timer (timeout).
 */
final class PendingDelivery {
  static final String NOT_CONNECTED = "not connected";
  static final String GONE = "node left the cluster";

  private final String nodeId;
  final long seq;
  final Target target;
  final CompletableFuture<Delivery> result = new CompletableFuture<>();
  /** Node to the session ids the directory placed there; guarded by this. */
  private final Map<String, Set<String>> expected = new java.util.HashMap<>();
  private final Set<String> reported = new java.util.HashSet<>();
  private final Map<String, String> results = new java.util.LinkedHashMap<>();
  private boolean lookedUp;
  private long lookedUpNanos;

  PendingDelivery(String nodeId, long seq, Target target) {
    this.nodeId = nodeId;
    this.seq = seq;
    this.target = target;
  }

  synchronized void expect(String node, Set<String> sessions) {
    expected.put(node, sessions);
  }

  /** The owners not heard from yet, once the lookup is done (else none). */
  synchronized List<String> waitingOn() {
    List<String> out = new ArrayList<>();
    if (lookedUp) {
      for (String node : expected.keySet()) {
        if (!reported.contains(node) && !node.equals(nodeId)) {
          out.add(node);
        }
      }
    }
    return out;
  }

  void lookupDone() {
    synchronized (this) {
      lookedUp = true;
      lookedUpNanos = System.nanoTime();
    }
    completeIfDone();
  }

  synchronized boolean lookedUpBefore(long nanos) {
    return lookedUp && lookedUpNanos - nanos < 0;
  }

  void failLookup(Throwable error) {
    result.completeExceptionally(new WsClusterException("wscluster could not look up where "
        + target + " is connected: " + error, error));
  }

  void report(String node, Map<String, String> sessionResults) {
    report(node, sessionResults, true);
  }

  /** One receipt (of several when {@code last} is false) from {@code node}. */
  void report(String node, Map<String, String> sessionResults, boolean last) {
    synchronized (this) {
      if (!expected.containsKey(node) || reported.contains(node)) {
        return; // not asked, or a repeat
      }
      Set<String> placed = expected.get(node);
      sessionResults.forEach((sid, why) -> {
        // an owner reports the targeted ids it does not hold as not connected: that says
        // something only of the sessions the directory placed on it
        if (why.isEmpty() || placed.contains(sid) || node.equals(nodeId)) {
          results.merge(sid, why, (a, b) -> a.isEmpty() ? a : b);
        }
      });
      if (!last) {
        return;
      }
      reported.add(node);
    }
    completeIfDone();
  }

  void nodeGone(String node) {
    synchronized (this) {
      if (!expected.containsKey(node) || reported.contains(node)) {
        return;
      }
      reported.add(node);
      for (String sid : expected.get(node)) {
        results.putIfAbsent(sid, GONE);
      }
    }
    completeIfDone();
  }

  private void completeIfDone() {
    synchronized (this) {
      if (!lookedUp || !reported.containsAll(expected.keySet())) {
        return;
      }
    }
    finish(null, null);
  }

  void fail(DeliveryException.Reason reason, String why) {
    finish(reason, why);
  }

  private void finish(DeliveryException.Reason forced, String why) {
    Set<String> delivered = new LinkedHashSet<>();
    Map<String, String> failed = new java.util.LinkedHashMap<>();
    synchronized (this) {
      results.forEach((sid, r) -> {
        if (r.isEmpty()) {
          delivered.add(sid);
        } else {
          failed.put(sid, r);
        }
      });
      for (Map.Entry<String, Set<String>> e : expected.entrySet()) {
        if (!reported.contains(e.getKey()) && forced == null) {
          return; // raced with a late report
        }
        for (String sid : e.getValue()) {
          if (!delivered.contains(sid) && !failed.containsKey(sid)) {
            failed.put(sid, forced == DeliveryException.Reason.TIMEOUT ? "no receipt in time"
                : reported.contains(e.getKey()) ? NOT_CONNECTED : GONE);
          }
        }
      }
      for (String sid : target.sessions()) {
        if (!delivered.contains(sid) && !failed.containsKey(sid)
            && !target.except().contains(sid)) {
          failed.put(sid, NOT_CONNECTED);
        }
      }
    }
    Delivery d = new Delivery(delivered, failed);
    if (forced == DeliveryException.Reason.TIMEOUT || forced == DeliveryException.Reason.NODE_GONE) {
      result.completeExceptionally(new DeliveryException(forced, why + ": " + d, d));
      return;
    }
    if (!delivered.isEmpty()) {
      result.complete(d);
      return;
    }
    DeliveryException.Reason reason;
    if (failed.values().stream().allMatch(NOT_CONNECTED::equals)) {
      reason = DeliveryException.Reason.NOT_CONNECTED;
    } else if (failed.containsValue(GONE)) {
      reason = DeliveryException.Reason.NODE_GONE;
    } else {
      reason = DeliveryException.Reason.WRITE_FAILED;
    }
    result.completeExceptionally(new DeliveryException(reason, "wscluster could not deliver to "
        + target + " (" + reason + "): " + d, d));
  }
}
