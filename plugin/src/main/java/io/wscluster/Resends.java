package io.wscluster;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The copies of this node's frames that another node asks for again: it missed links of one of
 * this node's chains (see {@link ChainSender}) and named them in a resend request.
 *
 * <p>Threads: the publisher thread only, like the {@link FrameHistory} and {@link HeldFrames} it
 * reads. It decides what goes out; the {@link Publisher} puts the copies in front of its hold.
 */
final class Resends {
  private static final Logger LOG = LoggerFactory.getLogger(Resends.class);

  private final String nodeId;
  private final Channels channels;
  private final ChainSender chains;
  private final FrameHistory history;
  private final HeldFrames held;
  private final Stats stats;

  Resends(String nodeId, Channels channels, ChainSender chains, FrameHistory history,
      HeldFrames held, Stats stats) {
    this.nodeId = nodeId;
    this.channels = channels;
    this.chains = chains;
    this.history = history;
    this.held = held;
    this.stats = stats;
  }

  /**
   * Node {@code requester} misses the links {@code from}..{@code to} of this node's chain on the
   * broadcast channel, on {@code room}'s channel (a room named), or, {@code direct}, on its own
   * channel. Returns a copy, for the requester's channel, of each one still kept and not already
   * held for it (asked for again before those went out: once is enough); receivers that have
   * them drop the repeats. Those no longer kept are counted; the requester counts them lost.
   */
  List<Frame> copies(String requester, boolean direct, String room, long from, long to, long now) {
    String requesterChannel = channels.ofNode(requester);
    String channel = direct ? requesterChannel
        : room.isEmpty() ? channels.broadcast : channels.ofRoom(room);
    // the chain a copy names in its head: null for the requester's own, "" for the broadcast
    String chain = direct ? null : room;
    Set<Long> waiting = held.resendsWaiting(requesterChannel, chain);
    List<Frame> found = new ArrayList<>();
    long[] already = {0};
    history.forEachOn(channel, from, to, (f, i) -> {
      if (waiting.contains(f.links[i])) {
        already[0]++;
      } else {
        found.add(chains.resentTo(f, i, requesterChannel, chain, now));
      }
    });
    long missed = to - from + 1 - found.size() - already[0];
    LOG.info("[{}] node {} asked for frames {} to {} of the {} chain again: {} of them{}", nodeId,
        requester, from, to, direct ? "direct" : channel, found.size(),
        missed == 0 ? "" : "; " + missed + " are no longer kept");
    if (missed > 0) {
      stats.add(Stats.RESEND_MISSED, missed);
    }
    return found;
  }
}
