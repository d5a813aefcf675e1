package io.wscluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The dispatcher with the node's real actors around it ({@link ActorRig}): what it rejects, drops
 * and delivers, what it hands to the probe and the publisher, and a chain held behind a gap. Every
 * frame goes in where the transport hands it over ({@link Dispatcher#onFrame}). No sleeps.
 */
class DispatcherTest {
  private static final String PEER = "o";
  private ActorRig rig = new ActorRig();
  private final String broadcast = rig.channels.broadcast;
  private final String own = rig.channels.ofNode(ActorRig.NODE);

  // ================================================================ rejected frames

  @Test
  void garbageAndForgedFrames_countedPerReason_andReachNoSession() {
    FakeSession s = rig.connect();
    byte[] fromPeer = rig.message(PEER, 1, Target.all(), "hi", 0);
    byte[] unsigned = frameBy(new EnvelopeCodec(1 << 20));
    byte[] forged = frameBy(ActorRig.codec("another secret, of another cluster, 32+"));
    byte[] altered = fromPeer.clone();
    altered[altered.length - 40] ^= 1; // a payload byte: the tag no longer verifies

    rig.dispatcher.onFrame(broadcast, new byte[] {9, 9, 9});
    rig.dispatcher.onFrame(broadcast, unsigned);
    rig.dispatcher.onFrame(broadcast, forged);
    rig.dispatcher.onFrame(broadcast, altered);

    assertEquals(4, rig.stats.get(Stats.REJECTED));
    assertEquals(1, rig.stats.get("rejected.version"));
    assertEquals(1, rig.stats.get("rejected.auth_missing"));
    assertEquals(2, rig.stats.get("rejected.auth_invalid"));
    assertEquals(4, rig.stats.get(Stats.FRAMES_RECEIVED));
    assertEquals(0, rig.stats.get(Stats.ENVELOPES_RECEIVED));
    assertEquals(List.of(), s.received());
  }

  /** The peer's message as a node with {@code codec}'s secret (or none) frames it. */
  private static byte[] frameBy(EnvelopeCodec codec) {
    return codec.frame(List.of(codec.encode(new Envelope(Envelope.KIND_MESSAGE, PEER, 1,
        Target.all(), false, ActorRig.utf8("hi")))));
  }

  @Test
  void rejectedFrame_doesNotStopTheDispatcher() {
    FakeSession s = rig.connect();
    rig.dispatcher.onFrame(broadcast, new byte[0]);
    rig.dispatcher.onFrame(broadcast, rig.message(PEER, 1, Target.all(), "after", 0));
    assertEquals(1, rig.stats.get("rejected.empty"));
    assertEquals(List.of("after"), s.received());
  }

  // ================================================================ dedup

  @Test
  void ownEcho_dropped_andCounted() {
    FakeSession s = rig.connect();
    rig.dispatcher.onFrame(broadcast, rig.message(ActorRig.NODE, 1, Target.all(), "mine", 1));
    assertEquals(1, rig.stats.get(Stats.OWN_ECHOES));
    assertEquals(List.of(), s.received(), "this node wrote its own message when it sent it");
  }

  @Test
  void repeat_droppedAsDuplicate_deliveredOnce() {
    FakeSession s = rig.connect();
    byte[] frame = rig.message(PEER, 1, Target.all(), "once", 1);
    rig.dispatcher.onFrame(broadcast, frame);
    rig.dispatcher.onFrame(broadcast, frame); // a republish after an outage
    assertEquals(List.of("once"), s.received());
    assertEquals(1, rig.stats.get(Stats.DUPLICATES));
    assertEquals(2, rig.stats.get(Stats.ENVELOPES_RECEIVED));
  }

  @Test
  void dedupOff_theControl_deliversTheRepeatTwice() {
    rig = new ActorRig(WsClusterConfig.builder().build(), false);
    FakeSession s = rig.connect();
    byte[] frame = rig.message(PEER, 1, Target.all(), "once", 1);
    rig.dispatcher.onFrame(broadcast, frame);
    rig.dispatcher.onFrame(broadcast, frame);
    assertEquals(List.of("once", "once"), s.received());
    assertEquals(0, rig.stats.get(Stats.DUPLICATES));
  }

  // ================================================================ delivery

  @Test
  void message_deliveredOnceToEachMatchingLocalSession_only() {
    FakeSession inRoom = rig.connect("r");
    FakeSession inBoth = rig.connect("r", "q");
    FakeSession elsewhere = rig.connect("q");
    rig.dispatcher.onFrame(broadcast, rig.message(PEER, 1, Target.rooms("r", "q")
        .except(rig.id(elsewhere)), "m", 1));
    assertEquals(List.of("m"), inRoom.received());
    assertEquals(List.of("m"), inBoth.received(), "in two targeted rooms, written once");
    assertEquals(List.of(), elsewhere.received(), "excepted");
    assertEquals(1, rig.stats.get(Stats.ENVELOPES_RECEIVED));
  }

  @Test
  void probeComingBack_takenByTheProbe_notCountedAsAnEnvelope() {
    rig.probe.run();
    ScriptedTransport.Published probe = rig.transport.published.get(0);
    assertEquals(own, probe.channel());
    rig.time.advance(20);
    rig.dispatcher.onFrame(probe.channel(), probe.frame());
    assertEquals(1, rig.stats.get(Stats.PROBES_RECEIVED));
    assertEquals(20_000, rig.probe.roundTripMicros());
    assertEquals(0, rig.stats.get(Stats.ENVELOPES_RECEIVED));
    assertEquals(0, rig.stats.get(Stats.OWN_ECHOES), "not taken for an echo of a message");
  }

  @Test
  void resendRequest_handedToThePublisher_whichPublishesCopiesToTheRequester() throws Exception {
    rig.sender.send(Target.all(), ActorRig.utf8("a"), false, "a");
    rig.time.runReady();
    rig.dispatcher.onFrame(own, rig.frame(Envelope.resend(PEER, 1, false, 1, 1), 0));
    rig.time.runReady();
    assertEquals(List.of("t:all [a]", "t:node:o [a]"), rig.publishes());
    EnvelopeCodec.Decoded copy = rig.published(1);
    assertTrue(copy.copy && copy.broadcastChain, "a copy of a broadcast-chain frame");
    assertEquals(1, copy.link);
    assertEquals(1, rig.stats.get(Stats.FRAMES_RESENT));
  }

  // ================================================================ chains

  /** A session, and m1 and m3 of the peer at links 1 and 3 of its broadcast chain (or none). */
  private FakeSession m2Lost(boolean chained) {
    FakeSession s = rig.connect();
    rig.dispatcher.onFrame(broadcast, rig.message(PEER, 1, Target.all(), "m1", chained ? 1 : 0));
    rig.dispatcher.onFrame(broadcast, rig.message(PEER, 3, Target.all(), "m3", chained ? 3 : 0));
    return s;
  }

  @Test
  void frameAfterAGap_heldBack_missingOneAskedFor_thenBothDeliveredInOrder() throws Exception {
    FakeSession s = m2Lost(true);
    assertEquals(List.of("m1"), s.received(), "m3 waits for m2");
    rig.time.runReady();
    assertEquals(List.of("t:node:o [resend 2..2]"), rig.publishes(),
        "asked for on the origin's channel, of its broadcast chain");
    assertEquals(0, rig.published(0).link, "a request is not chained");

    // the origin's answer: a copy of its broadcast-chain frame, on this node's channel
    byte[] copy = rig.codec.frame(List.of(rig.codec.encode(new Envelope(Envelope.KIND_MESSAGE,
        PEER, 2, Target.all(), false, ActorRig.utf8("m2")))), 2, true, true);
    rig.dispatcher.onFrame(own, copy);
    assertEquals(List.of("m1", "m2", "m3"), s.received());
    assertEquals(1, rig.stats.get(Stats.CHAIN_GAPS));
    assertEquals(1, rig.stats.get(Stats.CHAIN_RECOVERED));
  }

  @Test
  void unchainedFrames_theControl_deliveredAsTheyCome_nothingAskedFor() throws Exception {
    FakeSession s = m2Lost(false);
    rig.time.runReady();
    assertEquals(List.of("m1", "m3"), s.received(), "the loss of m2 goes unseen");
    assertEquals(List.of(), rig.publishes());
  }
}
