package io.wscluster;

import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * What waits to be published, counted against {@code wscluster.outage.buffer} messages and
 * {@code wscluster.outage.buffer-bytes}: while Redis does not take frames, a node keeps its
 * messages until then, and refuses new ones beyond these bounds. Thread-safe.
 */
final class OutageBuffer {
  private final String nodeId;
  private final int maxMessages;
  private final long maxBytes;
  private final Stats stats;
  private final AtomicInteger messages = new AtomicInteger();
  private final AtomicLong bytes = new AtomicLong();

  OutageBuffer(String nodeId, WsClusterConfig config, Stats stats) {
    this.nodeId = nodeId;
    this.maxMessages = config.outageBuffer();
    this.maxBytes = config.outageBufferBytes();
    this.stats = stats;
  }

  /**
   * Any thread, under the publisher's send lock: whether one more envelope of {@code size} bytes
   * fits; if so it is counted in, else it is counted as dropped.
   */
  boolean admit(int size) {
    if (messages.get() >= maxMessages || bytes.get() + size > maxBytes) {
      stats.increment(Stats.OUTAGE_DROPPED);
      return false;
    }
    admitted(size);
    return true;
  }

  /**
   * Counts in an envelope that is queued whatever the buffer holds: a deliver() (bounded by its
   * receipt timeout) or a receipt (one per message this node received).
   */
  void admitted(int size) {
    messages.incrementAndGet();
    bytes.addAndGet(size);
  }

  /** Any thread: a message left the buffer (published, or failed for good). */
  void release(Pending p) {
    if (p.counted) {
      messages.decrementAndGet();
      bytes.addAndGet(-p.envelope.length);
    }
  }

  int messages() {
    return messages.get();
  }

  /** Why a message was refused: the fill, the bounds and their keys. */
  WsClusterException full() {
    return new WsClusterException("wscluster node " + nodeId + " did not publish the message: "
        + messages.get() + " messages (" + bytes.get() + " bytes) already wait to be "
        + "published, the limit of " + WsClusterConfig.OUTAGE_BUFFER + "=" + maxMessages
        + " / " + WsClusterConfig.OUTAGE_BUFFER_BYTES + "=" + maxBytes
        + " (is Redis reachable?); this node's sessions got it");
  }
}
