package io.wscluster.bench;

import java.time.Instant;

/**
 * Epoch microseconds from {@link System#nanoTime}: the wall clock is read once, at construction,
 * and every later time is that plus the elapsed nanoseconds. Cheap (no {@link Instant} per call)
 * and monotonic; the sender's and the receivers' times share the one base when they share the
 * clock. Thread-safe.
 */
final class MicroClock {
  private final long epochMicros;
  private final long nanos;

  MicroClock() {
    Instant now = Instant.now();
    this.nanos = System.nanoTime();
    this.epochMicros = now.getEpochSecond() * 1_000_000L + now.getNano() / 1000;
  }

  long nowMicros() {
    return micros(System.nanoTime());
  }

  /** The epoch microseconds of a {@link System#nanoTime} reading. */
  long micros(long nanoTime) {
    return epochMicros + (nanoTime - nanos) / 1000;
  }
}
