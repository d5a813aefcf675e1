package io.wscluster;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * The outage hold's queue: frames Redis did not take (or that must go again), oldest first, and
 * when the head is tried next. Nothing queued for publishing passes them, so per-origin order
 * holds. Publisher-thread state, except {@link #sinceNanos}.
 */
final class HeldFrames {
  private final ArrayDeque<Frame> held = new ArrayDeque<>();
  private long retryAt;
  /** When the frames now held were first refused; 0 while none is. Read by health. */
  private volatile long sinceNanos;

  Frame peek() {
    return held.peek();
  }

  boolean isEmpty() {
    return held.isEmpty();
  }

  /** Whether the head may be tried again at {@code now}. */
  boolean due(long now) {
    return now - retryAt >= 0;
  }

  long sinceNanos() {
    return sinceNanos;
  }

  /**
   * {@code frame} was refused at {@code now}: it heads the hold (a new frame went first because
   * nothing was held) and is tried again after {@code pauseNanos}. Returns whether an outage
   * begins with it (nothing was refused before; frames sent again on request may be held).
   */
  boolean refused(Frame frame, long now, long pauseNanos) {
    if (held.peek() != frame) {
      held.addFirst(frame);
    }
    retryAt = now + pauseNanos;
    if (sinceNanos != 0) {
      return false;
    }
    sinceNanos = frame.firstAttemptNanos;
    return true;
  }

  /** An outage begins: a frame Redis took just before goes again in front of what is held. */
  void replayFirst(Frame copy) {
    held.addFirst(copy);
  }

  /**
   * {@code frame} went through (or is given up) at {@code now}: the rest of what is held goes at
   * once, as Redis takes frames again; with nothing left the outage is over.
   */
  void passed(Frame frame, long now) {
    if (held.peek() == frame) {
      held.poll();
    }
    if (held.isEmpty()) {
      sinceNanos = 0;
    } else {
      retryAt = now;
    }
  }

  /** A replay did not get through: the other replays would wait as long, each in turn. */
  void dropReplays() {
    held.removeIf(f -> f.kind == Frame.Kind.REPLAY);
    if (held.isEmpty()) {
      sinceNanos = 0;
    }
  }

  /**
   * The links of copies for {@code requesterChannel} of one chain ({@link Frame#chain}) held
   * already.
   */
  Set<Long> resendsWaiting(String requesterChannel, String chain) {
    Set<Long> waiting = new HashSet<>();
    for (Frame h : held) {
      if (h.kind == Frame.Kind.RESENT && h.channels.get(0).equals(requesterChannel)
          && java.util.Objects.equals(h.chain, chain)) {
        waiting.add(h.links[0]);
      }
    }
    return waiting;
  }

  /**
   * Copies a node asked for go before anything else held, behind {@code inFlight} if it heads the
   * hold; with nothing held before, at once.
   */
  void resendFirst(List<Frame> copies, Frame inFlight, long now) {
    Frame busy = inFlight != null && held.peek() == inFlight ? held.poll() : null;
    if (held.isEmpty()) {
      retryAt = now;
    }
    for (int k = copies.size() - 1; k >= 0; k--) {
      held.addFirst(copies.get(k));
    }
    if (busy != null) {
      held.addFirst(busy);
    }
  }

  /** Empties the hold; the messages of what it held (replays among them: completed already). */
  List<Pending> clear() {
    List<Pending> out = new ArrayList<>();
    for (Frame f : held) {
      out.addAll(f.batch);
    }
    held.clear();
    return out;
  }
}
