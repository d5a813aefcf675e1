package io.wscluster;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.wscluster.memory.TestMemory;
import io.wscluster.spi.Transport;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.function.BiConsumer;
import java.util.function.Consumer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * What a node does when Redis does not take its messages or a live node does not receive them:
 * it keeps them, in order, and publishes them again; the outage buffer bounds what waits; the
 * liveness probe finds a subscription that stopped delivering and subscribes again; frames Redis
 * took and then never handed to a node are asked for again through the frame chains.
 */
class OutageTest {
  private static final Duration WAIT = Duration.ofSeconds(10);
  private final ConcurrentHashMap<String, List<BiConsumer<String, byte[]>>> bus =
      new ConcurrentHashMap<>();
  private final List<ClusterNode> nodes = new ArrayList<>();

  @AfterEach
  void stopNodes() {
    nodes.forEach(ClusterNode::stop);
  }

  private ClusterNode start(String name, Transport transport,
      Consumer<WsClusterConfig.Builder> more) throws Exception {
    return start(name, transport, NodeParts.DEFAULT, more);
  }

  private ClusterNode start(String name, Transport transport, NodeParts hooks,
      Consumer<WsClusterConfig.Builder> more) throws Exception {
    WsClusterConfig.Builder b = WsClusterConfig.builder()
        .transport(WsClusterConfig.TransportType.MEMORY).channelPrefix("outage").nodeName(name)
        .set(WsClusterConfig.SHUTDOWN_TIMEOUT, "1s")
        .set(WsClusterConfig.NODE_HEARTBEAT, "100ms")
        .set(WsClusterConfig.NODE_TTL, "2s");
    more.accept(b);
    ClusterNode node = new ClusterNode(b.build(), transport, hooks, System::nanoTime,
        t -> TestMemory.directory(null, "outage"));
    nodes.add(node);
    node.start();
    return node;
  }

  /** A memory transport that can refuse publishes, or publish without reaching anyone. */
  static class Flaky implements Transport {
    final ConcurrentHashMap<String, List<BiConsumer<String, byte[]>>> bus;
    final Transport delegate;
    volatile boolean down;
    /** Publishes reach nobody but report this node's own subscription (a peer is missing). */
    volatile boolean peersMissing;
    /**
     * Redis has dropped this node's subscriptions without a disconnect: frames for it are lost
     * and a publish to its own channel reaches no one, until it subscribes again.
     */
    volatile boolean deaf;
    volatile int subscribes;
    /**
     * Redis takes a publish and counts its subscribers, then dies before writing it to them:
     * the publisher sees success, nobody gets the frame.
     */
    volatile boolean lostAfterTaken;
    /** The node channel this transport subscribed to (its node's own channel). */
    volatile String ownChannel = "";

    Flaky(ConcurrentHashMap<String, List<BiConsumer<String, byte[]>>> bus) {
      this.bus = bus;
      this.delegate = TestMemory.transport(bus, 0);
    }

    /**
     * (channel, frame) of an incoming frame: true loses it silently, as a subscriber connection
     * Redis dropped after counting it (or a client library dropping a message) would.
     */
    volatile java.util.function.BiPredicate<String, byte[]> loseIncoming = (ch, frame) -> false;
    final java.util.concurrent.atomic.AtomicInteger lost =
        new java.util.concurrent.atomic.AtomicInteger();

    /** Loses the next {@code n} frames that arrive on channels ending in {@code suffix}. */
    void loseNext(int n, String suffix) {
      java.util.concurrent.atomic.AtomicInteger left = new java.util.concurrent.atomic.AtomicInteger(n);
      loseIncoming = (channel, frame) -> channel.endsWith(suffix) && left.getAndDecrement() > 0;
    }

    @Override
    public void start(Receiver receiver) throws Exception {
      delegate.start((channel, frame) -> {
        if (loseIncoming.test(channel, frame)) {
          lost.incrementAndGet();
        } else if (!deaf) {
          receiver.onFrame(channel, frame);
        }
      });
    }

    @Override
    public CompletionStage<Void> subscribe(String channel) {
      subscribes++;
      deaf = false;
      if (channel.contains(":node:")) {
        ownChannel = channel;
      }
      return delegate.subscribe(channel);
    }

