package io.wscluster;

import jakarta.websocket.CloseReason;
import jakarta.websocket.SendHandler;
import jakarta.websocket.SendResult;
import jakarta.websocket.Session;
import java.nio.ByteBuffer;
import java.util.ArrayDeque;
import java.util.concurrent.CompletableFuture;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The frames waiting for one session: at most one async write in flight, at most
 * {@code maxFrames} queued behind it; when full the overflow policy applies. A slow client thus
 * fills only its own outbox and never delays another session.
 *
 * <p>{@link #offer} may be called from any thread, concurrently. Write completions arrive on the
 * container's threads (sometimes inline, inside the send call); the next write is started from
 * there without recursion.
 *
 * <p>Jetty's Jakarta remote endpoint keeps the type of the message being sent in an unguarded
 * field: when the application writes a text message to the session directly while the outbox
 * writes a binary one (or the reverse), one of them can fail at once with "Cannot start BINARY
 * message when TEXT message is not complete yet". That failure is transient and nothing was
 * written, so the outbox writes the same frame again (a bounded number of times).
 */
final class Outbox implements SendHandler {
  private static final Logger LOG = LoggerFactory.getLogger(Outbox.class);
  static final CloseReason OVERFLOW_CLOSE = new CloseReason(CloseReason.CloseCodes.TRY_AGAIN_LATER,
      "wscluster: client too slow, outbox full");
  static final int MAX_RACE_RETRIES = 1000;

  /** A queued frame and who waits for its write, if anyone. */
  private static final class Entry {
    final Object frame;
    final CompletableFuture<Void> written;

    Entry(Object frame, CompletableFuture<Void> written) {
      this.frame = frame;
      this.written = written;
    }
  }

  private final Session session;
  private final int maxFrames;
  private final WsClusterConfig.Overflow overflow;
  private final Stats stats;
  private final String nodeId;
  private final ArrayDeque<Entry> queue = new ArrayDeque<>();
  private boolean writing;
  private boolean inWriteCall;
  private boolean completedInline;
  private boolean closed;
  /** The entry being written; guarded by this. */
  private Entry current;
  /** Set when {@link #current} must be written again; guarded by this. */
  private boolean retryCurrent;
  private int retries;

  Outbox(Session session, int maxFrames, WsClusterConfig.Overflow overflow, Stats stats,
      String nodeId) {
    this.session = session;
    this.maxFrames = maxFrames;
    this.overflow = overflow;
    this.stats = stats;
    this.nodeId = nodeId;
  }

  /**
   * Queues a frame: a {@link String} (text) or a {@link ByteBuffer} (binary, shared: each write
   * uses its own duplicate).
   */
  void offer(Object frame) {
    offer(frame, null);
  }

  /**
   * Queues a frame; {@code written}, if not null, completes when the frame is written and fails
   * ({@link WsClusterException}) when it is dropped or its write fails.
   */
  void offer(Object frame, CompletableFuture<Void> written) {
    boolean closeSession = false;
    Entry dropped = null;
    synchronized (this) {
      if (closed) {
        fail(written, "session " + session.getId() + " is closed");
        return;
      }
      if (queue.size() >= maxFrames) {
        switch (overflow) {
          case DROP_NEWEST:
            stats.increment(Stats.OVERFLOW_DROPPED);
            fail(written, "outbox of session " + session.getId() + " is full (" + maxFrames
                + " frames): message dropped");
            return;
          case DROP_OLDEST:
            dropped = queue.poll();
            stats.increment(Stats.OVERFLOW_DROPPED);
            break;
          default:
            closed = true;
            closeSession = true;
            break;
        }
      }
      if (!closeSession) {
        queue.add(new Entry(frame, written));
        if (!writing) {
          writing = true;
        } else {
          frame = null; // the running drain takes it
        }
      }
    }
    if (dropped != null) {
      fail(dropped.written, "outbox of session " + session.getId() + " is full (" + maxFrames
          + " frames): message dropped");
    }
    if (closeSession) {
      stats.increment(Stats.OVERFLOW_CLOSED);
      LOG.warn("[{}] session {} closed: outbox full ({} frames), the client reads too slowly",
          nodeId, session.getId(), maxFrames);
      fail(written, "session " + session.getId() + " closed: outbox full");
      failQueued("session " + session.getId() + " closed: outbox full");
      try {
        session.close(OVERFLOW_CLOSE);
      } catch (Exception e) {
        LOG.debug("[{}] closing slow session {} failed", nodeId, session.getId(), e);
      }
      return;
    }
    if (frame != null) {
      drain();
    }
  }

  /**
   * Frames queued now (the one being written not included), never more than {@code maxFrames}.
   * Any thread; for gauges ({@link ClusterNode#stats()}).
   */
  synchronized int size() {
    return queue.size();
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

  /** Writes queued frames one at a time; the caller owns {@code writing}. */
  private void drain() {
    for (;;) {
      Entry entry;
      synchronized (this) {
        if (retryCurrent) {
          retryCurrent = false;
          entry = current;
        } else {
          entry = closed ? null : queue.poll();
        }
        current = entry;
        if (entry == null) {
          writing = false;
          return;
        }
        inWriteCall = true;
        completedInline = false;
      }
      write(entry.frame);
      synchronized (this) {
        inWriteCall = false;
        if (!completedInline) {
          return; // onResult continues the drain when the write completes
        }
      }
    }
  }

  private void write(Object frame) {
    try {
      if (frame instanceof String) {
        session.getAsyncRemote().sendText((String) frame, this);
      } else {
        session.getAsyncRemote().sendBinary(((ByteBuffer) frame).duplicate(), this);
      }
    } catch (RuntimeException e) {
      onResult(new SendResult(e));
    }
  }

  /** Jetty's transient refusal of a message while the app's message of the other type starts. */
  static boolean isMixedTypeRace(Throwable t) {
    String m = t == null ? null : t.getMessage();
    return m != null && m.startsWith("Cannot start ") && m.endsWith(" message is not complete yet");
  }

  @Override
  public void onResult(SendResult result) {
    Entry entry;
    boolean retry = false;
    synchronized (this) {
      entry = current;
      if (!result.isOK() && isMixedTypeRace(result.getException()) && retries < MAX_RACE_RETRIES
          && !closed) {
        retries++;
        retry = true;
        retryCurrent = true;
      } else {
        retries = 0;
      }
    }
    if (retry) {
      stats.increment(Stats.WRITE_RETRIES);
      Thread.yield();
    } else if (result.isOK()) {
      stats.increment(Stats.DELIVERED);
      if (entry != null && entry.written != null) {
        entry.written.complete(null);
      }
    } else {
      stats.increment(Stats.SEND_FAILED);
      LOG.debug("[{}] write to session {} failed", nodeId, session.getId(), result.getException());
      if (entry != null && entry.written != null) {
        entry.written.completeExceptionally(new WsClusterException("write to session "
            + session.getId() + " failed: " + result.getException(), result.getException()));
      }
    }
    synchronized (this) {
      if (inWriteCall) {
        completedInline = true;
        return;
      }
    }
    drain();
  }
}
