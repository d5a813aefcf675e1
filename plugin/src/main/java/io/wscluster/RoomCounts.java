package io.wscluster;

import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.LongSupplier;

/**
 * How many subscriptions a frame on a room channel must reach: the live nodes with members in
 * the room, as the directory lists them (a node records a member there only once its room
 * subscription is active, see {@link RoomSubscriptions}). The publisher asks only for a room
 * channel whose count of receivers is below the live nodes (a room on every node needs no
 * lookup). A count read within {@code freshNanos} that the receivers reach is trusted; a
 * shortfall against it, or no such count, is checked with a fresh lookup, so a node that left
 * the room since does not hold frames. Trusting a count that recent is safe for joins because a
 * member is listed only once its node's subscription is active; what it can miss is a node that
 * joined the room within that second and lost its subscription since (a Redis restart), whose
 * chain then finds the loss with the next frame or sync. A lookup that fails counts every live node: the frame is
 * held and tried again like any shortfall, for the shortfall hold at most.
 *
 * <p>Thread-safe: called where publishes complete; lookups complete on the directory's executor.
 */
final class RoomCounts {
  /**
   * How long a room's count is trusted while the receivers reach it: a lookup per room and second
   * at most, instead of one per frame (a room's members list can be long).
   */
  static final long FRESH_NANOS = java.util.concurrent.TimeUnit.SECONDS.toNanos(1);
  private final Channels channels;
  private final Peers peers;
  private final LongSupplier clock;
  private final long freshNanos;
  private final Map<String, long[]> known = new ConcurrentHashMap<>();

  RoomCounts(Channels channels, Peers peers, LongSupplier clock, long freshNanos) {
    this.channels = channels;
    this.peers = peers;
    this.clock = clock;
    this.freshNanos = freshNanos;
  }

  /**
   * Per room channel of {@code frameChannels} whose {@code receivers} fall short of the live
   * nodes: the subscriptions it must reach. Completes at once when no lookup is needed.
   */
  CompletableFuture<Map<String, Long>> expected(List<String> frameChannels, List<Long> receivers) {
    int live = peers.liveCount();
    Map<String, Long> out = new HashMap<>();
    CompletableFuture<?> lookups = CompletableFuture.completedFuture(null);
    for (int i = 0; i < frameChannels.size(); i++) {
      String channel = frameChannels.get(i);
      String room = channels.roomOf(channel);
      long got = receivers.get(i);
      if (room == null || got >= live) {
        continue;
      }
      long now = clock.getAsLong();
      long[] cached = known.get(room);
      if (cached != null && now - cached[1] < freshNanos && got >= cached[0]) {
        continue;
      }
      CompletableFuture<Void> one = peers.roomNodes(room).handle((n, error) -> {
        long expected = error == null ? n : live;
        if (error == null) {
          known.put(room, new long[] {n, clock.getAsLong()});
        }
        synchronized (out) {
          out.put(channel, expected);
        }
        return null;
      });
      lookups = lookups.thenCombine(one, (a, b) -> null);
    }
    return lookups.thenApply(v -> {
      synchronized (out) {
        return Map.copyOf(out);
      }
    });
  }

  /** Forgets rooms not published to for a while; called every heartbeat. */
  void expire() {
    long now = clock.getAsLong();
    known.values().removeIf(c -> now - c[1] >= freshNanos);
  }
}