    @Override
    public CompletionStage<Long> publish(String channel, byte[] frame) {
      if (down) {
        return CompletableFuture.failedFuture(new IllegalStateException("redis is down"));
      }
      if (deaf && channel.equals(ownChannel)) {
        return CompletableFuture.completedFuture(0L);
      }
      if (lostAfterTaken) {
        return CompletableFuture.completedFuture((long) bus.getOrDefault(channel, List.of()).size());
      }
      if (peersMissing && channel.endsWith(":all")) {
        return CompletableFuture.completedFuture(1L);
      }
      return delegate.publish(channel, frame);
    }

    @Override
    public void stop() throws Exception {
      delegate.stop();
    }
  }

  @Test
  void redisDown_messagesAreHeldInOrderAndPublishedWhenItTakesThemAgain() throws Exception {
    Flaky flaky = new Flaky(bus);
    ClusterNode a = start("a", flaky, x -> { });
    ClusterNode b = start("b", TestMemory.transport(bus, 0), x -> { });
    FakeSession a1 = new FakeSession();
    FakeSession b1 = new FakeSession();
    a.onSessionOpened(a1.session);
    b.onSessionOpened(b1.session);
    flaky.down = true;

    List<CompletableFuture<Void>> sent = new ArrayList<>();
    for (int i = 0; i < 50; i++) {
      sent.add(a.send(Target.all(), "m" + i).toCompletableFuture());
    }
    Thread.sleep(600);

    assertEquals(50, a1.receivedCount(), "this node's sessions have them at once");
    assertEquals(0, b1.receivedCount());
    assertFalse(sent.get(0).isDone(), "held, not failed");
    assertTrue(a.health().heldForMillis() > 0, a.health().toString());
    assertEquals(50, a.health().queuedMessages());
    assertTrue(a.stats().get("outageRetries") >= 2, a.stats().toString());

    flaky.down = false;

    CompletableFuture.allOf(sent.toArray(new CompletableFuture<?>[0])).get(5, TimeUnit.SECONDS);
    await().atMost(WAIT).until(() -> b1.receivedCount() == 50);
    List<String> expected = new ArrayList<>();
    for (int i = 0; i < 50; i++) {
      expected.add("m" + i);
    }
    assertEquals(expected, b1.received(), "every message once, in order");
    assertEquals(expected, a1.received(), "no copy of its own after the republish");
    assertTrue(a.stats().get("outageRepublished") >= 1, a.stats().toString());
    assertEquals(0, a.health().queuedMessages());
    await().atMost(WAIT).until(() -> a.health().ok());
  }

  /**
   * Redis counted b as reached for m1 and then crashed before writing it (kill -9 with m1 in its
   * output buffer); m2 is the first publish refused. b gets m1 too, before m2, once: the frames
   * Redis took in the second before the outage are published again with the held one.
   */
  @Test
  void redisCrashesWithATakenFrameUnwritten_itIsPublishedAgainWithTheHeldOnes() throws Exception {
    List<String> received = lostBeforeCrash(NodeParts.DEFAULT, "m0", "m1", "m2");
    assertEquals(List.of("m0", "m1", "m2"), received, "every message once, in order");
  }

  /** The control: without the replay (and without the chains), the test sees m1 lost. */
  @Test
  void negativeControl_withoutTheReplay_theFrameRedisLostIsMissing() throws Exception {
    List<String> received = lostBeforeCrash(NodeParts.DEFAULT.replay(false).chains(false),
        "m0", "m2");
    assertEquals(List.of("m0", "m2"), received);
  }

  /** Without the replay the chains still recover m1: b sees m2's link skip m1's and asks. */
  @Test
  void withoutTheReplay_theChainsRecoverTheFrameRedisLost() throws Exception {
    List<String> received = lostBeforeCrash(NodeParts.DEFAULT.replay(false),
        "m0", "m1", "m2");
    assertEquals(List.of("m0", "m1", "m2"), received, "every message once, in order");
  }

