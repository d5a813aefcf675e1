package io.wscluster;

import io.wscluster.spi.Directory;
import io.wscluster.spi.Transport;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.Executor;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.BiConsumer;
import java.util.function.Consumer;
import java.util.function.Function;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * This node's place in the cluster: starts the transport, subscribes the broadcast and own
 * channels and those of the rooms with members here ({@link RoomSubscriptions}) and starts
 * presence (the join); while the transport cannot reach its servers the node
 * runs local-only and a {@code wscluster-connect-n} thread tries to join again, every
 * {@value #JOIN_RETRY_MAX_MILLIS} ms at most, until it does. Also the cluster's presence as the
 * application and the other actors see it ({@link Peers}, {@link #view}).
 *
 * <p>Threads: {@link #start} and {@link #stop} on the container's thread, join attempts on the
 * connector; all three under this object's lock. The rest from any thread.
 */
final class Membership implements Peers {
  private static final Logger LOG = LoggerFactory.getLogger(Membership.class);
  /** Pauses between two attempts to join: the first, then doubled up to the last. */
  static final long JOIN_RETRY_FIRST_MILLIS = 250;
  static final long JOIN_RETRY_MAX_MILLIS = 1000;

  private final WsClusterConfig config;
  private final String nodeId;
  private final Transport transport;
  private final Function<Transport, Directory> directories;
  private final Channels channels;
  private final SessionRegistry registry;
  private final Executor callbacks;
  /** Told, under this lock, that the node joined; true: late, after running local-only. */
  private final Consumer<Boolean> onJoined;
  /** This node's room channel subscriptions. */
  final RoomSubscriptions rooms;
  /**
   * Whether a join is recorded in the directory only once the room's subscription is active
   * (false only as a test's control: the directory shows members whose node is not subscribed).
   */
  private final boolean awaitRoomSubscription;
  /**
   * Presence changes waiting, in order, for the room subscription of a join among them (see
   * {@link #onPresenceChange}); guarded by itself.
   */
  private final java.util.ArrayDeque<Map.Entry<Directory.Change, CompletableFuture<Void>>> gated =
      new java.util.ArrayDeque<>();
  /** Null until the node joined; read from any thread. */
  private volatile ClusterPresence presence;
  private volatile boolean joined;
  // set by start, under this lock
  private Transport.Receiver receiver;
  private Consumer<String> onNodeGone;
  private BiConsumer<Set<String>, Long> onLeases;
  private boolean running;
  private boolean transportStarted;
  private ScheduledExecutorService connector;
  // connector-thread state: attempts to join so far, and the last failure logged
  private int joinAttempts;
  private String lastJoinFailure;
  private long localSinceNanos;

  /**
   * @param directories makes the directory once the transport has started (a Redis directory
   *     shares the transport's client)
   */
  Membership(WsClusterConfig config, String nodeId, Transport transport,
      Function<Transport, Directory> directories, Channels channels, SessionRegistry registry,
      Executor callbacks, Consumer<Boolean> onJoined) {
    this(config, nodeId, transport, directories, channels, registry, callbacks, onJoined, true);
  }

  /**
   * @param awaitRoomSubscription record a join in the directory only once the room's channel is
   *     subscribed ({@link NodeParts#DEFAULT}); false only as a test's control
   */
  Membership(WsClusterConfig config, String nodeId, Transport transport,
      Function<Transport, Directory> directories, Channels channels, SessionRegistry registry,
      Executor callbacks, Consumer<Boolean> onJoined, boolean awaitRoomSubscription) {
    this.awaitRoomSubscription = awaitRoomSubscription;
    this.rooms = new RoomSubscriptions(nodeId, transport, channels, registry::hasMembers,
        System::nanoTime, config.nodeHeartbeat().toNanos());
    this.config = config;
    this.nodeId = nodeId;
    this.transport = transport;
    this.directories = directories;
    this.channels = channels;
    this.registry = registry;
    this.callbacks = callbacks;
    this.onJoined = onJoined;
  }

  /**
   * Starts the transport and joins; returns once frames published by other nodes reach this
   * one. When the transport cannot reach its servers ({@link #unreachable}), starts local-only
   * instead. Any other failure stops what was started here and is thrown.
   *
   * @param receiver where the transport delivers frames
   * @param onNodeGone, onLeases told of nodes gone and leases read (see {@link ClusterPresence})
   */
  synchronized void start(Transport.Receiver receiver, Consumer<String> onNodeGone,
      BiConsumer<Set<String>, Long> onLeases) throws Exception {
    this.receiver = receiver;
    this.onNodeGone = onNodeGone;
    this.onLeases = onLeases;
    running = true;
    Exception unreachable = null;
    try {
      transport.start(receiver);
      transportStarted = true;
    } catch (Exception e) {
      if (!unreachable(e)) {
        throw e;
      }
      unreachable = e;
    }
    if (transportStarted) {
      try {
        join(false);
      } catch (Exception e) {
        stopTransport();
        throw e;
      }
      return;
    }
    connector = Executors.newSingleThreadScheduledExecutor(new NamedThreadFactory("connect"));
    localSinceNanos = System.nanoTime();
    joinAttempts = 1;
    lastJoinFailure = unreachable.getMessage();
    connector.schedule(this::tryJoin, JOIN_RETRY_FIRST_MILLIS, TimeUnit.MILLISECONDS);
    LOG.warn("[{}] {} is unreachable ({}): running local-only: sends reach this node's sessions "
        + "and are held for publishing (up to {}={}) until Redis is reachable; retrying every "
        + "{} to {} ms", nodeId, transport, rootCause(unreachable), WsClusterConfig.OUTAGE_BUFFER,
        config.outageBuffer(), JOIN_RETRY_FIRST_MILLIS, JOIN_RETRY_MAX_MILLIS);
  }

  /**
   * Whether a failed transport start means its servers cannot be reached (yet), rather than a
   * configuration to fix: a connection refused or timed out ({@link java.net.ConnectException},
   * which Netty's connect timeout extends), no route to the host, or a host name that does not
   * resolve (a container's service name resolves once it runs). Credentials Redis refused, a
   * failed TLS handshake, a bad configuration or any other failure are not.
   */
  static boolean unreachable(Throwable failure) {
    boolean network = false;
    for (Throwable t = failure; t != null; t = t.getCause()) {
      if (t instanceof ConfigException || t instanceof javax.net.ssl.SSLException) {
        return false;
      }
      network |= t instanceof java.net.ConnectException
          || t instanceof java.net.NoRouteToHostException
          || t instanceof java.net.UnknownHostException;
    }
    return network;
  }

  private static String rootCause(Throwable failure) {
    Throwable t = failure;
    while (t.getCause() != null && t.getCause() != t) {
      t = t.getCause();
    }
    return t.toString();
  }

  /**
   * Under this lock, the transport started: subscribes both channels, starts presence with this
   * node's sessions, then tells {@link #onJoined}. On failure stops what it started here and
   * throws.
   */
  private void join(boolean late) throws Exception {
    ClusterPresence p = null;
    try {
      transport.subscribe(channels.broadcast).toCompletableFuture().get(30, TimeUnit.SECONDS);
      transport.subscribe(channels.ofNode(nodeId)).toCompletableFuture().get(30, TimeUnit.SECONDS);
      // the rooms that have members here (the node ran local-only) before they are recorded
      rooms.activate(registry.rooms()).get(30, TimeUnit.SECONDS);
      p = new ClusterPresence(directories.apply(transport), nodeId, config,
          onNodeGone, onLeases, callbacks, System::currentTimeMillis);
      p.snapshotFrom(registry::snapshot);
      p.start();
    } catch (Exception e) {
      if (p != null) {
        p.stop(Math.max(1000, config.shutdownTimeout().toMillis()));
      }
      throw e;
    }
    presence = p;
    recordSessions(p);
    onJoined.accept(late);
    joined = true;
  }

  /**
   * Writes the sessions this node already has (it ran local-only) to the directory. Changes made
   * from now on reach {@code p} on their own; one made while the snapshot was taken may land
   * before it, so the sessions that closed or left a room meanwhile are corrected after it.
   */
  private void recordSessions(ClusterPresence p) {
    List<Directory.Change> snapshot = registry.snapshot();
    snapshot.forEach(p::record);
    Map<String, Set<String>> roomsOf = new HashMap<>();
    for (Directory.Change c : snapshot) {
      Set<String> rooms = roomsOf.computeIfAbsent(c.session, k -> new HashSet<>());
      if (c.kind == Directory.Change.Kind.JOIN) {
        rooms.add(c.other);
      }
    }
    for (Directory.Change c : snapshot) {
      LocalSession ls = registry.byId(c.session);
      if (c.kind == Directory.Change.Kind.OPEN && ls == null) {
        p.record(new Directory.Change(Directory.Change.Kind.CLOSE, c.session, c.user, null,
            Set.copyOf(roomsOf.get(c.session))));
      } else if (c.kind == Directory.Change.Kind.JOIN && ls != null && !ls.rooms.contains(c.other)) {
        p.record(new Directory.Change(Directory.Change.Kind.LEAVE, c.session, c.user, c.other,
            null));
      }
    }
  }

  /**
   * Connector thread: one attempt to join, then the next one later, until the node joined or
   * stops. A failure other than unreachable servers (Redis came up asking for a password this
   * node lacks) is logged as an error once, and the node keeps trying.
   */
  private void tryJoin() {
    long pause;
    synchronized (this) {
      if (!running || joined) {
        return;
      }
      joinAttempts++;
      try {
        transport.start(receiver);
        transportStarted = true;
        join(true);
        LOG.info("[{}] joined the cluster after {} ms running local-only ({} attempts); "
            + "publishing what was held meanwhile in {} ms", nodeId,
            (System.nanoTime() - localSinceNanos) / 1_000_000, joinAttempts,
            lateJoinGraceNanos(config) / 1_000_000);
        connector.shutdown(); // this task is its last
        return;
      } catch (Exception e) {
        if (transportStarted) {
          stopTransport();
        }
        String failure = e.getMessage();
        if (!unreachable(e) && !Objects.equals(failure, lastJoinFailure)) {
          LOG.error("[{}] could not join the cluster, still running local-only and retrying: {}",
              nodeId, failure, e);
        } else {
          LOG.debug("[{}] join attempt {} failed: {}", nodeId, joinAttempts, failure);
        }
        lastJoinFailure = failure;
      }
      pause = Math.min(JOIN_RETRY_MAX_MILLIS,
          JOIN_RETRY_FIRST_MILLIS << Math.min(10, joinAttempts - 1));
    }
    try {
      connector.schedule(this::tryJoin, pause, TimeUnit.MILLISECONDS);
    } catch (RejectedExecutionException stopping) {
      // the node stops
    }
  }

  /**
   * How long a node that joined late waits before it publishes what it held: two retry pauses
   * and a heartbeat, so nodes that joined meanwhile are subscribed and, by their lease, counted
   * among the subscriptions each frame must reach.
   */
  static long lateJoinGraceNanos(WsClusterConfig config) {
    return TimeUnit.MILLISECONDS.toNanos(2 * JOIN_RETRY_MAX_MILLIS
        + config.nodeHeartbeat().toMillis());
  }

  /** Stops joining, presence and the transport; idempotent. */
  synchronized void stop() {
    running = false;
    rooms.stop();
    if (connector != null) {
      connector.shutdownNow(); // an attempt never runs now: it holds this lock
    }
    ClusterPresence p = presence;
    if (p != null) {
      p.stop(Math.max(1000, config.shutdownTimeout().toMillis()));
    }
    if (transportStarted) {
      stopTransport();
    }
  }

  private void stopTransport() {
    transportStarted = false;
    try {
      transport.stop();
    } catch (Exception e) {
      LOG.warn("[{}] transport did not stop cleanly", nodeId, e);
    }
  }

  boolean joined() {
    return joined;
  }

  /** The cluster's presence, null until the node joined. */
  ClusterPresence presence() {
    return presence;
  }

  /**
   * Session threads, under the session's lock: a presence change of a local session goes to the
   * directory. A join subscribes the room's channel first, and it (and every change after it,
   * so the directory gets them in order) is recorded once that subscription is active: whoever
   * finds the member in the directory publishes to a channel this node receives.
   */
  void onPresenceChange(Directory.Change change) {
    CompletableFuture<Void> ready = change.kind == Directory.Change.Kind.JOIN
        ? rooms.onJoin(change.other) : null;
    if (!awaitRoomSubscription) {
      ready = null;
    }
    synchronized (gated) {
      if (gated.isEmpty() && (ready == null || ready.isDone())) {
        record(change);
        return;
      }
      gated.add(Map.entry(change, ready == null ? CompletableFuture.completedFuture(null)
          : ready));
      if (gated.size() == 1) {
        awaitGate();
      }
    }
  }

  /** Under the gate's lock: drains the gate when the head's subscription is done. */
  private void awaitGate() {
    gated.peek().getValue().whenCompleteAsync((v, e) -> {
      synchronized (gated) {
        Map.Entry<Directory.Change, CompletableFuture<Void>> head;
        while ((head = gated.peek()) != null && head.getValue().isDone()) {
          record(gated.poll().getKey());
        }
        if (!gated.isEmpty()) {
          awaitGate();
        }
      }
    }, callbacks);
  }

  private void record(Directory.Change change) {
    ClusterPresence p = presence;
    if (p != null) {
      p.record(change);
    }
  }

  @Override
  public CompletableFuture<Integer> roomNodes(String room) {
    ClusterPresence p = presence;
    return p == null ? CompletableFuture.completedFuture(registry.hasMembers(room) ? 1 : 0)
        : p.queries().roomNodes(room).toCompletableFuture();
  }

  @Override
  public int liveCount() {
    ClusterPresence p = presence;
    return p == null ? 1 : p.liveCount();
  }

  @Override
  public boolean isLive(String node) {
    ClusterPresence p = presence;
    return p == null || p.isLive(node);
  }

  /** The owning nodes of a target's sessions; fails while the node runs local-only. */
  CompletableFuture<Map<String, Set<String>>> owners(Target target) {
    ClusterPresence p = presence;
    return p == null ? CompletableFuture.failedFuture(notJoined())
        : p.queries().owners(target).toCompletableFuture();
  }

  /**
   * The cluster's presence as the application sees it. While the node runs local-only every
   * query fails with a {@link WsClusterException} saying so, as queries do while Redis cannot
   * answer: the directory is in Redis, and this node's sessions alone would be a wrong answer.
   */
  final Presence view = new Presence() {
    @Override
    public CompletionStage<Optional<String>> nodeOf(String sessionId) {
      ClusterPresence p = presence;
      return p != null ? p.queries().nodeOf(sessionId) : notJoined("session id", sessionId);
    }

    @Override
    public CompletionStage<Set<String>> sessionsInRoom(String room) {
      ClusterPresence p = presence;
      return p != null ? p.queries().sessionsInRoom(room) : notJoined("room", room);
    }

    @Override
    public CompletionStage<Set<String>> usersInRoom(String room) {
      ClusterPresence p = presence;
      return p != null ? p.queries().usersInRoom(room) : notJoined("room", room);
    }

    @Override
    public CompletionStage<Set<String>> sessionsOfUser(String user) {
      ClusterPresence p = presence;
      return p != null ? p.queries().sessionsOfUser(user) : notJoined("user", user);
    }

    @Override
    public CompletionStage<Set<String>> nodes() {
      ClusterPresence p = presence;
      return p != null ? p.queries().nodes() : notJoined(null, null);
    }
  };

  private <T> CompletionStage<T> notJoined(String what, String name) {
    if (what != null) {
      Target.checkName(what, name);
    }
    return CompletableFuture.failedFuture(notJoined());
  }

  private WsClusterException notJoined() {
    return new WsClusterException("wscluster node " + nodeId + " has not joined the cluster yet "
        + "(it cannot reach " + transport + "): it runs local-only");
  }
}
