package io.wscluster;

import io.wscluster.spi.Directory;
import io.wscluster.spi.History;
import io.wscluster.spi.Transport;
import jakarta.websocket.Session;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import java.util.function.LongSupplier;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One node of the cluster: wires the actors that do the work ({@link Sender}, {@link Publisher},
 * {@link Dispatcher}, {@link LocalDelivery}, {@link Receipts}, {@link Probe}, {@link Membership};
 * each says which thread runs it), starts and stops them, and serves the application's
 * {@link WsCluster} calls by handing each to the actor it is for.
 */
final class ClusterNode implements WsCluster {
  private static final Logger LOG = LoggerFactory.getLogger(ClusterNode.class);
  private static final long CHAIN_TICK_MILLIS = 100;

  private enum State { NEW, RUNNING, STOPPED }

  private final WsClusterConfig config;
  private final String nodeId;
  private final NodeParts parts;
  private final Channels channels;
  private final Stats stats = new Stats();
  private final SessionRegistry registry;
  private final Inbox inbox;
  private final LocalDelivery local;
  private final OutageBuffer buffer;
  private final Membership membership;
  private final Publisher publisher;
  private final Receipts receipts;
  private final Probe probe;
  private final Dispatcher dispatcher;
  private final Sender sender;
  private final Recovery recovery;
  private final Supplier<History> histories;
  private final NodeThreads threads;
  private volatile State state = State.NEW;

  /** A node on a transport whose publish counts the subscriptions it reached (as Redis's does). */
  ClusterNode(WsClusterConfig config, Transport transport, NodeParts parts, LongSupplier clock,
      Function<Transport, Directory> directories) {
    this(config, transport, parts, clock, directories, true);
  }

  /**
   * @param clock the protocol's clock: dedup's origin ttl, the chains' gap timeout; the publisher
   *     and the probe run on real time with the node's timer
   * @param directories makes the directory once the transport has started (a Redis directory
   *     shares the transport's client)
   * @param countsReceivers whether the transport's publish reports how many subscriptions a frame
   *     reached ({@link io.wscluster.spi.Backend#publishCountsReceivers}): the publisher and the
   *     probe act on that count only then
   */
  ClusterNode(WsClusterConfig config, Transport transport, NodeParts parts, LongSupplier clock,
      Function<Transport, Directory> directories, boolean countsReceivers) {
    this(config, transport, parts, clock, directories, countsReceivers, () -> null);
  }

  /**
   * @param histories the backend's message history, asked for once when the node joined (null:
   *     none); not asked when {@code wscluster.history.enabled} is false
   */
  ClusterNode(WsClusterConfig config, Transport transport, NodeParts parts, LongSupplier clock,
      Function<Transport, Directory> directories, boolean countsReceivers,
      Supplier<History> histories) {
    this.config = config;
    this.histories = histories;
    this.parts = parts;
    this.nodeId = config.nodeName() + "-" + UUID.randomUUID().toString().substring(0, 8);
    EnvelopeCodec codec = new EnvelopeCodec(config.messageMaxBytes(),
        FrameAuthenticator.of(config.secret(), config.secretPrevious()));
    channels = new Channels(config.channelPrefix(), parts.roomChannels);
    threads = new NodeThreads(!config.writeDelay().isZero() && parts.flowControl);
    OutboxLimits limits = parts.flowControl ? OutboxLimits.of(config, threads.writer)
        : OutboxLimits.unjudged(config.outboxOverflow());
    Scheduler scheduler = Scheduler.of(threads.timer);
    long originTtl = config.dedupOriginTtl().toNanos();
    registry = new SessionRegistry(nodeId, s -> new Outbox(s,
        SessionWriter.of(s, parts.coreWrites), limits, stats, nodeId), this::onPresenceChange,
        this::onSessionCreated);
    inbox = new Inbox(stats);
    local = new LocalDelivery(nodeId, registry, inbox, stats);
    buffer = new OutageBuffer(nodeId, config, stats);
    membership = new Membership(config, nodeId, transport, directories, channels, registry,
        threads::callback, this::onJoined, parts.roomGate);
    publisher = new Publisher(nodeId, channels, transport, codec,
        parts.chains ? ChainSender.chained(codec) : ChainSender.unchained(codec),
        new FrameHistory(parts.replay || parts.chains, parts.replay), buffer, stats, membership,
        threads.publish, scheduler, System::nanoTime,
        config.nodeTtl().plus(config.nodeHeartbeat()).toNanos(), countsReceivers);
    receipts = new Receipts(nodeId, channels, codec, publisher, buffer, local, stats, scheduler,
        config.receiptTimeout().toNanos(), membership::owners);
    probe = new Probe(nodeId, channels.ofNode(nodeId), transport, codec, stats,
        publisher::nextSeq, System::nanoTime, config.nodeHeartbeat().toNanos(), countsReceivers);
    dispatcher = new Dispatcher(nodeId, channels, codec,
        parts.dedup ? Dedup.perOrigin(nodeId, config.dedupWindow(), originTtl, clock) : Dedup.OFF,
        inbox, stats, clock, originTtl, probe, publisher, receipts, local);
    sender = new Sender(nodeId, config.messageMaxBytes(), channels, codec, publisher, buffer,
        local, receipts, membership, registry, stats);
    recovery = new Recovery(nodeId, codec, stats, threads.replay, threads.timer, parts.seam);
    publisher.recordWith(recovery::history, recovery::onEpoch, local::deliverOwn);
  }

