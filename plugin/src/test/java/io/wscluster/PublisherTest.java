package io.wscluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.Test;

/**
 * The publisher on virtual time ({@link VirtualTime}) and a transport the test answers
 * ({@link ScriptedTransport}): batching and order, the outage hold (retries, the publish wait,
 * the replay of the second before), the shortfall of receivers, resends, syncs and stop. No
 * sleeps: every pause is a turn of the virtual clock. See docs/protocol.md.
 */
class PublisherTest {
  private static final long SHORTFALL_HOLD_MILLIS = 2000;
  private final VirtualTime time = new VirtualTime();
  private final ScriptedTransport transport = new ScriptedTransport();
  private final EnvelopeCodec codec = new EnvelopeCodec(1 << 20);
  private final Stats stats = new Stats();
  private final Channels channels = new Channels("t");
  private final OutageBuffer buffer =
      new OutageBuffer("n", WsClusterConfig.builder().build(), stats);
  private int live = 1;
  /** Rooms looked up, in order; the directory's answer per room (0 nodes when not set). */
  private final List<String> lookups = new ArrayList<>();
  private final java.util.Map<String, CompletableFuture<Integer>> roomAnswers =
      new java.util.HashMap<>();
  private final Peers peers = new Peers() {
    @Override
    public int liveCount() {
      return live;
    }

    @Override
    public boolean isLive(String node) {
      return true;
    }

    @Override
    public CompletableFuture<Integer> roomNodes(String room) {
      lookups.add(room);
      return roomAnswers.getOrDefault(room, CompletableFuture.completedFuture(0));
    }
  };
  private Publisher publisher = publisher(ChainSender.chained(codec), true, true);

  private Publisher publisher(ChainSender chains, boolean replay, boolean countsReceivers) {
    Publisher p = new Publisher("n", channels, transport, codec, chains,
        new FrameHistory(true, replay), buffer, stats, peers, time, time, time,
        SHORTFALL_HOLD_MILLIS * 1_000_000, countsReceivers);
    p.open(time.getAsLong());
    time.runReady();
    return p;
  }

  /** Queues a message to all, as a send does; the publisher runs at the next turn of time. */
  private CompletableFuture<Void> send(String text) {
    CompletableFuture<Void> done = new CompletableFuture<>();
    synchronized (publisher.outgoing.lock) {
      byte[] encoded = codec.encode(new Envelope(Envelope.KIND_MESSAGE, "n",
          publisher.outgoing.nextSeq(), Target.all(), false, text.getBytes(StandardCharsets.UTF_8)));
      assertTrue(buffer.admit(encoded.length));
      publisher.outgoing.add(new Pending(encoded, done, null, true));
    }
    publisher.schedulePublish();
    return done;
  }

  /** Queues a message to {@code room}, on its channel, as a send does. */
  private CompletableFuture<Void> sendToRoom(String room, String text) {
    CompletableFuture<Void> done = new CompletableFuture<>();
    synchronized (publisher.outgoing.lock) {
      Target target = Target.room(room);
      byte[] encoded = codec.encode(new Envelope(Envelope.KIND_MESSAGE, "n",
          publisher.outgoing.nextSeq(), target, false, text.getBytes(StandardCharsets.UTF_8)));
      assertTrue(buffer.admit(encoded.length));
      publisher.outgoing.add(new Pending(encoded, done, null, channels.ofTarget(target), true,
          null));
    }
    publisher.schedulePublish();
    return done;
  }

  private EnvelopeCodec.Decoded decode(int i) throws EnvelopeCodec.Rejection {
    return codec.decodeFrame(transport.published.get(i).frame());
  }

  /** Per publish: its channel and the texts it carried ("sync" for a sync). */
  private List<String> publishes() throws EnvelopeCodec.Rejection {
    List<String> out = new ArrayList<>();
    for (int i = 0; i < transport.published.size(); i++) {
      List<String> texts = new ArrayList<>();
      for (Envelope e : decode(i).envelopes) {
        texts.add(e.kind == Envelope.KIND_SYNC ? "sync"
            : new String(e.payload, StandardCharsets.UTF_8));
      }
      out.add(transport.published.get(i).channel() + " " + texts);
    }
    return out;
  }

