package io.wscluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

/**
 * The liveness probe on virtual time: a probe that comes back, one that does not within three
 * heartbeats, a subscription Redis reports gone (subscribed again, at most once per probe
 * timeout), a probe Redis refused. No sleeps. See docs/protocol.md.
 */
class ProbeTest {
  private static final String OWN = "t:node:n";
  private final VirtualTime time = new VirtualTime();
  private final ScriptedTransport transport = new ScriptedTransport();
  private final EnvelopeCodec codec = new EnvelopeCodec(1 << 20);
  private final Stats stats = new Stats();
  private final AtomicLong sequence = new AtomicLong();
  private final Probe probe = new Probe("n", OWN, transport, codec, stats,
      sequence::incrementAndGet, time, 1_000_000_000L, true);

  /** The probe last published, as the dispatcher decodes it when it comes back. */
  private Envelope lastProbe() throws EnvelopeCodec.Rejection {
    List<ScriptedTransport.Published> p = transport.published;
    return codec.decodeFrame(p.get(p.size() - 1).frame()).envelopes.get(0);
  }

  @Test
  void comesBack_ok_andTheRoundTripMeasured() throws Exception {
    probe.run();
    assertEquals(OWN, transport.published.get(0).channel());
    time.advance(30);
    assertTrue(probe.onEcho(lastProbe()));
    assertTrue(probe.ok());
    assertEquals(30_000, probe.roundTripMicros());
    assertEquals(1, stats.get(Stats.PROBES_RECEIVED));
  }

  @Test
  void notBackWithinThreeHeartbeats_missed_untilOneComesBack() throws Exception {
    probe.run();
    time.advance(2999);
    probe.run();
    assertTrue(probe.ok(), "not missed before three heartbeats");
    assertEquals(1, transport.published.size(), "no new probe while one is out");
    time.advance(1);
    probe.run();
    assertFalse(probe.ok());
    assertEquals(1, stats.get(Stats.PROBES_MISSED));
    assertEquals(2, transport.published.size(), "the next probe went out");
    probe.onEcho(lastProbe());
    assertTrue(probe.ok());
  }

  @Test
  void anotherFrameOnTheOwnChannel_showsTheSubscriptionWorks() {
    probe.run();
    time.advance(10);
    probe.onOwnChannelFrame();
    time.advance(3000);
    probe.run();
    assertTrue(probe.ok());
    assertEquals(0, stats.get(Stats.PROBES_MISSED));
  }

  @Test
  void redisReportsNoSubscriber_subscribedAgain_atMostOncePerProbeTimeout() {
    transport.receivers = 0;
    probe.run();
    time.advance(3000);
    probe.run();
    assertEquals(List.of(OWN), transport.subscribed);
    assertEquals(1, stats.get(Stats.RESUBSCRIBES));
    time.advance(3000);
    probe.run();
    assertEquals(1, stats.get(Stats.RESUBSCRIBES), "not again within the probe timeout");
    time.advance(1);
    time.advance(3000);
    probe.run();
    assertEquals(2, stats.get(Stats.RESUBSCRIBES));
  }

  @Test
  void subscriberBack_noResubscribe() {
    transport.receivers = 0;
    probe.run();
    transport.receivers = 1;
    time.advance(3000);
    probe.run(); // missed; the last answer had no subscriber: once only, not twice
    time.advance(3000);
    probe.run();
    assertEquals(1, stats.get(Stats.RESUBSCRIBES));
    time.advance(3001);
    probe.run();
    assertEquals(1, stats.get(Stats.RESUBSCRIBES), "Redis reports a subscriber again");
  }

  @Test
  void transportThatCountsNoReceivers_aCountOfZero_neverSubscribesAgain() {
    Probe uncounted = new Probe("n", OWN, transport, codec, stats, sequence::incrementAndGet,
        time, 1_000_000_000L, false);
    transport.receivers = 0;
    uncounted.run();
    time.advance(3000);
    uncounted.run();
    time.advance(3001);
    uncounted.run();
    assertEquals(List.of(), transport.subscribed);
    assertEquals(0, stats.get(Stats.RESUBSCRIBES));
    assertFalse(uncounted.ok(), "a probe that does not come back is still missed");
  }

  @Test
  void refusedByRedis_notOk() {
    transport.failure = new IllegalStateException("Redis is down");
    probe.run();
    assertFalse(probe.ok());
  }

  @Test
  void someoneElsesReceipt_notTakenForTheProbe() {
    assertFalse(probe.onEcho(Envelope.receipt("other", 5, 5, Map.of())));
    assertFalse(probe.onEcho(Envelope.receipt("n", 5, 4, Map.of())));
  }
}
