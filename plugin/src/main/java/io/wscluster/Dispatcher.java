package io.wscluster;

import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.function.LongSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * What arrives from the other nodes: decodes each frame, passes another node's chained frames
 * through their chain (which holds them back behind a gap and asks for the missing ones, see
 * {@link Chains}), drops own echoes and repeats ({@link Dedup}), and hands each envelope to the
 * actor it is for: messages to {@link LocalDelivery} (or {@link Receipts} when a receipt is
 * asked), receipts to {@link Receipts}, resend requests to the {@link Publisher}, this node's
 * probe to the {@link Probe}.
 *
 * <p>Threads: {@link #onFrame} on the transport's threads, which only hand frames to the
 * {@link Inbox}; everything else on the one dispatcher thread ({@code wscluster-dispatch-n}), so
 * per-origin order is kept. A malformed or forged frame is counted and dropped, and an envelope
 * whose handling throws is counted: neither stops the dispatcher.
 */
final class Dispatcher implements Chains.Sink {
  private static final Logger LOG = LoggerFactory.getLogger(Dispatcher.class);
  private static final long REJECT_LOG_INTERVAL_NANOS = TimeUnit.SECONDS.toNanos(10);
  private final String nodeId;
  private final Channels channels;
  private final String ownChannel;
  private final EnvelopeCodec codec;
  private final Dedup dedup;
  private final Chains chains;
  private final Inbox inbox;
  private final Stats stats;
  private final LongSupplier clock;
  private final Probe probe;
  private final Publisher publisher;
  private final Receipts receipts;
  private final LocalDelivery local;
  private volatile boolean running = true;
  /** Dispatcher-thread state: rate limit of the rejected-frame warning. */
  private long lastRejectLog;
  private long rejectsSinceLog;

  /** @param clock for the chains' and the warnings' timing, and dedup's origin ttl */
  Dispatcher(String nodeId, Channels channels, EnvelopeCodec codec, Dedup dedup, Inbox inbox,
      Stats stats, LongSupplier clock, long originTtlNanos, Probe probe, Publisher publisher,
      Receipts receipts, LocalDelivery local) {
    this.nodeId = nodeId;
    this.channels = channels;
    this.ownChannel = channels.ofNode(nodeId);
    this.codec = codec;
    this.dedup = dedup;
    this.inbox = inbox;
    this.stats = stats;
    this.clock = clock;
    this.probe = probe;
    this.publisher = publisher;
    this.receipts = receipts;
    this.local = local;
    this.chains = new Chains(this, stats, Chains.GAP_TIMEOUT_NANOS, originTtlNanos, clock);
    this.lastRejectLog = clock.getAsLong() - REJECT_LOG_INTERVAL_NANOS;
  }

  /** Transport threads: hand over, nothing else. */
  void onFrame(String channel, byte[] frame) {
    stats.increment(Stats.FRAMES_RECEIVED);
    if (channel.equals(ownChannel)) {
      probe.onOwnChannelFrame();
    }
    inbox.addFrame(channel, frame);
  }

  /** Dispatcher thread, every 100 ms: the chains give up on gaps and ask again. */
  void tick() {
    chains.tick();
  }

  void stop() {
    running = false;
  }

  /**
   * Dispatcher thread: decode; another node's chained frame goes through its chain, the rest
   * straight to {@link #deliver}.
   */
  void dispatch(String channel, byte[] frame) {
    EnvelopeCodec.Decoded decoded;
    try {
      Streams.Unwrapped unwrapped = Streams.unwrap(frame);
      decoded = codec.decodeFrame(unwrapped.frame());
      Streams.assign(unwrapped.ids(), decoded.envelopes);
    } catch (EnvelopeCodec.Rejection r) {
      onRejected(r, frame.length);
      return;
    }
    String origin = decoded.envelopes.get(0).origin;
    // a copy of a broadcast- or room-chain frame comes on the own channel to the one node that
    // asked: it belongs to that chain, and to the shared (not the direct) dedup window
    String chain = decoded.chain == null ? channel
        : decoded.chain.isEmpty() ? channels.broadcast : channels.ofRoom(decoded.chain);
    boolean direct = chain.equals(ownChannel);
    if (decoded.link == 0 || origin.equals(nodeId)) {
      deliver(decoded.envelopes, direct);
    } else {
      chains.onFrame(origin, chain, direct, decoded.link, decoded.copy, decoded.envelopes,
          frame.length);
    }
  }

  /**
   * Dispatcher thread: the envelopes of a frame, in the open batch of the inbox (a frame the
   * chains release on their tick opens one): several messages in one frame, or in several
   * frames dispatched together, are written to each session as one run.
   */
  @Override
  public void deliver(List<Envelope> envelopes, boolean direct) {
    inbox.inBatch(() -> handle(envelopes, inbox.batch(), direct));
  }

  private void handle(List<Envelope> envelopes, Set<Outbox> batch, boolean direct) {
    for (Envelope e : envelopes) {
      if (probe.onEcho(e)) {
        continue;
      }
      if (e.kind == Envelope.KIND_SYNC) {
        // its frame's link did its work in the chain: no message, not in envelopesReceived
        stats.increment(Stats.SYNCS_RECEIVED);
        continue;
      }
      stats.increment(Stats.ENVELOPES_RECEIVED);
      try {
        Dedup.Verdict verdict = dedup.check(e.origin, e.seq, direct);
        if (verdict == Dedup.Verdict.OWN_ECHO && e.historyId != null) {
          Pending.Own own = publisher.recording.echoed(e.seq);
          if (own != null) {
            local.deliverOwn(own, e.historyId, batch);
          }
        }
        if (verdict != Dedup.Verdict.NEW) {
          stats.increment(verdict == Dedup.Verdict.OWN_ECHO ? Stats.OWN_ECHOES
              : verdict == Dedup.Verdict.DUPLICATE ? (isRoomCopy(e, direct) ? Stats.ROOM_COPIES
                  : Stats.DUPLICATES) : Stats.TOO_OLD);
        } else if (e.kind == Envelope.KIND_RESEND) {
          publisher.onResendRequest(e.origin, e.binary, e.room, e.ref, e.refEnd);
        } else if (e.kind == Envelope.KIND_RECEIPT) {
          receipts.onReceipt(e);
        } else {
          Payload out = e.binary ? Payload.binary(e.payload) : Payload.text(e.payload);
          if (e.receiptRequested) {
            receipts.deliverAndConfirm(e, out);
          } else {
            local.deliver(e.target, e.historyId, Streams.of(e), out, batch);
          }
        }
      } catch (RuntimeException ex) {
        stats.increment(Stats.DISPATCH_FAILED);
        LOG.error("[{}] delivering {} failed", nodeId, e, ex);
      }
    }
  }

  /**
   * Whether a repeat is most likely the copy of a message to several rooms that came on another
   * of their channels (by design, see {@link Channels#ofTarget}) rather than a duplicate source.
   */
  private static boolean isRoomCopy(Envelope e, boolean direct) {
    return !direct && e.kind == Envelope.KIND_MESSAGE && !e.target.isAll()
        && e.target.rooms().size() > 1 && e.target.users().isEmpty()
        && e.target.sessions().isEmpty();
  }

  /**
   * Dispatcher thread: the chain of {@code origin} misses frames: a resend request straight to
   * its channel, on the publisher thread, unchained and ahead of anything queued or held there (a
   * request waiting behind an outage, or stashed behind a gap in the chain it would travel in,
   * would come too late). Not held when Redis does not take it: the chain asks again after a
   * quarter of its gap timeout.
   */
  @Override
  public void request(String origin, String channel, long from, long to) {
    if (!running) {
      return;
    }
    LOG.warn("[{}] frames {} to {} of node {}'s chain on {} did not arrive (Redis lost them "
        + "after counting this node as a receiver): asking for them again; later frames wait "
        + "for them", nodeId, from, to, origin, channel);
    boolean direct = channel.equals(ownChannel);
    String room = channels.roomOf(channel);
    publisher.onThread(() -> publisher.publishNow(origin,
        seq -> Envelope.resend(nodeId, seq, direct, room == null ? "" : room, from, to)));
  }

  @Override
  public void lost(String origin, String channel, long from, long to) {
    LOG.error("[{}] frames {} to {} of node {}'s chain on {} are lost: they did not come again "
        + "within {} s (the node no longer keeps them, or is gone); delivering what came after",
        nodeId, from, to, origin, channel,
        TimeUnit.NANOSECONDS.toSeconds(Chains.GAP_TIMEOUT_NANOS));
  }

  private void onRejected(EnvelopeCodec.Rejection r, int length) {
    stats.increment(Stats.REJECTED);
    stats.increment(Stats.REJECTED + "." + r.reason.name().toLowerCase());
    rejectsSinceLog++;
    long now = clock.getAsLong();
    if (now - lastRejectLog >= REJECT_LOG_INTERVAL_NANOS) {
      LOG.warn("[{}] rejected {} frame(s) from Redis; latest: {} bytes, {}: {}", nodeId,
          rejectsSinceLog, length, r.reason, r.getMessage());
      lastRejectLog = now;
      rejectsSinceLog = 0;
    }
  }
}
