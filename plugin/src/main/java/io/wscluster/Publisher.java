package io.wscluster;

import io.wscluster.spi.Transport;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.LongFunction;
import java.util.function.LongSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Publishes this node's envelopes, in sequence order, and holds them while Redis does not take
 * them (the outage hold).
 *
 * <p>Threads: any thread queues on {@link #outgoing} and calls {@link #schedulePublish}; everything
 * else runs on the one publisher thread ({@code wscluster-publish-n}) given as {@code thread}: one
 * frame at a time, so frames leave in sequence order. Transport callbacks only
 * hand results back to that thread. Time comes from {@code clock} and delays from {@code timer},
 * so tests run it on virtual time.
 *
 * <p>A frame is done when Redis took it and every node that should have it received it (with a
 * transport whose publish does not count receivers: when the transport took it); else it is held
 * (see {@link #hold}).
 */
final class Publisher {
  private static final Logger LOG = LoggerFactory.getLogger(Publisher.class);
  /**
   * A soft limit on one published frame; a single larger envelope still goes alone. Small enough
   * that a backlog (what waited out an outage) goes as several frames: receivers then interleave
   * the backlogs of all nodes instead of writing one node's whole backlog to their sessions before
   * the first message of the next.
   */
  static final int MAX_FRAME_BYTES = 64 * 1024;
  /** Pause between two publishes of a held frame: Redis reconnects every 200 ms. */
  static final long RETRY_PAUSE_NANOS = TimeUnit.MILLISECONDS.toNanos(200);

  /** What waits to be published, in sequence order; any thread queues there. */
  final Outgoing outgoing;
  /** Writes recorded frames to the message history; see {@link HistoryPublish#recordWith}. */
  final HistoryPublish recording;
  private final String nodeId;
  private final Channels channels;
  private final Transport transport;
  private final EnvelopeCodec codec;
  private final ChainSender chains;
  private final FrameHistory history;
  private final OutageBuffer buffer;
  private final Stats stats;
  private final Peers peers;
  private final Executor thread;
  private final Scheduler timer;
  private final LongSupplier clock;
  private final long shortfallHoldNanos;
  private final boolean countsReceivers;
  private final RoomCounts rooms;
  private final Resends resends;
  private final AtomicBoolean publishScheduled = new AtomicBoolean();
  private volatile boolean running = true;
  /** Frames go to the transport only once open, and not before {@link #publishAfterNanos}. */
  private volatile boolean open;
  private volatile long publishAfterNanos;
  private final HeldFrames held = new HeldFrames();
  /** Publisher-thread state: the frame being published, if any (one at a time). */
  private Frame inFlight;
  /** Publisher-thread state: the live nodes last told, when each was last live, resyncs left. */
  private Set<String> lastLive = Set.of();
  private final Map<String, Long> liveAt = new java.util.HashMap<>();
  private int resyncs;
  /** How long a node no longer live is remembered as one that was (later it counts as new). */
  static final long REMEMBER_LIVE_NANOS = TimeUnit.MINUTES.toNanos(10);
  /** Heartbeats after a node became live in which every recently used chain gets a sync. */
  static final int RESYNC_HEARTBEATS = 5;

  /**
   * @param shortfallHoldNanos how long a frame is held for subscriptions that do not come (a
   *     lease ttl and a heartbeat: a node still listed live is back by then or no longer listed);
   *     a publish error holds a frame without limit, the outage buffer bounds what waits behind
   * @param countsReceivers whether a publish completes with the subscriptions the frame reached;
   *     if not, the number means nothing and no frame is held for a shortfall
   */
  Publisher(String nodeId, Channels channels, Transport transport, EnvelopeCodec codec,
      ChainSender chains, FrameHistory history, OutageBuffer buffer, Stats stats, Peers peers,
      Executor thread, Scheduler timer, LongSupplier clock, long shortfallHoldNanos,
      boolean countsReceivers) {
    this.nodeId = nodeId;
    this.channels = channels;
    this.chains = chains;
    this.history = history;
    this.buffer = buffer;
    this.stats = stats;
    this.peers = peers;
    this.thread = thread;
    this.timer = timer;
    this.clock = clock;
    this.shortfallHoldNanos = shortfallHoldNanos;
    this.countsReceivers = countsReceivers;
    this.rooms = new RoomCounts(channels, peers, clock, RoomCounts.FRESH_NANOS);
    this.outgoing = new Outgoing(nodeId, codec, buffer);
    this.recording = new HistoryPublish(nodeId, transport, codec, timer);
    this.resends = new Resends(nodeId, channels, chains, history, held, stats);
    this.transport = transport;
    this.codec = codec;
  }

  // ---------------------------------------------------------------- any thread

  /** Lets frames go to the transport, not before {@code afterNanos} (see {@link Membership}). */
  void open(long afterNanos) {
    publishAfterNanos = afterNanos;
    open = true;
    schedulePublish();
    long wait = afterNanos - clock.getAsLong();
    if (wait > 0) {
      later(this::schedulePublish, wait);
    }
  }

  void schedulePublish() {
    if (publishScheduled.compareAndSet(false, true)) {
      try {
        thread.execute(this::publishNext);
      } catch (RejectedExecutionException stopping) {
        publishScheduled.set(false);
      }
    }
  }

  /** When the frames now held were first refused, 0 while none is (on this publisher's clock). */
  long heldSinceNanos() {
    return held.sinceNanos();
  }

  /** Messages held back: a frame refused now fails them instead (the node stops). */
  void stopping() {
    running = false;
  }

  /** The stopping thread: waits (real time, bounded) until nothing is queued, in flight or held. */
  void awaitIdle(long timeoutNanos) {
    long deadline = System.nanoTime() + timeoutNanos;
    while (System.nanoTime() - deadline < 0) {
      CompletableFuture<Boolean> check = new CompletableFuture<>();
      try {
        thread.execute(() -> check.complete(outgoing.isEmpty() && inFlight == null
            && held.isEmpty()));
        if (check.get(100, TimeUnit.MILLISECONDS)) {
          return;
        }
        Thread.sleep(10);
      } catch (Exception e) {
        return; // the thread is gone: nothing will be published any more
      }
    }
    LOG.warn("[{}] stopping with {} messages not yet published", nodeId, outgoing.size());
  }

  /** Once the publisher thread ended: fails what was never published, each once; forgets all. */
  void failUnpublished() {
    List<Pending> unpublished = held.clear(); // completed replays among them: skipped
    history.clear();
    unpublished.addAll(outgoing.drain());
    failStopped(unpublished);
  }

  /** Any thread: a node asks for frames again; handled on the publisher thread. */
  void onResendRequest(String requester, boolean direct, String room, long from, long to) {
    onThread(() -> resend(requester, direct, room, from, to));
  }

  /** Any thread, every heartbeat: the chains' syncs, on the publisher thread. */
  void onHeartbeat() {
    onThread(this::syncChains);
  }

  /**
   * Presence heartbeat, after each read of the leases: the live nodes. A node live again after it
   * was not (its lease lapsed, and nothing was held for it meanwhile) gets a sync on every chain
   * that carried frames within the time they are kept, for the next {@link #RESYNC_HEARTBEATS}
   * heartbeats: it sees the gap and asks for what it missed, even after the stream ended or before
   * it was subscribed again. A node live for the first time gets none: it has no chain to resume.
   */
  void onLiveNodes(Set<String> live) {
    Set<String> now = Set.copyOf(live);
    onThread(() -> {
      long at = clock.getAsLong();
      liveAt.values().removeIf(t -> at - t > REMEMBER_LIVE_NANOS);
      for (String node : now) {
        if (!lastLive.contains(node) && liveAt.containsKey(node)) {
          resyncs = RESYNC_HEARTBEATS;
        }
        liveAt.put(node, at);
      }
      lastLive = now;
    });
  }

  /** Publisher thread: an envelope alone, unchained, to {@code node}, ahead of all; never held. */
  void publishNow(String node, LongFunction<Envelope> envelope) {
    byte[] frame = codec.frame(List.of(codec.encode(envelope.apply(outgoing.nextSeq()))));
    try {
      transport.publish(channels.ofNode(node), frame);
    } catch (RuntimeException e) {
      LOG.debug("[{}] frame to {} not published: {}", nodeId, node, e.toString());
    }
  }

  /** Any thread: runs {@code task} on the publisher thread; nothing once it stopped. */
  void onThread(Runnable task) {
    try {
      thread.execute(task);
    } catch (RejectedExecutionException stopping) { // the node stops: nothing is published now
    }
  }

  private void later(Runnable task, long delayNanos) {
    try {
      timer.schedule(task, delayNanos);
    } catch (RejectedExecutionException stopping) { // the node stops
    }
  }

  // ---------------------------------------------------------------- publisher thread

  /**
   * Publishes what is queued as one frame, unless a frame is already on its way or frames wait to
   * be published again (an outage: nothing passes them, so per-origin order holds).
   */
  private void publishNext() {
    publishScheduled.set(false);
    long now = clock.getAsLong();
    if (inFlight != null || !open || now - publishAfterNanos < 0) {
      return; // local-only or just joined: opening schedules this again
    }
    Frame head = held.peek();
    if (head != null) {
      if (held.due(now)) {
        publish(head);
      }
      return;
    }
    Pending first = outgoing.peek();
    if (first == null) {
      return;
    }
    if (first.channels != null) {
      publishRouted(first, now);
      return;
    }
    List<String> to = first.to;
    publish(chains.frame(outgoing.batch(MAX_FRAME_BYTES),
        to == null ? List.of(channels.broadcast) : to, now));
  }

  /** Publishes a routed envelope alone, to each owning node's channel, once its lookup is done. */
  private void publishRouted(Pending head, long now) {
    if (!head.channels.isDone()) {
      head.channels.whenComplete((c, e) -> schedulePublish());
      return;
    }
    outgoing.poll();
    List<String> to = head.channels.isCompletedExceptionally() ? List.of(channels.broadcast)
        : head.channels.join();
    Frame frame = chains.frame(List.of(head), to, now);
    if (to.isEmpty() && !recording.records(frame)) {
      onPublished(frame, null, Map.of(), null); // every target is local, or nowhere
      return;
    }
    publish(frame); // with no channel: written to the history only
  }

  /** One publish of a frame to each of its channels; the outcome comes back to this thread. */
  private void publish(Frame frame) {
    inFlight = frame;
    frame.attempts++;
    recording.attempt(frame).whenComplete((receivers, error) -> {
      if (error == null && countsReceivers) {
        // a room channel's receivers are checked against the room's nodes: maybe a lookup
        rooms.expected(frame.channels, receivers).whenComplete((expected, e) ->
            toThread(frame, receivers, expected, null));
      } else {
        toThread(frame, receivers, Map.of(), error);
      }
    });
  }

  private void toThread(Frame frame, List<Long> receivers, Map<String, Long> expected,
      Throwable error) {
    try {
      thread.execute(() -> onPublished(frame, receivers, expected, error));
    } catch (RejectedExecutionException stopping) {
      onPublished(frame, receivers, expected, error);
    }
  }

  /**
   * The outcome of one publish of {@code frame}: done when Redis took it and as many subscriptions
   * received it as there are nodes to receive it (every live node on the broadcast channel, the
   * owner on a node channel, the room's nodes on a room channel), else held (see {@link #hold});
   * then the next frame.
   */
  private void onPublished(Frame frame, List<Long> receivers, Map<String, Long> expected,
      Throwable error) {
    inFlight = null;
    if (error == null) {
      recording.deliverOwn(frame);
    }
    String missing = error != null ? error.toString()
        : PublishAttempt.shortfall(frame, countsReceivers ? receivers : null, expected, channels,
            peers);
    long now = clock.getAsLong();
    if (missing != null && error == null && frame.shortfallSinceNanos == 0) {
      frame.shortfallSinceNanos = now;
    }
    // a copy for one node is not held: if that node is gone, holding it would stop this node's
    // publishing; if not, it asks again
    if (missing != null && running && frame.kind != Frame.Kind.RESENT
        && (error != null || now - frame.shortfallSinceNanos < shortfallHoldNanos)) {
      hold(frame, missing, now);
      return;
    }
    held.passed(frame, now);
    if (frame.kind != Frame.Kind.NEW) {
      // its messages completed when Redis first took them, and it is kept in the history since:
      // only whether it got through counts
      if (missing == null) {
        stats.add(frame.kind == Frame.Kind.REPLAY ? Stats.OUTAGE_REPLAYED : Stats.FRAMES_RESENT,
            frame.kind == Frame.Kind.REPLAY ? frame.messages() : 1);
      } else if (frame.kind == Frame.Kind.REPLAY) {
        // the other replays would wait as long for the same node, each in turn: they go too
        held.dropReplays();
      }
    } else {
      done(frame, missing, now);
    }
    if (!held.isEmpty() || !outgoing.isEmpty()) {
      publishNext();
    }
  }

  /** A new frame is published, or given up on: its messages complete. */
  private void done(Frame frame, String missing, long now) {
    stats.increment(Stats.FRAMES_PUBLISHED);
    if (frame.attempts > 1) {
      stats.add(Stats.OUTAGE_REPUBLISHED, frame.messages());
      LOG.info("[{}] published {} held message(s) after {} attempts in {} ms", nodeId,
          frame.messages(), frame.attempts, (now - frame.firstAttemptNanos) / 1_000_000);
    }
    if (missing != null && !running) {
      failStopped(frame.batch);
      return;
    }
    if (missing != null) {
      // a node listed live never subscribed within a lease ttl: it is gone in all but name
      stats.add(Stats.OUTAGE_GAVE_UP, frame.messages());
      LOG.warn("[{}] gave up waiting for every node to receive {} messages: {}", nodeId,
          frame.messages(), missing);
    }
    history.remember(frame, now); // given up or not, nodes that lack it may still ask for it
    recording.deliverOwn(frame);
    for (Pending p : frame.batch) {
      if (p.done.complete(null)) {
        buffer.release(p);
      }
    }
  }

  /**
   * {@code frame} did not reach every node; it is published again after a pause. When it is the
   * first frame refused (an outage begins), the frames Redis took in the second before are held
   * in front of it and published again as well: Redis counts a subscriber as reached when the
   * message is in its output buffer, and a crash (or a killed subscriber connection) loses what
   * was still there, while its publisher saw success. Receivers that had them drop the repeats;
   * whoever lost them gets them, in order.
   */
  private void hold(Frame frame, String missing, long now) {
    if (held.refused(frame, now, RETRY_PAUSE_NANOS)) {
      int replayed = 0;
      for (Frame r : history.toReplay(now)) {
        held.replayFirst(chains.replayOf(r, now));
        replayed += r.messages();
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
    later(this::schedulePublish, RETRY_PAUSE_NANOS);
  }

  /** A node asks for frames again: the copies still kept go out before anything queued. */
  private void resend(String requester, boolean direct, String room, long from, long to) {
    long now = clock.getAsLong();
    List<Frame> copies = resends.copies(requester, direct, room, from, to, now);
    if (!copies.isEmpty()) {
      held.resendFirst(copies, inFlight, now); // behind a frame in flight
      publishNext();
    }
  }

  /**
   * Every heartbeat: a sync (an envelope that only carries its frame's link) on each channel that
   * got frames since the last one, so a receiver learns of lost frames at the end of a stream
   * too, not only when the next frame comes.
   */
  private void syncChains() {
    if (!running || !chains.anyUnsynced() && resyncs == 0 || !held.isEmpty()) {
      return; // nothing new, or an outage: the held frames carry their links
    }
    rooms.expire();
    Set<String> toSync = new java.util.LinkedHashSet<>(chains.takeUnsynced());
    if (resyncs > 0) {
      resyncs--;
      toSync.addAll(chains.activeSince(clock.getAsLong() - FrameHistory.KEEP_NANOS));
    }
    for (String channel : toSync) {
      if (channel.equals(channels.broadcast)) {
        outgoing.add(seq -> Envelope.sync(nodeId, seq), null, false);
      } else if (channels.roomOf(channel) != null) {
        outgoing.addSync(channel);
      } else if (peers.isLive(channels.nodeOf(channel))) {
        outgoing.add(seq -> Envelope.sync(nodeId, seq), CompletableFuture.completedFuture(
            List.of(channel)), false);
      }
    }
    schedulePublish();
  }

  /** Fails messages the node stopped before publishing; each one once, whoever comes first. */
  private void failStopped(List<Pending> unpublished) {
    for (Pending p : unpublished) {
      if (p.done.completeExceptionally(new WsClusterException("wscluster node " + nodeId
          + " stopped before the message was published")) && p.counted) {
        buffer.release(p);
        stats.increment(Stats.OUTAGE_DROPPED);
        stats.increment(Stats.PUBLISH_FAILED);
      }
    }
  }
}
