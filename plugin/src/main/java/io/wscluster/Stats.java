package io.wscluster;

import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.LongAdder;

/** Named counters of one node; cheap to bump from any thread. */
final class Stats {
  static final String PUBLISHED = "published";
  /**
   * Messages never published: a send refused by the full outage buffer (its stage fails; this
   * node's sessions got it regardless), or a send, delivery or receipt the node stopped before.
   */
  static final String PUBLISH_FAILED = "publishFailed";
  static final String FRAMES_PUBLISHED = "framesPublished";
  static final String FRAMES_RECEIVED = "framesReceived";
  static final String ENVELOPES_RECEIVED = "envelopesReceived";
  static final String REJECTED = "rejected";
  static final String OWN_ECHOES = "ownEchoes";
  static final String DUPLICATES = "duplicates";
  /**
   * Second copies of a message to several rooms, which travels on each room's channel, on a node
   * that receives more than one of them: expected, dropped like duplicates (a repeat of such a
   * message counts here too).
   */
  static final String ROOM_COPIES = "roomCopies";
  static final String TOO_OLD = "tooOld";
  static final String DELIVERED = "delivered";
  static final String SEND_FAILED = "sendFailed";
  static final String OVERFLOW_CLOSED = "overflowClosed";
  static final String OVERFLOW_DROPPED = "overflowDropped";
  static final String DISPATCH_FAILED = "dispatchFailed";
  static final String WRITE_RETRIES = "writeRetries";
  /** Frames handed to Jetty with its batch flag: written with the frame after them, one call. */
  static final String BATCHED_FRAMES = "batchedFrames";
  static final String RECEIPTS_SENT = "receiptsSent";
  /** Messages held back because Redis did not take them or not every node was subscribed. */
  static final String OUTAGE_HELD = "outageHeld";
  /** Publishes of a held frame that still fell short, one per attempt. */
  static final String OUTAGE_RETRIES = "outageRetries";
  /** Held messages that were then published to every node. */
  static final String OUTAGE_REPUBLISHED = "outageRepublished";
  /**
   * Messages Redis had taken in the second before an outage began, published again with the
   * held ones (it may have lost them; receivers that had them drop the repeats).
   */
  static final String OUTAGE_REPLAYED = "outageReplayed";
  /** Messages never published: the outage buffer was full, or the node stopped first. */
  static final String OUTAGE_DROPPED = "outageDropped";
  /** Held messages published although a node listed live never received them within its ttl. */
  static final String OUTAGE_GAVE_UP = "outageGaveUp";
  /**
   * Frames of another node's chain that did not arrive when the frames after them did (Redis or
   * the client library lost them after PUBLISH counted this node): asked for again.
   */
  static final String CHAIN_GAPS = "chainGaps";
  /** Missing frames that then arrived (published again on request, or late). */
  static final String CHAIN_RECOVERED = "chainRecovered";
  /** Missing frames that did not arrive within the gap timeout: their messages are lost here. */
  static final String FRAMES_LOST = "framesLost";
  /**
   * Syncs received (own ones included): envelopes that only carry their frame's chain link, one per
   * channel a node published on since its last heartbeat; counted in framesReceived, not in
   * envelopesReceived.
   */
  static final String SYNCS_RECEIVED = "syncsReceived";
  /** Chains of another node started again at a link too far from the last one (see Chains). */
  static final String CHAIN_RESTARTS = "chainRestarts";
  /** Frames this node published again because another node asked for them. */
  static final String FRAMES_RESENT = "framesResent";
  /** Frames another node asked for that this node no longer held (older than it keeps). */
  static final String RESEND_MISSED = "resendMissed";
  static final String PROBES_SENT = "probesSent";
  /** Probe echoes that came back (also counted in framesReceived, not in envelopesReceived). */
  static final String PROBES_RECEIVED = "probesReceived";
  /** Probes that did not come back in time: Redis down, or a subscription not delivering. */
  static final String PROBES_MISSED = "probesMissed";
  /** Times this node subscribed its channel again because Redis reported no subscriber. */
  static final String RESUBSCRIBES = "resubscribes";
  /** Sessions that asked for recovery (the wscluster query parameter, or resume()). */
  static final String RECOVERY_SESSIONS = "recoverySessions";
  /** Recovery tokens that could not be read: the session is tracked as fresh. */
  static final String RECOVERY_BAD_TOKENS = "recoveryBadTokens";
  /** Streams resumed with every missed message, and those history no longer covered. */
  static final String RECOVERY_RECOVERED = "recoveryRecovered";
  static final String RECOVERY_NOT_RECOVERED = "recoveryNotRecovered";
  /** Messages written to sessions from history. */
  static final String RECOVERY_REPLAYED = "recoveryReplayed";
  /** Copies a tracked session already had (a live copy of a replayed message, or its twin). */
  static final String RECOVERY_SKIPPED = "recoverySkipped";
  /** Gauges, not counters: computed by {@link ClusterNode#stats()} from the outboxes. */
  static final String OUTBOX_QUEUED_MAX = "outbox.queued.max";
  static final String OUTBOX_QUEUED_TOTAL = "outbox.queued.total";
  static final String OUTBOX_BYTES_MAX = "outbox.bytes.max";
  static final String OUTBOX_BYTES_TOTAL = "outbox.bytes.total";

  private final Map<String, LongAdder> counters = new ConcurrentHashMap<>();

  void increment(String name) {
    add(name, 1);
  }

  void add(String name, long n) {
    counter(name).add(n);
  }

  /** The counter itself, for a hot path to keep and bump without looking it up each time. */
  LongAdder counter(String name) {
    LongAdder a = counters.get(name);
    return a != null ? a : counters.computeIfAbsent(name, k -> new LongAdder());
  }

  long get(String name) {
    LongAdder a = counters.get(name);
    return a == null ? 0 : a.sum();
  }

  /** A sorted snapshot; counters never bumped are absent except the main ones, shown as 0. */
  Map<String, Long> snapshot() {
    Map<String, Long> out = new TreeMap<>();
    for (String name : new String[] {PUBLISHED, PUBLISH_FAILED, FRAMES_RECEIVED, REJECTED,
        OWN_ECHOES, DUPLICATES, ROOM_COPIES, TOO_OLD, DELIVERED, SEND_FAILED, OVERFLOW_CLOSED,
        OVERFLOW_DROPPED, OUTAGE_HELD, OUTAGE_REPUBLISHED, OUTAGE_REPLAYED, OUTAGE_DROPPED,
        PROBES_MISSED, PROBES_RECEIVED, RESUBSCRIBES, CHAIN_GAPS, CHAIN_RECOVERED, FRAMES_LOST,
        FRAMES_RESENT}) {
      out.put(name, 0L);
    }
    counters.forEach((k, v) -> out.put(k, v.sum()));
    return out;
  }
}