  private List<String> lostBeforeCrash(NodeParts hooks, String... expected)
      throws Exception {
    Flaky flaky = new Flaky(bus);
    WsClusterConfig config = WsClusterConfig.builder()
        .transport(WsClusterConfig.TransportType.MEMORY).channelPrefix("outage").nodeName("a")
        .set(WsClusterConfig.SHUTDOWN_TIMEOUT, "1s").build();
    ClusterNode a = new ClusterNode(config, flaky, hooks, System::nanoTime,
        t -> TestMemory.directory(null, "outage"));
    nodes.add(a);
    a.start();
    ClusterNode b = start("b", TestMemory.transport(bus, 0), x -> { });
    FakeSession b1 = new FakeSession();
    b.onSessionOpened(b1.session);
    await().atMost(WAIT).until(() -> a.health().liveNodes() == 2);
    a.send(Target.all(), "m0").toCompletableFuture().get(5, TimeUnit.SECONDS);
    await().atMost(WAIT).until(() -> b1.count("m0") == 1);

    flaky.lostAfterTaken = true;
    a.send(Target.all(), "m1").toCompletableFuture().get(5, TimeUnit.SECONDS);
    flaky.lostAfterTaken = false;
    flaky.down = true;
    CompletableFuture<Void> m2 = a.send(Target.all(), "m2").toCompletableFuture();
    Thread.sleep(300);
    flaky.down = false;

    m2.get(5, TimeUnit.SECONDS);
    await().atMost(WAIT).until(() -> b1.count("m2") == 1);
    Thread.sleep(200); // a late copy would show now
    // m0 and m1: Redis took both in the second before; b drops m0's repeat
    assertEquals(hooks.replay ? 2L : 0L, a.stats().getOrDefault("outageReplayed", 0L),
        a.stats().toString());
    return b1.received();
  }

  @Test
  void redisDown_bufferFull_sendFailsNamingTheLimitAndTheSessionsStillGetIt() throws Exception {
    Flaky flaky = new Flaky(bus);
    ClusterNode a = start("a", flaky, x -> x.set(WsClusterConfig.OUTAGE_BUFFER, "3"));
    FakeSession a1 = new FakeSession();
    a.onSessionOpened(a1.session);
    flaky.down = true;
    for (int i = 0; i < 3; i++) {
      a.send(Target.all(), "kept" + i);
    }

    CompletionStage<Void> fourth = a.send(Target.all(), "over");

    ExecutionException e = assertThrows(ExecutionException.class,
        () -> fourth.toCompletableFuture().get(5, TimeUnit.SECONDS));
    assertInstanceOf(WsClusterException.class, e.getCause());
    String message = e.getCause().getMessage();
    assertTrue(message.startsWith("wscluster node " + a.nodeId() + " did not publish the message: "
        + "3 messages ("), message);
    assertTrue(message.endsWith(" bytes) already wait to be published, the limit of "
        + "wscluster.outage.buffer=3 / wscluster.outage.buffer-bytes=67108864 (is Redis "
        + "reachable?); this node's sessions got it"), message);
    // the local writes run on the writer thread: wait for them, then check exactly what came
    await().atMost(WAIT).until(() -> a1.receivedCount() >= 4);
    assertEquals(List.of("kept0", "kept1", "kept2", "over"), a1.received());
    assertEquals(1, a.stats().get("outageDropped"));
    assertEquals(1, a.stats().get("publishFailed"));
  }

  @Test
  void peerNotSubscribed_frameIsHeldUntilEveryLiveNodeReceivesIt() throws Exception {
    Flaky flaky = new Flaky(bus);
    ClusterNode a = start("a", flaky, x -> { });
    ClusterNode b = start("b", TestMemory.transport(bus, 0), x -> { });
    FakeSession b1 = new FakeSession();
    b.onSessionOpened(b1.session);
    await().atMost(WAIT).until(() -> a.health().liveNodes() == 2);
    flaky.peersMissing = true;

    CompletableFuture<Void> sent = a.send(Target.all(), "late but there").toCompletableFuture();
    Thread.sleep(500);
    assertFalse(sent.isDone());
    assertEquals(0, b1.receivedCount());

    flaky.peersMissing = false;

    sent.get(5, TimeUnit.SECONDS);
    await().atMost(WAIT).until(() -> b1.receivedCount() == 1);
    assertEquals(List.of("late but there"), b1.received());
  }

