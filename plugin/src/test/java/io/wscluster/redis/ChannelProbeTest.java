package io.wscluster.redis;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.wscluster.redis.ChannelProbe.Step;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** The probe's decisions on virtual time (milliseconds from 1 s, as nanoTime values). */
class ChannelProbeTest {
  private static long ms(long millis) {
    return TimeUnit.MILLISECONDS.toNanos(1_000 + millis);
  }

  private static ChannelProbe confirmedAt(long millis) {
    ChannelProbe p = new ChannelProbe();
    p.confirmed(ms(millis));
    return p;
  }

  /** A probe sent at 1000 ms after confirmation at 0, answered at 1010 counting {@code receivers}. */
  private static ChannelProbe probeAnswered(long receivers) {
    ChannelProbe p = confirmedAt(0);
    assertEquals(Step.SEND, p.next(ms(1_000), 0));
    p.answered(ms(1_000), receivers, ms(1_010));
    return p;
  }

  @Test
  void busyChannel_isNeverProbed() {
    ChannelProbe p = confirmedAt(0);
    for (long t = 0; t < 10_000; t += 200) {
      p.onFrame(ms(t));
      assertEquals(Step.WAIT, p.next(ms(t + 100), 0), "at " + t);
    }
  }

  @Test
  void quietChannel_probedAfterQuietTime_andAgainOnlyAfterTheNextQuietTime() {
    ChannelProbe p = confirmedAt(0);
    assertEquals(Step.WAIT, p.next(ms(999), 0));
    assertEquals(Step.SEND, p.next(ms(1_000), 300));
    p.answered(ms(1_000), 2, ms(1_001));
    p.onFrame(ms(1_002)); // its own probe came back
    assertEquals(Step.WAIT, p.next(ms(1_200), 0));
    assertEquals(Step.WAIT, p.next(ms(2_301), 0), "quiet 1000 + 300 jitter since its echo");
    assertEquals(Step.SEND, p.next(ms(2_302), 0));
  }

  @Test
  void probeTakenButNothingArrives_isDeadAfterTheTimeout() {
    ChannelProbe p = probeAnswered(3);
    assertEquals(Step.WAIT, p.next(ms(3_010), 0));
    assertEquals(Step.DEAD, p.next(ms(3_011), 0));
    assertTrue(p.why().contains("did not come back"), p.why());
  }

  @Test
  void anotherNodesFrameAfterTheProbe_showsTheSubscriptionWorks() {
    ChannelProbe p = probeAnswered(3);
    p.onFrame(ms(2_500));
    assertEquals(Step.WAIT, p.next(ms(3_100), 0));
    assertEquals(Step.WAIT, p.next(ms(3_400), 0), "quiet only since that frame");
  }

  @Test
  void noSubscriberCounted_isDeadAtOnce() {
    ChannelProbe p = probeAnswered(0);
    assertEquals(Step.DEAD, p.next(ms(1_200), 0));
    assertTrue(p.why().contains("no subscriber"), p.why());
  }

  @Test
  void unansweredOrRefusedProbe_isNoVerdict() {
    ChannelProbe p = confirmedAt(0);
    assertEquals(Step.SEND, p.next(ms(1_000), 0));
    for (long t = 1_200; t < 11_000; t += 200) {
      assertEquals(Step.WAIT, p.next(ms(t), 0), "a hung master says nothing: " + t);
    }
    assertEquals(Step.SEND, p.next(ms(12_100), 0), "asked again once forgotten");
    p.failed(ms(12_100)); // MOVED
    assertFalse(p.outstanding(ms(12_100)));
    assertEquals(Step.WAIT, p.next(ms(12_200), 0));
  }

  @Test
  void answerToAProbeOfAnEarlierSubscription_isIgnored() {
    ChannelProbe p = confirmedAt(0);
    assertEquals(Step.SEND, p.next(ms(1_000), 0));
    p.confirmed(ms(1_100)); // subscribed again meanwhile
    p.answered(ms(1_000), 0, ms(1_150));
    assertEquals(Step.WAIT, p.next(ms(1_200), 0));
  }

  @Test
  void onlyTheProbeFrame_isAProbe() {
    assertTrue(ChannelProbe.isProbe(ChannelProbe.FRAME.clone()));
    assertFalse(ChannelProbe.isProbe(new byte[] {3, 0, 1}));
    assertFalse(ChannelProbe.isProbe(java.util.Arrays.copyOf(ChannelProbe.FRAME,
        ChannelProbe.FRAME.length + 1)));
  }
}
