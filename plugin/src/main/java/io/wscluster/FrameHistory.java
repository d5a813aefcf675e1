package io.wscluster;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * The frames Redis took from this node lately, oldest first: published again to a node that asks
 * for them (a gap in its chain), and those of the last second when an outage begins (Redis counts
 * a subscriber as reached once a message is in its output buffer, and a crash loses what was
 * still there). Publisher-thread state.
 */
final class FrameHistory {
  /**
   * How far back, from the last frame Redis took, an outage replays: a frame Redis counted as
   * received may still have been in its output buffer (or the kernel's) when it died or dropped
   * the subscriber's connection.
   */
  static final long REPLAY_WINDOW_NANOS = TimeUnit.SECONDS.toNanos(1);
  static final int REPLAY_MAX_FRAMES = 1024;
  static final long REPLAY_MAX_BYTES = 4L << 20;
  /**
   * How long frames are kept for a node that asks for them again: longer than a receiver waits
   * for them ({@link Chains#GAP_TIMEOUT_NANOS}) plus a heartbeat (the sync that shows the loss of a
   * stream's last frames).
   */
  static final long KEEP_NANOS = TimeUnit.SECONDS.toNanos(15);
  static final int KEEP_MAX_FRAMES = 16_384;
  static final long KEEP_MAX_BYTES = 16L << 20;

  private final boolean keep;
  private final boolean replay;
  private final ArrayDeque<Frame> recent = new ArrayDeque<>();
  private long recentBytes;

  /**
   * @param keep whether frames are kept at all (not when neither chains nor replays use them)
   * @param replay whether an outage replays the last second (off only as a test's control)
   */
  FrameHistory(boolean keep, boolean replay) {
    this.keep = keep;
    this.replay = replay;
  }

  /** Keeps a frame Redis took at {@code now}, and forgets what is too old or too much. */
  void remember(Frame frame, long now) {
    if (!keep || frame.channels.isEmpty()) {
      return;
    }
    frame.tookNanos = now;
    recent.add(frame);
    recentBytes += frame.size();
    Frame oldest;
    while ((oldest = recent.peek()) != null && (recent.size() > KEEP_MAX_FRAMES
        || recentBytes > KEEP_MAX_BYTES || now - oldest.tookNanos > KEEP_NANOS)) {
      recent.poll();
      recentBytes -= oldest.size();
    }
  }

  /**
   * The frames to publish again as an outage begins at {@code now}, newest first: those taken in
   * the last {@link #REPLAY_WINDOW_NANOS}, at most {@link #REPLAY_MAX_FRAMES} and
   * {@link #REPLAY_MAX_BYTES}.
   */
  List<Frame> toReplay(long now) {
    List<Frame> out = new ArrayList<>();
    if (!replay) {
      return out;
    }
    long bytes = 0;
    for (java.util.Iterator<Frame> it = recent.descendingIterator(); it.hasNext(); ) {
      Frame r = it.next();
      if (now - r.tookNanos > REPLAY_WINDOW_NANOS
          || out.size() == REPLAY_MAX_FRAMES || bytes + r.size() > REPLAY_MAX_BYTES) {
        break;
      }
      out.add(r);
      bytes += r.size();
    }
    return out;
  }

  /**
   * Oldest first, each frame kept that went to {@code channel} with a link from {@code from} to
   * {@code to}, with the index of that channel in the frame.
   */
  void forEachOn(String channel, long from, long to, java.util.function.ObjIntConsumer<Frame> each) {
    for (Frame f : recent) {
      int i = f.channels.indexOf(channel);
      if (i >= 0 && f.links[i] >= from && f.links[i] <= to) {
        each.accept(f, i);
      }
    }
  }

  void clear() {
    recent.clear();
    recentBytes = 0;
  }
}
