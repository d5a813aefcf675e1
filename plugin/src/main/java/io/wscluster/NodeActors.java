package io.wscluster;

import io.wscluster.spi.Directory;
import io.wscluster.spi.Transport;
import java.util.UUID;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import java.util.function.Function;
import java.util.function.LongSupplier;

/**
 * The actors of one node, built and wired to each other in one place: {@link Sender},
 * {@link Publisher}, {@link Dispatcher}, {@link LocalDelivery}, {@link Receipts}, {@link Probe},
 * {@link Membership}, {@link Recovery}, on the threads of {@link NodeThreads}; each actor says
 * which thread runs it. The test switches of {@link NodeParts} choose components here, at wiring,
 * never in the actors' paths. {@link ClusterNode} starts and stops them.
 */
final class NodeActors {
  private static final long CHAIN_TICK_MILLIS = 100;

  final String nodeId;
  final Channels channels;
  final Stats stats = new Stats();
  final NodeThreads threads;
  final SessionRegistry registry;
  final Inbox inbox;
  final LocalDelivery local;
  final OutageBuffer buffer;
  final Membership membership;
  final Publisher publisher;
  final Receipts receipts;
  final Probe probe;
  final Dispatcher dispatcher;
  final Sender sender;
  final Recovery recovery;

  /**
   * @param onJoined called under {@link Membership}'s lock once the node joined (true: late, after
   *     a start without Redis)
   * @see ClusterNode#ClusterNode(WsClusterConfig, Transport, NodeParts, LongSupplier, Function,
   *     boolean, java.util.function.Supplier) the other parameters
   */
  NodeActors(WsClusterConfig config, Transport transport, NodeParts parts, LongSupplier clock,
      Function<Transport, Directory> directories, boolean countsReceivers,
      Consumer<Boolean> onJoined) {
    nodeId = config.nodeName() + "-" + UUID.randomUUID().toString().substring(0, 8);
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
        threads::callback, onJoined, parts.roomGate);
    publisher = new Publisher(nodeId, channels, transport, codec,
        parts.chains ? ChainSender.chained(codec) : ChainSender.unchained(codec),
        new FrameHistory(parts.replay || parts.chains, parts.replay), buffer, stats, membership,
        threads.publish, scheduler, System::nanoTime,
        config.nodeTtl().plus(config.nodeHeartbeat()).toNanos(), countsReceivers);
    receipts = new Receipts(nodeId, channels, codec, publisher, buffer, local, stats, scheduler,
        config.receiptTimeout().toNanos(), membership::owners);
    probe = new Probe(nodeId, channels.ofNode(nodeId), transport, codec, stats,
        publisher.outgoing::nextSeq, System::nanoTime, config.nodeHeartbeat().toNanos(),
        countsReceivers);
    dispatcher = new Dispatcher(nodeId, channels, codec,
        parts.dedup ? Dedup.perOrigin(nodeId, config.dedupWindow(), originTtl, clock) : Dedup.OFF,
        inbox, stats, clock, originTtl, probe, publisher, receipts, local);
    sender = new Sender(nodeId, config.messageMaxBytes(), channels, codec, publisher, buffer,
        local, receipts, membership, registry, stats);
    recovery = new Recovery(nodeId, codec, stats, threads.replay, threads.timer, parts.seam);
    publisher.recording.recordWith(recovery::history, recovery::onEpoch, local::deliverOwn,
        recovery::tracking, parts.echoOrder);
  }

  /**
   * Once the node joined: the work done every heartbeat (probe, chain syncs, the rooms' sweep)
   * and the chains' gap check every {@value #CHAIN_TICK_MILLIS} ms, on the node's timer.
   */
  void startPeriodic(long heartbeatMillis) {
    ScheduledExecutorService timer = threads.timer;
    long every = heartbeatMillis;
    timer.scheduleWithFixedDelay(probe::run, every, every, TimeUnit.MILLISECONDS);
    timer.scheduleWithFixedDelay(publisher::onHeartbeat, every, every, TimeUnit.MILLISECONDS);
    timer.scheduleWithFixedDelay(membership.rooms::sweep, every, every, TimeUnit.MILLISECONDS);
    timer.scheduleWithFixedDelay(() -> threads.onDispatcher(dispatcher::tick),
        CHAIN_TICK_MILLIS, CHAIN_TICK_MILLIS, TimeUnit.MILLISECONDS);
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
}
