package io.wscluster;

import io.wscluster.spi.Directory;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Consumer;
import java.util.function.LongSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * This node's part of the cluster directory: it holds the node's lease (renewed every heartbeat),
 * writes the node's own session changes in order, removes the entries of nodes whose lease
 * expired, and tells who is live by the leases it last saw ({@link #queries} answers with it).
 *
 * <p>Threads: one {@code wscluster-heartbeat-n} thread runs heartbeats and starts directory
 * writes, one batch in flight at a time so changes land in order; callers of {@link #record}
 * (session changes, under a session's lock) only enqueue. Queries never block.
 */
final class ClusterPresence {
  private static final Logger LOG = LoggerFactory.getLogger(ClusterPresence.class);
  private static final long COLLISION_LOG_INTERVAL_MILLIS = 60_000;

  private final Directory directory;
  private final String nodeId;
  private final String token = UUID.randomUUID().toString();
  private final long heartbeatMillis;
  private final long ttlMillis;
  private final Consumer<String> onNodeGone;
  private final java.util.function.BiConsumer<Set<String>, Long> onLeases;
  private final LongSupplier clock;
  private final PresenceQueries queries;
  private final ConcurrentLinkedQueue<Directory.Change> changes = new ConcurrentLinkedQueue<>();
  private final AtomicBoolean writeScheduled = new AtomicBoolean();
  private ScheduledExecutorService executor;
  /** Heartbeat-thread state. */
  private boolean writing;
  private Set<String> lastLive = Set.of();
  /** The directory write in flight, if any: stop waits for it before removing this node. */
  private volatile CompletableFuture<Void> inFlightWrite = CompletableFuture.completedFuture(null);
  private final java.util.concurrent.atomic.AtomicLong lastCollisionLog =
      new java.util.concurrent.atomic.AtomicLong();
  /** Nodes reported gone (heartbeat thread); kept while they still show in the leases. */
  private final Set<String> reportedGone = new java.util.HashSet<>();
  /** Nodes seen leaving: their leftover entries never count as live again (ids are per start). */
  private final Set<String> departed = java.util.Collections.newSetFromMap(
      new java.util.concurrent.ConcurrentHashMap<>());
  /** Dead nodes whose removal is running (heartbeat thread). */
  private final Set<String> removing = new java.util.HashSet<>();
  /** The leases seen at the last heartbeat: node to expiry (epoch ms). */
  private volatile Map<String, Long> leases = Map.of();
  /**
   * This node's sessions as changes that record them from scratch: written again when this
   * node's lease turns out to be missing (Redis lost its data, or the lease expired and a survivor
   * removed this node's entries).
   */
  private volatile java.util.function.Supplier<List<Directory.Change>> snapshot = List::of;
  /**
   * When this node last found its own lease missing although it had renewed it less than a ttl
   * before, or could not reach Redis since: Redis lost its data, or the lease ran out during an
   * outage (epoch ms). Heartbeat-thread state.
   */
  private volatile long dataLostAtMillis = Long.MIN_VALUE / 2;
  /** A renewal failed since the last one that worked. Written on Redisson's threads. */
  private volatile boolean renewFailed;
  /** When this node's lease was last renewed (epoch ms). Heartbeat-thread state. */
  private volatile long lastRenewedMillis = Long.MIN_VALUE / 2;

  /**
   * @param onNodeGone told (on the heartbeat thread) of each node that left the cluster, once:
   *     expired and cleaned, or removed by a graceful stop
   * @param onLeases told (on the heartbeat thread) of the live nodes after each read of the
   *     leases, with the {@link System#nanoTime} at which that read started
   * @param callbacks where the stages returned to the application complete, so its
   *     continuations never run on Redisson's threads
   * @param clock wall clock in epoch milliseconds (leases are compared across processes)
   */
  ClusterPresence(Directory directory, String nodeId, WsClusterConfig config,
      Consumer<String> onNodeGone, java.util.function.BiConsumer<Set<String>, Long> onLeases,
      java.util.concurrent.Executor callbacks, LongSupplier clock) {
    this.directory = directory;
    this.nodeId = nodeId;
    this.heartbeatMillis = config.nodeHeartbeat().toMillis();
    this.ttlMillis = config.nodeTtl().toMillis();
    this.onNodeGone = onNodeGone;
    this.onLeases = onLeases;
    this.clock = clock;
    this.queries = new PresenceQueries(directory, this::isLive, callbacks, clock);
  }

  ClusterPresence(Directory directory, String nodeId, WsClusterConfig config,
      Consumer<String> onNodeGone, LongSupplier clock) {
    this(directory, nodeId, config, onNodeGone, (live, t) -> { }, Runnable::run, clock);
  }

  /** Takes the lease (bounded wait) and starts the heartbeat. */
  void start() throws Exception {
    executor = Executors.newSingleThreadScheduledExecutor(new NamedThreadFactory("heartbeat"));
    long now = clock.getAsLong();
    directory.renew(nodeId, token, ttlMillis, now).toCompletableFuture()
        .get(10, TimeUnit.SECONDS);
    lastRenewedMillis = now;
    refreshLeases().toCompletableFuture().get(10, TimeUnit.SECONDS);
    long jitter = ThreadLocalRandom.current().nextLong(Math.max(1, heartbeatMillis / 5));
    executor.scheduleWithFixedDelay(this::heartbeat, heartbeatMillis - jitter, heartbeatMillis,
        TimeUnit.MILLISECONDS);
  }

  /**
   * Stops the heartbeat, then removes this node's lease and entries (bounded wait), so the other
   * nodes see its sessions gone at once. Idempotent.
   */
  void stop(long timeoutMillis) {
    ScheduledExecutorService ex = executor;
    if (ex == null) {
      return;
    }
    executor = null;
    ex.shutdown();
    try {
      ex.awaitTermination(timeoutMillis, TimeUnit.MILLISECONDS);
      // a write that lands after the removal would leave an entry behind
      inFlightWrite.get(timeoutMillis, TimeUnit.MILLISECONDS);
      directory.removeNode(nodeId).toCompletableFuture().get(timeoutMillis, TimeUnit.MILLISECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    } catch (Exception e) {
      LOG.warn("[{}] could not remove this node's directory entries on stop ({}); they expire "
          + "with its lease", nodeId, e.toString());
    }
    ex.shutdownNow();
  }

  /** Sets where {@link #snapshot} comes from; call before {@link #start}. */
  void snapshotFrom(java.util.function.Supplier<List<Directory.Change>> sessions) {
    this.snapshot = sessions;
  }

  /**
   * How many nodes are live as far as the last lease read knows, this one included: the number
   * of subscriptions a broadcast should reach.
   */
  int liveCount() {
    int n = 1;
    for (String node : leases.keySet()) {
      if (!node.equals(nodeId) && isLive(node)) {
        n++;
      }
    }
    return n;
  }

  /** Session threads: records a change of one of this node's sessions; never blocks. */
  void record(Directory.Change change) {
    changes.add(change);
    scheduleWrite();
  }

  private void scheduleWrite() {
    ScheduledExecutorService ex = executor;
    if (ex != null && writeScheduled.compareAndSet(false, true)) {
      try {
        ex.execute(this::write);
      } catch (RejectedExecutionException stopping) {
        writeScheduled.set(false);
      }
    }
  }

  /** Heartbeat thread: one batch of queued changes at a time, in order. */
  private void write() {
    writeScheduled.set(false);
    if (writing || changes.isEmpty()) {
      return;
    }
    List<Directory.Change> batch = new ArrayList<>();
    Directory.Change c;
    while (batch.size() < 1000 && (c = changes.poll()) != null) {
      batch.add(c);
    }
    writing = true;
    CompletableFuture<Void> written = new CompletableFuture<>();
    inFlightWrite = written;
    directory.apply(nodeId, batch).whenComplete((ok, error) -> {
      written.complete(null);
      if (error != null) {
        LOG.warn("[{}] could not record {} session changes in the directory: {}", nodeId,
            batch.size(), error.toString());
      }
      ScheduledExecutorService ex = executor;
      if (ex == null) {
        return;
      }
      try {
        ex.execute(() -> {
          writing = false;
          write();
        });
      } catch (RejectedExecutionException stopping) {
        // stopping: removeNode clears what was written
      }
    });
  }

  /** Heartbeat thread: renew, look for a twin and for dead nodes. Never throws. */
  private void heartbeat() {
    try {
      long now = clock.getAsLong();
      directory.renew(nodeId, token, ttlMillis, now).whenComplete((previous, error) -> {
        if (error != null) {
          LOG.warn("[{}] could not renew this node's lease: {}", nodeId, error.toString());
          renewFailed = true;
        } else {
          // a resync walks every session: not on the directory's (Redisson's) thread
          onHeartbeat(() -> onRenewed(previous, now), null);
        }
      });
      refreshLeases();
    } catch (RuntimeException e) {
      LOG.warn("[{}] heartbeat failed", nodeId, e);
    }
  }

  /**
   * Heartbeat thread: the lease was renewed at {@code renewedAt}; {@code previous} is the token
   * that held it before (null if none or expired).
   */
  private void onRenewed(String previous, long renewedAt) {
    long t = clock.getAsLong();
    if (previous == null && (t - lastRenewedMillis < ttlMillis || renewFailed)) {
      // renewed less than a ttl ago, or Redis could not be reached since: Redis lost its data
      // (a restart), or the outage outlasted the leases. Either way the other nodes could not
      // renew either; they will within a heartbeat of reaching Redis again, and must not count
      // as gone meanwhile (their subscriptions are what a publish is checked against).
      dataLostAtMillis = t;
    }
    renewFailed = false;
    lastRenewedMillis = renewedAt;
    if (previous == null) {
      List<Directory.Change> all = snapshot.get();
      LOG.warn("[{}] this node's lease was missing (Redis restarted without its data, or the "
          + "lease expired during an outage): recording its {} sessions again", nodeId,
          all.stream().filter(c -> c.kind == Directory.Change.Kind.OPEN).count());
      all.forEach(this::record);
    } else if (!previous.equals(token)) {
      long last = lastCollisionLog.get();
      if (t - last > COLLISION_LOG_INTERVAL_MILLIS && lastCollisionLog.compareAndSet(last, t)) {
        LOG.error("[{}] node id collision: another process renews the lease of this node id; "
            + "give each node its own wscluster.node.name", nodeId);
      }
    }
  }

  /**
   * Reads the leases, removes expired nodes' entries and reports nodes that left. The directory's
   * callbacks hop back onto the heartbeat thread: all the state here is confined to it.
   */
  private CompletionStage<Void> refreshLeases() {
    long started = System.nanoTime();
    CompletableFuture<Void> done = new CompletableFuture<>();
    directory.leases().whenComplete((fresh, error) -> onHeartbeat(() -> {
      if (error != null) {
        LOG.warn("[{}] could not read the node leases: {}", nodeId, error.toString());
      } else {
        onLeasesRead(fresh, started);
      }
      done.complete(null);
    }, done));
    return done;
  }

  private void onLeasesRead(Map<String, Long> read, long started) {
    if (!read.containsKey(nodeId)) {
      // This node renews its own lease before every read: without it, this read reflects a
      // Redis that lost its data (a restart) rather than nodes that left. Keep what was known
      // until the leases are written again, within a heartbeat.
      LOG.info("[{}] the lease read lacks this node's own lease; ignoring it", nodeId);
      return;
    }
    long now = clock.getAsLong();
    Map<String, Long> before = leases;
    Map<String, Long> fresh = read;
    if (now - dataLostAtMillis < ttlMillis) {
      // Redis lost its data a moment ago: the other nodes write their leases again within a
      // heartbeat. Until a ttl has passed, a lease missing from the read is not a node leaving,
      // and the node stays live (its old lease may have run out during the outage).
      fresh = new HashMap<>(before);
      long graceEnd = dataLostAtMillis + ttlMillis;
      fresh.replaceAll((node, expiry) -> departed.contains(node) ? expiry
          : Math.max(expiry, graceEnd));
      fresh.putAll(read); // what the read has replaces the above
    }
    leases = fresh;
    Map<String, Long> current = fresh;
    Set<String> live = new java.util.HashSet<>();
    for (Map.Entry<String, Long> e : fresh.entrySet()) {
      String node = e.getKey();
      if (e.getValue() > now || node.equals(nodeId)) {
        live.add(node);
        if (read.containsKey(node) && !before.containsKey(node) && departed.remove(node)) {
          // a node renews its lease only while it runs: one reported gone is back (after
          // Redis lost its data, say)
          reportedGone.remove(node);
          LOG.info("[{}] node {} renews its lease again: live", nodeId, node);
        }
      } else if (read.containsKey(node) && removing.add(node)) {
        LOG.info("[{}] node {} missed its lease by {} ms: removing its sessions", nodeId, node,
            now - e.getValue());
        directory.removeNode(node).whenComplete((ok, error) -> onHeartbeat(() -> {
          removing.remove(node);
          gone(node);
        }, null));
      }
    }
    for (String node : before.keySet()) {
      if (!current.containsKey(node) && !node.equals(nodeId)) {
        gone(node); // removed by its own graceful stop, or by another survivor
      }
    }
    reportedGone.removeIf(node -> !current.containsKey(node) && !before.containsKey(node));
    if (!live.equals(lastLive)) {
      LOG.info("[{}] live nodes: {}", nodeId, new java.util.TreeSet<>(live));
      lastLive = live;
    }
    onLeases.accept(live, started);
  }

  private void gone(String node) {
    departed.add(node);
    if (reportedGone.add(node)) {
      onNodeGone.accept(node);
    }
  }

  /** Runs a task on the heartbeat thread; when stopping, completes {@code orElse} instead. */
  private void onHeartbeat(Runnable task, CompletableFuture<Void> orElse) {
    ScheduledExecutorService ex = executor;
    try {
      if (ex == null) {
        throw new RejectedExecutionException("stopped");
      }
      ex.execute(task);
    } catch (RejectedExecutionException stopping) {
      if (orElse != null) {
        orElse.complete(null);
      }
    }
  }

  /**
   * Whether a node counts as live: this node, a node whose lease has not expired, or a node not
   * seen yet (it joined after the last heartbeat; if it is in fact dead, the next heartbeat says so).
   */
  boolean isLive(String node) {
    if (node.equals(nodeId)) {
      return true;
    }
    if (departed.contains(node)) {
      return false;
    }
    Long expiry = leases.get(node);
    return expiry == null || expiry > clock.getAsLong();
  }

  /** The presence queries, filtered by the leases this node last saw. */
  PresenceQueries queries() {
    return queries;
  }
}