  /** Session threads, before the session is visible: whether it asked for recovery. */
  private void onSessionCreated(LocalSession ls) {
    recovery.prepare(ls);
  }

  /** Session threads: the registry is built before the membership it tells. */
  private void onPresenceChange(Directory.Change change) {
    membership.onPresenceChange(change);
    switch (change.kind) {
      case OPEN, JOIN, USER -> {
        LocalSession ls = registry.byId(change.session);
        if (ls == null) {
          return;
        }
        if (change.kind == Directory.Change.Kind.OPEN) {
          recovery.onOpen(ls);
        } else if (change.kind == Directory.Change.Kind.JOIN) {
          recovery.onStream(ls, Streams.ROOM + change.other);
        } else if (change.user != null) {
          recovery.onStream(ls, Streams.USER + change.user);
        }
      }
      default -> { }
    }
  }

  /**
   * Starts the threads and joins the cluster (see {@link Membership#start}): returns once frames
   * published by other nodes reach this one, or, when the transport cannot reach its servers,
   * at once, running local-only. Any other failure stops everything started and is thrown.
   */
  synchronized void start() throws Exception {
    if (state != State.NEW) {
      throw new IllegalStateException("node " + nodeId + " was already started");
    }
    inbox.start(threads.dispatch, dispatcher::dispatch);
    if (parts.flowControl) {
      // slow clients are judged whether or not this node reaches Redis
      long judgeEvery = Math.max(50, Math.min(1000, config.outboxStallTimeout().toMillis() / 4));
      threads.timer.scheduleWithFixedDelay(local::judge, judgeEvery, judgeEvery,
          TimeUnit.MILLISECONDS);
    }
    try {
      membership.start(dispatcher::onFrame, receipts::onNodeGone, receipts::onLeases);
    } catch (Exception e) {
      state = State.STOPPED;
      threads.stop();
      throw e;
    }
    state = State.RUNNING;
    if (!parts.dedup) {
      LOG.warn("[{}] TEST HOOK: dedup is off, clients will see duplicates", nodeId);
    }
    LOG.info("[{}] wscluster node started on channel {} with config {}", nodeId,
        channels.broadcast, config);
  }

  /** Under {@link Membership}'s lock: the node joined; the periodic work starts, then publishing. */
  private void onJoined(boolean late) {
    long every = config.nodeHeartbeat().toMillis();
    ScheduledExecutorService timer = threads.timer;
    timer.scheduleWithFixedDelay(probe::run, every, every, TimeUnit.MILLISECONDS);
    timer.scheduleWithFixedDelay(publisher::onHeartbeat, every, every, TimeUnit.MILLISECONDS);
    timer.scheduleWithFixedDelay(membership.rooms::sweep, every, every, TimeUnit.MILLISECONDS);
    timer.scheduleWithFixedDelay(() -> threads.onDispatcher(dispatcher::tick),
        CHAIN_TICK_MILLIS, CHAIN_TICK_MILLIS, TimeUnit.MILLISECONDS);
    History history = config.historyEnabled() ? histories.get() : null;
    recovery.start(history);
    publisher.open(System.nanoTime() + (late ? Membership.lateJoinGraceNanos(config) : 0));
  }

