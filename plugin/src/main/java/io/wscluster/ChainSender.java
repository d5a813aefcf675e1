package io.wscluster;

import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The sending side of the frame chains (see {@link Chains} for the receiving side): numbers each
 * frame this node publishes with the next link of its channel's chain and builds its bytes, and
 * notes the channels that got frames since the last sync. Pure (no I/O, no clock but the one
 * given); publisher-thread state.
 *
 * <p>One chain per channel this node ever published to: the broadcast channel, the channels of
 * the rooms it sent to, and the node channels of the nodes it sent routed messages or receipts to (a restarted node is a new one).
 * Never reset: a receiver would take a chain starting again at 1 for repeats.
 */
class ChainSender {
  private final EnvelopeCodec codec;
  private final Map<String, Long> links = new HashMap<>();
  private final Set<String> unsynced = new HashSet<>();
  /** When each channel last got a chained frame other than a sync. */
  private final Map<String, Long> lastData = new HashMap<>();

  private ChainSender(EnvelopeCodec codec) {
    this.codec = codec;
  }

  static ChainSender chained(EnvelopeCodec codec) {
    return new ChainSender(codec);
  }

  /**
   * Frames go out unchained (link 0): receivers cannot see a lost frame, which stays lost. A
   * test's control for what the chains prevent; never chosen by configuration.
   */
  static ChainSender unchained(EnvelopeCodec codec) {
    return new ChainSender(codec) {
      @Override
      long nextLink(String channel, boolean syncOnly) {
        return 0;
      }
    };
  }

  /** The next link of {@code channel}'s chain, for a frame of syncs only or not. */
  long nextLink(String channel, boolean syncOnly) {
    if (!syncOnly) {
      unsynced.add(channel);
    }
    return links.merge(channel, 1L, Long::sum);
  }

  /** A new frame of {@code batch} for each channel (the bytes differ per channel in the link). */
  Frame frame(List<Pending> batch, List<String> channels, long nowNanos) {
    byte[][] bytes = new byte[channels.size()][];
    long[] frameLinks = new long[channels.size()];
    boolean syncOnly = true;
    for (Pending p : batch) {
      syncOnly &= p.envelope[0] == Envelope.KIND_SYNC;
    }
    List<byte[]> envelopes = Frame.envelopesOf(batch);
    for (int i = 0; i < channels.size(); i++) {
      frameLinks[i] = nextLink(channels.get(i), syncOnly);
      bytes[i] = codec.frame(envelopes, frameLinks[i], false);
      if (!syncOnly && frameLinks[i] != 0) {
        lastData.put(channels.get(i), nowNanos);
      }
    }
    return new Frame(batch, bytes, channels, frameLinks, Frame.Kind.NEW, nowNanos);
  }

  /**
   * A frame Redis took, to publish again to all its channels as an outage's replay, marked as a
   * copy (a receiver that does not know the chain yet delivers it without starting the chain
   * there).
   */
  Frame replayOf(Frame f, long nowNanos) {
    List<byte[]> envelopes = f.envelopes();
    byte[][] bytes = new byte[f.channels.size()][];
    for (int i = 0; i < bytes.length; i++) {
      bytes[i] = codec.frame(envelopes, f.links[i], true);
    }
    return copyIds(f, new Frame(f.batch, bytes, f.channels, f.links, Frame.Kind.REPLAY,
        nowNanos));
  }

  /**
   * A copy of what {@code f} was on its channel {@code i}, for the node whose channel is
   * {@code requester} only; a copy of another chain's frame names that chain in its head
   * ({@code chain}: "" the broadcast chain, else a room's; null: the requester's own channel's):
   * the other nodes, some of which were not subscribed then, never see it.
   */
  Frame resentTo(Frame f, int i, String requester, String chain, long nowNanos) {
    return copyIds(f, new Frame(f.batch,
        new byte[][] {codec.frame(f.envelopes(), f.links[i], true, chain)},
        List.of(requester), new long[] {f.links[i]}, Frame.Kind.RESENT, nowNanos, chain));
  }

  /** A copy carries the history ids of its original: receivers that lacked it need them. */
  private static Frame copyIds(Frame original, Frame copy) {
    copy.ids = original.ids;
    copy.historyToken = original.historyToken;
    copy.ownDelivered = true;
    return copy;
  }

  /** The channels that got frames other than syncs since the last call; forgets them. */
  List<String> takeUnsynced() {
    List<String> out = List.copyOf(unsynced);
    unsynced.clear();
    return out;
  }

  boolean anyUnsynced() {
    return !unsynced.isEmpty();
  }

  /**
   * The channels that got chained frames other than syncs at or after {@code sinceNanos}; forgets
   * the others.
   */
  List<String> activeSince(long sinceNanos) {
    lastData.values().removeIf(at -> at - sinceNanos < 0);
    return List.copyOf(lastData.keySet());
  }
}
