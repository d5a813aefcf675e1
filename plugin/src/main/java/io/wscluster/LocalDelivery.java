package io.wscluster;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The one place that writes to this node's sessions: every message for a local session, from
 * this node or another, goes into that session's {@link Outbox} here.
 *
 * <p>Threads: {@link #queue} on app threads (under the publisher's send lock, so local order is
 * sequence order); {@link #deliver} and {@link #writeRecording} on the dispatcher; {@link #write}
 * on app threads; {@link #judge} on the timer thread.
 */
final class LocalDelivery {
  private static final Logger LOG = LoggerFactory.getLogger(LocalDelivery.class);
  private final String nodeId;
  private final SessionRegistry registry;
  private final Inbox inbox;
  private final Stats stats;

  LocalDelivery(String nodeId, SessionRegistry registry, Inbox inbox) {
    this(nodeId, registry, inbox, new Stats());
  }

  LocalDelivery(String nodeId, SessionRegistry registry, Inbox inbox, Stats stats) {
    this.nodeId = nodeId;
    this.registry = registry;
    this.inbox = inbox;
    this.stats = stats;
  }

  /**
   * App thread, under the send lock: queues a message for the local sessions of its target, in
   * send order, and has the dispatcher start their writes. Messages sent while it works (a burst,
   * or a busy node) are then written to each session as one run, one system call, and the sending
   * thread (often one of Jetty's, which read the client's frame) does no socket writes.
   */
  void queue(Target target, Payload frame) {
    queue(target, frame, false);
  }

  /**
   * As {@link #queue(Target, Payload)}; a {@code recorded} message (see {@link Pending#own}) skips
   * the tracked sessions: they get it from {@link #deliverOwn} once its history id is known.
   */
  void queue(Target target, Payload frame, boolean recorded) {
    boolean any = false;
    for (LocalSession ls : registry.resolve(target)) {
      Tracked t = ls.tracked;
      if (t != null) {
        if (!recorded) {
          t.write(ls, null, null, frame, null, null, stats);
        }
        continue;
      }
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
   * outbox to {@code batch}, the inbox's open batch, which starts their writes at its end.
   */
  void deliver(Target target, Payload frame, Set<Outbox> batch) {
    deliver(target, null, null, frame, batch);
  }

  /**
   * As {@link #deliver(Target, Payload, Set)} for a message of history id {@code id} (null: none)
   * in {@code streams} (null: not recorded): tracked sessions get it with its offsets.
   */
  void deliver(Target target, String id, java.util.List<String> streams, Payload frame,
      Set<Outbox> batch) {
    for (LocalSession ls : registry.resolve(target)) {
      Tracked t = ls.tracked;
      if (t != null) {
        t.write(ls, id, streams, frame, null, batch, stats);
        continue;
      }
      ls.outbox.offer(frame, null, true);
      batch.add(ls.outbox);
    }
  }

  /**
   * Publisher or timer thread: one of this node's recorded messages, for its tracked sessions only
   * (the others had it local-first), with its history id (null: it has none). See
   * {@link HistoryPublish#deliverOwn}.
   */
  void deliverOwn(Pending.Own own, String id) {
    deliverOwn(own, id, null);
  }

  /**
   * As {@link #deliverOwn(Pending.Own, String)}; from the dispatcher thread (its echo) with the
   * inbox's open {@code batch}, else null.
   */
  void deliverOwn(Pending.Own own, String id, Set<Outbox> batch) {
    for (LocalSession ls : registry.resolve(own.target())) {
      Tracked t = ls.tracked;
      if (t != null) {
        t.write(ls, id, id == null ? null : own.streams(), own.payload(), null, batch, stats);
      }
    }
  }

  /**
   * Writes a frame to the local sessions a target matches, recording per session id "" (written)
   * or why not. The stage completes, never exceptionally, once every write finished.
   */
  CompletableFuture<Void> writeRecording(Target target, Payload frame,
      Map<String, String> results) {
    List<CompletableFuture<Void>> writes = new ArrayList<>();
    for (LocalSession ls : registry.resolve(target)) {
      CompletableFuture<Void> written = new CompletableFuture<>();
      writes.add(written.whenComplete((ok, error) -> results.put(ls.id, error == null ? ""
          : reason(error))));
      offer(ls, frame, written);
    }
    return CompletableFuture.allOf(writes.toArray(new CompletableFuture<?>[0]))
        .handle((v, error) -> null);
  }

  /** App thread: one message to one local session, through its outbox. */
  CompletableFuture<Void> write(LocalSession ls, Payload frame) {
    CompletableFuture<Void> written = new CompletableFuture<>();
    offer(ls, frame, written);
    return written;
  }

  /** A message outside any stream, to one session: a tracked one gets an empty header. */
  private void offer(LocalSession ls, Payload frame, CompletableFuture<Void> written) {
    Tracked t = ls.tracked;
    if (t != null) {
      t.write(ls, null, null, frame, written, null, stats);
    } else {
      ls.outbox.offer(frame, written);
    }
  }

  /** Timer thread: closes the sessions whose writes stalled and that get nothing new. */
  void judge() {
    try {
      for (LocalSession ls : registry.all()) {
        ls.outbox.judge();
      }
    } catch (RuntimeException e) {
      LOG.warn("[{}] judging slow clients failed", nodeId, e);
    }
  }

  /**
   * Adds the gauges of the local sessions: {@code sessions}; the deepest outbox and the total
   * queued, and the bytes they count against the byte bound. Costs two short locks per session.
   */
  void gauges(Map<String, Long> snapshot) {
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
  }

  /** Unregisters every session (the node stops; the sessions are left to their container). */
  void forgetAll() {
    for (LocalSession ls : registry.all()) {
      registry.unregister(ls.session);
    }
  }

  /**
   * The node stops: unregisters every session and closes it with 1001 Going Away, so its client
   * learns now (not at its next send) that nothing more comes, and reconnects.
   */
  void closeAll() {
    for (LocalSession ls : registry.all()) {
      registry.unregister(ls.session);
      try {
        if (ls.session.isOpen()) {
          ls.session.close(GOING_AWAY);
        }
      } catch (Exception | LinkageError e) {
        LOG.debug("[{}] closing session {} at stop: {}", nodeId, ls.id, e.toString());
      }
    }
  }

  static final jakarta.websocket.CloseReason GOING_AWAY = new jakarta.websocket.CloseReason(
      jakarta.websocket.CloseReason.CloseCodes.GOING_AWAY, "wscluster node stopping");

  private static String reason(Throwable error) {
    Throwable t = error instanceof java.util.concurrent.CompletionException
        && error.getCause() != null ? error.getCause() : error;
    String m = String.valueOf(t.getMessage());
    return m.length() > 200 ? m.substring(0, 200) : m;
  }
}
