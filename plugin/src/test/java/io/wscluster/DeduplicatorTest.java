package io.wscluster;

import static io.wscluster.Deduplicator.Verdict.DUPLICATE;
import static io.wscluster.Deduplicator.Verdict.NEW;
import static io.wscluster.Deduplicator.Verdict.TOO_OLD;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.wscluster.Deduplicator.Verdict;
import java.util.HashSet;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** The per-origin anti-replay window, on a fake clock. */
class DeduplicatorTest {
  private static final int WINDOW = 64;
  private static final long TTL = TimeUnit.SECONDS.toNanos(60);
  private static final String A = "node-a-11111111";
  private static final String B = "node-b-22222222";

  /** The fake clock, in nanoseconds; tests move it by hand. */
  private long now = 1_000_000_000L;
  private final Deduplicator dedup = new Deduplicator(WINDOW, TTL, () -> now);

  // ================================================================ ordering

  @Test
  void check_inOrder_isAllNew() {
    for (long seq = 1; seq <= 10 * WINDOW; seq++) {
      assertEquals(NEW, dedup.check(A, seq), "seq " + seq);
    }
  }

  @Test
  void check_exactRepeat_isDuplicate() {
    assertEquals(NEW, dedup.check(A, 1));
    assertEquals(NEW, dedup.check(A, 2));

    assertEquals(DUPLICATE, dedup.check(A, 2));
    assertEquals(DUPLICATE, dedup.check(A, 1));
    assertEquals(DUPLICATE, dedup.check(A, 2));
  }

  @Test
  void check_firstMessageOfAnOrigin_isNewWhateverItsSequence() {
    assertEquals(NEW, dedup.check(A, 5_000));
    assertEquals(DUPLICATE, dedup.check(A, 5_000));
  }

  @Test
  void check_reorderedInsideTheWindow_isNewThenItsRepeatIsDuplicate() {
    assertEquals(NEW, dedup.check(A, 1));
    assertEquals(NEW, dedup.check(A, 4));
    assertEquals(NEW, dedup.check(A, 3));
    assertEquals(NEW, dedup.check(A, 2));

    assertEquals(DUPLICATE, dedup.check(A, 3));
    assertEquals(DUPLICATE, dedup.check(A, 2));
    assertEquals(DUPLICATE, dedup.check(A, 4));
  }

  @Test
  void check_oldestSequenceStillInsideTheWindow_isNew() {
    assertEquals(NEW, dedup.check(A, 1));
    assertEquals(NEW, dedup.check(A, 1 + WINDOW)); // 2..64 missing: highest - 2 = 63 < 64

    assertEquals(NEW, dedup.check(A, 2));
    assertEquals(DUPLICATE, dedup.check(A, 2));
  }

  @Test
  void check_olderThanTheWindow_isTooOld() {
    assertEquals(NEW, dedup.check(A, 1));
    assertEquals(NEW, dedup.check(A, 1 + WINDOW));

    assertEquals(TOO_OLD, dedup.check(A, 1), "seen, but now outside the window");
    assertEquals(NEW, dedup.check(A, 2 + WINDOW));
    assertEquals(TOO_OLD, dedup.check(A, 2), "never seen, but outside the window");
  }

  // ================================================================ jumps forward

  @Test
  void check_jumpForwardInsideTheWindow_clearsOnlyTheSkippedSlots() {
    for (long seq = 1; seq <= WINDOW; seq++) {
      dedup.check(A, seq); // every slot of the bitmap is set
    }

    assertEquals(NEW, dedup.check(A, 100)); // gap 36: window is now 37..100

    for (long seq = WINDOW + 1; seq < 100; seq++) {
      assertEquals(NEW, dedup.check(A, seq), "skipped seq " + seq + " was never seen");
    }
    for (long seq = 37; seq <= WINDOW; seq++) {
      assertEquals(DUPLICATE, dedup.check(A, seq), "seq " + seq + " was seen, still in window");
    }
    assertEquals(TOO_OLD, dedup.check(A, 36));
  }

  @Test
  void check_jumpForwardBeyondTheWindow_clearsEveryOldBit() {
    for (long seq = 1; seq <= WINDOW; seq++) {
      dedup.check(A, seq);
    }

    assertEquals(NEW, dedup.check(A, 1_000));

    // 937..999 occupy the slots that 1..64 used; none of them was ever seen
    for (long seq = 1_000 - WINDOW + 1; seq < 1_000; seq++) {
      assertEquals(NEW, dedup.check(A, seq), "seq " + seq);
    }
    assertEquals(TOO_OLD, dedup.check(A, 1_000 - WINDOW));
    assertEquals(DUPLICATE, dedup.check(A, 1_000));
  }

  @Test
  void check_jumpOfExactlyTheWindow_keepsNothingOld() {
    for (long seq = 1; seq <= 10; seq++) {
      dedup.check(A, seq);
    }

    assertEquals(NEW, dedup.check(A, 10 + WINDOW));

    assertEquals(TOO_OLD, dedup.check(A, 10));
    for (long seq = 11; seq < 10 + WINDOW; seq++) {
      assertEquals(NEW, dedup.check(A, seq), "seq " + seq + " reuses a slot of 1..10");
    }
  }

