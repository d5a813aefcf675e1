package io.wscluster;

import io.wscluster.spi.Transport;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.LongSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The liveness probe: every heartbeat a receipt this node sends to its own channel (ref = its own
 * sequence, which no real receipt has) and expects back through its subscription. A probe that
 * did not come back within three heartbeats (at least a second) while nothing else arrived on
 * the channel either means this node is not receiving: counted and reported by health. If Redis
 * meanwhile keeps reporting no subscription at all for the channel (the probe reached 0
 * receivers for that long), the transport has not restored it, so the channel is subscribed
 * again: Redisson resubscribes after a reconnect; this covers a subscription lost without one.
 * With a transport whose publish does not count receivers there is no such report: the probe
 * then only judges round trips.
 *
 * <p>Threads: {@link #run} on the timer thread; {@link #onEcho} on the dispatcher; the publish
 * outcome on the transport's; {@link #onOwnChannelFrame} on the transport's; health reads from any
 * thread. Time comes from {@code clock}, so tests run it on virtual time.
 */
final class Probe {
  private static final Logger LOG = LoggerFactory.getLogger(Probe.class);
  private final String nodeId;
  private final String ownChannel;
  private final Transport transport;
  private final EnvelopeCodec codec;
  private final Stats stats;
  private final LongSupplier sequence;
  private final LongSupplier clock;
  private final long heartbeatNanos;
  private final long timeoutNanos;
  private final boolean countsReceivers;
  private volatile boolean running = true;
  private volatile long seq;
  private volatile long sentNanos;
  private volatile boolean sendFailed;
  private volatile long roundTripNanos = -1;
  private volatile boolean missed;
  /** Since when Redis has reported no subscriber for this node's channel; 0 if it has one. */
  private volatile long unsubscribedSinceNanos;
  /** When the last frame arrived on the own channel. */
  private volatile long ownChannelSeenNanos;
  /** Timer thread: when the channel was last subscribed again. */
  private long lastResubscribeNanos;

  /**
   * @param sequence this node's sequence numbers
   * @param countsReceivers whether the transport's publish completes with the subscriptions a
   *     frame reached; only then does a count of 0 make the probe subscribe again
   */
  Probe(String nodeId, String ownChannel, Transport transport, EnvelopeCodec codec, Stats stats,
      LongSupplier sequence, LongSupplier clock, long heartbeatNanos, boolean countsReceivers) {
    this.nodeId = nodeId;
    this.ownChannel = ownChannel;
    this.transport = transport;
    this.codec = codec;
    this.stats = stats;
    this.sequence = sequence;
    this.clock = clock;
    this.heartbeatNanos = heartbeatNanos;
    this.timeoutNanos = Math.max(TimeUnit.SECONDS.toNanos(1), 3 * heartbeatNanos);
    this.countsReceivers = countsReceivers;
    this.lastResubscribeNanos = clock.getAsLong() - timeoutNanos - 1;
  }

  /** Timer thread, every heartbeat: judges the last probe, then sends the next. Never throws. */
  void run() {
    try {
      if (!running) {
        return;
      }
      long now = clock.getAsLong();
      if (seq != 0) {
        if (now - sentNanos < timeoutNanos || ownChannelSeenNanos - sentNanos > 0) {
          return;
        }
        if (!missed) {
          LOG.warn("[{}] the liveness probe did not come back in {} ms{}", nodeId,
              timeoutNanos / 1_000_000, sendFailed ? " (Redis did not take it)" : "");
        }
        missed = true;
        stats.increment(Stats.PROBES_MISSED);
      }
      resubscribeIfUnsubscribed(now);
      long s = sequence.getAsLong();
      byte[] frame = codec.frame(List.of(codec.encode(Envelope.receipt(nodeId, s, s, Map.of()))));
      seq = s;
      sentNanos = now;
      stats.increment(Stats.PROBES_SENT);
      transport.publish(ownChannel, frame).whenComplete((receivers, error) -> {
        sendFailed = error != null;
        if (error == null && countsReceivers && receivers == 0) {
          if (unsubscribedSinceNanos == 0) {
            unsubscribedSinceNanos = now;
          }
        } else if (error == null) {
          unsubscribedSinceNanos = 0;
        }
      });
    } catch (RuntimeException e) {
      LOG.warn("[{}] liveness probe failed", nodeId, e);
    }
  }

  /**
   * Two probes in a row (a heartbeat apart) found no subscriber: the transport has not restored
   * it (seen after Redis restarted on the same port); at most once per probe timeout. Only this
   * channel: Redis says it has no subscriber. Subscribing a channel again that still works would
   * lose what arrives between the old listener's removal and the new subscription.
   */
  private void resubscribeIfUnsubscribed(long now) {
    long since = unsubscribedSinceNanos;
    if (since != 0 && now - since >= heartbeatNanos * 9 / 10
        && now - lastResubscribeNanos > timeoutNanos) {
      lastResubscribeNanos = now;
      stats.increment(Stats.RESUBSCRIBES);
      LOG.warn("[{}] Redis has reported no subscription to {} for {} ms: subscribing again",
          nodeId, ownChannel, (now - since) / 1_000_000);
      transport.subscribe(ownChannel);
    }
  }

  /**
   * Transport threads: a frame arrived on the own channel. Any frame shows the subscription
   * works, even one a busy dispatcher has not decoded yet.
   */
  void onOwnChannelFrame() {
    ownChannelSeenNanos = clock.getAsLong();
  }

  /** Dispatcher thread: whether {@code e} is this node's probe come back (then taken). */
  boolean onEcho(Envelope e) {
    if (e.kind != Envelope.KIND_RECEIPT || e.ref != e.seq || !e.origin.equals(nodeId)) {
      return false;
    }
    stats.increment(Stats.PROBES_RECEIVED); // not counted as an envelope: no message
    if (e.seq == seq) {
      long now = clock.getAsLong();
      roundTripNanos = now - sentNanos;
      seq = 0;
      if (missed) {
        LOG.info("[{}] the liveness probe comes back again", nodeId);
      }
      missed = false;
    }
    return true;
  }

  void stop() {
    running = false;
  }

  /** Whether the last probe came back in time and Redis took it. */
  boolean ok() {
    return !sendFailed && !missed;
  }

  /** The last probe's round trip in microseconds, -1 before the first. */
  long roundTripMicros() {
    long rt = roundTripNanos;
    return rt < 0 ? -1 : rt / 1000;
  }
}