  // ================================================================ batching and order

  @Test
  void queued_publishedAsOneFrameInSequenceOrder_andCompleted() throws Exception {
    List<CompletableFuture<Void>> done = List.of(send("a"), send("b"), send("c"));
    time.runReady();
    assertEquals(List.of("t:all [a, b, c]"), publishes());
    done.forEach(d -> assertTrue(d.isDone() && !d.isCompletedExceptionally()));
    assertEquals(1, stats.get(Stats.FRAMES_PUBLISHED));
    assertEquals(0, buffer.messages());
    assertEquals(1, decode(0).link);
  }

  @Test
  void notOpen_publishesNothing_untilOpenedAndItsGraceOver() throws Exception {
    publisher = new Publisher("n", channels, transport, codec, ChainSender.chained(codec),
        new FrameHistory(true, true), buffer, stats, peers, time, time, time, 0, true);
    send("a");
    time.runReady();
    assertEquals(List.of(), publishes());
    publisher.open(time.getAsLong() + 3_000_000_000L);
    time.advance(2999);
    assertEquals(List.of(), publishes());
    time.advance(1);
    assertEquals(List.of("t:all [a]"), publishes());
  }

  // ================================================================ the outage hold

  @Test
  void refused_heldAndRetriedEvery200ms_laterMessagesWaitBehindIt() throws Exception {
    transport.failure = new IllegalStateException("Redis is down");
    CompletableFuture<Void> a = send("a");
    time.runReady();
    assertNotEquals(0, publisher.heldSinceNanos());
    CompletableFuture<Void> b = send("b");
    time.advance(199);
    assertEquals(1, transport.published.size(), "nothing passes a held frame, nor is it retried early");
    time.advance(1);
    assertEquals(2, transport.published.size());
    transport.failure = null;
    time.advance(200);
    assertEquals(List.of("t:all [a]", "t:all [a]", "t:all [a]", "t:all [b]"), publishes());
    assertTrue(a.isDone() && b.isDone() && !a.isCompletedExceptionally());
    assertEquals(0, publisher.heldSinceNanos());
    assertEquals(1, stats.get(Stats.OUTAGE_HELD));
    assertEquals(1, stats.get(Stats.OUTAGE_REPUBLISHED));
    assertEquals(2, stats.get(Stats.OUTAGE_RETRIES));
    assertEquals(List.of(1L, 1L, 1L, 2L), links(), "a held frame keeps its link");
  }

  private List<Long> links() throws Exception {
    List<Long> out = new ArrayList<>();
    for (int i = 0; i < transport.published.size(); i++) {
      out.add(decode(i).link);
    }
    return out;
  }

  @Test
  void noAnswerWithinThePublishWait_countsAsRefused() throws Exception {
    transport.silent = true;
    CompletableFuture<Void> a = send("a");
    time.advance(999);
    assertEquals(0, stats.get(Stats.OUTAGE_HELD));
    time.advance(1);
    assertEquals(1, stats.get(Stats.OUTAGE_HELD), "held once the publish wait ran out");
    transport.silent = false;
    time.advance(200);
    assertTrue(a.isDone() && !a.isCompletedExceptionally());
    assertEquals(List.of("t:all [a]", "t:all [a]"), publishes());
  }

  @Test
  void outageBegins_theFramesOfTheSecondBefore_publishedAgainFirst() throws Exception {
    send("a");
    time.advance(500);
    send("b");
    time.advance(600); // a was taken 1.1 s ago, b 0.6 s ago
    transport.failure = new IllegalStateException("Redis is down");
    send("c");
    time.runReady();
    transport.failure = null;
    time.advance(200);
    assertEquals(List.of("t:all [a]", "t:all [b]", "t:all [c]", "t:all [b]", "t:all [c]"),
        publishes());
    assertTrue(decode(3).copy, "a replay is marked as a copy");
    assertFalse(decode(4).copy);
    assertEquals(1, stats.get(Stats.OUTAGE_REPLAYED));
  }

