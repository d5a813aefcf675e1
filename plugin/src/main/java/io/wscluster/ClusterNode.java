package io.wscluster;

import io.wscluster.spi.Transport;
import jakarta.websocket.Session;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.LongSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The protocol of one node, whatever the transport: envelopes with origin id and sequence,
 * local-first delivery, publishing, receiving, dedup and dispatch to local sessions.
 *
 * <p>Threads: app threads call {@link #send} and the session methods; one publisher thread
 * ({@code wscluster-publish-n}) writes frames to the transport, one at a time so frames leave in
 * sequence order; one dispatcher thread ({@code wscluster-dispatch-n}) decodes, deduplicates and
 * delivers what arrives, so per-origin order is kept. Transport threads only hand frames over.
 */
final class ClusterNode implements WsCluster {
  private static final Logger LOG = LoggerFactory.getLogger(ClusterNode.class);
  /** A soft limit on one published frame; a single larger envelope still goes alone. */
  static final int MAX_FRAME_BYTES = 512 * 1024;
  private static final long REJECT_LOG_INTERVAL_NANOS = TimeUnit.SECONDS.toNanos(10);

  /**
   * Switches the node under test; production code uses {@link #DEFAULT}. {@code dedup=false}
   * turns off own-echo and sequence dedup here; {@code extraSubscriptions} is applied by whoever
   * builds the transport ({@link WebappLifecycle}), which registers each listener that many more
   * times.
   */
  static final class Hooks {
    static final Hooks DEFAULT = new Hooks(true, 0, true, true, true, true);
    final boolean dedup;
    final int extraSubscriptions;
    /** Write through Jetty's core session where there is one (else the Jakarta API only). */
    final boolean coreWrites;
    /** When an outage begins, publish again what Redis took just before (see {@code hold}). */
    final boolean replay;
    /**
     * Number this node's frames in per-channel chains (see {@link Chains}), so receivers ask for
     * the ones Redis lost. Off, frames go unchained (link 0) and a lost frame stays lost.
     */
    final boolean chains;
    /**
     * Judge clients by the outbox's byte bound and stall time ({@link OutboxLimits#of}). Off,
     * outboxes take {@link OutboxLimits#unjudged}: a frame bound that a burst overruns.
     */
    final boolean flowControl;

    Hooks(boolean dedup, int extraSubscriptions) {
      this(dedup, extraSubscriptions, true, true, true);
    }

    Hooks(boolean dedup, int extraSubscriptions, boolean coreWrites, boolean replay,
        boolean chains) {
      this(dedup, extraSubscriptions, coreWrites, replay, chains, true);
    }

    Hooks(boolean dedup, int extraSubscriptions, boolean coreWrites, boolean replay,
        boolean chains, boolean flowControl) {
      this.flowControl = flowControl;
      this.dedup = dedup;
      this.extraSubscriptions = extraSubscriptions;
      this.coreWrites = coreWrites;
      this.replay = replay;
      this.chains = chains;
    }
  }

  private enum State { NEW, RUNNING, STOPPED }

  private final WsClusterConfig config;
  private final String nodeId;
  private final Transport transport;
  private final Hooks hooks;
  private final EnvelopeCodec codec;
  /**
   * Per origin, the anti-replay windows of what arrives on the broadcast channel and on this
   * node's own channel: an envelope travels to a node on one of them only, and while one chain
   * waits for a missing frame (see {@link Chains}) the other must not push the window past it.
   */
  private final Deduplicator dedup;
  private final Deduplicator dedupDirect;
  private final Stats stats = new Stats();
  private final SessionRegistry registry;
  private final String broadcastChannel;
  private final String ownChannel;
  private final java.util.function.Function<Transport, Directory> directories;
  /** Inbound frames and this node's held local writes, for the dispatcher (see {@link Inbox}). */
  private final Inbox inbox = new Inbox(this::dispatch, stats);
  private final java.util.concurrent.ConcurrentMap<Long, PendingDelivery> deliveries =
      new java.util.concurrent.ConcurrentHashMap<>();
  /** Null until the node joined the cluster (see {@link #start}); read from any thread. */
  private volatile ClusterPresence presence;
  private java.util.concurrent.ScheduledExecutorService timer;
  /**
   * Runs the attempts to join while the node runs local-only ({@code wscluster-connect-n}); null
   * if it joined at start. Each attempt holds this node's lock, as start and stop do.
   */
  private java.util.concurrent.ScheduledExecutorService connector;
  /** Whether the transport started (and must be stopped); guarded by this. */
  private boolean transportStarted;
  /**
   * Subscribed, presence started: frames go to the transport. Until then the node runs
   * local-only and what it sends waits in {@link #outgoing}.
   */
  private volatile boolean joined;
  /**
   * Not before when (System.nanoTime) the publisher sends what a node that joined late held: the
   * other nodes that ran local-only try to join as often, and a frame they are not subscribed
   * for yet would pass them by. Written before {@link #joined}.
   */
  private long publishAfterNanos;
  /** Connector-thread state: attempts to join so far, and the last failure logged. */
  private int joinAttempts;
  private String lastJoinFailure;
  private long localSinceNanos;
  /** Pauses between two attempts to join: the first, then doubled up to the last. */
  static final long JOIN_RETRY_FIRST_MILLIS = 250;
  static final long JOIN_RETRY_MAX_MILLIS = 1000;
  /** Completes the stages returned to the application, off our own and Redisson's threads. */
  private ExecutorService callbacks;
  private final AtomicLong sequence = new AtomicLong();
  private final Object sendLock = new Object();
  private final ConcurrentLinkedQueue<Pending> outgoing = new ConcurrentLinkedQueue<>();
  private final AtomicBoolean publishScheduled = new AtomicBoolean();
  private final LongSupplier nanoClock;
  private volatile State state = State.NEW;
  private ExecutorService dispatcher;
  private ExecutorService publisher;
  /** Runs delayed session writes ({@code wscluster.write.delay}); null without a delay. */
  private final java.util.concurrent.ScheduledExecutorService writer;
  private final OutboxLimits outboxLimits;
  /**
   * Publisher-thread state: the frames held for publishing again, oldest first, and not before
   * when the head is tried next. Nothing queued passes them.
   */
  private final java.util.ArrayDeque<Frame> held = new java.util.ArrayDeque<>();
  private long retryAt;
  /** When the frames now held were first refused; 0 while none is held. For {@link #health}. */
  private volatile long heldSinceNanos;
  /**
   * Publisher-thread state: the frames Redis took in the last {@link #KEEP_NANOS}, oldest first
   * (at most {@link #KEEP_MAX_FRAMES} and {@link #KEEP_MAX_BYTES}): published again to a node
   * that asks for them (see {@link Chains}), and those of the last second when an outage begins
   * (see {@link #hold}).
   */
  private final java.util.ArrayDeque<Frame> recent = new java.util.ArrayDeque<>();
  private long recentBytes;
  /** Publisher-thread state: the frame being published, if any (one at a time). */
  private Frame inFlightFrame;
  /**
   * Publisher-thread state: per channel, the link of the last frame built for it (see
   * {@link EnvelopeCodec}). One entry per channel this node ever published to: the broadcast
   * channel and the node channels of the nodes it sent routed messages or receipts to (a
   * restarted node is a new one). Never reset: a receiver would take a chain starting again at
   * 1 for repeats.
   */
  private final Map<String, Long> links = new java.util.HashMap<>();
  /** Publisher-thread state: channels that got frames other than syncs since the last sync. */
  private final Set<String> unsynced = new java.util.HashSet<>();
  /** Dispatcher-thread state: the chains of the other nodes' frames that reach this node. */
  private final Chains chains;
  /** Messages (and their bytes) queued or held for publishing: the outage buffer's fill. */
  private final java.util.concurrent.atomic.AtomicInteger queuedMessages =
      new java.util.concurrent.atomic.AtomicInteger();
  private final AtomicLong queuedBytes = new AtomicLong();
  /**
   * Liveness probe: a receipt this node sends to its own channel (ref = its own sequence, which
   * no real receipt has) and expects back through its subscription. Written by the timer thread
   * (sent) and the dispatcher (echoed).
   */
  private volatile long probeSeq;
  private volatile long probeSentNanos;
  private volatile boolean probeSendFailed;
  private volatile long probeEchoNanos;
  private volatile long probeRoundTripNanos = -1;
  private volatile boolean probeMissed;
  /** Since when Redis has reported no subscriber for this node's channel; 0 if it has one. */
  private volatile long probeUnsubscribedSinceNanos;
  /** Timer thread: when the channels were last subscribed again. */
  private long lastResubscribeNanos;
  /** Transport threads: when the last frame arrived on this node's own channel. */
  private volatile long ownChannelSeenNanos;
  /** Pause between two publishes of a held frame: Redis reconnects every 200 ms. */
  private static final long RETRY_PAUSE_NANOS = TimeUnit.MILLISECONDS.toNanos(200);
  /**
   * How long one publish of a frame may take before it counts as refused and the frame is held
   * (see {@link #publish(Frame)}): PUBLISH answers in about a millisecond, and the publish of a
   * frame that waits longer holds back everything queued behind it.
   */
  static final long PUBLISH_WAIT_NANOS = TimeUnit.SECONDS.toNanos(1);
  /**
   * How far back, from the last frame Redis took, an outage replays: a frame Redis counted as
   * received may still have been in its output buffer (or the kernel's) when it died or dropped
   * the subscriber's connection.
   */
  static final long REPLAY_WINDOW_NANOS = TimeUnit.SECONDS.toNanos(1);
  static final int REPLAY_MAX_FRAMES = 1024;
  static final long REPLAY_MAX_BYTES = 4L << 20;
  /**
   * How long frames Redis took are kept for a node that asks for them again: longer than a
   * receiver waits for them ({@link #GAP_TIMEOUT_NANOS}) plus a heartbeat (the sync that shows the
   * loss of a stream's last frames).
   */
  static final long KEEP_NANOS = TimeUnit.SECONDS.toNanos(15);
  static final int KEEP_MAX_FRAMES = 16_384;
  static final long KEEP_MAX_BYTES = 16L << 20;
  /** How long the frames behind a gap in a chain wait for the missing ones (see {@link Chains}). */
  static final long GAP_TIMEOUT_NANOS = TimeUnit.SECONDS.toNanos(5);
  private static final long CHAIN_TICK_MILLIS = 100;
  /** Dispatcher-thread state: rate limit of the rejected-frame warning. */
  private long lastRejectLog;
  private long rejectsSinceLog;

  ClusterNode(WsClusterConfig config, Transport transport, Hooks hooks, LongSupplier nanoClock) {
    this(config, transport, hooks, nanoClock, t -> t instanceof RedisTransport
        ? ((RedisTransport) t).directory(config.channelPrefix())
        : new InMemoryDirectory(null, config.channelPrefix()));
  }

  /**
   * @param directories makes the directory once the transport has started (a Redis directory
   *     shares the transport's client)
   */
  ClusterNode(WsClusterConfig config, Transport transport, Hooks hooks, LongSupplier nanoClock,
      java.util.function.Function<Transport, Directory> directories) {
    this.directories = directories;
    this.config = config;
    this.transport = transport;
    this.hooks = hooks;
    this.writer = config.writeDelay().isZero() || !hooks.flowControl ? null
        : Executors.newSingleThreadScheduledExecutor(new NamedThreadFactory("write"));
    this.outboxLimits = hooks.flowControl ? OutboxLimits.of(config, writer)
        : OutboxLimits.unjudged(config.outboxOverflow());
    this.nanoClock = nanoClock;
    this.nodeId = config.nodeName() + "-" + UUID.randomUUID().toString().substring(0, 8);
    this.codec = new EnvelopeCodec(config.messageMaxBytes(),
        FrameAuthenticator.of(config.secret(), config.secretPrevious()));
    this.dedup = new Deduplicator(config.dedupWindow(), config.dedupOriginTtl().toNanos(), nanoClock);
    this.dedupDirect = new Deduplicator(config.dedupWindow(), config.dedupOriginTtl().toNanos(),
        nanoClock);
    this.registry = new SessionRegistry(nodeId, s -> new Outbox(s,
        SessionWriter.of(s, hooks.coreWrites), outboxLimits, stats, nodeId),
        this::onPresenceChange);
    this.broadcastChannel = config.channelPrefix() + ":all";
    this.ownChannel = nodeChannel(nodeId);
    this.chains = new Chains(new ChainSink(), stats, GAP_TIMEOUT_NANOS,
        config.dedupOriginTtl().toNanos(), nanoClock);
    this.lastRejectLog = nanoClock.getAsLong() - REJECT_LOG_INTERVAL_NANOS;
  }

  /**
   * Starts threads and the transport and joins the cluster (subscribes, starts presence); returns
   * once frames published by other nodes reach this one. When the transport cannot reach its
   * servers (see {@link #unreachable}), the node starts local-only instead: sends reach this
   * node's sessions and wait for publishing (up to {@code wscluster.outage.buffer}), and a
   * {@code wscluster-connect-n} thread tries to join again, every {@value #JOIN_RETRY_MAX_MILLIS}
   * ms at most, until it does. Any other failure stops everything started and is thrown.
   */
  synchronized void start() throws Exception {
    if (state != State.NEW) {
      throw new IllegalStateException("node " + nodeId + " was already started");
    }
    dispatcher = Executors.newSingleThreadExecutor(new NamedThreadFactory("dispatch"));
    inbox.start(dispatcher);
    publisher = Executors.newSingleThreadExecutor(new NamedThreadFactory("publish"));
    timer = Executors.newSingleThreadScheduledExecutor(new NamedThreadFactory("timer"));
    callbacks = Executors.newSingleThreadExecutor(new NamedThreadFactory("callback"));
    if (hooks.flowControl) {
      // slow clients are judged whether or not this node reaches Redis
      long judgeEvery = Math.max(50, Math.min(1000, config.outboxStallTimeout().toMillis() / 4));
      timer.scheduleWithFixedDelay(this::judgeClients, judgeEvery, judgeEvery,
          TimeUnit.MILLISECONDS);
    }
    Exception unreachable = null;
    try {
      try {
        transport.start(this::onFrame);
        transportStarted = true;
      } catch (Exception e) {
        if (!unreachable(e)) {
          throw e;
        }
        unreachable = e;
      }
      if (transportStarted) {
        join(false);
      } else {
        connector = Executors.newSingleThreadScheduledExecutor(new NamedThreadFactory("connect"));
        localSinceNanos = System.nanoTime();
        joinAttempts = 1;
        lastJoinFailure = unreachable.getMessage();
        connector.schedule(this::tryJoin, JOIN_RETRY_FIRST_MILLIS, TimeUnit.MILLISECONDS);
      }
    } catch (Exception e) {
      state = State.STOPPED;
      stopQuietly();
      throw e;
    }
    state = State.RUNNING;
    if (!hooks.dedup) {
      LOG.warn("[{}] TEST HOOK: dedup is off, clients will see duplicates", nodeId);
    }
    if (unreachable != null) {
      LOG.warn("[{}] {} is unreachable ({}): running local-only: sends reach this node's sessions "
          + "and are held for publishing (up to {}={}) until Redis is reachable; retrying every "
          + "{} to {} ms", nodeId, transport, rootCause(unreachable), WsClusterConfig.OUTAGE_BUFFER,
          config.outageBuffer(), JOIN_RETRY_FIRST_MILLIS, JOIN_RETRY_MAX_MILLIS);
    }
    LOG.info("[{}] wscluster node started on channel {} with config {}", nodeId, broadcastChannel,
        config);
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
   * Under this node's lock, the transport started: subscribes both channels, starts presence
   * with this node's sessions and the periodic tasks, then lets the publisher go ({@code late},
   * after running local-only: only after a grace, see {@link #publishAfterNanos}). On failure
   * stops what it started here and throws.
   */
  private void join(boolean late) throws Exception {
    ClusterPresence p = null;
    try {
      transport.subscribe(broadcastChannel).toCompletableFuture().get(30, TimeUnit.SECONDS);
      transport.subscribe(ownChannel).toCompletableFuture().get(30, TimeUnit.SECONDS);
      p = new ClusterPresence(directories.apply(transport), nodeId, config,
          this::onNodeGone, this::onLeases, this::callback, System::currentTimeMillis);
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
    long every = config.nodeHeartbeat().toMillis();
    timer.scheduleWithFixedDelay(this::probe, every, every, TimeUnit.MILLISECONDS);
    if (hooks.chains) {
      timer.scheduleWithFixedDelay(() -> onThread(publisher, this::syncChains), every, every,
          TimeUnit.MILLISECONDS);
      timer.scheduleWithFixedDelay(() -> onThread(dispatcher, chains::tick), CHAIN_TICK_MILLIS,
          CHAIN_TICK_MILLIS, TimeUnit.MILLISECONDS);
    }
    if (late) {
      // two retry pauses and a heartbeat: nodes that joined meanwhile are subscribed and, by
      // their lease, counted among the subscriptions each frame must reach
      long grace = TimeUnit.MILLISECONDS.toNanos(2 * JOIN_RETRY_MAX_MILLIS + every);
      publishAfterNanos = System.nanoTime() + grace;
      timer.schedule(this::schedulePublish, grace, TimeUnit.NANOSECONDS);
    } else {
      publishAfterNanos = System.nanoTime();
    }
    joined = true;
    schedulePublish();
  }

  /**
   * Writes the sessions this node already has (it ran local-only) to the directory. Changes made
   * from now on reach {@code p} on their own; one made while the snapshot was taken may land
   * before it, so the sessions that closed or left a room meanwhile are corrected after it.
   */
  private void recordSessions(ClusterPresence p) {
    List<Directory.Change> snapshot = registry.snapshot();
    snapshot.forEach(p::record);
    Map<String, Set<String>> roomsOf = new java.util.HashMap<>();
    for (Directory.Change c : snapshot) {
      Set<String> rooms = roomsOf.computeIfAbsent(c.session, k -> new java.util.HashSet<>());
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
      if (state != State.RUNNING || joined) {
        return;
      }
      joinAttempts++;
      try {
        transport.start(this::onFrame);
        transportStarted = true;
        join(true);
        LOG.info("[{}] joined the cluster after {} ms running local-only ({} attempts); "
            + "publishing the {} message(s) held meanwhile in {} ms", nodeId,
            (System.nanoTime() - localSinceNanos) / 1_000_000, joinAttempts, queuedMessages.get(),
            2 * JOIN_RETRY_MAX_MILLIS + config.nodeHeartbeat().toMillis());
        connector.shutdown(); // this task is its last
        return;
      } catch (Exception e) {
        if (transportStarted) {
          stopTransport();
        }
        String failure = e.getMessage();
        if (!unreachable(e) && !java.util.Objects.equals(failure, lastJoinFailure)) {
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

  private void stopTransport() {
    transportStarted = false;
    try {
      transport.stop();
    } catch (Exception e) {
      LOG.warn("[{}] transport did not stop cleanly", nodeId, e);
    }
  }

  /**
   * Stops what {@link #start} started, in reverse: waits (bounded) for queued publishes, then
   * stops the transport and the threads. Sessions are left to their container. Idempotent.
   */
  synchronized void stop() {
    if (state == State.STOPPED) {
      return;
    }
    boolean wasRunning = state == State.RUNNING;
    state = State.STOPPED;
    if (wasRunning && joined) {
      awaitPublished(config.shutdownTimeout().toNanos());
    }
    for (PendingDelivery pd : deliveries.values()) {
      pd.fail(DeliveryException.Reason.NODE_GONE, "wscluster node " + nodeId + " stopped");
    }
    stopQuietly();
    for (LocalSession ls : registry.all()) {
      registry.unregister(ls.session);
    }
    List<Pending> unpublished = new ArrayList<>();
    for (Frame f : held) {
      unpublished.addAll(f.batch); // replays among them: already completed, failStopped skips them
    }
    held.clear();
    recent.clear();
    Pending p;
    while ((p = outgoing.poll()) != null) {
      unpublished.add(p);
    }
    failStopped(unpublished);
    LOG.info("[{}] wscluster node stopped", nodeId);
  }

  /** Runs a task on one of our single threads; nothing once it is stopping. */
  private static void onThread(ExecutorService thread, Runnable task) {
    try {
      thread.execute(task);
    } catch (RejectedExecutionException stopping) {
      // the node stops: nothing is published or dispatched any more
    }
  }

  private void awaitPublished(long timeoutNanos) {
    // the real clock: the injected one serves dedup and may be a test's frozen clock
    long deadline = System.nanoTime() + timeoutNanos;
    while (System.nanoTime() - deadline < 0) {
      CompletableFuture<Boolean> check = new CompletableFuture<>();
      try {
        publisher.execute(() -> check.complete(outgoing.isEmpty() && inFlightFrame == null
            && held.isEmpty()));
        if (check.get(100, TimeUnit.MILLISECONDS)) {
          return;
        }
        Thread.sleep(10);
      } catch (Exception e) {
        return;
      }
    }
    LOG.warn("[{}] stopping with {} messages not yet published", nodeId, outgoing.size());
  }

  private void stopQuietly() {
    if (connector != null) {
      connector.shutdownNow(); // an attempt never runs now: it holds this node's lock
    }
    ClusterPresence p = presence;
    if (p != null) {
      p.stop(Math.max(1000, config.shutdownTimeout().toMillis()));
    }
    if (transportStarted) {
      stopTransport();
    }
    for (ExecutorService ex : new ExecutorService[] {connector, publisher, dispatcher, timer,
        callbacks, writer}) {
      if (ex == null) {
        continue;
      }
      ex.shutdown();
      try {
        if (!ex.awaitTermination(2, TimeUnit.SECONDS)) {
          ex.shutdownNow();
        }
      } catch (InterruptedException e) {
        ex.shutdownNow();
        Thread.currentThread().interrupt();
      }
    }
  }

  // ---------------------------------------------------------------- sessions (any thread)

  /** Called by the container hook when a session opened; idempotent. */
  void onSessionOpened(Session session) {
    if (state != State.STOPPED) {
      registry.register(session);
    }
  }

  /** Called by the container hook when a session closed; idempotent. */
  void onSessionClosed(Session session) {
    registry.unregister(session);
  }

  private LocalSession local(Session session) {
    Objects.requireNonNull(session, "session");
    LocalSession ls = registry.register(session);
    if (ls == null) {
      throw new IllegalArgumentException("session " + session.getId() + " is closed");
    }
    return ls;
  }

  @Override
  public String nodeId() {
    return nodeId;
  }

  @Override
  public String sessionId(Session session) {
    return local(session).id;
  }

  @Override
  public void join(Session session, String room) {
    Target.checkName("room", room);
    registry.join(local(session), room);
  }

  @Override
  public void leave(Session session, String room) {
    Target.checkName("room", room);
    LocalSession ls = registry.get(session);
    if (ls != null) {
      registry.leave(ls, room);
    }
  }

  @Override
  public Set<String> rooms(Session session) {
    LocalSession ls = registry.get(session);
    return ls == null ? Set.of() : Set.copyOf(ls.rooms);
  }

  @Override
  public void setUser(Session session, String userId) {
    if (userId != null) {
      Target.checkName("user", userId);
    }
    registry.setUser(local(session), userId);
  }

  @Override
  public String user(Session session) {
    LocalSession ls = registry.get(session);
    return ls == null ? null : ls.user();
  }

  /**
   * The counters plus gauges read now: {@code sessions}, the frames queued in the local sessions'
   * outboxes ({@code outbox.queued.max}, the deepest; {@code outbox.queued.total}) and the bytes
   * they count against the byte bound ({@code outbox.bytes.max}, at most
   * {@code wscluster.outbox.max-bytes}; {@code outbox.bytes.total}). Costs two short locks per
   * local session.
   */
  @Override
  public Map<String, Long> stats() {
    Map<String, Long> snapshot = stats.snapshot();
    snapshot.put("sessions", (long) registry.size());
    long deepest = 0;
    long total = 0;
    long largest = 0;
    long bytes = 0;
    for (LocalSession ls : registry.all()) {
      int queued = ls.outbox.size();
      deepest = Math.max(deepest, queued);
      total += queued;
      long b = ls.outbox.bytes();
      largest = Math.max(largest, b);
      bytes += b;
    }
    snapshot.put(Stats.OUTBOX_QUEUED_MAX, deepest);
    snapshot.put(Stats.OUTBOX_QUEUED_TOTAL, total);
    snapshot.put(Stats.OUTBOX_BYTES_MAX, largest);
    snapshot.put(Stats.OUTBOX_BYTES_TOTAL, bytes);
    return snapshot;
  }

  /** Timer thread: closes the sessions whose writes stalled and that get nothing new. */
  private void judgeClients() {
    try {
      for (LocalSession ls : registry.all()) {
        ls.outbox.judge();
      }
    } catch (RuntimeException e) {
      LOG.warn("[{}] judging slow clients failed", nodeId, e);
    }
  }

  // ---------------------------------------------------------------- sending (app threads)

  @Override
  public CompletionStage<Void> send(Target target, String text) {
    Objects.requireNonNull(text, "text");
    return send(target, text.getBytes(StandardCharsets.UTF_8), false, text);
  }

  @Override
  public CompletionStage<Void> send(Target target, byte[] data) {
    Objects.requireNonNull(data, "data");
    return send(target, data, true, null);
  }

  private CompletionStage<Void> send(Target target, byte[] payload, boolean binary, String text) {
    Objects.requireNonNull(target, "target");
    checkSize(payload.length);
    checkRunning();
    Payload frame = binary ? Payload.binary(payload) : Payload.text(text, payload);
    CompletableFuture<Void> done = new CompletableFuture<>();
    // one lock so sequence order = local delivery order = publish order for concurrent senders
    synchronized (sendLock) {
      long seq = sequence.incrementAndGet();
      byte[] encoded = codec.encode(new Envelope(Envelope.KIND_MESSAGE, nodeId, seq, target,
          binary, payload));
      if (!admit(encoded.length)) {
        queueLocally(target, frame);
        done.completeExceptionally(bufferFull());
        return onCallbackThread(done);
      }
      CompletableFuture<List<String>> channels = null;
      if (isRoutable(target)) {
        // to the owners' channels only. If the directory knows no owner (a session that opened
        // a moment ago may not be written there yet), cannot answer or is not there yet (the
        // node runs local-only): to every node.
        ClusterPresence p = presence;
        channels = (p == null ? CompletableFuture.completedFuture(
                new java.util.HashMap<String, Set<String>>()) : p.owners(target).toCompletableFuture())
            .thenApply(owners -> {
              owners.remove(nodeId);
              return owners.isEmpty() && !localOnly(target) ? List.of(broadcastChannel)
                  : channelsOf(owners.keySet());
            });
      }
      outgoing.add(new Pending(encoded, done, channels));
      // publish first: the other nodes write to their sessions while this node writes here
      schedulePublish();
      queueLocally(target, frame);
    }
    stats.increment(Stats.PUBLISHED);
    return onCallbackThread(done);
  }

  /** Runs application continuations on the callback thread (or inline once it is stopped). */
  private void callback(Runnable task) {
    try {
      callbacks.execute(task);
    } catch (RejectedExecutionException stopped) {
      task.run();
    }
  }

  /**
   * The stage to hand the application: it completes on the callback thread, so what the app
   * chains to it never runs on the publisher, dispatcher or Redisson threads.
   */
  private <T> CompletionStage<T> onCallbackThread(CompletableFuture<T> internal) {
    return internal.whenCompleteAsync((v, e) -> { }, this::callback);
  }

  /** Whether every session the target names explicitly is one of ours (nothing to look for). */
  private boolean localOnly(Target target) {
    if (!target.users().isEmpty()) {
      return false;
    }
    for (String sid : target.sessions()) {
      if (registry.byId(sid) == null) {
        return false;
      }
    }
    return true;
  }

  /** Sessions and users only: the owners can be found in the directory. */
  static boolean isRoutable(Target target) {
    return !target.isAll() && target.rooms().isEmpty()
        && (!target.sessions().isEmpty() || !target.users().isEmpty());
  }

  private List<String> channelsOf(Set<String> nodes) {
    List<String> out = new ArrayList<>();
    for (String node : nodes) {
      if (!node.equals(nodeId)) {
        out.add(nodeChannel(node));
      }
    }
    return out;
  }

  // ---------------------------------------------------------------- deliver with receipts

  /**
   * The cluster's presence once the node joined. While it runs local-only every query fails with
   * a {@link WsClusterException} saying so, as queries do while Redis cannot answer: the
   * directory is in Redis, and this node's sessions alone would be a wrong answer for the rest.
   */
  @Override
  public Presence presence() {
    checkRunning();
    return presenceView;
  }

  private final Presence presenceView = new Presence() {
    @Override
    public CompletionStage<java.util.Optional<String>> nodeOf(String sessionId) {
      ClusterPresence p = presence;
      return p != null ? p.nodeOf(sessionId) : notJoined("session id", sessionId);
    }

    @Override
    public CompletionStage<Set<String>> sessionsInRoom(String room) {
      ClusterPresence p = presence;
      return p != null ? p.sessionsInRoom(room) : notJoined("room", room);
    }

    @Override
    public CompletionStage<Set<String>> usersInRoom(String room) {
      ClusterPresence p = presence;
      return p != null ? p.usersInRoom(room) : notJoined("room", room);
    }

    @Override
    public CompletionStage<Set<String>> sessionsOfUser(String user) {
      ClusterPresence p = presence;
      return p != null ? p.sessionsOfUser(user) : notJoined("user", user);
    }

    @Override
    public CompletionStage<Set<String>> nodes() {
      ClusterPresence p = presence;
      return p != null ? p.nodes() : notJoined(null, null);
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

  @Override
  public CompletionStage<Delivery> deliver(Target target, String text) {
    Objects.requireNonNull(text, "text");
    return deliver(target, text.getBytes(StandardCharsets.UTF_8), false, text);
  }

  @Override
  public CompletionStage<Delivery> deliver(Target target, byte[] data) {
    Objects.requireNonNull(data, "data");
    return deliver(target, data, true, null);
  }

  private CompletionStage<Delivery> deliver(Target target, byte[] payload, boolean binary,
      String text) {
    Objects.requireNonNull(target, "target");
    if (!isRoutable(target)) {
      throw new IllegalArgumentException(target.isAll() || !target.rooms().isEmpty()
          ? "deliver takes sessions and users only (no rooms, not all), was " + target
          : "deliver needs at least one session or user, was " + target);
    }
    checkSize(payload.length);
    checkRunning();
    Payload frame = binary ? Payload.binary(payload) : Payload.text(text, payload);
    PendingDelivery pd;
    synchronized (sendLock) {
      long seq = sequence.incrementAndGet();
      byte[] encoded = codec.encode(new Envelope(Envelope.KIND_MESSAGE, nodeId, seq, target,
          binary, payload, true));
      pd = new PendingDelivery(seq, target);
      deliveries.put(seq, pd);
      pd.expect(nodeId, Set.of());
      Map<String, String> local = new java.util.concurrent.ConcurrentHashMap<>();
      writeRecording(target, frame, local).thenRun(() -> pd.report(nodeId, local));
      // local-only: no directory to look in, as when Redis cannot answer
      ClusterPresence p = presence;
      CompletableFuture<List<String>> channels = (p == null
          ? CompletableFuture.<Map<String, Set<String>>>failedFuture(notJoined())
          : p.owners(target).toCompletableFuture())
          .handle((owners, error) -> {
            if (error != null) {
              pd.failLookup(error);
              return List.of();
            }
            owners.remove(nodeId);
            owners.forEach(pd::expect);
            pd.lookupDone();
            return channelsOf(owners.keySet());
          });
      admitted(encoded.length);
      outgoing.add(new Pending(encoded, new CompletableFuture<>(), channels));
    }
    stats.increment(Stats.PUBLISHED);
    schedulePublish();
    ScheduledFuture<?> timeout = timer.schedule(() -> pd.fail(DeliveryException.Reason.TIMEOUT,
        "not every owning node confirmed within " + WsClusterConfig.RECEIPT_TIMEOUT + "="
            + config.receiptTimeout().toMillis() + "ms"),
        config.receiptTimeout().toMillis(), TimeUnit.MILLISECONDS);
    pd.result.whenComplete((d, e) -> {
      timeout.cancel(false);
      deliveries.remove(pd.seq);
    });
    return onCallbackThread(pd.result);
  }

  /**
   * Heartbeat thread: the live nodes, read from a start time. A delivery whose lookup finished
   * before that read and which still waits on a node the read did not list waits on a node that
   * is gone (a node's lease is written before any of its sessions, so the read would have listed
   * it): a node that joined and left between two heartbeats is never reported otherwise.
   */
  private void onLeases(Set<String> live, long readStartedNanos) {
    for (PendingDelivery pd : deliveries.values()) {
      if (pd.lookedUpBefore(readStartedNanos)) {
        for (String node : pd.waitingOn()) {
          if (!live.contains(node)) {
            pd.nodeGone(node);
          }
        }
      }
    }
  }

  private static String reason(Throwable error) {
    Throwable t = error instanceof java.util.concurrent.CompletionException
        && error.getCause() != null ? error.getCause() : error;
    String m = String.valueOf(t.getMessage());
    return m.length() > 200 ? m.substring(0, 200) : m;
  }

  /** Heartbeat thread: a node left; deliveries waiting on it fail its part at once. */
  private void onNodeGone(String node) {
    for (PendingDelivery pd : deliveries.values()) {
      pd.nodeGone(node);
    }
  }

  /**
   * What one deliver() waits for: its own local writes, the directory lookup, and one receipt
   * from each owning node. Thread-safe: reports come from Jetty threads (local writes), the
   * dispatcher (receipts), the heartbeat (node gone) and the timer (timeout).
   */
  final class PendingDelivery {
    final long seq;
    final Target target;
    final CompletableFuture<Delivery> result = new CompletableFuture<>();
    /** Node to the session ids the directory placed there; guarded by this. */
    private final Map<String, Set<String>> expected = new java.util.HashMap<>();
    private final Set<String> reported = new java.util.HashSet<>();
    private final Map<String, String> results = new java.util.LinkedHashMap<>();
    private boolean lookedUp;
    private long lookedUpNanos;

    PendingDelivery(long seq, Target target) {
      this.seq = seq;
      this.target = target;
    }

    synchronized void expect(String node, Set<String> sessions) {
      expected.put(node, sessions);
    }

    /** The owners not heard from yet, once the lookup is done (else none). */
    synchronized List<String> waitingOn() {
      List<String> out = new ArrayList<>();
      if (lookedUp) {
        for (String node : expected.keySet()) {
          if (!reported.contains(node) && !node.equals(nodeId)) {
            out.add(node);
          }
        }
      }
      return out;
    }

    void lookupDone() {
      synchronized (this) {
        lookedUp = true;
        lookedUpNanos = System.nanoTime();
      }
      completeIfDone();
    }

    synchronized boolean lookedUpBefore(long nanos) {
      return lookedUp && lookedUpNanos - nanos < 0;
    }

    void failLookup(Throwable error) {
      result.completeExceptionally(new WsClusterException("wscluster could not look up where "
          + target + " is connected: " + error, error));
    }

    void report(String node, Map<String, String> sessionResults) {
      report(node, sessionResults, true);
    }

    /** One receipt (of several when {@code last} is false) from {@code node}. */
    void report(String node, Map<String, String> sessionResults, boolean last) {
      synchronized (this) {
        if (!expected.containsKey(node) || reported.contains(node)) {
          return; // not asked, or a repeat
        }
        Set<String> placed = expected.get(node);
        sessionResults.forEach((sid, why) -> {
          // an owner reports the targeted ids it does not hold as not connected: that says
          // something only of the sessions the directory placed on it
          if (why.isEmpty() || placed.contains(sid) || node.equals(nodeId)) {
            results.merge(sid, why, (a, b) -> a.isEmpty() ? a : b);
          }
        });
        if (!last) {
          return;
        }
        reported.add(node);
      }
      completeIfDone();
    }

    void nodeGone(String node) {
      synchronized (this) {
        if (!expected.containsKey(node) || reported.contains(node)) {
          return;
        }
        reported.add(node);
        for (String sid : expected.get(node)) {
          results.putIfAbsent(sid, GONE);
        }
      }
      completeIfDone();
    }

    private void completeIfDone() {
      synchronized (this) {
        if (!lookedUp || !reported.containsAll(expected.keySet())) {
          return;
        }
      }
      finish(null, null);
    }

    void fail(DeliveryException.Reason reason, String why) {
      finish(reason, why);
    }

    private void finish(DeliveryException.Reason forced, String why) {
      Set<String> delivered = new LinkedHashSet<>();
      Map<String, String> failed = new java.util.LinkedHashMap<>();
      synchronized (this) {
        results.forEach((sid, r) -> {
          if (r.isEmpty()) {
            delivered.add(sid);
          } else {
            failed.put(sid, r);
          }
        });
        for (Map.Entry<String, Set<String>> e : expected.entrySet()) {
          if (!reported.contains(e.getKey()) && forced == null) {
            return; // raced with a late report
          }
          for (String sid : e.getValue()) {
            if (!delivered.contains(sid) && !failed.containsKey(sid)) {
              failed.put(sid, forced == DeliveryException.Reason.TIMEOUT ? "no receipt in time"
                  : reported.contains(e.getKey()) ? NOT_CONNECTED : GONE);
            }
          }
        }
        for (String sid : target.sessions()) {
          if (!delivered.contains(sid) && !failed.containsKey(sid)
              && !target.except().contains(sid)) {
            failed.put(sid, NOT_CONNECTED);
          }
        }
      }
      Delivery d = new Delivery(delivered, failed);
      if (forced == DeliveryException.Reason.TIMEOUT || forced == DeliveryException.Reason.NODE_GONE) {
        result.completeExceptionally(new DeliveryException(forced, why + ": " + d, d));
        return;
      }
      if (!delivered.isEmpty()) {
        result.complete(d);
        return;
      }
      DeliveryException.Reason reason;
      if (failed.values().stream().allMatch(NOT_CONNECTED::equals)) {
        reason = DeliveryException.Reason.NOT_CONNECTED;
      } else if (failed.containsValue(GONE)) {
        reason = DeliveryException.Reason.NODE_GONE;
      } else {
        reason = DeliveryException.Reason.WRITE_FAILED;
      }
      result.completeExceptionally(new DeliveryException(reason, "wscluster could not deliver to "
          + target + " (" + reason + "): " + d, d));
    }
  }

  static final String NOT_CONNECTED = "not connected";
  static final String GONE = "node left the cluster";

  @Override
  public CompletionStage<Void> sendLocal(Session session, String text) {
    Objects.requireNonNull(text, "text");
    checkSize(text.length() > config.messageMaxBytes() / 3
        ? text.getBytes(StandardCharsets.UTF_8).length : text.length());
    return writeLocal(session, Payload.text(text));
  }

  @Override
  public CompletionStage<Void> sendLocal(Session session, byte[] data) {
    Objects.requireNonNull(data, "data");
    checkSize(data.length);
    return writeLocal(session, Payload.binary(data));
  }

  private CompletionStage<Void> writeLocal(Session session, Payload frame) {
    checkRunning();
    CompletableFuture<Void> written = new CompletableFuture<>();
    local(session).outbox.offer(frame, written);
    return written;
  }

  private void checkSize(int bytes) {
    if (bytes > config.messageMaxBytes()) {
      throw new IllegalArgumentException("message of " + bytes + " bytes exceeds "
          + WsClusterConfig.MESSAGE_MAX_BYTES + "=" + config.messageMaxBytes());
    }
  }

  private void checkRunning() {
    if (state != State.RUNNING) {
      throw new IllegalStateException("wscluster node " + nodeId + " is " + state
          .name().toLowerCase() + ": nothing was sent");
    }
  }

  /**
   * Any thread, under sendLock: queues a message for the local sessions of its target, in send
   * order, and has the dispatcher start their writes. Messages sent while it works (a burst, or
   * a busy node) are then written to each session as one run, one system call, and the sending
   * thread (often one of Jetty's, which read the client's frame) does no socket writes.
   */
  private void queueLocally(Target target, Payload frame) {
    boolean any = false;
    for (LocalSession ls : registry.resolve(target)) {
      ls.outbox.offer(frame, null, true);
      inbox.hold(ls.outbox);
      any = true;
    }
    if (any) {
      inbox.wake();
    }
  }

  /**
   * Dispatcher thread: queues a message for the local sessions of its target and adds each
   * outbox to {@code held}, the inbox's open batch, which starts their writes at its end.
   */
  private void deliverLocally(Target target, Payload frame, java.util.Set<Outbox> held) {
    for (LocalSession ls : registry.resolve(target)) {
      ls.outbox.offer(frame, null, true);
      held.add(ls.outbox);
    }
  }

  // ---------------------------------------------------------------- publishing (publisher thread)

  /**
   * An encoded envelope waiting to be published, with its channels: null for the broadcast
   * channel, else a stage that yields the owning nodes' channels (a directory lookup). Frames
   * leave in queue order, so a routed envelope whose lookup is still running holds back the ones
   * behind it: per-origin order is kept across channels.
   */
  private static final class Pending {
    final byte[] envelope;
    final CompletableFuture<Void> done;
    final CompletableFuture<List<String>> channels;
    /** Counted in the outage buffer (see {@link #release}): all but syncs. */
    final boolean counted;

    Pending(byte[] envelope, CompletableFuture<Void> done, CompletableFuture<List<String>> channels) {
      this(envelope, done, channels, true);
    }

    Pending(byte[] envelope, CompletableFuture<Void> done, CompletableFuture<List<String>> channels,
        boolean counted) {
      this.envelope = envelope;
      this.done = done;
      this.channels = channels;
      this.counted = counted;
    }
  }

  String nodeChannel(String node) {
    return config.channelPrefix() + ":node:" + node;
  }

  private void schedulePublish() {
    if (publishScheduled.compareAndSet(false, true)) {
      try {
        publisher.execute(this::publishNext);
      } catch (RejectedExecutionException stopping) {
        publishScheduled.set(false);
      }
    }
  }

  /**
   * Publishes what is queued as one frame, unless a frame is already on its way or frames wait to
   * be published again (an outage: nothing passes them, so per-origin order holds).
   */
  private void publishNext() {
    publishScheduled.set(false);
    if (inFlightFrame != null || !joined || System.nanoTime() - publishAfterNanos < 0) {
      return; // local-only or just joined: joining schedules this again
    }
    Frame head = held.peek();
    if (head != null) {
      if (System.nanoTime() - retryAt >= 0) {
        publish(head);
      }
      return;
    }
    if (outgoing.isEmpty()) {
      return;
    }
    Pending first = outgoing.peek();
    if (first.channels != null) {
      publishRouted(first);
      return;
    }
    List<Pending> batch = new ArrayList<>();
    List<byte[]> envelopes = new ArrayList<>();
    int bytes = EnvelopeCodec.HEADER_BYTES;
    Pending p;
    while (batch.size() < EnvelopeCodec.MAX_ENVELOPES_PER_FRAME && (p = outgoing.peek()) != null) {
      if (p.channels != null || !batch.isEmpty() && bytes + p.envelope.length > MAX_FRAME_BYTES) {
        break;
      }
      outgoing.poll();
      batch.add(p);
      envelopes.add(p.envelope);
      bytes += p.envelope.length;
    }
    publish(frame(batch, envelopes, List.of(broadcastChannel)));
  }

  /**
   * Publisher thread: the frame of {@code envelopes} for each channel, each with its next link in
   * that channel's chain (the bytes differ per channel only in the link).
   */
  private Frame frame(List<Pending> batch, List<byte[]> envelopes, List<String> channels) {
    byte[][] bytes = new byte[channels.size()][];
    long[] frameLinks = new long[channels.size()];
    boolean syncOnly = true;
    for (Pending p : batch) {
      syncOnly &= p.envelope[0] == Envelope.KIND_SYNC;
    }
    for (int i = 0; i < channels.size(); i++) {
      String channel = channels.get(i);
      if (hooks.chains) {
        frameLinks[i] = links.merge(channel, 1L, Long::sum);
        if (!syncOnly) {
          unsynced.add(channel);
        }
      }
      bytes[i] = codec.frame(envelopes, frameLinks[i], false);
    }
    return new Frame(batch, bytes, channels, frameLinks, Frame.Kind.NEW);
  }

  /**
   * Publisher thread: a frame Redis took, to publish again to all its channels as an outage's
   * replay, marked as a copy (a receiver that does not know the chain yet delivers it without
   * starting the chain there, see {@link Chains}).
   */
  private Frame copy(Frame f) {
    List<byte[]> envelopes = envelopesOf(f);
    byte[][] bytes = new byte[f.channels.size()][];
    for (int i = 0; i < bytes.length; i++) {
      bytes[i] = codec.frame(envelopes, f.links[i], true);
    }
    return new Frame(f.batch, bytes, f.channels, f.links, Frame.Kind.REPLAY);
  }

  /**
   * Publisher thread: a copy of what {@code f} was on its channel {@code i}, for the node whose
   * channel is {@code requester} only (a copy of a broadcast-chain frame says so in its head: the
   * other nodes, some of which were not subscribed then, never see it).
   */
  private Frame resentTo(Frame f, int i, String requester) {
    boolean ofBroadcast = f.channels.get(i).equals(broadcastChannel);
    return new Frame(f.batch,
        new byte[][] {codec.frame(envelopesOf(f), f.links[i], true, ofBroadcast)},
        List.of(requester), new long[] {f.links[i]}, Frame.Kind.RESENT);
  }

  private static List<byte[]> envelopesOf(Frame f) {
    List<byte[]> envelopes = new ArrayList<>(f.batch.size());
    for (Pending p : f.batch) {
      envelopes.add(p.envelope);
    }
    return envelopes;
  }

  /** Publishes a routed envelope alone, to each owning node's channel, once its lookup is done. */
  private void publishRouted(Pending head) {
    if (!head.channels.isDone()) {
      head.channels.whenComplete((c, e) -> schedulePublish());
      return;
    }
    outgoing.poll();
    List<String> channels = head.channels.isCompletedExceptionally() ? List.of(broadcastChannel)
        : head.channels.join();
    Frame frame = frame(List.of(head), List.of(head.envelope), channels);
    if (channels.isEmpty()) {
      onPublished(frame, null, null); // every target is local, or nowhere
      return;
    }
    publish(frame);
  }

  /** Publisher thread: one publish of a frame to each of its channels. */
  private void publish(Frame frame) {
    inFlightFrame = frame;
    frame.attempts++;
    List<CompletableFuture<Long>> all = new ArrayList<>(frame.channels.size());
    for (int i = 0; i < frame.channels.size(); i++) {
      try {
        all.add(transport.publish(frame.channels.get(i), frame.bytes[i]).toCompletableFuture());
      } catch (RuntimeException e) {
        all.add(CompletableFuture.failedFuture(e));
      }
    }
    CompletableFuture<Void> done = CompletableFuture.allOf(all.toArray(new CompletableFuture<?>[0]));
    // A PUBLISH written to a connection that died with Redis can wait out Redisson's response
    // timeout and retries (seconds) while nothing queued passes it: past PUBLISH_WAIT_NANOS this
    // attempt counts as refused (Redisson is told not to retry it) and the frame is held. Should
    // the attempt still reach Redis, receivers drop the repeat.
    try {
      java.util.concurrent.ScheduledFuture<?> wait = timer.schedule(() -> {
        if (done.completeExceptionally(new java.util.concurrent.TimeoutException("Redis did not "
            + "answer the publish within " + PUBLISH_WAIT_NANOS / 1_000_000 + " ms"))) {
          all.forEach(f -> f.cancel(false));
        }
      }, PUBLISH_WAIT_NANOS, TimeUnit.NANOSECONDS);
      done.whenComplete((v, e) -> wait.cancel(false));
    } catch (RejectedExecutionException stopping) {
      // the node stops: its bounded wait for what is in flight applies instead
    }
    done.whenComplete((v, error) -> {
      List<Long> receivers = error == null ? all.stream().map(CompletableFuture::join).toList()
          : null;
      try {
        publisher.execute(() -> onPublished(frame, receivers, error));
      } catch (RejectedExecutionException stopping) {
        onPublished(frame, receivers, error);
      }
    });
  }

  /**
   * Publisher thread: a frame is done when Redis took it and as many subscriptions received it
   * as there are nodes to receive it (all live nodes on the broadcast channel, the owner on a
   * node channel). Otherwise (Redis unreachable, or a node not subscribed at this moment, as
   * right after Redis restarted) it is held (see {@link #hold}) and published again after a
   * pause; everything queued waits behind it: receivers that had it drop the repeat by its
   * sequence number.
   */
  private void onPublished(Frame frame, List<Long> receivers, Throwable error) {
    inFlightFrame = null;
    String missing = error != null ? error.toString() : shortfall(frame, receivers);
    long now = System.nanoTime();
    if (missing != null && error == null && frame.shortfallSinceNanos == 0) {
      frame.shortfallSinceNanos = now;
    }
    // a copy for one node is not held: if that node is gone, holding it would stop this node's
    // publishing; if not, it asks again
    if (missing != null && state == State.RUNNING && frame.kind != Frame.Kind.RESENT
        && (error != null || now - frame.shortfallSinceNanos < shortfallHoldNanos())) {
      hold(frame, missing, now);
      return;
    }
    if (held.peek() == frame) {
      held.poll();
    }
    if (frame.kind != Frame.Kind.NEW) {
      // its messages completed when Redis first took them, and it is kept in recent since:
      // only whether it got through counts
      if (missing == null) {
        stats.add(frame.kind == Frame.Kind.REPLAY ? Stats.OUTAGE_REPLAYED : Stats.FRAMES_RESENT,
            frame.kind == Frame.Kind.REPLAY ? frame.messages() : 1);
      } else if (frame.kind == Frame.Kind.REPLAY) {
        // the other replays would wait as long for the same node, each in turn: they go too
        held.removeIf(f -> f.kind == Frame.Kind.REPLAY);
      }
    } else {
      stats.increment(Stats.FRAMES_PUBLISHED);
      if (frame.attempts > 1) {
        stats.add(Stats.OUTAGE_REPUBLISHED, frame.messages());
        LOG.info("[{}] published {} held message(s) after {} attempts in {} ms", nodeId,
            frame.messages(), frame.attempts, (now - frame.firstAttemptNanos) / 1_000_000);
      }
      if (missing != null && state != State.RUNNING) {
        failStopped(frame.batch);
      } else {
        if (missing != null) {
          // a node listed live never subscribed within a lease ttl: it is gone in all but name
          stats.add(Stats.OUTAGE_GAVE_UP, frame.messages());
          LOG.warn("[{}] gave up waiting for every node to receive {} messages: {}", nodeId,
              frame.messages(), missing);
        }
        remember(frame, now); // given up or not, nodes that lack it may still ask for it
        for (Pending p : frame.batch) {
          if (p.done.complete(null)) {
            release(p);
          }
        }
      }
    }
    if (!held.isEmpty()) {
      retryAt = now; // the rest of what is held goes now: Redis takes frames again
      publishNext();
    } else {
      heldSinceNanos = 0;
      if (!outgoing.isEmpty()) {
        publishNext();
      }
    }
  }

  /**
   * Publisher thread: {@code frame} did not reach every node; it is published again after a
   * pause. When it is the first frame refused (an outage begins), the frames Redis took in the
   * second before are held in front of it and published again as well: Redis counts a
   * subscriber as reached when the message is in its output buffer, and a crash (or a killed
   * subscriber connection) loses what was still there, while its publisher saw success.
   * Receivers that had them drop the repeats; whoever lost them gets them, in order.
   */
  private void hold(Frame frame, String missing, long now) {
    if (held.peek() != frame) {
      held.addFirst(frame); // a new frame: nothing was held, else it would not have gone first
    }
    if (heldSinceNanos == 0) {
      // an outage begins (frames published again on request may be held already)
      heldSinceNanos = frame.firstAttemptNanos;
      int replayed = 0;
      int frames = 0;
      long bytes = 0;
      java.util.Iterator<Frame> newestFirst = hooks.replay ? recent.descendingIterator()
          : java.util.Collections.emptyIterator(); // replays off: a test's control
      while (newestFirst.hasNext()) {
        Frame r = newestFirst.next();
        if (now - r.tookNanos > REPLAY_WINDOW_NANOS
            || frames == REPLAY_MAX_FRAMES || bytes + r.size() > REPLAY_MAX_BYTES) {
          break;
        }
        held.addFirst(copy(r));
        replayed += r.messages();
        frames++;
        bytes += r.size();
      }
      if (frame.kind == Frame.Kind.NEW) {
        stats.add(Stats.OUTAGE_HELD, frame.messages());
      }
      LOG.warn("[{}] could not publish {} message(s) to every node ({}); holding them and "
          + "everything after them until Redis takes them{}", nodeId, frame.messages(),
          missing, replayed == 0 ? "" : ", to publish again first the " + replayed
              + " message(s) it took in the second before");
    }
    stats.increment(Stats.OUTAGE_RETRIES);
    retryAt = now + RETRY_PAUSE_NANOS;
    timer.schedule(this::schedulePublish, RETRY_PAUSE_NANOS, TimeUnit.NANOSECONDS);
  }

  /**
   * Publisher thread: keeps a frame Redis took, to publish it again on request or in an outage
   * (see {@link #hold}).
   */
  private void remember(Frame frame, long now) {
    if (!hooks.replay && !hooks.chains || frame.channels.isEmpty()) {
      return; // replays and chains off (a test's control), or published nowhere
    }
    frame.tookNanos = now;
    recent.add(frame);
    recentBytes += frame.size();
    Frame oldest;
    while ((oldest = recent.peek()) != null && (recent.size() > KEEP_MAX_FRAMES
        || recentBytes > KEEP_MAX_BYTES || now - oldest.tookNanos > KEEP_NANOS)) {
      recent.poll();
      recentBytes -= oldest.size();
    }
  }

  /**
   * Publisher thread: node {@code requester} misses the links {@code from}..{@code to} of this
   * node's chain on the broadcast channel (or, {@code direct}, on its own channel). The ones still
   * kept go out before anything queued, behind a frame in flight; receivers that have them drop
   * the repeats. Those no longer kept are counted; the requester counts them lost.
   */
  private void resend(String requester, boolean direct, long from, long to) {
    String requesterChannel = nodeChannel(requester);
    String channel = direct ? requesterChannel : broadcastChannel;
    java.util.Set<Long> waiting = new java.util.HashSet<>();
    for (Frame h : held) {
      if (h.kind == Frame.Kind.RESENT && h.channels.get(0).equals(requesterChannel)
          && h.ofBroadcastChain() == !direct) {
        waiting.add(h.links[0]); // asked for again before this went out: once is enough
      }
    }
    List<Frame> found = new ArrayList<>();
    long already = 0;
    for (Frame f : recent) {
      int i = f.channels.indexOf(channel);
      if (i >= 0 && f.links[i] >= from && f.links[i] <= to) {
        if (waiting.contains(f.links[i])) {
          already++;
        } else {
          found.add(resentTo(f, i, requesterChannel));
        }
      }
    }
    long missed = to - from + 1 - found.size() - already;
    LOG.info("[{}] node {} asked for frames {} to {} of the {} chain again: {} of them{}", nodeId,
        requester, from, to, direct ? "direct" : "broadcast", found.size(),
        missed == 0 ? "" : "; " + missed + " are no longer kept");
    if (missed > 0) {
      stats.add(Stats.RESEND_MISSED, missed);
    }
    if (found.isEmpty()) {
      return;
    }
    Frame busy = inFlightFrame != null && held.peek() == inFlightFrame ? held.poll() : null;
    if (held.isEmpty()) {
      retryAt = System.nanoTime();
    }
    for (int k = found.size() - 1; k >= 0; k--) {
      held.addFirst(found.get(k));
    }
    if (busy != null) {
      held.addFirst(busy);
    }
    publishNext();
  }

  /**
   * Publisher thread, every heartbeat: a sync (an envelope that only carries its frame's link)
   * on each channel that got frames since the last one, so a receiver learns of lost frames at
   * the end of a stream too, not only when the next frame comes.
   */
  private void syncChains() {
    if (state != State.RUNNING || unsynced.isEmpty() || !held.isEmpty()) {
      return; // nothing new, or an outage: the held frames carry their links
    }
    ClusterPresence p = presence;
    for (String channel : unsynced) {
      if (channel.equals(broadcastChannel)) {
        queue(seq -> Envelope.sync(nodeId, seq), null, false);
      } else if (p != null && p.isLive(nodeOf(channel))) {
        queue(seq -> Envelope.sync(nodeId, seq), CompletableFuture.completedFuture(
            List.of(channel)), false);
      }
    }
    unsynced.clear();
    schedulePublish();
  }

  /**
   * Any thread: queues an envelope of this node's own (a receipt or a sync; no application
   * message) for {@code channels} (null: the broadcast channel), with the next sequence number.
   * {@code counted}: in the outage buffer, whatever it holds (receipts); syncs are not, as they
   * are no messages.
   */
  private void queue(java.util.function.LongFunction<Envelope> envelope,
      CompletableFuture<List<String>> channels, boolean counted) {
    synchronized (sendLock) {
      byte[] encoded = codec.encode(envelope.apply(sequence.incrementAndGet()));
      if (counted) {
        admitted(encoded.length);
      }
      outgoing.add(new Pending(encoded, new CompletableFuture<>(), channels, counted));
    }
  }

  /**
   * Publisher thread: a resend request straight to {@code origin}'s channel, unchained and ahead
   * of anything queued or held here (a request waiting behind an outage, or stashed behind a gap
   * in the chain it would travel in, would come too late). Not held when Redis does not take it:
   * the chain asks again after a quarter of its gap timeout.
   */
  private void askAgain(String origin, boolean direct, long from, long to) {
    byte[] frame = codec.frame(List.of(codec.encode(Envelope.resend(nodeId,
        sequence.incrementAndGet(), direct, from, to))));
    try {
      transport.publish(nodeChannel(origin), frame);
    } catch (RuntimeException e) {
      LOG.debug("[{}] resend request to {} not published: {}", nodeId, origin, e.toString());
    }
  }

  private String nodeOf(String channel) {
    return channel.substring(config.channelPrefix().length() + ":node:".length());
  }

  /** Why {@code receivers} (per channel of the frame) is short of the nodes that should have it. */
  private String shortfall(Frame frame, List<Long> receivers) {
    if (receivers == null) {
      return null;
    }
    for (int i = 0; i < frame.channels.size(); i++) {
      String channel = frame.channels.get(i);
      long expected;
      if (channel.equals(broadcastChannel)) {
        ClusterPresence p = presence;
        expected = p == null ? 1 : p.liveCount();
      } else {
        ClusterPresence p = presence;
        expected = p == null || p.isLive(nodeOf(channel)) ? 1 : 0;
      }
      if (receivers.get(i) < expected) {
        return receivers.get(i) + " of " + expected + " subscriptions on " + channel;
      }
    }
    return null;
  }

  /**
   * How long a frame is held for subscriptions that do not come: a node that is still listed
   * live but not subscribed is dead or reconnecting; within a lease ttl (plus a heartbeat to
   * read it) it is either back or no longer listed. A publish error holds a frame without limit:
   * the outage buffer bounds what waits behind it.
   */
  private long shortfallHoldNanos() {
    return config.nodeTtl().plus(config.nodeHeartbeat()).toNanos();
  }

  /** Fails messages the node stopped before publishing; each one once, whoever comes first. */
  private void failStopped(List<Pending> unpublished) {
    for (Pending p : unpublished) {
      if (p.done.completeExceptionally(new WsClusterException("wscluster node " + nodeId
          + " stopped before the message was published")) && p.counted) {
        release(p);
        stats.increment(Stats.OUTAGE_DROPPED);
      }
    }
  }

  /** Any thread: takes a message out of the outage-buffer accounting. */
  private void release(Pending p) {
    if (!p.counted) {
      return;
    }
    queuedMessages.decrementAndGet();
    queuedBytes.addAndGet(-p.envelope.length);
  }

  /**
   * Any thread, under sendLock: whether one more envelope of {@code bytes} fits the outage
   * buffer ({@code wscluster.outage.buffer} messages and {@code .buffer-bytes}); if so it is
   * counted in.
   */
  private boolean admit(int bytes) {
    if (queuedMessages.get() >= config.outageBuffer()
        || queuedBytes.get() + bytes > config.outageBufferBytes()) {
      stats.increment(Stats.OUTAGE_DROPPED);
      return false;
    }
    admitted(bytes);
    return true;
  }

  /**
   * Counts in an envelope that is queued whatever the buffer holds: a deliver() (bounded by its
   * receipt timeout) or a receipt (one per message this node received).
   */
  private void admitted(int bytes) {
    queuedMessages.incrementAndGet();
    queuedBytes.addAndGet(bytes);
  }

  private WsClusterException bufferFull() {
    return new WsClusterException("wscluster node " + nodeId + " did not publish the message: "
        + queuedMessages.get() + " messages (" + queuedBytes.get() + " bytes) already wait to be "
        + "published, the limit of " + WsClusterConfig.OUTAGE_BUFFER + "=" + config.outageBuffer()
        + " / " + WsClusterConfig.OUTAGE_BUFFER_BYTES + "=" + config.outageBufferBytes()
        + " (is Redis reachable?); this node's sessions got it");
  }

  /** A frame on its way to Redis, with what it carries; publisher-thread state. */
  private static final class Frame {
    enum Kind {
      /** Built from queued messages. */
      NEW,
      /** Published again because an outage began right after Redis took it (see {@link #hold}). */
      REPLAY,
      /** Published again to one of its channels because a node asked for it (see resend). */
      RESENT
    }

    final List<Pending> batch;
    /** Per channel: the frame as published there (with that channel's link). */
    final byte[][] bytes;
    final List<String> channels;
    /** Per channel: the frame's link in that channel's chain (0: not chained). */
    final long[] links;
    final long firstAttemptNanos = System.nanoTime();
    final Kind kind;
    int attempts;
    /** When a publish first reached fewer subscriptions than nodes; 0 before. */
    long shortfallSinceNanos;
    /** When Redis took it (publisher thread). */
    long tookNanos;

    Frame(List<Pending> batch, byte[][] bytes, List<String> channels, long[] links, Kind kind) {
      this.batch = batch;
      this.bytes = bytes;
      this.channels = channels;
      this.links = links;
      this.kind = kind;
    }

    /** RESENT: a copy of a broadcast-chain frame (sent on the asking node's channel). */
    boolean ofBroadcastChain() {
      return (bytes[0][0] & EnvelopeCodec.BROADCAST_CHAIN) != 0;
    }

    /** What it carries but syncs (not in the outage buffer either). */
    int messages() {
      int n = 0;
      for (Pending p : batch) {
        if (p.counted) {
          n++;
        }
      }
      return n;
    }

    long size() {
      long n = 0;
      for (byte[] b : bytes) {
        n += b.length;
      }
      return n;
    }
  }

  // ---------------------------------------------------------------- liveness probe (timer thread)

  /**
   * Every heartbeat. A probe that did not come back within three heartbeats (at least a second)
   * while nothing else arrived on the channel either means this node is not receiving: counted
   * and reported by {@link #health()}. If Redis meanwhile keeps reporting no subscription at all
   * for this node's channel (the probe reached 0 receivers for that long), Redisson has not
   * restored it, so the node subscribes that channel again. Redisson itself resubscribes after
   * a reconnect; this covers a subscription lost without one. Then the next probe. Never throws.
   */
  private void probe() {
    try {
      if (state != State.RUNNING) {
        return;
      }
      long now = System.nanoTime();
      long timeout = probeTimeoutNanos();
      if (probeSeq != 0) {
        // a busy dispatcher may not have decoded the echo yet: any frame that arrived on the
        // channel since the probe left shows the subscription works
        if (now - probeSentNanos < timeout || ownChannelSeenNanos - probeSentNanos > 0) {
          return;
        }
        if (!probeMissed) {
          LOG.warn("[{}] the liveness probe did not come back in {} ms{}", nodeId,
              timeout / 1_000_000, probeSendFailed ? " (Redis did not take it)" : "");
        }
        probeMissed = true;
        stats.increment(Stats.PROBES_MISSED);
      }
      // two probes in a row (a heartbeat apart) found no subscriber: Redisson has not restored
      // it (seen after Redis restarted on the same port); at most once per probe timeout
      long unsubscribedSince = probeUnsubscribedSinceNanos;
      if (unsubscribedSince != 0
          && now - unsubscribedSince >= config.nodeHeartbeat().toNanos() * 9 / 10
          && now - lastResubscribeNanos > timeout) {
        lastResubscribeNanos = now;
        stats.increment(Stats.RESUBSCRIBES);
        LOG.warn("[{}] Redis has reported no subscription to {} for {} ms: subscribing again",
            nodeId, ownChannel, (now - unsubscribedSince) / 1_000_000);
        // only this channel: Redis says it has no subscriber. Subscribing a channel again that
        // still works would lose what arrives between Redisson dropping the old listener and
        // Redis taking the new subscription (Redis counts it as received).
        transport.subscribe(ownChannel);
      }
      long seq = sequence.incrementAndGet();
      byte[] frame = codec.frame(List.of(codec.encode(
          Envelope.receipt(nodeId, seq, seq, Map.of()))));
      probeSeq = seq;
      probeSentNanos = now;
      stats.increment(Stats.PROBES_SENT);
      transport.publish(ownChannel, frame).whenComplete((receivers, error) -> {
        probeSendFailed = error != null;
        if (error == null && receivers == 0) {
          if (probeUnsubscribedSinceNanos == 0) {
            probeUnsubscribedSinceNanos = now;
          }
        } else if (error == null) {
          probeUnsubscribedSinceNanos = 0;
        }
      });
    } catch (RuntimeException e) {
      LOG.warn("[{}] liveness probe failed", nodeId, e);
    }
  }

  private long probeTimeoutNanos() {
    return Math.max(TimeUnit.SECONDS.toNanos(1), 3 * config.nodeHeartbeat().toNanos());
  }

  /** Dispatcher thread: this node's probe came back through its subscription. */
  private void onProbeEcho(long seq) {
    if (seq == probeSeq) {
      long now = System.nanoTime();
      probeRoundTripNanos = now - probeSentNanos;
      probeEchoNanos = now;
      probeSeq = 0;
      if (probeMissed) {
        LOG.info("[{}] the liveness probe comes back again", nodeId);
      }
      probeMissed = false;
    }
  }

  @Override
  public Health health() {
    ClusterPresence p = presence;
    long heldSince = heldSinceNanos;
    boolean in = joined;
    return new Health(state == State.RUNNING, in, in && !probeSendFailed && !probeMissed,
        probeRoundTripNanos < 0 ? -1 : probeRoundTripNanos / 1000,
        p == null ? 0 : p.liveCount(), queuedMessages.get(),
        heldSince == 0 ? 0 : (System.nanoTime() - heldSince) / 1_000_000);
  }

  // ---------------------------------------------------------------- receiving

  /** Transport threads: hand over, nothing else. */
  private void onFrame(String channel, byte[] frame) {
    stats.increment(Stats.FRAMES_RECEIVED);
    if (channel.equals(ownChannel)) {
      ownChannelSeenNanos = System.nanoTime();
    }
    inbox.addFrame(channel, frame);
  }

  /**
   * Dispatcher thread: decode; another node's chained frame goes through its chain (which holds
   * it back behind a gap, see {@link Chains}), the rest straight to {@link #deliverFrame}.
   */
  private void dispatch(String channel, byte[] frame) {
    EnvelopeCodec.Decoded decoded;
    try {
      decoded = codec.decodeFrame(frame);
    } catch (EnvelopeCodec.Rejection r) {
      onRejected(r, frame.length);
      return;
    }
    String origin = decoded.envelopes.get(0).origin;
    // a copy of a broadcast-chain frame comes on the own channel to the one node that asked
    boolean direct = channel.equals(ownChannel) && !decoded.broadcastChain;
    if (decoded.link == 0 || !hooks.chains || origin.equals(nodeId)) {
      deliverFrame(decoded.envelopes, direct);
    } else {
      chains.onFrame(origin, direct, decoded.link, decoded.copy, decoded.envelopes, frame.length);
    }
  }

  /**
   * Dispatcher thread: drop own echoes and repeats, deliver the rest locally, in the open batch
   * of the inbox (a frame the chains release on their tick opens one): several messages in one
   * frame, or in several frames dispatched together, are written to each session as one run.
   */
  private void deliverFrame(List<Envelope> envelopes, boolean direct) {
    inbox.inBatch(() -> dispatch(envelopes, inbox.batch(), direct ? dedupDirect : dedup));
  }

  private void dispatch(List<Envelope> envelopes, java.util.Set<Outbox> held, Deduplicator dedup) {
    for (Envelope e : envelopes) {
      if (e.kind == Envelope.KIND_RECEIPT && e.ref == e.seq && e.origin.equals(nodeId)) {
        stats.increment(Stats.PROBES_RECEIVED); // not counted as an envelope: no message
        onProbeEcho(e.seq);
        continue;
      }
      if (e.kind == Envelope.KIND_SYNC) {
        // its frame's link did its work in the chain: no message, not in envelopesReceived
        stats.increment(Stats.SYNCS_RECEIVED);
        continue;
      }
      stats.increment(Stats.ENVELOPES_RECEIVED);
      try {
        if (hooks.dedup) {
          if (e.origin.equals(nodeId)) {
            stats.increment(Stats.OWN_ECHOES);
            continue;
          }
          Deduplicator.Verdict verdict = dedup.check(e.origin, e.seq);
          if (verdict == Deduplicator.Verdict.DUPLICATE) {
            stats.increment(Stats.DUPLICATES);
            continue;
          }
          if (verdict == Deduplicator.Verdict.TOO_OLD) {
            stats.increment(Stats.TOO_OLD);
            continue;
          }
        }
        if (e.kind == Envelope.KIND_RESEND) {
          if (hooks.chains) {
            onThread(publisher, () -> resend(e.origin, e.binary, e.ref, e.refEnd));
          }
          continue;
        }
        if (e.kind == Envelope.KIND_RECEIPT) {
          PendingDelivery pd = deliveries.get(e.ref);
          if (pd != null) {
            pd.report(e.origin, e.results, !e.binary);
          }
          continue;
        }
        Payload out = e.binary ? Payload.binary(e.payload) : Payload.text(e.payload);
        if (e.receiptRequested) {
          deliverAndConfirm(e, out);
        } else {
          deliverLocally(e.target, out, held);
        }
      } catch (RuntimeException ex) {
        stats.increment(Stats.DISPATCH_FAILED);
        LOG.error("[{}] delivering {} failed", nodeId, e, ex);
      }
    }
  }

  /**
   * Dispatcher thread: writes a message that asked for a receipt to the local sessions it
   * targets, then (when every write completed) sends the origin one receipt listing them, plus
   * the targeted session ids that are not here.
   */
  private void deliverAndConfirm(Envelope e, Payload frame) {
    Map<String, String> results = new java.util.concurrent.ConcurrentHashMap<>();
    CompletableFuture<Void> written = writeRecording(e.target, frame, results);
    for (String sid : e.target.sessions()) {
      if (!e.target.except().contains(sid)) {
        results.putIfAbsent(sid, NOT_CONNECTED); // a local write's own result replaces it
      }
    }
    written.thenRun(() -> sendReceipt(e.origin, e.seq, results));
  }

  /**
   * Writes a frame to the local sessions a target matches, recording per session id "" (written)
   * or why not. The stage completes, never exceptionally, once every write finished.
   */
  private CompletableFuture<Void> writeRecording(Target target, Payload frame,
      Map<String, String> results) {
    List<CompletableFuture<Void>> writes = new ArrayList<>();
    for (LocalSession ls : registry.resolve(target)) {
      CompletableFuture<Void> written = new CompletableFuture<>();
      writes.add(written.whenComplete((ok, error) -> results.put(ls.id, error == null ? ""
          : reason(error))));
      ls.outbox.offer(frame, written);
    }
    return CompletableFuture.allOf(writes.toArray(new CompletableFuture<?>[0]))
        .handle((v, error) -> null);
  }

  /** Any thread: queues a receipt for {@code origin}'s message {@code ref} on its channel. */
  private void sendReceipt(String origin, long ref, Map<String, String> results) {
    if (state != State.RUNNING) {
      return;
    }
    // a receipt carries at most MAX_SET_SIZE results: larger ones go in several, the last marked
    List<Map<String, String>> chunks = new ArrayList<>();
    Map<String, String> chunk = new java.util.LinkedHashMap<>();
    for (Map.Entry<String, String> r : results.entrySet()) {
      if (chunk.size() == EnvelopeCodec.MAX_SET_SIZE) {
        chunks.add(chunk);
        chunk = new java.util.LinkedHashMap<>();
      }
      chunk.put(r.getKey(), r.getValue());
    }
    chunks.add(chunk);
    CompletableFuture<List<String>> channel =
        CompletableFuture.completedFuture(List.of(nodeChannel(origin)));
    synchronized (sendLock) { // the chunks one after another
      for (int i = 0; i < chunks.size(); i++) {
        Map<String, String> part = chunks.get(i);
        boolean more = i < chunks.size() - 1;
        queue(seq -> Envelope.receipt(nodeId, seq, ref, part, more), channel, true);
      }
    }
    stats.add(Stats.RECEIPTS_SENT, chunks.size());
    schedulePublish();
  }

  /** What the chains of the other nodes' frames deliver to, ask for and report (dispatcher). */
  private final class ChainSink implements Chains.Sink {
    @Override
    public void deliver(List<Envelope> envelopes, boolean direct) {
      deliverFrame(envelopes, direct);
    }

    @Override
    public void request(String origin, boolean direct, long from, long to) {
      if (state != State.RUNNING) {
        return;
      }
      LOG.warn("[{}] frames {} to {} of node {}'s {} chain did not arrive (Redis lost them after "
          + "counting this node as a receiver): asking for them again; later frames wait for "
          + "them", nodeId, from, to, origin, direct ? "direct" : "broadcast");
      onThread(publisher, () -> askAgain(origin, direct, from, to));
    }

    @Override
    public void lost(String origin, boolean direct, long from, long to) {
      LOG.error("[{}] frames {} to {} of node {}'s {} chain are lost: they did not come again "
          + "within {} s (the node no longer keeps them, or is gone); delivering what came after",
          nodeId, from, to, origin, direct ? "direct" : "broadcast",
          TimeUnit.NANOSECONDS.toSeconds(GAP_TIMEOUT_NANOS));
    }
  }

  /** Session threads: a presence change of a local session goes to the directory. */
  private void onPresenceChange(Directory.Change change) {
    ClusterPresence p = presence;
    if (p != null) {
      p.record(change);
    }
  }

  private void onRejected(EnvelopeCodec.Rejection r, int length) {
    stats.increment(Stats.REJECTED);
    stats.increment(Stats.REJECTED + "." + r.reason.name().toLowerCase());
    rejectsSinceLog++;
    long now = nanoClock.getAsLong();
    if (now - lastRejectLog >= REJECT_LOG_INTERVAL_NANOS) {
      LOG.warn("[{}] rejected {} frame(s) from Redis; latest: {} bytes, {}: {}", nodeId,
          rejectsSinceLog, length, r.reason, r.getMessage());
      lastRejectLog = now;
      rejectsSinceLog = 0;
    }
  }
}
