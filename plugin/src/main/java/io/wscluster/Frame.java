package io.wscluster;

import java.util.ArrayList;
import java.util.List;

/** A frame on its way to Redis, with what it carries; publisher-thread state. */
final class Frame {
  enum Kind {
    /** Built from queued messages. */
    NEW,
    /** Published again because an outage began right after Redis took it (see {@link Publisher}). */
    REPLAY,
    /** Published again to one of its channels because a node asked for it. */
    RESENT
  }

  final List<Pending> batch;
  /** Per channel: the frame as published there (with that channel's link). */
  final byte[][] bytes;
  final List<String> channels;
  /** Per channel: the frame's link in that channel's chain (0: not chained). */
  final long[] links;
  final long firstAttemptNanos;
  final Kind kind;
  int attempts;
  /** When a publish first reached fewer subscriptions than nodes; 0 before. */
  long shortfallSinceNanos;
  /** When Redis took it. */
  long tookNanos;
  /**
   * The history ids of its recorded messages, once the history took them (set on the thread that
   * completes the write; a copy carries its original's), else null.
   */
  volatile List<String> ids;
  /** Names its history write, so a retry whose first outcome is unknown writes nothing again. */
  long historyToken;
  /** Its messages went to this node's tracked sessions (once, see {@link Publisher}). */
  boolean ownDelivered;
  /** Its recorded messages go to this node's tracked sessions with their echo. */
  boolean echoAwaited;

  Frame(List<Pending> batch, byte[][] bytes, List<String> channels, long[] links, Kind kind,
      long nowNanos) {
    this(batch, bytes, channels, links, kind, nowNanos, null);
  }

  Frame(List<Pending> batch, byte[][] bytes, List<String> channels, long[] links, Kind kind,
      long nowNanos, String chain) {
    this.chain = chain;
    this.batch = batch;
    this.bytes = bytes;
    this.channels = channels;
    this.links = links;
    this.kind = kind;
    this.firstAttemptNanos = nowNanos;
  }

  /**
   * RESENT: the chain it is a copy of, sent on the asking node's channel: null for that node's own
   * channel's chain, "" for the broadcast chain, else the room whose channel's chain it is.
   */
  final String chain;

  /** What it carries but syncs (not in the outage buffer either). */
  int messages() {
    int n = 0;
    for (Pending p : batch) {
      if (p.counted) {
        n++;
      }
    }
    return n;
  }

  long size() {
    long n = 0;
    for (byte[] b : bytes) {
      n += b.length;
    }
    return n;
  }

  /** Whether it carries a message to record in the history. */
  boolean recordsHistory() {
    for (Pending p : batch) {
      if (p.own != null) {
        return true;
      }
    }
    return false;
  }

  List<byte[]> envelopes() {
    return envelopesOf(batch);
  }

  static List<byte[]> envelopesOf(List<Pending> batch) {
    List<byte[]> envelopes = new ArrayList<>(batch.size());
    for (Pending p : batch) {
      envelopes.add(p.envelope);
    }
    return envelopes;
  }
}
