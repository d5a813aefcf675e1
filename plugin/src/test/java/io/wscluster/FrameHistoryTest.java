package io.wscluster;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The frames Redis took lately: what is kept for nodes that ask again (by channel and link, within
 * {@link FrameHistory#KEEP_NANOS}, {@link FrameHistory#KEEP_MAX_FRAMES} and
 * {@link FrameHistory#KEEP_MAX_BYTES}) and what an outage replays (the last second, within its
 * own frame and byte caps).
 */
class FrameHistoryTest {
  private static final String ALL = "t:all";
  private static final String X = "t:node:x";
  private static final long T0 = 1_000_000_000_000L;
  private static final long MS = 1_000_000;
  private static final byte[] SMALL = new byte[16];
  private static final byte[] MIB = new byte[1 << 20];
  private final FrameHistory history = new FrameHistory(true, true);

  /** A frame to {@code channel} at {@code link}, of {@code bytes} (shared: only length counts). */
  private static Frame frame(String channel, long link, byte[] bytes) {
    return new Frame(List.of(), new byte[][] {bytes}, List.of(channel), new long[] {link},
        Frame.Kind.NEW, 0);
  }

  /** Remembers frames to the broadcast channel at links 1..n, all taken at {@code now}. */
  private void remember(int n, byte[] bytes, long now) {
    for (int link = 1; link <= n; link++) {
      history.remember(frame(ALL, link, bytes), now);
    }
  }

  /** The links kept on {@code channel}, oldest first. */
  private List<Long> kept(String channel) {
    return kept(history, channel);
  }

  private static List<Long> kept(FrameHistory h, String channel) {
    List<Long> out = new ArrayList<>();
    h.forEachOn(channel, 1, Long.MAX_VALUE, (f, i) -> out.add(f.links[i]));
    return out;
  }

  private List<Long> replayed(long now) {
    return history.toReplay(now).stream().map(f -> f.links[0]).toList();
  }

  // ================================================================ what is kept

  @Test
  void forEachOn_theFramesOfThatChannelWithinTheLinks_withTheChannelsIndex() {
    history.remember(frame(ALL, 1, SMALL), T0);
    history.remember(new Frame(List.of(), new byte[][] {SMALL, SMALL}, List.of(X, ALL),
        new long[] {1, 2}, Frame.Kind.NEW, 0), T0);
    history.remember(frame(ALL, 3, SMALL), T0);
    history.remember(frame(X, 2, SMALL), T0);
    List<String> seen = new ArrayList<>();
    history.forEachOn(ALL, 2, 3, (f, i) -> seen.add(f.channels.get(i) + "#" + f.links[i]));
    assertEquals(List.of("t:all#2", "t:all#3"), seen);
    assertEquals(List.of(1L, 2L), kept(X));
  }

  @Test
  void keptForKeepNanos_fromWhenTaken() {
    history.remember(frame(ALL, 1, SMALL), T0);
    history.remember(frame(ALL, 2, SMALL), T0 + FrameHistory.KEEP_NANOS);
    assertEquals(List.of(1L, 2L), kept(ALL));
    history.remember(frame(ALL, 3, SMALL), T0 + FrameHistory.KEEP_NANOS + 1);
    assertEquals(List.of(2L, 3L), kept(ALL));
  }

  @Test
  void atMostKeepMaxFrames_theOldestForgotten() {
    remember(FrameHistory.KEEP_MAX_FRAMES + 1, SMALL, T0);
    List<Long> kept = kept(ALL);
    assertEquals(FrameHistory.KEEP_MAX_FRAMES, kept.size());
    assertEquals(2L, kept.get(0));
  }

  @Test
  void atMostKeepMaxBytes_theOldestForgotten() {
    int fit = (int) (FrameHistory.KEEP_MAX_BYTES / MIB.length);
    remember(fit, MIB, T0);
    assertEquals(fit, kept(ALL).size());
    history.remember(frame(ALL, fit + 1, MIB), T0);
    assertEquals(fit, kept(ALL).size());
    assertEquals(2L, kept(ALL).get(0));
  }

  @Test
  void notKeeping_theControl_keepsNothing() {
    FrameHistory none = new FrameHistory(false, false);
    none.remember(frame(ALL, 1, SMALL), T0);
    assertEquals(List.of(), kept(none, ALL));
    assertEquals(List.of(), none.toReplay(T0));
  }

  @Test
  void frameForNoChannel_notKept() {
    history.remember(new Frame(List.of(), new byte[0][], List.of(), new long[0], Frame.Kind.NEW,
        0), T0);
    assertEquals(List.of(), history.toReplay(T0));
  }

  @Test
  void clear_forgetsEverything() {
    remember(3, SMALL, T0);
    history.clear();
    assertEquals(List.of(), kept(ALL));
  }

  // ================================================================ what an outage replays

  @Test
  void toReplay_whatWasTakenInTheLastSecond_newestFirst() {
    history.remember(frame(ALL, 1, SMALL), T0);
    history.remember(frame(ALL, 2, SMALL), T0 + 300 * MS);
    history.remember(frame(ALL, 3, SMALL), T0 + 800 * MS);
    assertEquals(List.of(3L, 2L), replayed(T0 + 1300 * MS));
    assertEquals(List.of(3L, 2L, 1L), replayed(T0 + FrameHistory.REPLAY_WINDOW_NANOS),
        "a second ago counts");
    assertEquals(List.of(1L, 2L, 3L), kept(ALL), "a replay forgets nothing");
  }

  @Test
  void toReplay_atMostReplayMaxFrames_theNewest() {
    remember(FrameHistory.REPLAY_MAX_FRAMES + 1, SMALL, T0);
    List<Long> replayed = replayed(T0);
    assertEquals(FrameHistory.REPLAY_MAX_FRAMES, replayed.size());
    assertEquals((long) FrameHistory.REPLAY_MAX_FRAMES + 1, replayed.get(0));
    assertEquals(2L, replayed.get(replayed.size() - 1));
  }

  @Test
  void toReplay_atMostReplayMaxBytes_theNewest() {
    int fit = (int) (FrameHistory.REPLAY_MAX_BYTES / MIB.length);
    remember(fit + 1, MIB, T0);
    List<Long> replayed = replayed(T0);
    assertEquals(fit, replayed.size());
    assertEquals((long) fit + 1, replayed.get(0));
  }

  @Test
  void replayOff_theControl_replaysNothing_butKeepsForResends() {
    FrameHistory noReplay = new FrameHistory(true, false);
    noReplay.remember(frame(ALL, 1, SMALL), T0);
    assertEquals(List.of(), noReplay.toReplay(T0));
    assertEquals(List.of(1L), kept(noReplay, ALL));
  }
}
