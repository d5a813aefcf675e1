package io.wscluster;

import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.LongAdder;

/** Named counters of one node; cheap to bump from any thread. */
final class Stats {
  static final String PUBLISHED = "published";
  static final String PUBLISH_FAILED = "publishFailed";
  static final String FRAMES_PUBLISHED = "framesPublished";
  static final String FRAMES_RECEIVED = "framesReceived";
  static final String ENVELOPES_RECEIVED = "envelopesReceived";
  static final String REJECTED = "rejected";
  static final String OWN_ECHOES = "ownEchoes";
  static final String DUPLICATES = "duplicates";
  static final String TOO_OLD = "tooOld";
  static final String DELIVERED = "delivered";
  static final String SEND_FAILED = "sendFailed";
  static final String OVERFLOW_CLOSED = "overflowClosed";
  static final String OVERFLOW_DROPPED = "overflowDropped";
  static final String DISPATCH_FAILED = "dispatchFailed";
  static final String WRITE_RETRIES = "writeRetries";
  static final String RECEIPTS_SENT = "receiptsSent";
  /** Gauges, not counters: computed by {@link ClusterNode#stats()} from the outboxes. */
  static final String OUTBOX_QUEUED_MAX = "outbox.queued.max";
  static final String OUTBOX_QUEUED_TOTAL = "outbox.queued.total";

  private final Map<String, LongAdder> counters = new ConcurrentHashMap<>();

  void increment(String name) {
    add(name, 1);
  }

  void add(String name, long n) {
    counters.computeIfAbsent(name, k -> new LongAdder()).add(n);
  }

  long get(String name) {
    LongAdder a = counters.get(name);
    return a == null ? 0 : a.sum();
  }

  /** A sorted snapshot; counters never bumped are absent except the main ones, shown as 0. */
  Map<String, Long> snapshot() {
    Map<String, Long> out = new TreeMap<>();
    for (String name : new String[] {PUBLISHED, PUBLISH_FAILED, FRAMES_RECEIVED, REJECTED,
        OWN_ECHOES, DUPLICATES, TOO_OLD, DELIVERED, SEND_FAILED, OVERFLOW_CLOSED,
        OVERFLOW_DROPPED}) {
      out.put(name, 0L);
    }
    counters.forEach((k, v) -> out.put(k, v.sum()));
    return out;
  }
}
