package io.wscluster;

import java.util.List;
import java.util.concurrent.CompletableFuture;

/**
 * An encoded envelope waiting to be published, with its channels: a stage that yields the owning
 * nodes' channels (a directory lookup), or channels known at once (rooms'), or neither for the
 * broadcast channel. Frames
 * leave in queue order, so a routed envelope whose lookup is still running holds back the ones
 * behind it: per-origin order is kept across channels.
 */
final class Pending {
  final byte[] envelope;
  /** Completes once Redis took the envelope (or fails once it never will). */
  final CompletableFuture<Void> done;
  final CompletableFuture<List<String>> channels;
  /**
   * With {@link #channels} null: the channels it goes on, known when it was queued (a room
   * message's room channels); null for the broadcast channel. Consecutive envelopes with equal
   * lists share a frame.
   */
  final List<String> to;
  /** Counted in the outage buffer (see {@link OutageBuffer}): everything but syncs. */
  final boolean counted;

  /**
   * A message of this node recorded in the history ({@link Streams#of(Target, boolean)}): what its
   * tracked local sessions are written once its id is known; else null.
   */
  final Own own;

  /** A recorded message's envelope seq, target, payload and streams. */
  record Own(long seq, Target target, Payload payload, List<String> streams) {
  }

  Pending(byte[] envelope, CompletableFuture<Void> done, CompletableFuture<List<String>> channels,
      boolean counted) {
    this(envelope, done, channels, null, counted, null);
  }

  Pending(byte[] envelope, CompletableFuture<Void> done, CompletableFuture<List<String>> channels,
      List<String> to, boolean counted, Own own) {
    this.envelope = envelope;
    this.done = done;
    this.channels = channels;
    this.to = to;
    this.counted = counted;
    this.own = own;
  }
}
