package io.wscluster;

import io.wscluster.spi.History;
import io.wscluster.spi.Transport;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.LongFunction;
import java.util.function.LongSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Publishes this node's envelopes, in sequence order, and holds them while Redis does not take
 * them (the outage hold).
 *
 * <p>Threads: any thread queues (under {@link #sendLock}, which also orders the sequence numbers);
 * everything else runs on the one publisher thread ({@code wscluster-publish-n}) given as
 * {@code thread}: one frame at a time, so frames leave in sequence order. Transport callbacks only
 * hand results back to that thread. Time comes from {@code clock} and delays from {@code timer},
 * so tests run it on virtual time.
 *
 * <p>A frame is done when Redis took it and every node that should have it received it (with a
 * transport whose publish does not count receivers: when the transport took it); else it is held
 * (see {@link #hold}).
 */
final class Publisher {
  private static final Logger LOG = LoggerFactory.getLogger(Publisher.class);
  /** A soft limit on one published frame; a single larger envelope still goes alone. */
  static final int MAX_FRAME_BYTES = 512 * 1024;
  /** Pause between two publishes of a held frame: Redis reconnects every 200 ms. */
  static final long RETRY_PAUSE_NANOS = TimeUnit.MILLISECONDS.toNanos(200);

  /** Orders sends: sequence order = local delivery order = publish order. */
  final Object sendLock = new Object();
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
  private final AtomicLong sequence = new AtomicLong();
  private final ConcurrentLinkedQueue<Pending> outgoing = new ConcurrentLinkedQueue<>();
  private final AtomicBoolean publishScheduled = new AtomicBoolean();
  private volatile boolean running = true;
  /** Frames go to the transport only once open, and not before {@link #publishAfterNanos}. */
  private volatile boolean open;
  private volatile long publishAfterNanos;
  private final HeldFrames held = new HeldFrames();
  /** Publisher-thread state: the frame being published, if any (one at a time). */
  private Frame inFlight;
  /** The history recorded messages are written to, once there is one (see {@link #recordWith}). */
  private volatile java.util.function.Supplier<History> messageHistory = () -> null;
  private volatile java.util.function.Consumer<String> epochs = e -> { };
  private volatile java.util.function.BiConsumer<Pending.Own, String> own = (o, id) -> { };
  /** Publisher-thread state: the last {@link Frame#historyToken} given. */
  private long historyTokens;

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
    this.transport = transport;
    this.codec = codec;
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
  }

  // ---------------------------------------------------------------- any thread

  /**
   * At wiring: recorded messages go to {@code history}'s current value (none while it is null),
   * the epochs it reports to {@code epochs}, and once a message's id is known (or it was
   * published without one) it goes to this node's tracked sessions through {@code own}, on the
   * publisher thread.
   */
  void recordWith(java.util.function.Supplier<History> history,
      java.util.function.Consumer<String> epochs,
      java.util.function.BiConsumer<Pending.Own, String> own) {
    this.messageHistory = history;
    this.epochs = epochs;
    this.own = own;
  }

  /** The next sequence number of this node; under {@link #sendLock} where order matters. */
  long nextSeq() {
    return sequence.incrementAndGet();
  }

  /** Under {@link #sendLock}: queues an envelope; {@link #schedulePublish} sends it. */
  void enqueue(Pending p) {
    outgoing.add(p);
  }

  /** What is queued and not yet taken into a frame, oldest first: a snapshot, for tests. */
  List<Pending> queued() {
    return List.copyOf(outgoing);
  }

  /**
   * Queues an envelope of this node's own (a receipt or a sync; no application message) for
   * {@code to} (null: the broadcast channel) with the next sequence number. {@code counted}: in
   * the outage buffer, whatever it holds (receipts); syncs are not, as they are no messages.
   */
  void queue(LongFunction<Envelope> envelope, CompletableFuture<List<String>> to,
      boolean counted) {
    synchronized (sendLock) {
      byte[] encoded = codec.encode(envelope.apply(nextSeq()));
      if (counted) {
        buffer.admitted(encoded.length);
      }
      outgoing.add(new Pending(encoded, new CompletableFuture<>(), to, counted));
    }
  }

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
    unpublished.addAll(outgoing);
    outgoing.clear();
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

  /** Publisher thread: an envelope alone, unchained, to {@code node}, ahead of all; never held. */
  void publishNow(String node, LongFunction<Envelope> envelope) {
    byte[] frame = codec.frame(List.of(codec.encode(envelope.apply(nextSeq()))));
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
    // envelopes for the same channels share a frame (a burst to one room, or to all)
    List<String> to = first.to;
    List<Pending> batch = new ArrayList<>();
    int bytes = EnvelopeCodec.HEADER_BYTES;
    Pending p;
    while (batch.size() < EnvelopeCodec.MAX_ENVELOPES_PER_FRAME && (p = outgoing.peek()) != null) {
      if (p.channels != null || !java.util.Objects.equals(p.to, to)
          || !batch.isEmpty() && bytes + p.envelope.length > MAX_FRAME_BYTES) {
        break;
      }
      outgoing.poll();
      batch.add(p);
      bytes += p.envelope.length;
    }
    publish(chains.frame(batch, to == null ? List.of(channels.broadcast) : to, now));
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
    if (to.isEmpty() && (messageHistory.get() == null || !frame.recordsHistory())) {
      onPublished(frame, null, Map.of(), null); // every target is local, or nowhere
      return;
    }
    publish(frame); // with no channel: written to the history only
  }

  /** One publish of a frame to each of its channels; the outcome comes back to this thread. */
  private void publish(Frame frame) {
    inFlight = frame;
    frame.attempts++;
    History h = messageHistory.get();
    CompletableFuture<List<Long>> attempt;
    if (h != null && frame.kind == Frame.Kind.NEW && frame.ids == null
        && frame.recordsHistory()) {
      if (frame.historyToken == 0) {
        frame.historyToken = ++historyTokens;
      }
      List<History.Message> messages = new ArrayList<>();
      for (Pending p : frame.batch) {
        if (p.own != null) {
          messages.add(new History.Message(p.own.streams(), codec.frame(List.of(p.envelope))));
        }
      }
      attempt = PublishAttempt.ofHistory(frame, h, messages, nodeId, epochs, timer);
    } else {
      attempt = PublishAttempt.of(frame, transport, timer);
    }
    attempt.whenComplete((receivers, error) -> {
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
   * owner on a node channel, the room's nodes on a room channel), else held (see {@link #hold}); then the next frame.
   */
  private void onPublished(Frame frame, List<Long> receivers, Map<String, Long> expected,
      Throwable error) {
    inFlight = null;
    if (error == null) {
      deliverOwn(frame);
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
    deliverOwn(frame);
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

  /**
   * Node {@code requester} misses the links {@code from}..{@code to} of this node's chain on the
   * broadcast channel, on {@code room}'s channel (a room named), or, {@code direct}, on its own
   * channel. The ones still kept go out before
   * anything queued, behind a frame in flight; receivers that have them drop the repeats. Those
   * no longer kept are counted; the requester counts them lost.
   */
  private void resend(String requester, boolean direct, String room, long from, long to) {
    String requesterChannel = channels.ofNode(requester);
    String channel = direct ? requesterChannel
        : room.isEmpty() ? channels.broadcast : channels.ofRoom(room);
    // the chain a copy names in its head: null for the requester's own, "" for the broadcast
    String chain = direct ? null : room;
    // asked for again before those went out: once is enough
    Set<Long> waiting = held.resendsWaiting(requesterChannel, chain);
    long now = clock.getAsLong();
    List<Frame> found = new ArrayList<>();
    long[] already = {0};
    history.forEachOn(channel, from, to, (f, i) -> {
      if (waiting.contains(f.links[i])) {
        already[0]++;
      } else {
        found.add(chains.resentTo(f, i, requesterChannel, chain, now));
      }
    });
    long missed = to - from + 1 - found.size() - already[0];
    LOG.info("[{}] node {} asked for frames {} to {} of the {} chain again: {} of them{}", nodeId,
        requester, from, to, direct ? "direct" : channel, found.size(),
        missed == 0 ? "" : "; " + missed + " are no longer kept");
    if (missed > 0) {
      stats.add(Stats.RESEND_MISSED, missed);
    }
    if (found.isEmpty()) {
      return;
    }
    held.resendFirst(found, inFlight, now);
    publishNext();
  }

  /**
   * Every heartbeat: a sync (an envelope that only carries its frame's link) on each channel that
   * got frames since the last one, so a receiver learns of lost frames at the end of a stream
   * too, not only when the next frame comes.
   */
  private void syncChains() {
    if (!running || !chains.anyUnsynced() || !held.isEmpty()) {
      return; // nothing new, or an outage: the held frames carry their links
    }
    rooms.expire();
    for (String channel : chains.takeUnsynced()) {
      if (channel.equals(channels.broadcast)) {
        queue(seq -> Envelope.sync(nodeId, seq), null, false);
      } else if (channels.roomOf(channel) != null) {
        queueSync(channel);
      } else if (peers.isLive(channels.nodeOf(channel))) {
        queue(seq -> Envelope.sync(nodeId, seq), CompletableFuture.completedFuture(
            List.of(channel)), false);
      }
    }
    schedulePublish();
  }

  /** A sync for a room channel: queued like a room message, with the channel known at once. */
  private void queueSync(String channel) {
    synchronized (sendLock) {
      outgoing.add(new Pending(codec.encode(Envelope.sync(nodeId, nextSeq())),
          new CompletableFuture<>(), null, List.of(channel), false, null));
    }
  }

  /**
   * Once per new frame, when Redis took it (its ids known if it was recorded) or it was given up:
   * its recorded messages go to this node's tracked sessions, which the local-first write left
   * out because their frames carry the ids.
   */
  private void deliverOwn(Frame frame) {
    if (frame.ownDelivered || frame.kind != Frame.Kind.NEW) {
      return;
    }
    frame.ownDelivered = true;
    List<String> ids = frame.ids;
    int k = 0;
    for (Pending p : frame.batch) {
      if (p.own != null) {
        own.accept(p.own, ids != null && k < ids.size() ? ids.get(k++) : null);
      }
    }
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
