package io.wscluster;

import jakarta.websocket.CloseReason;
import jakarta.websocket.Session;
import java.nio.ByteBuffer;
import java.util.ArrayDeque;
import java.util.concurrent.CompletableFuture;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The frames waiting for one session: at most one run of writes in flight behind which frames
 * queue up to a byte bound ({@link OutboxLimits#maxBytes}: payload plus
 * {@link WsClusterConfig#OUTBOX_FRAME_OVERHEAD} per frame, frames in flight included) and a frame
 * bound. A session is a slow client when a frame would pass a bound, or when its write has made
 * no progress (no write completed, no run started) for {@link OutboxLimits#stallNanos} while frames
 * wait: then the overflow policy applies. A healthy client that reads as fast as it can thus
 * takes any burst the bounds hold (an outage's republished messages arrive at once), however
 * long it needs to read it, while a client that reads nothing is judged within the stall time,
 * and never holds more than the bound. A slow client fills only its own outbox and never delays
 * another session.
 *
 * <p>A run is what is queued when the previous run completed, handed to the session's
 * {@link SessionWriter} at once (up to {@link #MAX_RUN_FRAMES} frames and
 * {@link #MAX_RUN_BYTES} bytes; one frame where the writer cannot batch, or under
 * {@code DROP_OLDEST}, which must be able to drop every frame but the one being written): under
 * load, Jetty writes a run with one system call instead of one per frame. With a write delay
 * ({@link OutboxLimits#delayNanos}), a run starting from idle waits that long for more frames.
 *
 * <p>{@link #offer} may be called from any thread, concurrently. Write completions arrive on the
 * container's threads (sometimes inline, inside the write call); the next run is started from
 * there without recursion. {@link #judge} is called by the node's timer.
 *
 * <p>Jetty's Jakarta remote endpoint keeps the type of the message being sent in an unguarded
 * field: when the application writes a text message to the session directly while the outbox
 * writes a binary one (or the reverse) through the Jakarta API, one of them can fail at once with
 * "Cannot start BINARY message when TEXT message is not complete yet". That failure is transient
 * and nothing was written, so the outbox writes the same frame again (a bounded number of times).
 */
final class Outbox {
  private static final Logger LOG = LoggerFactory.getLogger(Outbox.class);
  static final CloseReason OVERFLOW_CLOSE = new CloseReason(CloseReason.CloseCodes.TRY_AGAIN_LATER,
      "wscluster: client too slow, outbox full");
  static final int MAX_RACE_RETRIES = 1000;
  static final int MAX_RUN_FRAMES = 64;
  static final int MAX_RUN_BYTES = 64 * 1024;

  /** A queued frame and who waits for its write, if anyone. */
  private final class Entry implements SessionWriter.Done {
    final Payload payload;
    final CompletableFuture<Void> written;

    Entry(Payload payload, CompletableFuture<Void> written) {
      this.payload = payload;
      this.written = written;
    }

    /** What it counts against the byte bound. */
    long cost() {
      return payload.length() + WsClusterConfig.OUTBOX_FRAME_OVERHEAD;
    }

    @Override
    public void written(Throwable failure) {
      onWritten(this, failure);
    }
  }

  private final Session session;
  private final SessionWriter writer;
  private final OutboxLimits limits;
  private final WsClusterConfig.Overflow overflow;
  private final Stats stats;
  /** {@link Stats#DELIVERED}, bumped once per write: kept, not looked up. */
  private final java.util.concurrent.atomic.LongAdder delivered;
  private final String nodeId;
  /** Frames not yet handed to the writer; guarded by this. */
  private final ArrayDeque<Entry> queue = new ArrayDeque<>();
  /** Frames of the current run not yet completed; guarded by this. */
  private int inFlight;
  /** What the frames queued and in flight count against the byte bound; guarded by this. */
  private long bytes;
  /** When a write last completed or a run was handed over; guarded by this. */
  private long progressNanos;
  /** A thread is in {@link #drain}, or a delayed drain is scheduled; guarded by this. */
  private boolean draining;
  private boolean closed;
  private int retries;

  Outbox(Session session, int maxFrames, WsClusterConfig.Overflow overflow, Stats stats,
      String nodeId) {
    this(session, SessionWriter.of(session, false), OutboxLimits.frames(maxFrames, overflow), stats,
        nodeId);
  }

  Outbox(Session session, SessionWriter writer, int maxFrames, WsClusterConfig.Overflow overflow,
      Stats stats, String nodeId) {
    this(session, writer, OutboxLimits.frames(maxFrames, overflow), stats, nodeId);
  }

  Outbox(Session session, SessionWriter writer, OutboxLimits limits, Stats stats, String nodeId) {
    this.session = session;
    this.writer = writer;
    this.limits = limits;
    this.overflow = limits.overflow;
    this.stats = stats;
    this.delivered = stats.counter(Stats.DELIVERED);
    this.nodeId = nodeId;
  }

  /**
   * Queues a frame: a {@link Payload}, a {@link String} (text) or a {@link ByteBuffer} (binary,
   * copied once).
   */
  void offer(Object frame) {
    offer(frame, null);
  }

  /**
   * Queues a frame; {@code written}, if not null, completes when the frame is written and fails
   * ({@link WsClusterException}) when it is dropped or its write fails.
   */
  void offer(Object frame, CompletableFuture<Void> written) {
    offer(frame, written, false);
  }

  /**
   * As {@link #offer(Object, CompletableFuture)}; with {@code hold} the frame waits in the queue
   * until {@link #release} (or another offer) starts writing, so frames offered together go out
   * as one run. The caller must call {@link #release} after the last held offer.
   */
  void offer(Object frame, CompletableFuture<Void> written, boolean hold) {
    Payload payload = frame instanceof Payload ? (Payload) frame
        : frame instanceof String ? Payload.text((String) frame)
        : Payload.binary((ByteBuffer) frame);
    String slow = null;
    boolean start = false;
    boolean delay = false;
    Entry entry = new Entry(payload, written);
    Entry dropped = null;
    synchronized (this) {
      if (closed) {
        fail(written, "session " + session.getId() + " is closed");
        return;
      }
      slow = slowness(entry.cost());
      if (slow != null) {
        switch (overflow) {
          case DROP_NEWEST:
            stats.increment(Stats.OVERFLOW_DROPPED);
            fail(written, "outbox of session " + session.getId() + " is full (" + slow
                + "): message dropped");
            return;
          case DROP_OLDEST:
            dropped = queue.poll();
            if (dropped == null) { // stalled with nothing queued: the new one goes instead
              stats.increment(Stats.OVERFLOW_DROPPED);
              fail(written, "outbox of session " + session.getId() + " is full (" + slow
                  + "): message dropped");
              return;
            }
            bytes -= dropped.cost();
            stats.increment(Stats.OVERFLOW_DROPPED);
            slow = null;
            break;
          default:
            closed = true;
            break;
        }
      }
      if (slow == null) {
        queue.add(entry);
        bytes += entry.cost();
        if (!hold && !draining && inFlight == 0) {
          draining = true;
          start = true;
          delay = limits.delayNanos > 0;
        }
      }
    }
    if (dropped != null) {
      fail(dropped.written, "outbox of session " + session.getId() + " is full: message dropped");
    }
    if (slow != null) {
      fail(written, "session " + session.getId() + " closed: " + slow);
      closeSlow(slow);
      return;
    }
    if (start) {
      startDrain(delay);
    }
  }

  /**
   * Guarded by this: why a frame costing {@code cost} makes this a slow client (a bound it would
   * pass, or a write with no progress for the stall time), or null. A frame that finds the outbox
   * empty is always taken, whatever its size.
   */
  private String slowness(long cost) {
    if (waiting() >= limits.maxFrames) {
      return "outbox full, " + limits.maxFrames + " frames";
    }
    if (bytes > 0 && bytes + cost > limits.maxBytes) {
      return "outbox full, " + bytes + " of " + limits.maxBytes + " bytes";
    }
    return stalled(limits.clock.getAsLong());
  }

  /** Guarded by this: why the write is stalled at {@code now}, or null. */
  private String stalled(long now) {
    if (inFlight > 0 && now - progressNanos > limits.stallNanos) {
      return "no write progress for " + (now - progressNanos) / 1_000_000 + " ms";
    }
    return null;
  }

  /**
   * Node timer: judges a client that gets no new frames (the offer judges the others): a stalled
   * write closes the session under {@code close}; the drop policies drop only what is offered.
   */
  void judge() {
    String slow;
    synchronized (this) {
      if (closed || overflow != WsClusterConfig.Overflow.CLOSE) {
        return;
      }
      slow = stalled(limits.clock.getAsLong());
      if (slow == null) {
        return;
      }
      closed = true;
    }
    closeSlow(slow);
  }

  /** The outbox is closed ({@code closed} set under the lock): fails what waits, closes. */
  private void closeSlow(String why) {
    stats.increment(Stats.OVERFLOW_CLOSED);
    LOG.warn("[{}] session {} closed: the client reads too slowly ({})", nodeId,
        session.getId(), why);
    failQueued("session " + session.getId() + " closed: " + why);
    try {
      session.close(OVERFLOW_CLOSE);
    } catch (Exception e) {
      LOG.debug("[{}] closing slow session {} failed", nodeId, session.getId(), e);
    }
  }

  /** Drains now, or after the write delay (the caller set {@code draining}). */
  private void startDrain(boolean delay) {
    if (!delay) {
      drain();
      return;
    }
    try {
      limits.delayer.schedule(this::drain, limits.delayNanos,
          java.util.concurrent.TimeUnit.NANOSECONDS);
    } catch (java.util.concurrent.RejectedExecutionException stopping) {
      drain();
    }
  }

  /** Starts writing what {@link #offer(Object, CompletableFuture, boolean) held}; any thread. */
  void release() {
    synchronized (this) {
      if (draining || inFlight > 0 || queue.isEmpty() || closed) {
        return; // the running drain, or the completion of the run in flight, takes them
      }
      draining = true;
    }
    startDrain(limits.delayNanos > 0);
  }

  /** Queued for a release by the node (see ClusterNode#queueLocally); set at most once. */
  private final java.util.concurrent.atomic.AtomicBoolean releaseMarked =
      new java.util.concurrent.atomic.AtomicBoolean();

  /** Whether the caller is the one to queue this outbox for a release (it was not queued). */
  boolean markForRelease() {
    return !releaseMarked.get() && releaseMarked.compareAndSet(false, true);
  }

  /** The node took it off its release queue: a later hold queues it again. */
  void unmarkForRelease() {
    releaseMarked.set(false);
  }

  /** Bytes counted against the bound now (queued and in flight); for gauges. */
  synchronized long bytes() {
    return bytes;
  }

  /**
   * Frames waiting now (see {@link #waiting}), never more than the frame bound.
   * Any thread; for gauges ({@link ClusterNode#stats()}).
   */
  synchronized int size() {
    return waiting();
  }

  /**
   * Guarded by this: the frames that wait, counted as when one frame was written at a time (the
   * first of the run in flight excluded, the rest of it included), so the bound and the gauge
   * mean the same with runs: at most {@code maxFrames} wait, plus the one being written.
   */
  private int waiting() {
    return queue.size() + Math.max(0, inFlight - 1);
  }

  /** Drops what is queued and refuses more; the session is closing. */
  void close() {
    synchronized (this) {
      closed = true;
    }
    failQueued("session " + session.getId() + " closed");
  }

  private void failQueued(String why) {
    Entry e;
    while (true) {
      synchronized (this) {
        e = queue.poll();
        if (e != null) {
          bytes -= e.cost();
        }
      }
      if (e == null) {
        return;
      }
      fail(e.written, why);
    }
  }

  private static void fail(CompletableFuture<Void> written, String why) {
    if (written != null) {
      written.completeExceptionally(new WsClusterException(why));
    }
  }

  /**
   * Hands runs to the writer until the queue is empty or a run is still being written; the caller
   * set {@code draining}. Completions that arrive inline only count down; this loop goes on.
   */
  private void drain() {
    Entry[] run = new Entry[1];
    for (;;) {
      int n = 0;
      synchronized (this) {
        if (closed || inFlight > 0 || queue.isEmpty()) {
          draining = false;
          return;
        }
        // DROP_OLDEST keeps the newest maxFrames: a frame handed to Jetty cannot be taken back,
        // so under that policy only one is ever handed over
        int limit = writer.batches() && overflow != WsClusterConfig.Overflow.DROP_OLDEST
            ? MAX_RUN_FRAMES : 1;
        int bytes = 0;
        Entry e;
        while (n < limit && (e = queue.peek()) != null
            && (n == 0 || bytes + e.payload.length() <= MAX_RUN_BYTES)) {
          queue.poll();
          if (n == run.length) {
            run = java.util.Arrays.copyOf(run, Math.min(limit, n * 4));
          }
          run[n++] = e;
          bytes += e.payload.length();
        }
        inFlight = n;
        progressNanos = limits.clock.getAsLong();
      }
      if (n > 1) {
        stats.add(Stats.BATCHED_FRAMES, n - 1);
      }
      for (int i = 0; i < n; i++) {
        Entry e = run[i];
        run[i] = null;
        writer.write(e.payload, i < n - 1, e);
      }
    }
  }

  /** Jetty's transient refusal of a message while the app's message of the other type starts. */
  static boolean isMixedTypeRace(Throwable t) {
    String m = t == null ? null : t.getMessage();
    return m != null && m.startsWith("Cannot start ") && m.endsWith(" message is not complete yet");
  }

  /** A write of {@code entry} ended; any thread, possibly inside {@link #drain}. */
  private void onWritten(Entry entry, Throwable failure) {
    boolean retry = false;
    boolean start = false;
    synchronized (this) {
      inFlight--;
      progressNanos = limits.clock.getAsLong();
      if (failure != null && isMixedTypeRace(failure) && retries < MAX_RACE_RETRIES && !closed
          && !writer.batches()) {
        // nothing was written and nothing after it was handed over (runs of one): again, first
        retries++;
        retry = true;
        queue.addFirst(entry);
      } else {
        retries = 0;
        bytes -= entry.cost();
      }
      if (!draining && inFlight == 0 && !queue.isEmpty() && !closed) {
        draining = true;
        start = true; // no delay: frames that queued behind a run are gathered already
      }
    }
    if (retry) {
      stats.increment(Stats.WRITE_RETRIES);
      Thread.yield();
    } else if (failure == null) {
      delivered.increment();
      if (entry.written != null) {
        entry.written.complete(null);
      }
    } else {
      stats.increment(Stats.SEND_FAILED);
      LOG.debug("[{}] write to session {} failed", nodeId, session.getId(), failure);
      if (entry.written != null) {
        entry.written.completeExceptionally(new WsClusterException("write to session "
            + session.getId() + " failed: " + failure, failure));
      }
    }
    if (start) {
      drain();
    }
  }
}
