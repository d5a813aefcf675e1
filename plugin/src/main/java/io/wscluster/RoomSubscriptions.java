package io.wscluster;

import io.wscluster.spi.Transport;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.function.LongSupplier;
import java.util.function.Predicate;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * This node's subscriptions of room channels: a room's channel is subscribed while the room has
 * members on this node, and unsubscribed once it has had none for {@code lingerNanos} (checked by
 * {@link #sweep} every heartbeat, so a room left and joined again at once, or a directory still
 * listing the member that left, costs no churn and no shortfall). Subscribe and unsubscribe of
 * one channel never overlap: each waits for the one before.
 *
 * <p>{@link #onJoin} answers when the room's subscription is active: {@link Membership} records a
 * join in the directory only then, so a node that sees the member in the directory publishes to
 * a subscribed channel (and holds the frame if Redis counts fewer subscriptions; see
 * {@link RoomCounts}).
 *
 * <p>Thread-safe (this object's lock, never held while waiting): session threads join, the timer
 * sweeps, the membership activates and stops it; transport stages complete anywhere.
 */
final class RoomSubscriptions {
  private static final Logger LOG = LoggerFactory.getLogger(RoomSubscriptions.class);
  private static final CompletableFuture<Void> DONE = CompletableFuture.completedFuture(null);

  private final String nodeId;
  private final Transport transport;
  private final Channels channels;
  private final Predicate<String> hasMembers;
  private final LongSupplier clock;
  private final long lingerNanos;
  private final Map<String, Room> rooms = new HashMap<>();
  /** The node has joined and its transport runs: subscriptions can be made. */
  private boolean active;

  private static final class Room {
    /** The last operation on the channel; the next one starts once it is done. */
    CompletableFuture<Void> last = DONE;
    /** Completes once the wanted subscription is active (or failed: see {@link #sweep}). */
    CompletableFuture<Void> subscribed;
    boolean wanted;
    boolean failed;
    long emptySince;
  }

  /**
   * @param hasMembers whether a room has members on this node now
   * @param lingerNanos how long a room without members here stays subscribed
   */
  RoomSubscriptions(String nodeId, Transport transport, Channels channels,
      Predicate<String> hasMembers, LongSupplier clock, long lingerNanos) {
    this.nodeId = nodeId;
    this.transport = transport;
    this.channels = channels;
    this.hasMembers = hasMembers;
    this.clock = clock;
    this.lingerNanos = lingerNanos;
  }

  /**
   * A session of this node joined {@code room}: subscribes its channel unless it is. Completes
   * once the subscription is active, or failed (the sweep then tries again), at once before the
   * node joined the cluster ({@link #activate} subscribes then).
   */
  synchronized CompletableFuture<Void> onJoin(String room) {
    if (!active) {
      return DONE;
    }
    Room r = rooms.computeIfAbsent(room, k -> new Room());
    r.emptySince = 0;
    if (!r.wanted) {
      subscribe(room, r);
    }
    return r.subscribed;
  }

  /**
   * The node joined the cluster: subscribes the channel of every room in {@code current} (the
   * rooms with members here). Completes once all are active; fails if one failed.
   */
  CompletableFuture<Void> activate(Iterable<String> current) {
    List<CompletableFuture<Void>> all = new ArrayList<>();
    synchronized (this) {
      active = true;
      for (String room : current) {
        Room r = rooms.computeIfAbsent(room, k -> new Room());
        if (!r.wanted) {
          subscribe(room, r);
        }
        all.add(r.subscribed);
      }
    }
    return CompletableFuture.allOf(all.toArray(new CompletableFuture<?>[0]));
  }

  /**
   * Every heartbeat: unsubscribes rooms without members here for the linger time, subscribes
   * again the ones whose subscription failed.
   */
  synchronized void sweep() {
    if (!active) {
      return;
    }
    long now = clock.getAsLong();
    for (Map.Entry<String, Room> e : new ArrayList<>(rooms.entrySet())) {
      String room = e.getKey();
      Room r = e.getValue();
      if (hasMembers.test(room)) {
        r.emptySince = 0;
        if (r.failed || !r.wanted) {
          subscribe(room, r);
        }
      } else if (r.wanted && r.emptySince == 0) {
        r.emptySince = now;
      } else if (r.wanted && now - r.emptySince >= lingerNanos) {
        unsubscribe(room, r);
      } else if (!r.wanted && r.last.isDone()) {
        rooms.remove(room);
      }
    }
  }

  /** The rooms whose channel is wanted now (a snapshot, for tests and stats). */
  synchronized List<String> subscribed() {
    List<String> out = new ArrayList<>();
    rooms.forEach((room, r) -> {
      if (r.wanted) {
        out.add(room);
      }
    });
    return out;
  }

  /** The node stops (the transport's stop ends every subscription): forgets everything. */
  synchronized void stop() {
    active = false;
    rooms.clear();
  }

  private void subscribe(String room, Room r) {
    String channel = channels.ofRoom(room);
    r.wanted = true;
    r.failed = false;
    CompletableFuture<Void> done = new CompletableFuture<>();
    r.subscribed = done;
    r.last = r.last.handle((v, e) -> null).thenCompose(v -> stage(() ->
        transport.subscribe(channel).toCompletableFuture())).whenComplete((v, error) -> {
          if (error != null) {
            synchronized (this) {
              r.failed = true;
            }
            LOG.warn("[{}] could not subscribe {} (retrying every heartbeat): {}", nodeId,
                channel, error.toString());
          }
          done.complete(null);
        });
  }

  private void unsubscribe(String room, Room r) {
    String channel = channels.ofRoom(room);
    r.wanted = false;
    r.emptySince = 0;
    r.last = r.last.handle((v, e) -> null).thenCompose(v -> stage(() ->
        transport.unsubscribe(channel).toCompletableFuture())).whenComplete((v, error) -> {
          if (error != null) {
            LOG.debug("[{}] could not unsubscribe {}: {}", nodeId, channel, error.toString());
          }
        });
  }

  /** A transport call as a stage: one that throws fails the stage instead. */
  private static CompletableFuture<Void> stage(
      java.util.function.Supplier<CompletableFuture<Void>> call) {
    try {
      return call.get();
    } catch (RuntimeException e) {
      return CompletableFuture.failedFuture(e);
    }
  }
}
