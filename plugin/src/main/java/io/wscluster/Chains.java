package io.wscluster;

import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.LongSupplier;

/**
 * The receiving side of the frame chains (see {@link EnvelopeCodec}, {@code link}): per origin
 * and channel (the broadcast channel, a room's channel, or this node's own channel) the link up to which frames
 * were delivered. A frame whose link skips numbers means Redis (or the client library) lost
 * frames it had counted as received: the frame is stashed, with every later one, and the missing
 * links are asked for ({@link Sink#request}, at once and again every quarter of the gap timeout,
 * since a request or its answer can be lost the same way).
 * What arrives fills the gap and the stash is delivered in link order, so a recovered loss
 * keeps the origin's order. Links still missing after the gap timeout (the origin no longer
 * holds them, or it is gone) are counted lost ({@link Sink#lost}) and the stash is delivered.
 *
 * <p>A frame at or below the delivered link is a repeat (a republish or replay) and is delivered
 * as it comes: the envelopes' own sequence numbers drop what was already delivered. So is a frame
 * that comes after its gap was given up: late and out of order, but not lost. A link more than
 * {@link EnvelopeCodec#MAX_RESEND} away from the chain's (forged, or after a very long absence)
 * starts the chain again there ({@code chainRestarts}): nothing that far back could be asked for.
 *
 * <p>Not thread-safe: confined to the node's dispatcher thread. Time comes from the injected clock
 * (nanoseconds).
 */
final class Chains {

  /** Where frames go; called on the dispatcher thread, in link order per chain. */
  interface Sink {
    /**
     * {@code direct}: of the chain on this node's own channel (else of the broadcast or a room
     * channel's chain).
     */
    void deliver(List<Envelope> envelopes, boolean direct);

    /** Ask {@code origin} for the links {@code from}..{@code to} of its chain on {@code channel}. */
    void request(String origin, String channel, long from, long to);

    /** Links of {@code origin}'s chain on {@code channel} that did not come within the gap timeout. */
    void lost(String origin, String channel, long from, long to);
  }

  /** Frames and bytes a chain stashes behind a gap before giving the gap up early. */
  /** How long the frames behind a gap in a chain wait for the missing ones, by default. */
  static final long GAP_TIMEOUT_NANOS = java.util.concurrent.TimeUnit.SECONDS.toNanos(5);
  static final int MAX_STASHED_FRAMES = 4096;
  static final long MAX_STASHED_BYTES = 16L << 20;

  private final Sink sink;
  private final Stats stats;
  private final long gapTimeoutNanos;
  private final long idleTtlNanos;
  private final LongSupplier nanoClock;
  /** Per channel (the broadcast channel, rooms', this node's own), per origin. */
  private final Map<String, Map<String, Chain>> chains = new HashMap<>();

  /**
   * @param gapTimeoutNanos how long the frames behind a gap wait for the missing ones
   * @param idleTtlNanos how long a chain with nothing stashed outlives its last frame
   */
  Chains(Sink sink, Stats stats, long gapTimeoutNanos, long idleTtlNanos, LongSupplier nanoClock) {
    this.sink = sink;
    this.stats = stats;
    this.gapTimeoutNanos = gapTimeoutNanos;
    this.idleTtlNanos = idleTtlNanos;
    this.nanoClock = nanoClock;
  }

  /**
   * A frame of {@code origin}'s chain ({@code link} > 0) on {@code channel}: the broadcast
   * channel, a room's, or ({@code onOwnChannel}) this node's own; {@code copy}: published again (an outage's replay, or for a node that asked), possibly from
   * before this node subscribed, so it never starts a chain (later frames would look like a gap
   * back to it).
   */
  void onFrame(String origin, String channel, boolean onOwnChannel, long link, boolean copy,
      List<Envelope> envelopes, int bytes) {
    long now = nanoClock.getAsLong();
    Map<String, Chain> map = chains.computeIfAbsent(channel, k -> new HashMap<>());
    Chain c = map.get(origin);
    if (c == null && copy) {
      sink.deliver(envelopes, onOwnChannel); // the envelopes' sequence numbers decide
      return;
    }
    // a link too far starts the chain again: so every gap and every stashed link stays within
    // MAX_RESEND of the delivered one, one request asks for all of a gap (the codec's bound), and
    // a forged far link cannot make a node ask for billions
    if (c != null && Math.abs(link - c.delivered) > EnvelopeCodec.MAX_RESEND) {
      stats.increment(Stats.CHAIN_RESTARTS);
      while (!c.stash.isEmpty()) {
        giveUp(c, now);
      }
      map.remove(origin);
      c = null;
    }
    if (c == null) {
      // the first frame this node sees of the chain: nothing before it can be asked for
      c = new Chain(origin, channel, onOwnChannel, link);
      map.put(origin, c);
      c.lastSeen = now;
      sink.deliver(envelopes, onOwnChannel);
      return;
    }
    c.lastSeen = now;
    if (link <= c.delivered) {
      sink.deliver(envelopes, onOwnChannel); // a repeat, or late after its gap was given up
      return;
    }
    if (link == c.delivered + 1) {
      if (link <= c.seen) {
        stats.increment(Stats.CHAIN_RECOVERED);
      }
      c.delivered = link;
      c.seen = Math.max(c.seen, link);
      sink.deliver(envelopes, onOwnChannel);
      drain(c, now);
      return;
    }
    if (c.stash.containsKey(link)) {
      return; // a repeat of a stashed frame
    }
    if (link < c.seen) {
      stats.increment(Stats.CHAIN_RECOVERED); // fills a gap behind another one
    }
    c.stash.put(link, new Stashed(envelopes, bytes, now));
    c.stashedBytes += bytes;
    if (link > c.seen + 1) {
      stats.add(Stats.CHAIN_GAPS, link - c.seen - 1);
      sink.request(c.origin, c.channel, c.seen + 1, link - 1);
    }
    c.seen = Math.max(c.seen, link);
    if (c.stash.size() > MAX_STASHED_FRAMES || c.stashedBytes > MAX_STASHED_BYTES) {
      giveUp(c, now);
    }
  }

