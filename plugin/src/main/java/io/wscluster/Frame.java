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
