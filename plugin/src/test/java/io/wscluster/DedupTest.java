package io.wscluster;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;

/**
 * The dispatcher's dedup: own echoes, and one anti-replay window per origin and channel kind
 * (broadcast, direct), so a chain waiting behind a gap on one channel is not pushed past by the
 * other. See docs/protocol.md, dedup.
 */
class DedupTest {
  private final VirtualTime time = new VirtualTime();
  private final Dedup dedup = Dedup.perOrigin("me", 64, 60_000_000_000L, time);

  @Test
  void ownEnvelope_isAnEcho() {
    assertEquals(Dedup.Verdict.OWN_ECHO, dedup.check("me", 1, false));
    assertEquals(Dedup.Verdict.OWN_ECHO, dedup.check("me", 1, true));
  }

  @Test
  void repeatOnOneChannelKind_isADuplicate() {
    assertEquals(Dedup.Verdict.NEW, dedup.check("o", 1, false));
    assertEquals(Dedup.Verdict.DUPLICATE, dedup.check("o", 1, false));
    assertEquals(Dedup.Verdict.NEW, dedup.check("o", 2, true));
    assertEquals(Dedup.Verdict.DUPLICATE, dedup.check("o", 2, true));
  }

  /**
   * The broadcast chain waits for sequence 5 behind a gap while the direct channel delivers 500:
   * with one window, 5 would then be too old and dropped.
   */
  @Test
  void farAheadOnTheDirectChannel_doesNotPushTheBroadcastWindowPastAWaitingFrame() {
    assertEquals(Dedup.Verdict.NEW, dedup.check("o", 4, false));
    assertEquals(Dedup.Verdict.NEW, dedup.check("o", 500, true));
    assertEquals(Dedup.Verdict.NEW, dedup.check("o", 5, false));
  }

  /** The control: one window for both kinds drops the frame that waited. */
  @Test
  void negativeControl_oneWindowForBoth_dropsTheFrameThatWaited() {
    Deduplicator one = new Deduplicator(64, 60_000_000_000L, time);
    assertEquals(Deduplicator.Verdict.NEW, one.check("o", 4));
    assertEquals(Deduplicator.Verdict.NEW, one.check("o", 500));
    assertEquals(Deduplicator.Verdict.TOO_OLD, one.check("o", 5));
  }

  @Test
  void off_theControl_letsEverythingThrough() {
    assertEquals(Dedup.Verdict.NEW, Dedup.OFF.check("me", 1, false));
    assertEquals(Dedup.Verdict.NEW, Dedup.OFF.check("o", 1, false));
    assertEquals(Dedup.Verdict.NEW, Dedup.OFF.check("o", 1, false));
  }
}