  @Test
  void subscriptionStopsDelivering_probeMissesAndTheNodeSubscribesAgain() throws Exception {
    Flaky flaky = new Flaky(bus);
    ClusterNode a = start("a", flaky, x -> { });
    ClusterNode b = start("b", TestMemory.transport(bus, 0), x -> { });
    FakeSession a1 = new FakeSession();
    a.onSessionOpened(a1.session);
    await().atMost(WAIT).until(() -> a.health().delivering() && a.health().probeRoundTripMicros() >= 0);
    int subscribesBefore = flaky.subscribes;

    flaky.deaf = true;

    await().atMost(WAIT).until(() -> a.stats().get("resubscribes") >= 1);
    assertTrue(flaky.subscribes >= subscribesBefore + 1, "its channel subscribed again");
    assertTrue(a.stats().get("probesMissed") >= 1);
    await().atMost(WAIT).until(() -> a.health().delivering());
    b.send(Target.all(), "heard again").toCompletableFuture().get(5, TimeUnit.SECONDS);
    await().atMost(WAIT).until(() -> a1.count("heard again") == 1);
  }

  @Test
  void negativeControl_deafSubscriptionWithoutTheProbeResubscribing_staysDeaf() throws Exception {
    Flaky flaky = new Flaky(bus) {
      @Override
      public CompletionStage<Void> subscribe(String channel) {
        subscribes++;
        if (channel.contains(":node:")) {
          ownChannel = channel;
        }
        return delegate.subscribe(channel); // does not cure deafness
      }
    };
    ClusterNode a = start("a", flaky, x -> { });
    ClusterNode b = start("b", TestMemory.transport(bus, 0), x -> { });
    FakeSession a1 = new FakeSession();
    a.onSessionOpened(a1.session);
    flaky.deaf = true;

    b.send(Target.all(), "unheard").toCompletableFuture().get(5, TimeUnit.SECONDS);
    await().atMost(WAIT).until(() -> !a.health().delivering());

    assertEquals(0, a1.count("unheard"), "the test can tell a deaf node from a healthy one");
  }
  // ---------------------------------------------------------------- frames lost after PUBLISH

  /*
   * Frames Redis counted a node as receiving and then never handed it (a dropped subscriber
   * connection, a client library that lost them): the node sees the gap in the origin's chain,
   * asks for the frames again, and delivers everything once and in order. The negative control
   * shows the loss without the chains.
   */

  /** The link of a version 2 frame (its bytes 3 to 10). */
  static long link(byte[] frame) {
    return frame.length < EnvelopeCodec.HEADER_BYTES ? -1 : java.nio.ByteBuffer.wrap(frame, 3, 8).getLong();
  }

  static boolean contains(byte[] haystack, byte[] needle) {
    outer:
    for (int i = 0; i + needle.length <= haystack.length; i++) {
      for (int k = 0; k < needle.length; k++) {
        if (haystack[i + k] != needle[k]) {
          continue outer;
        }
      }
      return true;
    }
    return false;
  }

  private static final class Pair {
    ClusterNode a;
    ClusterNode b;
    Flaky lossy;
    FakeSession b1 = new FakeSession();
  }

  /** a publishes; b's subscriptions lose what the test says. */
  private Pair pair(NodeParts aParts) throws Exception {
    Pair p = new Pair();
    p.a = start("a", TestMemory.transport(bus, 0), aParts, x -> { });
    p.lossy = new Flaky(bus);
    p.b = start("b", p.lossy, x -> { });
    p.b.onSessionOpened(p.b1.session);
    await().atMost(WAIT).until(() -> p.a.health().liveNodes() == 2);
    return p;
  }

  /** Sends each message as its own frame (the previous one published first). */
  private static void sendEach(ClusterNode node, Target target, String... messages)
      throws Exception {
    for (String m : messages) {
      node.send(target, m).toCompletableFuture().get(5, TimeUnit.SECONDS);
    }
  }

  @Test
  void aFrameLostOnTheBroadcastChannel_isAskedForAgain_andEverythingArrivesOnceInOrder()
      throws Exception {
    Pair p = pair(NodeParts.DEFAULT);
    sendEach(p.a, Target.all(), "m0");
    await().atMost(WAIT).until(() -> p.b1.count("m0") == 1);
    p.lossy.loseNext(1, ":all");
    sendEach(p.a, Target.all(), "m1", "m2", "m3", "m4");

    await().atMost(WAIT).until(() -> p.b1.receivedCount() >= 5);
    Thread.sleep(300); // a late copy would show now
    assertEquals(List.of("m0", "m1", "m2", "m3", "m4"), p.b1.received());
    assertEquals(1, p.lossy.lost.get());
    assertEquals(1L, p.b.stats().get("chainGaps"), p.b.stats().toString());
    assertEquals(1L, p.b.stats().get("chainRecovered"), p.b.stats().toString());
    assertEquals(0L, p.b.stats().get("framesLost"), p.b.stats().toString());
    assertEquals(1L, p.a.stats().get("framesResent"), p.a.stats().toString());
  }