  @Test
  void replaysOff_theControl_publishesOnlyWhatWasRefused() throws Exception {
    publisher = publisher(ChainSender.chained(codec), false, true);
    send("a");
    time.advance(500);
    transport.failure = new IllegalStateException("Redis is down");
    send("b");
    time.runReady();
    transport.failure = null;
    time.advance(200);
    assertEquals(List.of("t:all [a]", "t:all [b]", "t:all [b]"), publishes());
  }

  @Test
  void fewerReceiversThanLiveNodes_heldForTheShortfallHold_thenGivenUp() throws Exception {
    live = 2;
    CompletableFuture<Void> a = send("a");
    time.advance(SHORTFALL_HOLD_MILLIS - 1);
    assertFalse(a.isDone(), "held while a live node does not receive it");
    time.advance(200);
    assertTrue(a.isDone() && !a.isCompletedExceptionally(), "given up: completes");
    assertEquals(1, stats.get(Stats.OUTAGE_GAVE_UP));
  }

  @Test
  void fewerReceivers_thenAll_publishedWithoutGivingUp() throws Exception {
    live = 2;
    CompletableFuture<Void> a = send("a");
    time.advance(400);
    transport.receivers = 2;
    time.advance(200);
    assertTrue(a.isDone());
    assertEquals(0, stats.get(Stats.OUTAGE_GAVE_UP));
    assertEquals(1, stats.get(Stats.OUTAGE_REPUBLISHED));
  }

  @Test
  void transportThatCountsNoReceivers_fewerThanLiveNodes_doneAtOnce() throws Exception {
    publisher = publisher(ChainSender.chained(codec), true, false);
    live = 3;
    transport.receivers = 0;
    CompletableFuture<Void> a = send("a");
    time.runReady();
    assertTrue(a.isDone() && !a.isCompletedExceptionally(), "the count means nothing: not held");
    assertEquals(List.of("t:all [a]"), publishes());
    assertEquals(0, publisher.heldSinceNanos());
    assertEquals(0, stats.get(Stats.OUTAGE_HELD));
  }

  @Test
  void transportThatCountsNoReceivers_refused_stillHeldUntilTaken() throws Exception {
    publisher = publisher(ChainSender.chained(codec), true, false);
    transport.failure = new IllegalStateException("the servers are down");
    CompletableFuture<Void> a = send("a");
    time.runReady();
    assertNotEquals(0, publisher.heldSinceNanos(), "a publish error holds the frame");
    transport.failure = null;
    transport.receivers = 0;
    time.advance(200);
    assertTrue(a.isDone() && !a.isCompletedExceptionally());
    assertEquals(List.of("t:all [a]", "t:all [a]"), publishes());
    assertEquals(0, publisher.heldSinceNanos());
  }

  // ================================================================ chains: resends and syncs

  @Test
  void resendRequest_keptFramesCopiedToTheRequesterOnly_theRestCountedMissed() throws Exception {
    send("a");
    time.runReady();
    send("b");
    time.runReady();
    publisher.onResendRequest("x", false, "", 1, 3);
    time.runReady();
    assertEquals(List.of("t:all [a]", "t:all [b]", "t:node:x [a]", "t:node:x [b]"), publishes());
    assertTrue(decode(2).copy && decode(2).broadcastChain);
    assertEquals(List.of(1L, 2L, 1L, 2L), links());
    assertEquals(2, stats.get(Stats.FRAMES_RESENT));
    assertEquals(1, stats.get(Stats.RESEND_MISSED), "link 3 was never published");
  }

  @Test
  void heartbeat_syncsTheChannelsThatGotFrames_once() throws Exception {
    send("a");
    time.runReady();
    publisher.onHeartbeat();
    time.runReady();
    publisher.onHeartbeat();
    time.runReady();
    assertEquals(List.of("t:all [a]", "t:all [sync]"), publishes());
    assertEquals(List.of(1L, 2L), links());
  }

  @Test
  void unchained_theControl_framesCarryNoLink() throws Exception {
    publisher = publisher(ChainSender.unchained(codec), true, true);
    send("a");
    time.runReady();
    publisher.onHeartbeat();
    time.runReady();
    assertEquals(List.of("t:all [a]"), publishes(), "no chain, no sync");
    assertEquals(0, decode(0).link);
  }

