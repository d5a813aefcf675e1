package io.wscluster;

import jakarta.websocket.CloseReason;
import jakarta.websocket.SendHandler;
import jakarta.websocket.SendResult;
import jakarta.websocket.Session;
import java.nio.ByteBuffer;
import java.util.ArrayDeque;
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
 */
final class Outbox implements SendHandler {
  private static final Logger LOG = LoggerFactory.getLogger(Outbox.class);
  static final CloseReason OVERFLOW_CLOSE = new CloseReason(CloseReason.CloseCodes.TRY_AGAIN_LATER,
      "wscluster: client too slow, outbox full");

  private final Session session;
  private final int maxFrames;
  private final WsClusterConfig.Overflow overflow;
  private final Stats stats;
  private final String nodeId;
  private final ArrayDeque<Object> queue = new ArrayDeque<>();
  private boolean writing;
  private boolean inWriteCall;
  private boolean completedInline;
  private boolean closed;

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
    boolean closeSession = false;
    synchronized (this) {
      if (closed) {
        return;
      }
      if (queue.size() >= maxFrames) {
        switch (overflow) {
          case DROP_NEWEST:
            stats.increment(Stats.OVERFLOW_DROPPED);
            return;
          case DROP_OLDEST:
            queue.poll();
            stats.increment(Stats.OVERFLOW_DROPPED);
            break;
          default:
            closed = true;
            queue.clear();
            closeSession = true;
            break;
        }
      }
      if (!closeSession) {
        queue.add(frame);
        if (writing) {
          return;
        }
        writing = true;
      }
    }
    if (closeSession) {
      stats.increment(Stats.OVERFLOW_CLOSED);
      LOG.warn("[{}] session {} closed: outbox full ({} frames), the client reads too slowly",
          nodeId, session.getId(), maxFrames);
      try {
        session.close(OVERFLOW_CLOSE);
      } catch (Exception e) {
        LOG.debug("[{}] closing slow session {} failed", nodeId, session.getId(), e);
      }
      return;
    }
    drain();
  }

  /** Frames queued now (the one being written not included). */
  synchronized int size() {
    return queue.size();
  }

  /** Drops what is queued and refuses more; the session is closing. */
  synchronized void close() {
    closed = true;
    queue.clear();
  }

  /** Writes queued frames one at a time; the caller owns {@code writing}. */
  private void drain() {
    for (;;) {
      Object frame;
      synchronized (this) {
        frame = closed ? null : queue.poll();
        if (frame == null) {
          writing = false;
          return;
        }
        inWriteCall = true;
        completedInline = false;
      }
      write(frame);
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

  @Override
  public void onResult(SendResult result) {
    if (result.isOK()) {
      stats.increment(Stats.DELIVERED);
    } else {
      stats.increment(Stats.SEND_FAILED);
      LOG.debug("[{}] write to session {} failed", nodeId, session.getId(), result.getException());
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