  /** The control: the same loss with a publishing unchained frames stays a loss. */
  @Test
  void negativeControl_withoutChains_theLostFrameIsMissing() throws Exception {
    Pair p = pair(NodeParts.DEFAULT.chains(false));
    sendEach(p.a, Target.all(), "m0");
    await().atMost(WAIT).until(() -> p.b1.count("m0") == 1);
    p.lossy.loseNext(1, ":all");
    sendEach(p.a, Target.all(), "m1", "m2", "m3", "m4");

    await().atMost(WAIT).until(() -> p.b1.count("m4") == 1);
    Thread.sleep(500);
    assertEquals(List.of("m0", "m2", "m3", "m4"), p.b1.received());
    assertEquals(0L, p.b.stats().get("chainGaps"));
  }

  @Test
  void theLastFrameOfAStreamLost_theNextSyncShowsIt_andItIsRecovered() throws Exception {
    Pair p = pair(NodeParts.DEFAULT);
    sendEach(p.a, Target.all(), "m0");
    await().atMost(WAIT).until(() -> p.b1.count("m0") == 1);
    p.lossy.loseNext(1, ":all");
    sendEach(p.a, Target.all(), "m1"); // and nothing after it

    await().atMost(WAIT).until(() -> p.b1.count("m1") == 1);
    Thread.sleep(300);
    assertEquals(List.of("m0", "m1"), p.b1.received());
    assertEquals(1L, p.b.stats().get("chainRecovered"), p.b.stats().toString());
  }

  @Test
  void aFrameLostOnTheNodeChannel_isAskedForAgain_andRoutedMessagesArriveOnceInOrder()
      throws Exception {
    Pair p = pair(NodeParts.DEFAULT);
    String b1 = p.b.sessionId(p.b1.session);
    Target toB1 = Target.sessions(b1);
    await().atMost(WAIT).until(() -> p.a.presence().nodeOf(b1).toCompletableFuture().get()
        .isPresent());
    sendEach(p.a, toB1, "d0");
    await().atMost(WAIT).until(() -> p.b1.count("d0") == 1);
    p.lossy.loseNext(1, ":node:" + p.b.nodeId());
    sendEach(p.a, toB1, "d1", "d2", "d3");

    await().atMost(WAIT).until(() -> p.b1.receivedCount() >= 4);
    Thread.sleep(300);
    assertEquals(List.of("d0", "d1", "d2", "d3"), p.b1.received());
    assertEquals(1L, p.b.stats().get("chainRecovered"), p.b.stats().toString());
  }

  /**
   * Every copy of one frame is lost (the origin's copies too): after the gap timeout the node
   * counts it lost, says so, and delivers what came after it, in order.
   */
  @Test
  void aFrameLostForGood_isCountedAndReported_andWhatFollowsIsDelivered() throws Exception {
    Pair p = pair(NodeParts.DEFAULT);
    sendEach(p.a, Target.all(), "m0");
    await().atMost(WAIT).until(() -> p.b1.count("m0") == 1);
    byte[] marker = "never-arrives".getBytes(java.nio.charset.StandardCharsets.UTF_8);
    java.util.concurrent.atomic.AtomicLong lost = new java.util.concurrent.atomic.AtomicLong();
    p.lossy.loseIncoming = (channel, frame) -> {
      if (contains(frame, marker)) { // the frame and every copy, on whatever channel
        lost.set(link(frame));
        return true;
      }
      return false;
    };
    String log;
    try (CapturedStderr err = new CapturedStderr()) {
      sendEach(p.a, Target.all(), "never-arrives", "m2", "m3");
      await().atMost(WAIT).until(() -> p.b1.count("m3") == 1);
      log = err.text();
    }

    assertEquals(List.of("m0", "m2", "m3"), p.b1.received());
    assertEquals(1L, p.b.stats().get("framesLost"), p.b.stats().toString());
    assertTrue(p.lossy.lost.get() >= 3, "the frame and both copies asked for: "
        + p.lossy.lost.get());
    assertTrue(log.contains("ERROR io.wscluster.Dispatcher - [" + p.b.nodeId() + "] frames "
        + lost + " to " + lost + " of node " + p.a.nodeId() + "'s chain on outage:all are lost"),
        log);
  }
}
