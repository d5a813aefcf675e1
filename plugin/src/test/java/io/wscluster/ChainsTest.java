package io.wscluster;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

/** The receiving side of the frame chains: gaps asked for, order kept, losses given up and counted. */
class ChainsTest {
  private static final long TIMEOUT = TimeUnit.SECONDS.toNanos(5);
  private static final long IDLE = TimeUnit.MINUTES.toNanos(10);
  private final AtomicLong clock = new AtomicLong(TimeUnit.HOURS.toNanos(1));
  private final Stats stats = new Stats();
  /** What reached the sink, in order: "a:7" a delivered frame, "ask a 2-3", "lost a 2-3". */
  private final List<String> events = new ArrayList<>();
  private final Chains chains = new Chains(new Chains.Sink() {
    @Override
    public void deliver(List<Envelope> envelopes, boolean direct) {
      events.add(new String(envelopes.get(0).payload, StandardCharsets.UTF_8));
    }

    @Override
    public void request(String origin, String channel, long from, long to) {
      events.add("ask " + origin + name(channel) + from + "-" + to);
    }

    @Override
    public void lost(String origin, String channel, long from, long to) {
      events.add("lost " + origin + name(channel) + from + "-" + to);
    }
  }, stats, TIMEOUT, IDLE, clock::get);

  private void frame(String origin, long link) {
    frame(origin, false, link);
  }

  /** The channels of these tests: the broadcast one, this node's own, a room's. */
  private static final String ALL = "t:all";
  private static final String OWN = "t:node:n";

  /** " " for the broadcast chain, " direct " for the own channel's, else " channel ". */
  private static String name(String channel) {
    return channel.equals(ALL) ? " " : channel.equals(OWN) ? " direct " : " " + channel + " ";
  }

  private void frame(String origin, boolean direct, long link) {
    byte[] payload = (origin + (direct ? "!" : ":") + link).getBytes(StandardCharsets.UTF_8);
    chains.onFrame(origin, direct ? OWN : ALL, direct, link, false, List.of(
        new Envelope(Envelope.KIND_MESSAGE, origin, link, Target.all(), false, payload)), 100);
  }

  /** A frame of {@code origin}'s chain on a room's channel. */
  private void roomFrame(String origin, String channel, long link) {
    byte[] payload = (origin + "@" + channel + ":" + link).getBytes(StandardCharsets.UTF_8);
    chains.onFrame(origin, channel, false, link, false, List.of(
        new Envelope(Envelope.KIND_MESSAGE, origin, link, Target.all(), false, payload)), 100);
  }

  private void later(long millis) {
    clock.addAndGet(TimeUnit.MILLISECONDS.toNanos(millis));
    chains.tick();
  }

  @Test
  void framesInOrder_areDeliveredAtOnce_fromWhereverTheChainIsFirstSeen() {
    frame("a", 7);
    frame("a", 8);
    frame("a", 9);
    assertEquals(List.of("a:7", "a:8", "a:9"), events);
    assertEquals(0, stats.get(Stats.CHAIN_GAPS));
  }

  @Test
  void aGap_isAskedFor_andTheFramesBehindItWaitUntilItIsFilled() {
    frame("a", 1);
    frame("a", 2);
    frame("a", 5);
    frame("a", 6);
    assertEquals(List.of("a:1", "a:2", "ask a 3-4"), events);
    assertEquals(2, chains.stashed());

    frame("a", 4);
    assertEquals(List.of("a:1", "a:2", "ask a 3-4"), events, "3 is still missing");
    frame("a", 3);

    assertEquals(List.of("a:1", "a:2", "ask a 3-4", "a:3", "a:4", "a:5", "a:6"), events);
    assertEquals(2, stats.get(Stats.CHAIN_GAPS));
    assertEquals(2, stats.get(Stats.CHAIN_RECOVERED));
    assertEquals(0, chains.stashed());
    later(TIMEOUT / 1_000_000 * 2);
    assertEquals(7, events.size(), "nothing given up later");
  }

  @Test
  void twoGaps_areAskedForEach_andFilledInAnyOrder() {
    frame("a", 1);
    frame("a", 3);
    frame("a", 5);
    frame("a", 4); // a repeat would do the same: 4 waits behind 2
    frame("a", 2);
    assertEquals(List.of("a:1", "ask a 2-2", "ask a 4-4", "a:2", "a:3", "a:4", "a:5"), events);
  }

  @Test
  void repeats_atOrBelowTheDeliveredLinkPassThrough_stashedOnesAreKeptOnce() {
    frame("a", 1);
    frame("a", 1); // a republish: the envelopes' sequence numbers drop it later
    frame("a", 3);
    frame("a", 3);
    frame("a", 2);
    assertEquals(List.of("a:1", "a:1", "ask a 2-2", "a:2", "a:3"), events);
  }

