package io.wscluster;

import io.wscluster.spi.Directory;
import io.wscluster.spi.History;
import io.wscluster.spi.Transport;
import jakarta.websocket.Session;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import java.util.function.LongSupplier;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One node of the cluster: starts and stops the actors that do the work (built and wired in
 * {@link NodeActors}; each says which thread runs it) and serves the application's
 * {@link WsCluster} calls by handing each to the actor it is for.
 */
final class ClusterNode implements WsCluster {
  private static final Logger LOG = LoggerFactory.getLogger(ClusterNode.class);

  private enum State { NEW, RUNNING, STOPPED }

  private final WsClusterConfig config;
  private final NodeParts parts;
  private final NodeActors actors;
  private final Supplier<History> histories;
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
    this.actors = new NodeActors(config, transport, parts, clock, directories, countsReceivers,
        this::onJoined);
  }

  /**
   * Starts the threads and joins the cluster (see {@link Membership#start}): returns once frames
   * published by other nodes reach this one, or, when the transport cannot reach its servers,
   * at once, running local-only. Any other failure stops everything started and is thrown.
   */
  synchronized void start() throws Exception {
    if (state != State.NEW) {
      throw new IllegalStateException("node " + actors.nodeId + " was already started");
    }
    actors.inbox.start(actors.threads.dispatch, actors.dispatcher::dispatch);
    if (parts.flowControl) {
      // slow clients are judged whether or not this node reaches Redis
      long judgeEvery = Math.max(50, Math.min(1000, config.outboxStallTimeout().toMillis() / 4));
      actors.threads.timer.scheduleWithFixedDelay(actors.local::judge, judgeEvery, judgeEvery,
          TimeUnit.MILLISECONDS);
    }
    try {
      actors.membership.start(actors.dispatcher::onFrame, actors.receipts::onNodeGone,
          (live, readStarted) -> {
            actors.receipts.onLeases(live, readStarted);
            actors.publisher.onLiveNodes(live);
          });
    } catch (Exception e) {
      state = State.STOPPED;
      actors.threads.stop();
      throw e;
    }
    state = State.RUNNING;
    if (!parts.dedup) {
      LOG.warn("[{}] TEST HOOK: dedup is off, clients will see duplicates", actors.nodeId);
    }
    LOG.info("[{}] wscluster node started on channel {} with config {}", actors.nodeId,
        actors.channels.broadcast, config);
  }

  /** Under {@link Membership}'s lock, once joined: the periodic work starts, then publishing. */
  private void onJoined(boolean late) {
    actors.startPeriodic(config.nodeHeartbeat().toMillis());
    History history = config.historyEnabled() ? histories.get() : null;
    actors.recovery.start(history);
    actors.publisher.open(System.nanoTime()
        + (late ? Membership.lateJoinGraceNanos(config) : 0));
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
    actors.publisher.stopping(); // what Redis refuses from now on fails instead of being held
    actors.probe.stop();
    actors.dispatcher.stop();
    if (wasRunning && actors.membership.joined()) {
      actors.publisher.awaitIdle(config.shutdownTimeout().toNanos());
    }
    actors.receipts.stop();
    actors.membership.stop();
    actors.threads.stop();
    actors.local.closeAll();
    actors.publisher.failUnpublished();
    LOG.info("[{}] wscluster node stopped", actors.nodeId);
  }

  /** The rooms whose channels this node subscribes (for tests). */
  java.util.List<String> subscribedRooms() {
    return actors.membership.rooms.subscribed();
  }

  /** The channel of {@code node} in this node's cluster. */
  String nodeChannel(String node) {
    return actors.channels.ofNode(node);
  }

  // ---------------------------------------------------------------- sessions (any thread)

  /** Called by the container hook when a session opened; idempotent. */
  void onSessionOpened(Session session) {
    if (state != State.STOPPED) {
      actors.registry.register(session);
    }
  }

  /** Called by the container hook when a session closed; idempotent. */
  void onSessionClosed(Session session) {
    actors.registry.unregister(session);
  }

  @Override
  public String nodeId() {
    return actors.nodeId;
  }

  @Override
  public String sessionId(Session session) {
    return actors.registry.require(session).id;
  }

  @Override
  public void join(Session session, String room) {
    Target.checkName("room", room);
    actors.registry.join(actors.registry.require(session), room);
  }

  @Override
  public void leave(Session session, String room) {
    Target.checkName("room", room);
    LocalSession ls = actors.registry.get(session);
    if (ls != null) {
      actors.registry.leave(ls, room);
    }
  }

  @Override
  public Set<String> rooms(Session session) {
    return actors.registry.roomsOf(session);
  }

  @Override
  public void setUser(Session session, String userId) {
    if (userId != null) {
      Target.checkName("user", userId);
    }
    actors.registry.setUser(actors.registry.require(session), userId);
  }

  @Override
  public String user(Session session) {
    return actors.registry.userOf(session);
  }

  @Override
  public CompletionStage<Map<String, Boolean>> resume(Session session, String epoch,
      Map<String, String> offsets) {
    Objects.requireNonNull(offsets, "offsets");
    NodeActors running = running();
    return actors.threads.toApp(running.recovery.resume(running.registry.require(session), epoch,
        offsets).toCompletableFuture());
  }

  @Override
  public Map<String, Long> stats() {
    Map<String, Long> snapshot = actors.stats.snapshot();
    actors.local.gauges(snapshot);
    return snapshot;
  }

  @Override
  public Health health() {
    long heldSince = actors.publisher.heldSinceNanos();
    boolean in = actors.membership.joined();
    return new Health(state == State.RUNNING, in, in && actors.probe.ok(),
        actors.probe.roundTripMicros(),
        actors.membership.presence() == null ? 0 : actors.membership.liveCount(),
        actors.buffer.messages(),
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
    return actors.threads.toApp(running().sender.send(target, utf8, false, text));
  }

  @Override
  public CompletionStage<Void> send(Target target, byte[] data) {
    Objects.requireNonNull(data, "data");
    return actors.threads.toApp(running().sender.send(target, data, true, null));
  }

  @Override
  public CompletionStage<Delivery> deliver(Target target, String text) {
    byte[] utf8 = Objects.requireNonNull(text, "text").getBytes(StandardCharsets.UTF_8);
    return actors.threads.toApp(running().sender.deliver(target, utf8, false, text));
  }

  @Override
  public CompletionStage<Delivery> deliver(Target target, byte[] data) {
    Objects.requireNonNull(data, "data");
    return actors.threads.toApp(running().sender.deliver(target, data, true, null));
  }

  @Override
  public CompletionStage<Void> sendLocal(Session session, String text) {
    actors.sender.checkSize(text);
    return actors.local.write(running().registry.require(session), Payload.text(text));
  }

  @Override
  public CompletionStage<Void> sendLocal(Session session, byte[] data) {
    actors.sender.checkSize(Objects.requireNonNull(data, "data").length);
    return actors.local.write(running().registry.require(session), Payload.binary(data));
  }

  /** This node's actors, if it runs; else nothing is sent. */
  private NodeActors running() {
    if (state != State.RUNNING) {
      throw new IllegalStateException("wscluster node " + actors.nodeId + " is " + state
          .name().toLowerCase() + ": nothing was sent");
    }
    return actors;
  }
}
