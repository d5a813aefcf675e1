package io.wscluster;

import io.wscluster.spi.Transport;
import jakarta.websocket.Session;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collection;
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
    static final Hooks DEFAULT = new Hooks(true, 0);
    final boolean dedup;
    final int extraSubscriptions;

    Hooks(boolean dedup, int extraSubscriptions) {
      this.dedup = dedup;
      this.extraSubscriptions = extraSubscriptions;
    }
  }

  private enum State { NEW, RUNNING, STOPPED }

  private final WsClusterConfig config;
  private final String nodeId;
  private final Transport transport;
  private final Hooks hooks;
  private final EnvelopeCodec codec;
  private final Deduplicator dedup;
  private final Stats stats = new Stats();
  private final SessionRegistry registry;
  private final String broadcastChannel;
  private final AtomicLong sequence = new AtomicLong();
  private final Object sendLock = new Object();
  private final ConcurrentLinkedQueue<Pending> outgoing = new ConcurrentLinkedQueue<>();
  private final AtomicBoolean publishScheduled = new AtomicBoolean();
  private final LongSupplier nanoClock;
  private volatile State state = State.NEW;
  private ExecutorService dispatcher;
  private ExecutorService publisher;
  /** Publisher-thread state: a frame is being published. */
  private boolean inFlight;
  /** Dispatcher-thread state: rate limit of the rejected-frame warning. */
  private long lastRejectLog;
  private long rejectsSinceLog;

  ClusterNode(WsClusterConfig config, Transport transport, Hooks hooks, LongSupplier nanoClock) {
    this.config = config;
    this.transport = transport;
    this.hooks = hooks;
    this.nanoClock = nanoClock;
    this.nodeId = config.nodeName() + "-" + UUID.randomUUID().toString().substring(0, 8);
    this.codec = new EnvelopeCodec(config.messageMaxBytes());
    this.dedup = new Deduplicator(config.dedupWindow(), config.dedupOriginTtl().toNanos(), nanoClock);
    this.registry = new SessionRegistry(nodeId, s -> new Outbox(s, config.outboxMaxFrames(),
        config.outboxOverflow(), stats, nodeId));
    this.broadcastChannel = config.channelPrefix() + ":all";
    this.lastRejectLog = nanoClock.getAsLong() - REJECT_LOG_INTERVAL_NANOS;
  }

  /**
   * Starts threads and the transport and subscribes; returns once frames published by other nodes
   * reach this one. On failure everything started is stopped again and the cause is thrown.
   */
  synchronized void start() throws Exception {
    if (state != State.NEW) {
      throw new IllegalStateException("node " + nodeId + " was already started");
    }
    dispatcher = Executors.newSingleThreadExecutor(new NamedThreadFactory("dispatch"));
    publisher = Executors.newSingleThreadExecutor(new NamedThreadFactory("publish"));
    try {
      transport.start(this::onFrame);
      transport.subscribe(broadcastChannel).toCompletableFuture().get(30, TimeUnit.SECONDS);
    } catch (Exception e) {
      state = State.STOPPED;
      stopQuietly();
      throw e;
    }
    state = State.RUNNING;
    if (!hooks.dedup) {
      LOG.warn("[{}] TEST HOOK: dedup is off, clients will see duplicates", nodeId);
    }
    LOG.info("[{}] wscluster node started on channel {} with config {}", nodeId, broadcastChannel,
        config);
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
    if (wasRunning) {
      awaitPublished(config.shutdownTimeout().toNanos());
    }
    stopQuietly();
    for (LocalSession ls : registry.all()) {
      registry.unregister(ls.session);
    }
    Pending p;
    while ((p = outgoing.poll()) != null) {
      p.done.completeExceptionally(new WsClusterException("wscluster node " + nodeId
          + " stopped before the message was published"));
    }
    LOG.info("[{}] wscluster node stopped", nodeId);
  }

  private void awaitPublished(long timeoutNanos) {
    // the real clock: the injected one serves dedup and may be a test's frozen clock
    long deadline = System.nanoTime() + timeoutNanos;
    while (System.nanoTime() - deadline < 0) {
      CompletableFuture<Boolean> check = new CompletableFuture<>();
      try {
        publisher.execute(() -> check.complete(outgoing.isEmpty() && !inFlight));
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
    try {
      transport.stop();
    } catch (Exception e) {
      LOG.warn("[{}] transport did not stop cleanly", nodeId, e);
    }
    for (ExecutorService ex : new ExecutorService[] {publisher, dispatcher}) {
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

  @Override
  public Map<String, Long> stats() {
    Map<String, Long> snapshot = stats.snapshot();
    snapshot.put("sessions", (long) registry.size());
    return snapshot;
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
    Object frame = binary ? ByteBuffer.wrap(payload).asReadOnlyBuffer() : text;
    CompletableFuture<Void> done = new CompletableFuture<>();
    // one lock so sequence order = local delivery order = publish order for concurrent senders
    synchronized (sendLock) {
      long seq = sequence.incrementAndGet();
      byte[] encoded = codec.encode(new Envelope(Envelope.KIND_MESSAGE, nodeId, seq, target,
          binary, payload));
      deliverLocally(target, frame);
      outgoing.add(new Pending(encoded, done));
    }
    stats.increment(Stats.PUBLISHED);
    schedulePublish();
    return done;
  }

  @Override
  public CompletionStage<Void> sendLocal(Session session, String text) {
    Objects.requireNonNull(text, "text");
    checkSize(text.length() > config.messageMaxBytes() / 3
        ? text.getBytes(StandardCharsets.UTF_8).length : text.length());
    return writeLocal(session, text);
  }

  @Override
  public CompletionStage<Void> sendLocal(Session session, byte[] data) {
    Objects.requireNonNull(data, "data");
    checkSize(data.length);
    return writeLocal(session, ByteBuffer.wrap(data).asReadOnlyBuffer());
  }

  private CompletionStage<Void> writeLocal(Session session, Object frame) {
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

  private void deliverLocally(Target target, Object frame) {
    Collection<LocalSession> sessions = registry.resolve(target);
    for (LocalSession ls : sessions) {
      ls.outbox.offer(frame);
    }
  }

  // ---------------------------------------------------------------- publishing (publisher thread)

  private static final class Pending {
    final byte[] envelope;
    final CompletableFuture<Void> done;

    Pending(byte[] envelope, CompletableFuture<Void> done) {
      this.envelope = envelope;
      this.done = done;
    }
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

  /** Publishes what is queued as one frame, unless a frame is already on its way. */
  private void publishNext() {
    publishScheduled.set(false);
    if (inFlight || outgoing.isEmpty()) {
      return;
    }
    List<Pending> batch = new ArrayList<>();
    List<byte[]> envelopes = new ArrayList<>();
    int bytes = 3;
    Pending p;
    while (batch.size() < EnvelopeCodec.MAX_ENVELOPES_PER_FRAME && (p = outgoing.peek()) != null) {
      if (!batch.isEmpty() && bytes + p.envelope.length > MAX_FRAME_BYTES) {
        break;
      }
      outgoing.poll();
      batch.add(p);
      envelopes.add(p.envelope);
      bytes += p.envelope.length;
    }
    inFlight = true;
    CompletionStage<Long> published;
    try {
      published = transport.publish(broadcastChannel, EnvelopeCodec.frame(envelopes));
    } catch (RuntimeException e) {
      published = CompletableFuture.failedFuture(e);
    }
    published.whenComplete((receivers, error) -> {
      try {
        publisher.execute(() -> onPublished(batch, error));
      } catch (RejectedExecutionException stopping) {
        onPublished(batch, error);
      }
    });
  }

  private void onPublished(List<Pending> batch, Throwable error) {
    inFlight = false;
    stats.increment(Stats.FRAMES_PUBLISHED);
    if (error == null) {
      for (Pending p : batch) {
        p.done.complete(null);
      }
    } else {
      stats.add(Stats.PUBLISH_FAILED, batch.size());
      LOG.warn("[{}] publishing {} messages failed: {}", nodeId, batch.size(), error.toString());
      WsClusterException failure = new WsClusterException("wscluster node " + nodeId
          + " could not publish the message to the other nodes: " + error, error);
      for (Pending p : batch) {
        p.done.completeExceptionally(failure);
      }
    }
    if (!outgoing.isEmpty()) {
      publishNext();
    }
  }

  // ---------------------------------------------------------------- receiving

  /** Transport threads: hand over, nothing else. */
  private void onFrame(String channel, byte[] frame) {
    stats.increment(Stats.FRAMES_RECEIVED);
    try {
      dispatcher.execute(() -> dispatch(frame));
    } catch (RejectedExecutionException stopping) {
      stats.increment(Stats.DISPATCH_FAILED);
    }
  }

  /** Dispatcher thread: decode, drop own echoes and repeats, deliver the rest locally. */
  private void dispatch(byte[] frame) {
    List<Envelope> envelopes;
    try {
      envelopes = codec.decode(frame);
    } catch (EnvelopeCodec.Rejection r) {
      onRejected(r, frame.length);
      return;
    }
    for (Envelope e : envelopes) {
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
        Object out = e.binary ? ByteBuffer.wrap(e.payload).asReadOnlyBuffer()
            : new String(e.payload, StandardCharsets.UTF_8);
        deliverLocally(e.target, out);
      } catch (RuntimeException ex) {
        stats.increment(Stats.DISPATCH_FAILED);
        LOG.error("[{}] delivering {} failed", nodeId, e, ex);
      }
    }
  }

  private void onRejected(EnvelopeCodec.Rejection r, int length) {
    stats.increment(Stats.REJECTED);
    stats.increment(Stats.REJECTED + "." + r.reason.name().toLowerCase());
    rejectsSinceLog++;
    long now = nanoClock.getAsLong();
    if (now - lastRejectLog >= REJECT_LOG_INTERVAL_NANOS) {
      LOG.warn("[{}] dropped {} malformed frame(s) from Redis; latest: {} bytes, {}: {}", nodeId,
          rejectsSinceLog, length, r.reason, r.getMessage());
      lastRejectLog = now;
      rejectsSinceLog = 0;
    }
  }
}