  /**
   * Gives up gaps older than the gap timeout, asks again for each gap last asked for a quarter of
   * it ago, and forgets idle chains. Call it often (every 100 ms or so) on the dispatcher thread.
   */
  void tick() {
    long now = nanoClock.getAsLong();
    for (Iterator<Map<String, Chain>> maps = chains.values().iterator(); maps.hasNext(); ) {
      Map<String, Chain> map = maps.next();
      for (Iterator<Chain> it = map.values().iterator(); it.hasNext(); ) {
        Chain c = it.next();
        while (!c.stash.isEmpty()
            && now - c.stash.firstEntry().getValue().arrived >= gapTimeoutNanos) {
          giveUp(c, now);
        }
        long previous = c.delivered;
        for (Map.Entry<Long, Stashed> e : c.stash.entrySet()) {
          Stashed behindGap = e.getValue();
          if (e.getKey() > previous + 1 && now - behindGap.asked >= gapTimeoutNanos / 4) {
            behindGap.asked = now;
            sink.request(c.origin, c.channel, previous + 1, e.getKey() - 1);
          }
          previous = e.getKey();
        }
        if (c.stash.isEmpty() && now - c.lastSeen > idleTtlNanos) {
          it.remove();
        }
      }
      if (map.isEmpty()) {
        maps.remove(); // a room channel this node left
      }
    }
  }

  /** Frames stashed now, over all chains (a gauge for tests and stats). */
  int stashed() {
    int n = 0;
    for (Map<String, Chain> map : chains.values()) {
      for (Chain c : map.values()) {
        n += c.stash.size();
      }
    }
    return n;
  }

  /** The links missing before the first stashed frame are lost; delivers what follows them. */
  private void giveUp(Chain c, long now) {
    long first = c.stash.firstKey();
    stats.add(Stats.FRAMES_LOST, first - c.delivered - 1);
    sink.lost(c.origin, c.channel, c.delivered + 1, first - 1);
    c.delivered = first - 1;
    drain(c, now);
  }

  /** Delivers the stashed frames that now follow the delivered link without a gap. */
  private void drain(Chain c, long now) {
    Map.Entry<Long, Stashed> next;
    while ((next = c.stash.firstEntry()) != null && next.getKey() == c.delivered + 1) {
      c.stash.pollFirstEntry();
      c.stashedBytes -= next.getValue().bytes;
      c.delivered = next.getKey();
      sink.deliver(next.getValue().envelopes, c.direct);
    }
    if (c.stash.size() > MAX_STASHED_FRAMES || c.stashedBytes > MAX_STASHED_BYTES) {
      giveUp(c, now);
    }
  }

  private static final class Chain {
    final String origin;
    final String channel;
    final boolean direct;
    /** Every link up to this one was delivered or given up. */
    long delivered;
    /** The highest link that arrived (delivered or stashed). */
    long seen;
    final TreeMap<Long, Stashed> stash = new TreeMap<>();
    long stashedBytes;
    long lastSeen;

    Chain(String origin, String channel, boolean direct, long first) {
      this.origin = origin;
      this.channel = channel;
      this.direct = direct;
      this.delivered = first;
      this.seen = first;
    }
  }

  private static final class Stashed {
    final List<Envelope> envelopes;
    final int bytes;
    final long arrived;
    /** When the gap in front of it was last asked for (when it arrived, if it opened a gap). */
    long asked;

    Stashed(List<Envelope> envelopes, int bytes, long arrived) {
      this.envelopes = envelopes;
      this.bytes = bytes;
      this.arrived = arrived;
      this.asked = arrived;
    }
  }
}
