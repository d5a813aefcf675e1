package io.wscluster;

import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.Set;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * What waits for a node's dispatcher thread: frames the transport handed over, and the outboxes
 * that hold this node's own messages (see {@link #hold}). One task drains both, so a burst wakes
 * the dispatcher once, and the writes they cause start once per batch: a session whose messages
 * queued meanwhile (a burst, a busy node) gets them as one run, one system call, instead of one
 * per message; work that arrives alone is written at once.
 *
 * <p>{@link #addFrame}, {@link #hold} and {@link #wake} may be called from any thread;
 * {@link #inBatch} and {@link #batch} only on the dispatcher thread.
 */
final class Inbox {
  /** How many inbound frames one batch dispatches before their writes start. */
  static final int MAX_GATHER_FRAMES = 64;

  /** Decodes and delivers one inbound frame; dispatcher thread, inside a batch. */
  interface Handler {
    void onFrame(String channel, byte[] frame);
  }

  /** A frame as it arrived, and on which channel. */
  private static final class Inbound {
    final String channel;
    final byte[] frame;

    Inbound(String channel, byte[] frame) {
      this.channel = channel;
      this.frame = frame;
    }
  }

  private final ConcurrentLinkedQueue<Inbound> frames = new ConcurrentLinkedQueue<>();
  /** Outboxes given this node's own messages to hold, to release. */
  private final ConcurrentLinkedQueue<Outbox> toRelease = new ConcurrentLinkedQueue<>();
  private final AtomicBoolean scheduled = new AtomicBoolean();
  private final Stats stats;
  /** Set by {@link #start}, before any frame; read on the dispatcher thread. */
  private Handler handler;
  private volatile ExecutorService dispatcher;
  /** Dispatcher-thread state: the outboxes of the open batch; null outside one. */
  private Set<Outbox> open;

  Inbox(Stats stats) {
    this.stats = stats;
  }

  /** Before anything is added: the single thread that drains, and what it hands frames to. */
  void start(ExecutorService dispatcher, Handler handler) {
    this.handler = handler;
    this.dispatcher = dispatcher;
  }

  /** Transport threads: a frame to dispatch. */
  void addFrame(String channel, byte[] frame) {
    frames.add(new Inbound(channel, frame));
    wake();
  }

  /**
   * Any thread: {@code outbox} was given a message to hold; the dispatcher releases it. The caller
   * calls {@link #wake} once after the last.
   */
  void hold(Outbox outbox) {
    if (outbox.markForRelease()) {
      toRelease.add(outbox);
    }
  }

  /** Any thread: has the dispatcher drain what waits (once if racing). */
  void wake() {
    if (scheduled.compareAndSet(false, true)) {
      ExecutorService d = dispatcher;
      try {
        if (d == null) {
          throw new RejectedExecutionException("not started");
        }
        d.execute(this::drain);
      } catch (RejectedExecutionException stopping) {
        stats.add(Stats.DISPATCH_FAILED, frames.size());
        frames.clear();
        releaseHeld(null); // the node stops: this node's own messages are written here
      }
    }
  }

  /**
   * Dispatcher thread: runs {@code work} with a batch open (or in the one already open), then, if
   * it opened it, starts the writes of every outbox added to {@link #batch} and held meanwhile.
   */
  void inBatch(Runnable work) {
    if (open != null) {
      work.run();
      return;
    }
    Set<Outbox> batch = Collections.newSetFromMap(new IdentityHashMap<>());
    open = batch;
    try {
      work.run();
    } finally {
      open = null;
      releaseHeld(batch);
      for (Outbox o : batch) {
        o.release();
      }
    }
  }

  /** Dispatcher thread, inside {@link #inBatch}: the outboxes whose writes wait for its end. */
  Set<Outbox> batch() {
    return open;
  }

  /** Takes the outboxes that hold this node's own messages: into {@code batch}, else released. */
  private void releaseHeld(Set<Outbox> batch) {
    Outbox o;
    while ((o = toRelease.poll()) != null) {
      o.unmarkForRelease();
      if (batch != null) {
        batch.add(o);
      } else {
        o.release();
      }
    }
  }

  /** Dispatcher thread: batches of at most {@link #MAX_GATHER_FRAMES} frames until empty. */
  private void drain() {
    for (;;) {
      while (!frames.isEmpty() || !toRelease.isEmpty()) {
        inBatch(() -> {
          Inbound in;
          for (int n = 0; n < MAX_GATHER_FRAMES && (in = frames.poll()) != null; n++) {
            try {
              handler.onFrame(in.channel, in.frame);
            } catch (RuntimeException e) {
              // counted; the batch and the frames behind it go on (the handler logs its own)
              stats.increment(Stats.DISPATCH_FAILED);
            }
          }
        });
      }
      scheduled.set(false);
      // work added after the last poll but before the flag was cleared found it set
      if (frames.isEmpty() && toRelease.isEmpty() || !scheduled.compareAndSet(false, true)) {
        return;
      }
    }
  }
}
