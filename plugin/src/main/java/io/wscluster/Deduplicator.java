package io.wscluster;

import java.util.HashMap;
import java.util.Iterator;
import java.util.Map;
import java.util.function.LongSupplier;

/**
 * A per-origin anti-replay window (as in IPsec/TCP): for each origin the highest sequence seen and
 * a bitmap of the last {@code window} sequences. New sequences are accepted, also when they arrive
 * reordered inside the window; repeats and anything older than the window are refused. O(1) per
 * check (amortized), O(window) bits per live origin. Origins silent for longer than the TTL are
 * forgotten.
 *
 * <p>Not thread-safe: confined to the node's dispatcher thread. Pure: time comes from the injected
 * clock (nanoseconds).
 */
final class Deduplicator {

  enum Verdict {
    /** Never seen: deliver it. */
    NEW,
    /** Seen before, inside the window: drop it. */
    DUPLICATE,
    /** Older than the window: cannot tell, so drop it (it was delivered or is too late). */
    TOO_OLD
  }

  private final int window;
  private final long originTtlNanos;
  private final LongSupplier nanoClock;
  private final Map<String, Origin> origins = new HashMap<>();
  private long nextSweep;

  /**
   * @param window a multiple of 64
   * @param originTtlNanos how long an origin's state outlives its last message
   */
  Deduplicator(int window, long originTtlNanos, LongSupplier nanoClock) {
    if (window <= 0 || window % 64 != 0) {
      throw new IllegalArgumentException("window must be a positive multiple of 64, was " + window);
    }
    this.window = window;
    this.originTtlNanos = originTtlNanos;
    this.nanoClock = nanoClock;
    this.nextSweep = nanoClock.getAsLong() + sweepInterval();
  }

  Verdict check(String origin, long seq) {
    long now = nanoClock.getAsLong();
    if (now - nextSweep >= 0) {
      evict(now);
    }
    Origin o = origins.get(origin);
    if (o == null) {
      o = new Origin(window, seq);
      origins.put(origin, o);
      o.lastSeen = now;
      return Verdict.NEW;
    }
    o.lastSeen = now;
    return o.check(seq);
  }

  /** How many origins have state now. */
  int origins() {
    return origins.size();
  }

  private long sweepInterval() {
    return Math.max(originTtlNanos / 4, 1_000_000L);
  }

  private void evict(long now) {
    for (Iterator<Origin> it = origins.values().iterator(); it.hasNext(); ) {
      if (now - it.next().lastSeen > originTtlNanos) {
        it.remove();
      }
    }
    nextSweep = now + sweepInterval();
  }

  private static final class Origin {
    private final long[] bits;
    private final int window;
    private long highest;
    long lastSeen;

    Origin(int window, long first) {
      this.window = window;
      this.bits = new long[window / 64];
      this.highest = first;
      set(first);
    }

    Verdict check(long seq) {
      if (seq > highest) {
        long gap = seq - highest;
        if (gap >= window) {
          java.util.Arrays.fill(bits, 0L);
        } else {
          for (long s = highest + 1; s < seq; s++) {
            clear(s);
          }
        }
        highest = seq;
        set(seq);
        return Verdict.NEW;
      }
      if (highest - seq >= window) {
        return Verdict.TOO_OLD;
      }
      if (isSet(seq)) {
        return Verdict.DUPLICATE;
      }
      set(seq);
      return Verdict.NEW;
    }

    private int index(long seq) {
      return (int) Math.floorMod(seq, (long) window);
    }

    private boolean isSet(long seq) {
      int i = index(seq);
      return (bits[i >>> 6] & (1L << (i & 63))) != 0;
    }

    private void set(long seq) {
      int i = index(seq);
      bits[i >>> 6] |= 1L << (i & 63);
    }

    private void clear(long seq) {
      int i = index(seq);
      bits[i >>> 6] &= ~(1L << (i & 63));
    }
  }
}
