package io.wscluster;

import io.wscluster.spi.History;
import io.wscluster.spi.Transport;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeoutException;
import java.util.function.Consumer;

/** One publish of a frame to each of its channels, and whether it reached every node. */
final class PublishAttempt {
  /**
   * How long one publish of a frame may take before it counts as refused and the frame is held:
   * PUBLISH answers in about a millisecond, and the publish of a frame that waits longer holds
   * back everything queued behind it.
   */
  static final long WAIT_NANOS = java.util.concurrent.TimeUnit.SECONDS.toNanos(1);

  private PublishAttempt() {
  }

  /**
   * Publishes {@code frame} on each of its channels. Completes with the subscriptions each
   * reached, or exceptionally when the transport refused one or did not answer within
   * {@link #WAIT_NANOS}: a PUBLISH written to a connection that died with Redis can wait out
   * Redisson's response timeout and retries (seconds) while nothing queued passes it. Should such
   * an attempt still reach Redis, receivers drop the repeat.
   */
  static CompletableFuture<List<Long>> of(Frame frame, Transport transport, Scheduler timer) {
    List<CompletableFuture<Long>> all = new ArrayList<>(frame.channels.size());
    List<String> ids = frame.ids;
    for (int i = 0; i < frame.channels.size(); i++) {
      try {
        all.add(transport.publish(frame.channels.get(i), ids == null || ids.isEmpty()
            ? frame.bytes[i] : History.wrap(ids, frame.bytes[i])).toCompletableFuture());
      } catch (RuntimeException e) {
        all.add(CompletableFuture.failedFuture(e));
      }
    }
    return within(all, timer);
  }

  /**
   * Writes the recorded messages of a new {@code frame} to the history and publishes the frame
   * with their ids, in one step ({@link History#publish}); on success the frame has its ids. The
   * same bound as {@link #of(Frame, Transport, Scheduler)}; a retry of a write whose outcome is
   * unknown names the same {@code writer} and {@link Frame#historyToken}, so nothing is written
   * twice.
   */
  static CompletableFuture<List<Long>> ofHistory(Frame frame, History history,
      List<History.Message> messages, String writer, Consumer<String> epochs, Scheduler timer) {
    List<byte[]> frames = java.util.Arrays.asList(frame.bytes);
    CompletableFuture<Long> one;
    CompletableFuture<List<Long>> receivers = new CompletableFuture<>();
    try {
      history.publish(frame.channels, frames, messages, writer,
          Long.toString(frame.historyToken)).whenComplete((p, e) -> {
            if (e != null) {
              receivers.completeExceptionally(e);
              return;
            }
            frame.ids = p.ids();
            epochs.accept(p.epoch());
            receivers.complete(p.receivers());
          });
    } catch (RuntimeException e) {
      receivers.completeExceptionally(e);
    }
    one = receivers.thenApply(r -> 0L);
    return within(List.of(one), timer).thenCompose(v -> receivers);
  }

  private static CompletableFuture<List<Long>> within(List<CompletableFuture<Long>> all,
      Scheduler timer) {
    long waitNanos = WAIT_NANOS;
    CompletableFuture<Void> done = CompletableFuture.allOf(all.toArray(new CompletableFuture<?>[0]));
    try {
      java.util.concurrent.Future<?> wait = timer.schedule(() -> {
        if (done.completeExceptionally(new TimeoutException("Redis did not answer the publish "
            + "within " + waitNanos / 1_000_000 + " ms"))) {
          all.forEach(f -> f.cancel(false));
        }
      }, waitNanos);
      done.whenComplete((v, e) -> wait.cancel(false));
    } catch (RejectedExecutionException stopping) {
      // the node stops: its bounded wait for what is in flight applies instead
    }
    return done.thenApply(v -> all.stream().map(CompletableFuture::join).toList());
  }

  /**
   * Why {@code receivers} (per channel of the frame) is short of the nodes that should have it:
   * every live node on the broadcast channel, the owner (if live) on a node channel, on a room
   * channel the count {@code rooms} gives ({@link RoomCounts#expected}; a room channel it lacks
   * reached enough); null if not.
   */
  static String shortfall(Frame frame, List<Long> receivers, Map<String, Long> rooms,
      Channels channels, Peers peers) {
    if (receivers == null) {
      return null;
    }
    for (int i = 0; i < frame.channels.size(); i++) {
      String channel = frame.channels.get(i);
      long expected = channel.equals(channels.broadcast) ? peers.liveCount()
          : channels.roomOf(channel) != null ? rooms.getOrDefault(channel, 0L)
          : peers.isLive(channels.nodeOf(channel)) ? 1 : 0;
      if (receivers.get(i) < expected) {
        return receivers.get(i) + " of " + expected + " subscriptions on " + channel;
      }
    }
    return null;
  }
}