  // ================================================================ stop

  @Test
  void stopping_whatIsHeldFails_andLeavesTheBuffer() throws Exception {
    transport.failure = new IllegalStateException("Redis is down");
    CompletableFuture<Void> a = send("a");
    time.runReady();
    CompletableFuture<Void> b = send("b");
    publisher.stopping();
    publisher.failUnpublished();
    assertInstanceOf(WsClusterException.class, a.handle((v, e) -> e).join());
    assertInstanceOf(WsClusterException.class, b.handle((v, e) -> e).join());
    assertEquals(0, buffer.messages());
    assertEquals(2, stats.get(Stats.OUTAGE_DROPPED));
    assertEquals(2, stats.get(Stats.PUBLISH_FAILED));
  }

  // ================================================================ room channels: whom a frame must reach

  @Test
  void roomChannel_receiversAsManyAsTheRoomsNodes_doneAlthoughFewerThanTheLiveNodes()
      throws Exception {
    live = 3;
    transport.receivers = 1;
    roomAnswers.put("r", CompletableFuture.completedFuture(1));
    CompletableFuture<Void> a = sendToRoom("r", "a");
    time.runReady();
    assertTrue(a.isDone() && !a.isCompletedExceptionally());
    assertEquals(List.of("r"), lookups, "1 of 3 live nodes: the directory says how many");
    assertEquals(0, stats.get(Stats.OUTAGE_HELD));
    sendToRoom("r", "b");
    time.runReady();
    assertEquals(List.of("r"), lookups, "a count read within the hold that is reached: trusted");
    assertEquals(List.of("t:room:r [a]", "t:room:r [b]"), publishes());
  }

  @Test
  void roomChannel_everyLiveNodeReached_noLookup() throws Exception {
    live = 2;
    transport.receivers = 2;
    sendToRoom("r", "a");
    time.runReady();
    assertEquals(List.of(), lookups);
    assertEquals(1, stats.get(Stats.FRAMES_PUBLISHED));
  }

  @Test
  void roomChannel_fewerReceiversThanTheRoomsNodes_heldUntilTheyAreThere() throws Exception {
    live = 3;
    transport.receivers = 1;
    roomAnswers.put("r", CompletableFuture.completedFuture(2)); // a node joined, subscribing
    CompletableFuture<Void> a = sendToRoom("r", "a");
    time.runReady();
    CompletableFuture<Void> b = sendToRoom("r", "b");
    assertFalse(a.isDone());
    assertEquals(1, stats.get(Stats.OUTAGE_HELD));
    time.advance(200);
    assertFalse(a.isDone(), "still 1 of 2");
    assertEquals(2, lookups.size(), "a shortfall is checked against a fresh count");
    transport.receivers = 2;
    time.advance(200);
    assertTrue(a.isDone() && b.isDone() && !a.isCompletedExceptionally());
    assertEquals(List.of("t:room:r [a]", "t:room:r [a]", "t:room:r [a]", "t:room:r [b]"),
        publishes(), "nothing passed the held frame");
    assertEquals(0, stats.get(Stats.OUTAGE_GAVE_UP));
  }

  @Test
  void roomChannel_aNodeLeftTheRoom_aFreshCountLetsTheFrameGo() throws Exception {
    live = 3;
    transport.receivers = 2;
    roomAnswers.put("r", CompletableFuture.completedFuture(2));
    sendToRoom("r", "a");
    time.runReady();
    transport.receivers = 1; // the other node's last member left and it unsubscribed
    roomAnswers.put("r", CompletableFuture.completedFuture(1));
    CompletableFuture<Void> b = sendToRoom("r", "b");
    time.runReady();
    assertTrue(b.isDone() && !b.isCompletedExceptionally());
    assertEquals(List.of("r", "r"), lookups, "short of the cached 2: looked up again");
    assertEquals(0, stats.get(Stats.OUTAGE_HELD));
  }