  @Test
  void aGapNotFilled_isAskedForAgainEveryQuarterOfTheTimeout_thenCountedLostAndTheRestDelivered() {
    frame("a", 1);
    frame("a", 3);
    later(1_200);
    assertEquals(List.of("a:1", "ask a 2-2"), events);
    later(100);
    assertEquals(List.of("a:1", "ask a 2-2", "ask a 2-2"), events, "again at a quarter");
    later(1_300);
    later(1_300);
    assertEquals(List.of("a:1", "ask a 2-2", "ask a 2-2", "ask a 2-2", "ask a 2-2"), events);
    later(1_000);
    assertEquals(5, events.size());
    later(100);

    assertEquals(List.of("lost a 2-2", "a:3"), events.subList(5, 7));
    assertEquals(1, stats.get(Stats.FRAMES_LOST));
    frame("a", 2); // too late: passes through, dedup decides
    frame("a", 4);
    assertEquals(List.of("lost a 2-2", "a:3", "a:2", "a:4"), events.subList(5, 9));
  }

  @Test
  void aFullStash_givesTheGapUpAtOnce() {
    frame("a", 1);
    for (long link = 3; link <= 3 + Chains.MAX_STASHED_FRAMES; link++) {
      frame("a", link);
    }
    assertEquals("lost a 2-2", events.get(2));
    assertEquals(2 + 1 + Chains.MAX_STASHED_FRAMES + 1, events.size());
    assertEquals("a:" + (3 + Chains.MAX_STASHED_FRAMES), events.get(events.size() - 1));
    assertEquals(0, chains.stashed());
  }

  @Test
  void chains_ofOriginsAndOfTheOwnChannel_areSeparate() {
    frame("a", 1);
    frame("b", 1);
    frame("a", true, 1);
    frame("a", 2);
    frame("a", true, 3);
    frame("b", 2);
    assertEquals(List.of("a:1", "b:1", "a!1", "a:2", "ask a direct 2-2", "b:2"), events);
  }

  @Test
  void anIdleChain_isForgotten_andStartsAgainWhereverItIsSeen() {
    frame("a", 1);
    later(IDLE / 1_000_000 + 1);
    frame("a", 9);
    assertEquals(List.of("a:1", "a:9"), events);
  }

  @Test
  void aCopy_neverStartsAChain_soOlderFramesAreNotAskedFor() {
    chains.onFrame("a", ALL, false, 50, true, List.of(new Envelope(Envelope.KIND_MESSAGE, "a", 50,
        Target.all(), false, "a:50 copy".getBytes(StandardCharsets.UTF_8))), 100);
    frame("a", 101);
    frame("a", 102);
    assertEquals(List.of("a:50 copy", "a:101", "a:102"), events);
    chains.onFrame("a", ALL, false, 100, true, List.of(new Envelope(Envelope.KIND_MESSAGE, "a", 100,
        Target.all(), false, "a:100 copy".getBytes(StandardCharsets.UTF_8))), 100);
    assertEquals("a:100 copy", events.get(3), "below the chain: passes through");
  }

  @Test
  void theLargestGapAChainTakes_isAskedForInOnePiece() {
    frame("a", 1);
    frame("a", 1 + EnvelopeCodec.MAX_RESEND); // one link further starts the chain again
    assertEquals(List.of("a:1", "ask a 2-" + EnvelopeCodec.MAX_RESEND), events);
    assertEquals(0, stats.get(Stats.CHAIN_RESTARTS));
  }

  @Test
  void aLinkFarFromTheChain_startsItAgainThere_andTheRealFramesStartItAgainAfterIt() {
    frame("a", 1);
    frame("a", 3);
    frame("a", Long.MAX_VALUE); // forged, or after a very long absence

    assertEquals(List.of("a:1", "ask a 2-2", "lost a 2-2", "a:3", "a:" + Long.MAX_VALUE), events);
    assertEquals(1, stats.get(Stats.CHAIN_RESTARTS));
    assertEquals(1, stats.get(Stats.FRAMES_LOST), "only the gap it had: nothing counted for the jump");
    frame("a", 4);
    frame("a", 6);
    assertEquals(List.of("a:4", "ask a 5-5"), events.subList(5, 7), "gaps are seen again");
    assertEquals(2, stats.get(Stats.CHAIN_RESTARTS));
  }

  @Test
  void everyGap_isAskedForAgain_notOnlyTheFirst() {
    frame("a", 1);
    frame("a", 3);
    later(600);
    frame("a", 5);
    assertEquals(List.of("a:1", "ask a 2-2", "ask a 4-4"), events);
    later(700); // the first gap is due
    assertEquals(List.of("ask a 2-2"), events.subList(3, events.size()));
    later(600); // the second one is due
    assertEquals(List.of("ask a 2-2", "ask a 4-4"), events.subList(3, events.size()));
  }

  @Test
  void roomChains_areSeparateFromTheBroadcastChain_andAGapIsAskedForOnItsChannel() {
    frame("a", 1);
    roomFrame("a", "t:room:x", 1);
    roomFrame("a", "t:room:y", 1);
    roomFrame("a", "t:room:x", 3);
    frame("a", 2);
    roomFrame("a", "t:room:y", 2);
    assertEquals(List.of("a:1", "a@t:room:x:1", "a@t:room:y:1", "ask a t:room:x 2-2", "a:2",
        "a@t:room:y:2"), events, "the gap of room x holds back room x only");
    roomFrame("a", "t:room:x", 2);
    assertEquals(List.of("a@t:room:x:2", "a@t:room:x:3"), events.subList(6, 8));
  }
}