  @ParameterizedTest(name = "window {0}")
  @ValueSource(ints = {64, 128, 8192})
  void check_randomTraffic_agreesWithAReferenceModel(int window) {
    // a naive model: every sequence ever seen, and the highest
    Deduplicator d = new Deduplicator(window, TTL, () -> now);
    Set<Long> seen = new HashSet<>();
    long highest = 0;
    long seed = 7L * window;
    Random random = new Random(seed);
    for (int i = 0; i < 100_000; i++) {
      long seq;
      int kind = random.nextInt(100);
      if (highest == 0 || kind < 40) {
        seq = highest + 1;
      } else if (kind < 50) {
        seq = highest + 1 + random.nextInt(3 * window); // jumps, some beyond the window
      } else if (kind < 90) {
        seq = Math.max(1, highest - random.nextInt(window + 8)); // repeats and reorders
      } else {
        seq = Math.max(1, highest - random.nextInt(4 * window)); // far in the past
      }
      Verdict expected;
      if (highest == 0 || seq > highest) {
        expected = NEW;
      } else if (highest - seq >= window) {
        expected = TOO_OLD;
      } else if (seen.contains(seq)) {
        expected = DUPLICATE;
      } else {
        expected = NEW;
      }
      assertEquals(expected, d.check(A, seq),
          "step " + i + " seq " + seq + " highest " + highest + " (seed " + seed + ")");
      if (expected == NEW) {
        seen.add(seq);
        highest = Math.max(highest, seq);
      }
    }
  }

  // ================================================================ origins

  @Test
  void check_restartedOrigin_startsFreshUnderItsNewId() {
    String before = "node-a-11111111";
    String after = "node-a-99999999"; // same node name, new random part at restart
    for (long seq = 1; seq <= 1_000; seq++) {
      dedup.check(before, seq);
    }

    assertEquals(NEW, dedup.check(after, 1));
    assertEquals(NEW, dedup.check(after, 2));
    assertEquals(DUPLICATE, dedup.check(before, 1_000), "the old origin's state is untouched");
    assertEquals(2, dedup.origins());
  }

  @Test
  void check_originsAreIndependent() {
    assertEquals(NEW, dedup.check(A, 7));
    assertEquals(NEW, dedup.check(B, 7));
    assertEquals(DUPLICATE, dedup.check(A, 7));
    assertEquals(DUPLICATE, dedup.check(B, 7));
  }

  // ================================================================ eviction (TTL)

  @Test
  void check_originSilentForLongerThanTheTtl_isEvicted() {
    dedup.check(A, 1);
    dedup.check(B, 1);
    assertEquals(2, dedup.origins());

    now += TTL / 2;
    dedup.check(B, 2); // B stays alive
    now += TTL / 2 + TTL / 4 + 1; // A: silent for more than TTL (plus one sweep interval)
    dedup.check(B, 3); // eviction is lazy: it runs inside check

    assertEquals(1, dedup.origins());
  }

  @Test
  void check_originSilentForExactlyTheTtl_isKept() {
    dedup.check(A, 1);

    now += TTL;
    dedup.check(B, 1);

    assertEquals(2, dedup.origins());
    assertEquals(DUPLICATE, dedup.check(A, 1));
  }

  /**
   * The TTL's contract: after an origin is evicted its old sequences count as new again. A replay
   * of a message older than the TTL is therefore delivered a second time; the TTL must outlast
   * any replay (Redis reconnect, republish) the cluster can produce.
   */
  @Test
  void check_afterEviction_sameOriginAndSequenceCountAsNewAgain() {
    for (long seq = 1; seq <= 5; seq++) {
      dedup.check(A, seq);
    }

    now += TTL + TTL / 4 + 1;
    dedup.check(B, 1);
    assertEquals(1, dedup.origins(), "A was evicted");

    assertEquals(NEW, dedup.check(A, 3));
    assertEquals(DUPLICATE, dedup.check(A, 3));
  }

  @Test
  void check_originThatKeepsTalking_isNeverEvicted() {
    dedup.check(A, 1);
    for (int i = 0; i < 40; i++) {
      now += TTL / 2;
      dedup.check(A, i + 2);
    }

    assertEquals(DUPLICATE, dedup.check(A, 41));
    assertEquals(1, dedup.origins());
  }

  @Test
  void check_clockStartingNegative_stillEvicts() {
    now = Long.MIN_VALUE / 2; // System.nanoTime() may be negative
    Deduplicator d = new Deduplicator(WINDOW, TTL, () -> now);
    d.check(A, 1);

    now += TTL + TTL / 4 + 1;
    d.check(B, 1);

    assertEquals(1, d.origins());
  }

  // ================================================================ construction

  @ParameterizedTest(name = "window {0}")
  @ValueSource(ints = {0, -64, 1, 63, 65, 100, 8191})
  void new_windowNotAPositiveMultipleOf64_isRefused(int window) {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> new Deduplicator(window, TTL, () -> now));
    assertEquals("window must be a positive multiple of 64, was " + window, e.getMessage());
  }

  @ParameterizedTest(name = "window {0}")
  @ValueSource(ints = {64, 128, 8192, 1 << 20})
  void new_windowMultipleOf64_isAccepted(int window) {
    Deduplicator d = new Deduplicator(window, TTL, () -> now);
    assertEquals(NEW, d.check(A, 1));
    assertEquals(NEW, d.check(A, window));
    assertEquals(DUPLICATE, d.check(A, 1), "seq 1 is the oldest one inside the window");
  }
}
