package io.wscluster.micrometer;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The names and descriptions of the meters {@link WsClusterMetrics} binds, keyed by the names
 * {@link io.wscluster.WsCluster#stats()} uses. A counter's meter name is its stats name with each
 * camel-case word dot-separated and lower-cased under {@code wscluster.}: {@code framesPublished}
 * becomes {@code wscluster.frames.published} ({@code wscluster_frames_published_total} in
 * Prometheus). The rejection counters {@code rejected.<reason>} are one meter,
 * {@code wscluster.rejected}, tagged {@code reason}; their sum, stats' {@code rejected}, is not
 * bound on its own. The table lists every counter the plugin has, so that each is registered (at
 * 0) when the binder binds: a test checks it against the plugin's counters.
 */
final class MeterNames {
  static final String PREFIX = "wscluster.";
  static final String REJECTED = "rejected";
  static final String REJECTED_PREFIX = REJECTED + ".";

  /** Counter stats names to their meters' descriptions. */
  static final Map<String, String> COUNTERS = table(
      "published", "Messages sent by the application on this node (send and deliver)",
      "publishFailed", "Messages that could not be published to the other nodes",
      "framesPublished", "Frames this node handed to the transport",
      "framesReceived", "Frames that arrived from the transport (syncs and probe echoes included)",
      "envelopesReceived", "Messages that arrived from the transport",
      "delivered", "Messages written to a local session, one per session",
      "ownEchoes", "Own messages coming back from the transport, dropped",
      "duplicates", "Messages already delivered here, dropped",
      "roomCopies", "Second copies of a message to several rooms, dropped",
      "tooOld", "Messages older than the dedup window, dropped",
      "overflowClosed", "Sessions closed because their outbox overflowed",
      "overflowDropped", "Messages dropped from a full outbox",
      "sendFailed", "Writes to a local session that failed",
      "writeRetries", "Writes to a local session tried again",
      "batchedFrames", "Frames written together with the next one, in one call",
      "receiptsSent", "Delivery receipts sent to the node that asked for them",
      "outageHeld",
      "Messages held back: the transport did not take them or a node was not subscribed",
      "outageRetries", "Publishes of a held frame that still fell short, one per attempt",
      "outageRepublished", "Held messages then published to every node",
      "outageReplayed", "Messages published again after an outage began, in case it lost them",
      "outageDropped", "Messages never published: the outage buffer was full or the node stopped",
      "outageGaveUp", "Held messages published although a live node never received them",
      "chainGaps", "Frames of another node found missing and asked for again",
      "chainRecovered", "Missing frames that then arrived",
      "framesLost", "Missing frames given up after the gap timeout: their messages are lost here",
      "chainRestarts", "Chains of another node started again too far from their last link",
      "syncsReceived", "Chain syncs received (own ones included)",
      "framesResent", "Frames published again because another node asked for them",
      "resendMissed", "Frames asked for that this node no longer held",
      "probesSent", "Liveness probes this node published to itself",
      "probesReceived", "Liveness probes that came back",
      "probesMissed", "Liveness probes that did not come back in time",
      "resubscribes", "Times this node subscribed its channel again",
      "dispatchFailed", "Arrived frames whose handling failed",
      "recoverySessions", "Sessions that asked for recovery",
      "recoveryBadTokens", "Recovery tokens that could not be read",
      "recoveryRecovered", "Streams resumed with every missed message",
      "recoveryNotRecovered", "Streams whose gap the history no longer covered",
      "recoveryReplayed", "Messages written to sessions from the history",
      "recoverySkipped", "Copies a resuming session already had, dropped");

  /** The reasons of {@code rejected.<reason>}, as the stats name them. */
  static final List<String> REJECTION_REASONS = List.of("empty", "version", "truncated", "kind",
      "flags", "length", "oversized", "utf8", "sequence", "trailing", "name", "auth_missing",
      "auth_invalid", "auth_unexpected", "offsets");

  static final String REJECTED_DESCRIPTION =
      "Frames refused as malformed or not authentic, by reason";

  private MeterNames() {}

  /**
   * The meter name of a stats name: {@code wscluster.} and its camel-case words, dot-separated
   * and lower-cased; dots stay.
   */
  static String of(String statsName) {
    StringBuilder b = new StringBuilder(PREFIX);
    for (int i = 0; i < statsName.length(); i++) {
      char c = statsName.charAt(i);
      if (Character.isUpperCase(c)) {
        b.append('.').append(Character.toLowerCase(c));
      } else {
        b.append(c);
      }
    }
    return b.toString();
  }

  private static Map<String, String> table(String... pairs) {
    Map<String, String> m = new LinkedHashMap<>();
    for (int i = 0; i < pairs.length; i += 2) {
      m.put(pairs[i], pairs[i + 1]);
    }
    return Collections.unmodifiableMap(m);
  }
}
