package io.wscluster.it;

import java.time.Duration;
import java.util.concurrent.Callable;
import org.awaitility.Awaitility;

/** Waiting helpers shared by the tests. */
final class Settle {

  private Settle() {
  }

  /**
   * Polls {@code condition} every {@code interval} (the first time at once) until it holds, at most {@code atMost};
   * returns the {@link System#nanoTime()} at which it was first seen to hold, so callers can measure how long
   * something took to become visible.
   */
  static long until(String what, Duration atMost, Duration interval, Callable<Boolean> condition) {
    long[] seenAt = {0};
    Awaitility.await(what)
        .atMost(atMost)
        .pollDelay(Duration.ZERO)
        .pollInterval(interval)
        .until(() -> {
          if (condition.call()) {
            seenAt[0] = System.nanoTime();
            return true;
          }
          return false;
        });
    return seenAt[0];
  }

  /** Milliseconds from {@code startNanos} to {@code endNanos}, with a fraction. */
  static double millis(long startNanos, long endNanos) {
    return (endNanos - startNanos) / 1_000_000.0;
  }

  /**
   * Waits until {@code value} returns the same number for {@code quiet} in a row (polled every 100 ms), at most
   * {@code atMost}; returns that number. Used to let counters such as /status duplicates stop moving before the
   * absence of extra deliveries is asserted.
   */
  static long stable(Callable<Long> value, Duration quiet, Duration atMost) {
    long[] last = {Long.MIN_VALUE};
    long[] since = {System.nanoTime()};
    Awaitility.await("value to stay unchanged for " + quiet)
        .atMost(atMost)
        .pollInterval(Duration.ofMillis(100))
        .until(() -> {
          long v = value.call();
          long now = System.nanoTime();
          if (v != last[0]) {
            last[0] = v;
            since[0] = now;
            return false;
          }
          return now - since[0] >= quiet.toNanos();
        });
    return last[0];
  }
}
