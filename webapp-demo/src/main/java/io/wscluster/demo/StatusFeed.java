package io.wscluster.demo;

import io.wscluster.Presence;
import io.wscluster.Target;
import io.wscluster.WsCluster;
import jakarta.servlet.ServletContext;
import jakarta.websocket.Session;
import java.time.Duration;
import java.util.Collection;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Sends this node's status to the cluster view's room once a second while anyone watches, on any
 * node: one presence query per second ({@code sessionsInRoom}), and when the room is not empty one
 * more ({@code nodes}, the live leases) and one {@code send} to the room. So every view, on every
 * node, gets every node's status through the cluster, and a node that dies simply falls silent.
 *
 * <p>When the directory cannot answer within {@link #QUERY_LIMIT} (Redis down), the status goes to
 * this node's own view sessions only, without {@code liveNodes}: they see their node's link to
 * Redis fail, and nothing is queued for republishing. The plugin's counters include these status
 * messages (one published per node per second, one delivered per node and view per second).
 *
 * <p>Lifecycle: {@link #start} and {@link #stop} are called by {@link DemoEndpoints} on the
 * container's deploying thread. Ticks run on one thread {@code wscluster-statusfeed-<n>}; a tick
 * whose queries have not answered yet makes the next one skip, so a slow Redis never piles up work.
 */
final class StatusFeed {
  static final Duration PERIOD = Duration.ofSeconds(1);
  static final Duration QUERY_LIMIT = Duration.ofMillis(800);
  private static final Duration STOP_LIMIT = Duration.ofSeconds(2);

  private static final Logger LOG = LoggerFactory.getLogger(StatusFeed.class);
  private static final AtomicInteger THREADS = new AtomicInteger();

  private final ServletContext context;
  private final DemoSettings settings;
  private final AtomicBoolean busy = new AtomicBoolean();
  private ScheduledExecutorService timer;

  StatusFeed(ServletContext context, DemoSettings settings) {
    this.context = context;
    this.settings = settings;
  }

  /** The frame the view receives: {@code {"type":"status","status":<statusJson>}}. */
  static String frame(String statusJson) {
    return "{\"type\":\"status\",\"status\":" + statusJson + "}";
  }

  synchronized void start() {
    if (timer != null) {
      return;
    }
    String name = "wscluster-statusfeed-" + THREADS.getAndIncrement();
    timer = Executors.newSingleThreadScheduledExecutor(r -> {
      Thread t = new Thread(r, name);
      t.setDaemon(true);
      return t;
    });
    // fixed delay, not rate: a node that was paused must not send the missed ticks in a burst
    timer.scheduleWithFixedDelay(this::tick, PERIOD.toMillis(), PERIOD.toMillis(), TimeUnit.MILLISECONDS);
  }

  synchronized void stop() {
    if (timer == null) {
      return;
    }
    timer.shutdownNow();
    try {
      if (!timer.awaitTermination(STOP_LIMIT.toMillis(), TimeUnit.MILLISECONDS)) {
        LOG.warn("status feed thread did not stop within {} ms", STOP_LIMIT.toMillis());
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    timer = null;
  }

  /** One second's work; never throws (an exception would cancel the schedule). */
  private void tick() {
    WsCluster cluster;
    try {
      cluster = WsCluster.of(context);
    } catch (IllegalStateException e) {
      return; // not started yet, or stopping
    }
    if (!busy.compareAndSet(false, true)) {
      return;
    }
    try {
      Presence presence = cluster.presence();
      within(presence.sessionsInRoom(ClusterViewEndpoint.ROOM))
          .thenCompose(viewers -> viewers.isEmpty()
              ? CompletableFuture.completedFuture(null)
              : within(presence.nodes()).thenAccept(nodes -> publish(cluster, nodes)))
          .whenComplete((ok, failure) -> {
            busy.set(false);
            if (failure != null) {
              LOG.debug("status feed: directory did not answer, status to local views only", failure);
              sendToLocalViews(cluster);
            }
          });
    } catch (RuntimeException e) {
      busy.set(false);
      LOG.debug("status feed tick failed", e);
    }
  }

  private void publish(WsCluster cluster, Collection<String> liveNodes) {
    String frame = frame(NodeStatus.json(cluster, context, settings, liveNodes));
    cluster.send(Target.room(ClusterViewEndpoint.ROOM), frame).whenComplete((ok, failure) -> {
      if (failure != null) {
        LOG.debug("status feed: publish failed", failure);
      }
    });
  }

  private void sendToLocalViews(WsCluster cluster) {
    Set<Session> views = ClusterViewEndpoint.local(context);
    if (views.isEmpty()) {
      return;
    }
    String frame;
    try {
      frame = frame(NodeStatus.json(cluster, context, settings, null));
    } catch (RuntimeException e) {
      LOG.debug("status feed: no status to send", e);
      return;
    }
    for (Session view : views) {
      SessionReply.send(cluster, view, frame);
    }
  }

  /** A copy of {@code stage} that fails after {@link #QUERY_LIMIT}; the original is not touched. */
  private static <T> CompletableFuture<T> within(CompletionStage<T> stage) {
    CompletableFuture<T> copy = new CompletableFuture<>();
    stage.whenComplete((value, failure) -> {
      if (failure != null) {
        copy.completeExceptionally(failure);
      } else {
        copy.complete(value);
      }
    });
    return copy.orTimeout(QUERY_LIMIT.toMillis(), TimeUnit.MILLISECONDS);
  }
}
