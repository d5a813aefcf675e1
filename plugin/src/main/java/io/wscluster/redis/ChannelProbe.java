package io.wscluster.redis;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.concurrent.TimeUnit;

/**
 * Whether one sharded subscription still delivers: a subscription Redis counts can deliver
 * nothing here (a wedged connection, a client library that lost track of it), and then the
 * senders see every receiver reached and hold nothing back, so only the subscriber can notice.
 * A channel quiet for {@link #QUIET_MILLIS} (plus a random part, so the nodes on a channel do not
 * all ask at once) gets a probe: the frame {@link #FRAME}, published to the channel on the
 * master the subscription is on. Any frame arriving afterwards, another node's probe included,
 * shows the subscription works. If Redis answered the probe and nothing arrived within
 * {@link #TIMEOUT_MILLIS}, or it counted no subscriber at all, the subscription is dead. A probe
 * Redis does not answer says nothing about the subscription (the master is down or hung; a
 * failover moves the channel).
 *
 * <p>Threads: {@link #onFrame} on Redisson's; the rest on the sharded subscriptions' thread.
 * Times are {@link System#nanoTime} values passed in, so tests run it on virtual time.
 */
final class ChannelProbe {
  /** A subscribed channel quiet for this long (plus up to half again) gets a probe. */
  static final long QUIET_MILLIS = 1_000;
  /** How long after Redis answered a probe a frame must have arrived on its channel. */
  static final long TIMEOUT_MILLIS = 2_000;
  /** A probe Redis has not answered for this long is forgotten (a new one follows). */
  static final long UNANSWERED_MILLIS = 10_000;
  /**
   * The probe frame: a first byte no frame of the wire format starts with (version 0), then a
   * name. Every subscriber drops it: it never reaches a receiver.
   */
  static final byte[] FRAME = "\0wscluster-probe".getBytes(StandardCharsets.US_ASCII);

  /** What the subscriptions' thread does next for this channel. */
  enum Step {
    /** Nothing now. */
    WAIT,
    /** Publish a probe, then report its outcome to {@link #answered} or {@link #failed}. */
    SEND,
    /** The subscription delivers nothing: subscribe the channel again on a new connection. */
    DEAD
  }

  /** Redisson's threads: when a frame last arrived through the current subscription. */
  private volatile long lastFrameNanos;
  /** The outstanding probe's sending time; 0 if none. */
  private long sentNanos;
  /** When Redis answered the outstanding probe; 0 until it did. */
  private long answeredNanos;
  /** Whether Redis counted no subscriber for the outstanding probe. */
  private boolean countedNone;
  /** When quiet began to count: the last probe, or the subscription's confirmation. */
  private long sinceNanos;
  private long quietNanos = TimeUnit.MILLISECONDS.toNanos(QUIET_MILLIS);

  static boolean isProbe(byte[] frame) {
    return frame.length == FRAME.length && Arrays.equals(frame, FRAME);
  }

  /** Redisson's thread: a frame arrived through the current subscription. */
  void onFrame(long now) {
    lastFrameNanos = now;
  }

  /** The channel was (re)subscribed and Redis confirmed it: quiet counts from {@code now}. */
  void confirmed(long now) {
    sentNanos = 0;
    sinceNanos = now;
  }

  /**
   * The next step at {@code now}; {@code jitterMillis} (0 to {@link #QUIET_MILLIS} / 2) is added
   * to the quiet time before the probe after this one.
   */
  Step next(long now, long jitterMillis) {
    if (sentNanos != 0) {
      if (lastFrameNanos - sentNanos > 0) {
        sentNanos = 0; // a frame came after the probe: the subscription works
        return Step.WAIT;
      }
      if (countedNone || answeredNanos != 0
          && now - answeredNanos > TimeUnit.MILLISECONDS.toNanos(TIMEOUT_MILLIS)) {
        return Step.DEAD;
      }
      if (answeredNanos != 0
          || now - sentNanos <= TimeUnit.MILLISECONDS.toNanos(UNANSWERED_MILLIS)) {
        return Step.WAIT;
      }
      sentNanos = 0; // never answered: forgotten, a new one goes when the channel is quiet
    }
    if (now - Math.max(lastFrameNanos, sinceNanos) < quietNanos) {
      return Step.WAIT;
    }
    quietNanos = TimeUnit.MILLISECONDS.toNanos(QUIET_MILLIS + jitterMillis);
    sentNanos = now;
    sinceNanos = now;
    answeredNanos = 0;
    countedNone = false;
    return Step.SEND;
  }

  /** The probe sent at {@code sent} is the outstanding one. */
  boolean outstanding(long sent) {
    return sentNanos == sent && sent != 0;
  }

  /** Redis answered the probe sent at {@code sent}, counting {@code receivers}. */
  void answered(long sent, long receivers, long now) {
    if (outstanding(sent)) {
      answeredNanos = now;
      countedNone = receivers == 0;
    }
  }

  /** Redis refused the probe sent at {@code sent} (MOVED, not answered): no verdict. */
  void failed(long sent) {
    if (outstanding(sent)) {
      sentNanos = 0;
    }
  }

  /** Why the subscription was found dead, for the log. */
  String why() {
    return countedNone ? "Redis counted no subscriber for a probe"
        : "a probe Redis took did not come back in " + TIMEOUT_MILLIS + " ms";
  }
}
