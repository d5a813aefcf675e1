package io.wscluster;

/**
 * The bounds every outbox of a node applies, and how it judges a client; immutable, shared.
 */
final class OutboxLimits {
  /** The frame bound when flow control is off (a test's control): the bound of old. */
  static final int UNJUDGED_MAX_FRAMES = 1024;

  final int maxFrames;
  final long maxBytes;
  final long stallNanos;
  final WsClusterConfig.Overflow overflow;
  final long delayNanos;
  /** Runs a delayed drain; null when {@code delayNanos} is 0. */
  final java.util.concurrent.ScheduledExecutorService delayer;
  final java.util.function.LongSupplier clock;

  OutboxLimits(int maxFrames, long maxBytes, long stallNanos, WsClusterConfig.Overflow overflow,
      long delayNanos, java.util.concurrent.ScheduledExecutorService delayer,
      java.util.function.LongSupplier clock) {
    this.maxFrames = maxFrames;
    this.maxBytes = maxBytes;
    this.stallNanos = stallNanos;
    this.overflow = overflow;
    this.delayNanos = delayer == null ? 0 : delayNanos;
    this.delayer = delayer;
    this.clock = clock;
  }

  /** The configured bounds on the real clock; {@code delayer} serves a write delay. */
  static OutboxLimits of(WsClusterConfig c, java.util.concurrent.ScheduledExecutorService delayer) {
    return new OutboxLimits(c.outboxMaxFrames(), c.outboxMaxBytes(),
        c.outboxStallTimeout().toNanos(), c.outboxOverflow(), c.writeDelay().toNanos(),
        delayer, System::nanoTime);
  }

  /**
   * Flow control off (a test's control): a frame bound of {@link #UNJUDGED_MAX_FRAMES}, no
   * byte bound, no stall judgement; a burst larger than the bound closes a healthy client.
   */
  static OutboxLimits unjudged(WsClusterConfig.Overflow overflow) {
    return new OutboxLimits(UNJUDGED_MAX_FRAMES, Long.MAX_VALUE, Long.MAX_VALUE, overflow, 0, null,
        System::nanoTime);
  }

  /** Frames only, as the tests of the frame bound want it: no byte bound, no stall. */
  static OutboxLimits frames(int maxFrames, WsClusterConfig.Overflow overflow) {
    return new OutboxLimits(maxFrames, Long.MAX_VALUE, Long.MAX_VALUE, overflow, 0, null,
        System::nanoTime);
  }
}