  @Test
  void roomChannel_lookupWaitsForTheDirectory_andNothingPassesMeanwhile() throws Exception {
    live = 3;
    transport.receivers = 1;
    CompletableFuture<Integer> answer = new CompletableFuture<>();
    roomAnswers.put("r", answer);
    CompletableFuture<Void> a = sendToRoom("r", "a");
    send("b");
    time.runReady();
    assertEquals(1, transport.published.size(), "one frame at a time: b waits for a's check");
    answer.complete(1);
    time.runReady();
    assertTrue(a.isDone());
    assertEquals(List.of("t:room:r [a]", "t:all [b]"), publishes());
  }

  @Test
  void roomChannel_directoryCannotAnswer_countsEveryLiveNode_heldForTheShortfallHoldAtMost()
      throws Exception {
    live = 2;
    transport.receivers = 1;
    roomAnswers.put("r", CompletableFuture.failedFuture(new IllegalStateException("down")));
    CompletableFuture<Void> a = sendToRoom("r", "a");
    time.runReady();
    assertEquals(1, stats.get(Stats.OUTAGE_HELD));
    time.advance(SHORTFALL_HOLD_MILLIS);
    assertTrue(a.isDone() && !a.isCompletedExceptionally(), "given up after the hold");
    assertEquals(1, stats.get(Stats.OUTAGE_GAVE_UP));
  }

  @Test
  void roomChannel_resendRequest_copiesToTheRequesterNamingTheRoomsChain() throws Exception {
    live = 1;
    sendToRoom("r", "a");
    time.runReady();
    sendToRoom("s", "b");
    time.runReady();
    publisher.onResendRequest("x", false, "r", 1, 1);
    time.runReady();
    assertEquals(List.of("t:room:r [a]", "t:room:s [b]", "t:node:x [a]"), publishes());
    EnvelopeCodec.Decoded copy = decode(2);
    assertTrue(copy.copy);
    assertEquals("r", copy.chain, "the copy names the chain it belongs to");
    assertEquals(1, copy.link);
  }

  @Test
  void heartbeat_syncsTheRoomChannelsThatGotFrames() throws Exception {
    live = 1;
    sendToRoom("r", "a");
    time.runReady();
    publisher.onHeartbeat();
    time.runReady();
    assertEquals(List.of("t:room:r [a]", "t:room:r [sync]"), publishes());
    assertEquals(2, decode(1).link);
  }

  /** Tells the publisher the live nodes, as a presence heartbeat does, and lets it run. */
  private void live(String... nodes) {
    publisher.onLiveNodes(java.util.Set.of(nodes));
    time.runReady();
  }

  private void heartbeats(int n) {
    for (int i = 0; i < n; i++) {
      publisher.onHeartbeat();
      time.runReady();
    }
  }

  @Test
  void nodeLiveAgain_everyChainUsedWithinTheKeepTime_syncedForFiveHeartbeats() throws Exception {
    live("n", "x");
    send("a");
    time.runReady();
    heartbeats(1);
    live("n"); // x's lease lapsed: what goes now is not held for it
    live("n", "x"); // x is back
    heartbeats(Publisher.RESYNC_HEARTBEATS + 2);
    List<String> expected = new ArrayList<>(List.of("t:all [a]", "t:all [sync]"));
    for (int i = 0; i < Publisher.RESYNC_HEARTBEATS; i++) {
      expected.add("t:all [sync]");
    }
    assertEquals(expected, publishes(), "a sync per heartbeat while x may have missed frames");
  }

  @Test
  void nodeLiveForTheFirstTime_noExtraSync() throws Exception {
    live("n");
    send("a");
    time.runReady();
    heartbeats(1);
    live("n", "x"); // x joins: it has no chain of this node to resume
    heartbeats(2);
    assertEquals(List.of("t:all [a]", "t:all [sync]"), publishes());
  }

  @Test
  void nodeLiveAgain_chainsUnusedForLongerThanTheKeepTime_notSynced() throws Exception {
    live("n", "x");
    send("a");
    time.runReady();
    heartbeats(1);
    time.advance(java.util.concurrent.TimeUnit.NANOSECONDS.toMillis(FrameHistory.KEEP_NANOS) + 1);
    live("n");
    live("n", "x");
    heartbeats(2);
    assertEquals(List.of("t:all [a]", "t:all [sync]"), publishes(),
        "nothing kept to resend: no sync");
  }
}
