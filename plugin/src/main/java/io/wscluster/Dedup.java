package io.wscluster;

import java.util.function.LongSupplier;

/**
 * What the dispatcher lets through of the envelopes that arrive: each (origin, sequence) once.
 * Dispatcher thread only.
 */
interface Dedup {
  enum Verdict {
    /** Deliver it. */
    NEW,
    /** This node's own envelope, come back through its subscription: it was delivered here. */
    OWN_ECHO,
    /** Seen before: drop it. */
    DUPLICATE,
    /** Older than the window: cannot tell, so drop it (it was delivered or is too late). */
    TOO_OLD
  }

  /**
   * The verdict on envelope {@code seq} of {@code origin}, arriving on the broadcast channel or a
   * room's channel or, {@code direct}, on this node's own channel.
   */
  Verdict check(String origin, long seq, boolean direct);

  /**
   * Lets every envelope through, own echoes and repeats included: a test's control that shows a
   * test sees the duplicates dedup prevents. Never chosen by configuration.
   */
  Dedup OFF = (origin, seq, direct) -> Verdict.NEW;

  /**
   * Drops own echoes, then repeats by two per-origin anti-replay windows: one for what arrives on
   * the broadcast and room channels, one for this node's own channel. An envelope travels to a
   * node on the first kind or the second, never both, and while one chain waits for a missing
   * frame (see {@link Chains}) the other must not push the window past it. The broadcast and
   * room channels share a window because a message to several rooms travels on each of their
   * channels: a node in two of them must drop the second copy.
   */
  static Dedup perOrigin(String nodeId, int window, long originTtlNanos, LongSupplier clock) {
    Deduplicator broadcast = new Deduplicator(window, originTtlNanos, clock);
    Deduplicator direct = new Deduplicator(window, originTtlNanos, clock);
    return (origin, seq, isDirect) -> {
      if (origin.equals(nodeId)) {
        return Verdict.OWN_ECHO;
      }
      switch ((isDirect ? direct : broadcast).check(origin, seq)) {
        case DUPLICATE:
          return Verdict.DUPLICATE;
        case TOO_OLD:
          return Verdict.TOO_OLD;
        default:
          return Verdict.NEW;
      }
    };
  }
}