  /**
   * Stops what {@link #start} started, in reverse: waits (bounded) for queued publishes, then
   * stops the transport and the threads, and closes this node's sessions with 1001 Going Away
   * (they would receive nothing more; a client reconnects, to another node, and resumes).
   * Idempotent.
   */
  synchronized void stop() {
    if (state == State.STOPPED) {
      return;
    }
    boolean wasRunning = state == State.RUNNING;
    state = State.STOPPED;
    publisher.stopping(); // what Redis refuses from now on fails instead of being held
    probe.stop();
    dispatcher.stop();
    if (wasRunning && membership.joined()) {
      publisher.awaitIdle(config.shutdownTimeout().toNanos());
    }
    receipts.stop();
    membership.stop();
    threads.stop();
    local.closeAll();
    publisher.failUnpublished();
    LOG.info("[{}] wscluster node stopped", nodeId);
  }

  /** The rooms whose channels this node subscribes (for tests). */
  java.util.List<String> subscribedRooms() {
    return membership.rooms.subscribed();
  }

  /** The channel of {@code node} in this node's cluster. */
  String nodeChannel(String node) {
    return channels.ofNode(node);
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

  @Override
  public String nodeId() {
    return nodeId;
  }

  @Override
  public String sessionId(Session session) {
    return registry.require(session).id;
  }

  @Override
  public void join(Session session, String room) {
    Target.checkName("room", room);
    registry.join(registry.require(session), room);
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
    return registry.roomsOf(session);
  }

  @Override
  public void setUser(Session session, String userId) {
    if (userId != null) {
      Target.checkName("user", userId);
    }
    registry.setUser(registry.require(session), userId);
  }

  @Override
  public String user(Session session) {
    return registry.userOf(session);
  }

  @Override
  public CompletionStage<Map<String, Boolean>> resume(Session session, String epoch,
      Map<String, String> offsets) {
    Objects.requireNonNull(offsets, "offsets");
    return threads.toApp(recovery.resume(running().registry.require(session), epoch, offsets)
        .toCompletableFuture());
  }

  @Override
  public Map<String, Long> stats() {
    Map<String, Long> snapshot = stats.snapshot();
    local.gauges(snapshot);
    return snapshot;
  }

  @Override
  public Health health() {
    long heldSince = publisher.heldSinceNanos();
    boolean in = membership.joined();
    return new Health(state == State.RUNNING, in, in && probe.ok(), probe.roundTripMicros(),
        membership.presence() == null ? 0 : membership.liveCount(), buffer.messages(),
        heldSince == 0 ? 0 : (System.nanoTime() - heldSince) / 1_000_000);
  }

  @Override
  public Presence presence() {
    return running().membership.view;
  }

  // ---------------------------------------------------------------- sending (app threads)

  @Override
  public CompletionStage<Void> send(Target target, String text) {
    byte[] utf8 = Objects.requireNonNull(text, "text").getBytes(StandardCharsets.UTF_8);
    return threads.toApp(running().sender.send(target, utf8, false, text));
  }

  @Override
  public CompletionStage<Void> send(Target target, byte[] data) {
    Objects.requireNonNull(data, "data");
    return threads.toApp(running().sender.send(target, data, true, null));
  }

  @Override
  public CompletionStage<Delivery> deliver(Target target, String text) {
    byte[] utf8 = Objects.requireNonNull(text, "text").getBytes(StandardCharsets.UTF_8);
    return threads.toApp(running().sender.deliver(target, utf8, false, text));
  }

  @Override
  public CompletionStage<Delivery> deliver(Target target, byte[] data) {
    Objects.requireNonNull(data, "data");
    return threads.toApp(running().sender.deliver(target, data, true, null));
  }

  @Override
  public CompletionStage<Void> sendLocal(Session session, String text) {
    sender.checkSize(text);
    return local.write(running().registry.require(session), Payload.text(text));
  }

  @Override
  public CompletionStage<Void> sendLocal(Session session, byte[] data) {
    sender.checkSize(Objects.requireNonNull(data, "data").length);
    return local.write(running().registry.require(session), Payload.binary(data));
  }

  /** This node, if it runs; else nothing is sent. */
  private ClusterNode running() {
    if (state != State.RUNNING) {
      throw new IllegalStateException("wscluster node " + nodeId + " is " + state
          .name().toLowerCase() + ": nothing was sent");
    }
    return this;
  }
}
