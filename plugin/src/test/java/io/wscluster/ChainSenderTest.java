package io.wscluster;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The sending side of the chains: one chain of links per channel, which syncs advance without
 * marking the channel for a sync, and which never starts again; the copies it builds (an outage's
 * replays, a resend to one node) and how a receiver decodes their heads.
 */
class ChainSenderTest {
  private static final String ALL = "t:all";
  private static final String X = "t:node:x";
  private static final String Y = "t:node:y";
  private final EnvelopeCodec codec = new EnvelopeCodec(1 << 20);
  private final ChainSender chains = ChainSender.chained(codec);
  private long seq;

  private Frame frame(String... channels) {
    return chains.frame(List.of(ActorRig.pending(codec, ++seq, "m" + seq)), List.of(channels), 0);
  }

  private Frame syncs(String... channels) {
    return chains.frame(List.of(ActorRig.sync(codec, ++seq)), List.of(channels), 0);
  }

  private EnvelopeCodec.Decoded decode(Frame f, int i) throws EnvelopeCodec.Rejection {
    return codec.decodeFrame(f.bytes[i]);
  }

  // ================================================================ links

  @Test
  void links_countedPerChannel_eachFrameWithItsChannelsOwn() throws Exception {
    assertArrayEquals(new long[] {1}, frame(ALL).links);
    assertArrayEquals(new long[] {2, 1}, frame(ALL, X).links);
    Frame f = frame(Y, X, ALL);
    assertArrayEquals(new long[] {1, 2, 3}, f.links);
    assertEquals(2, decode(f, 1).link, "each channel's bytes carry that channel's link");
    assertEquals(List.of(Y, X, ALL), f.channels);
    assertEquals(Frame.Kind.NEW, f.kind);
  }

  @Test
  void framesOtherThanSyncs_markTheirChannelsUnsynced_untilTaken() {
    assertFalse(chains.anyUnsynced());
    frame(ALL, X);
    assertTrue(chains.anyUnsynced());
    assertEquals(List.of(ALL, X), chains.takeUnsynced().stream().sorted().toList());
    assertFalse(chains.anyUnsynced());
    assertEquals(List.of(), chains.takeUnsynced());
  }

  @Test
  void syncs_takeALink_butDoNotMarkTheChannelUnsynced() {
    frame(ALL);
    chains.takeUnsynced();
    assertArrayEquals(new long[] {2}, syncs(ALL).links);
    assertFalse(chains.anyUnsynced(), "else every sync would ask for the next one");
  }

  @Test
  void frameOfMessagesAndSyncs_marksItsChannelUnsynced() {
    chains.frame(List.of(ActorRig.sync(codec, 1), ActorRig.pending(codec, 2, "m")),
        List.of(ALL), 0);
    assertTrue(chains.anyUnsynced());
  }

  @Test
  void chain_neverStartsAgain_whateverWasTaken() {
    frame(ALL);
    chains.takeUnsynced();
    syncs(ALL);
    chains.takeUnsynced();
    assertArrayEquals(new long[] {3}, frame(ALL).links, "a receiver takes 1 again for a repeat");
  }

  @Test
  void unchained_theControl_everyLinkZero_nothingToSync() throws Exception {
    ChainSender none = ChainSender.unchained(codec);
    Frame f = none.frame(List.of(ActorRig.pending(codec, 1, "m")), List.of(ALL, X), 0);
    assertArrayEquals(new long[] {0, 0}, f.links);
    assertEquals(0, decode(f, 0).link);
    assertFalse(none.anyUnsynced());
  }

  // ================================================================ copies

  @Test
  void replayOf_sameChannelsLinksAndMessages_markedACopy() throws Exception {
    frame(ALL);
    Frame f = frame(ALL, X);
    Frame replay = chains.replayOf(f, 5);
    assertEquals(Frame.Kind.REPLAY, replay.kind);
    assertSame(f.batch, replay.batch, "its messages completed with the original");
    assertEquals(f.channels, replay.channels);
    assertArrayEquals(f.links, replay.links);
    assertEquals(5, replay.firstAttemptNanos);
    for (int i = 0; i < 2; i++) {
      EnvelopeCodec.Decoded d = decode(replay, i);
      assertTrue(d.copy);
      assertFalse(d.broadcastChain, "a replay goes where the original went");
      assertEquals(f.links[i], d.link);
      assertEquals("[m2]", ActorRig.describe(d.envelopes));
    }
    assertArrayEquals(new long[] {3}, frame(ALL).links, "a copy takes no link");
  }

  @Test
  void resentTo_ofTheBroadcastChain_toTheRequesterOnly_flaggedAsSuch() throws Exception {
    frame(ALL);
    Frame f = frame(X, ALL);
    Frame copy = chains.resentTo(f, 1, Y, "", 7);
    assertEquals(Frame.Kind.RESENT, copy.kind);
    assertEquals(List.of(Y), copy.channels);
    assertArrayEquals(new long[] {2}, copy.links, "the link it had on the broadcast channel");
    assertEquals("", copy.chain);
    EnvelopeCodec.Decoded d = decode(copy, 0);
    assertTrue(d.copy && d.broadcastChain);
    assertEquals(2, d.link);
    assertEquals("[m2]", ActorRig.describe(d.envelopes));
  }

  @Test
  void resentTo_ofTheDirectChain_notFlaggedBroadcast() throws Exception {
    Frame f = frame(Y);
    Frame copy = chains.resentTo(f, 0, Y, null, 7);
    assertNull(copy.chain);
    EnvelopeCodec.Decoded d = decode(copy, 0);
    assertTrue(d.copy);
    assertFalse(d.broadcastChain);
    assertEquals(1, d.link);
  }
}
