package io.wscluster;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.wscluster.memory.TestMemory;
import io.wscluster.spi.Transport;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.function.BiConsumer;
import java.util.function.Consumer;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * {@link WsCluster#deliver} and the routing of targeted sends, on three in-memory nodes: receipts,
 * each documented failure, dedup of receipts, and which channel a targeted envelope takes.
 */
class DeliverTest {
  private static final Duration WAIT = Duration.ofSeconds(10);

  private final ConcurrentHashMap<String, List<BiConsumer<String, byte[]>>> bus =
      new ConcurrentHashMap<>();
  private final String prefix = "deliver-" + UUID.randomUUID().toString().substring(0, 8);
  private final List<ClusterNode> nodes = new ArrayList<>();

  @AfterEach
  void stopNodes() {
    nodes.forEach(ClusterNode::stop);
  }

  private WsClusterConfig config(String name, Consumer<WsClusterConfig.Builder> more) {
    WsClusterConfig.Builder b = WsClusterConfig.builder()
        .transport(WsClusterConfig.TransportType.MEMORY)
        .channelPrefix(prefix)
        .nodeName(name)
        .set(WsClusterConfig.SHUTDOWN_TIMEOUT, "1s")
        .set(WsClusterConfig.NODE_HEARTBEAT, "100ms")
        .set(WsClusterConfig.NODE_TTL, "2s");
    more.accept(b);
    return b.build();
  }

  private ClusterNode start(String name, Transport transport,
      Consumer<WsClusterConfig.Builder> more) throws Exception {
    WsClusterConfig config = config(name, more);
    ClusterNode node = new ClusterNode(config, transport, NodeParts.DEFAULT, System::nanoTime,
        t -> TestMemory.directory(null, config.channelPrefix()));
    nodes.add(node);
    node.start();
    return node;
  }

  private ClusterNode start(String name, Consumer<WsClusterConfig.Builder> more)
      throws Exception {
    return start(name, TestMemory.transport(bus, 0), more);
  }

  // ================================================================ the scenario

  /**
   * Nodes A, B, C:
   * <pre>
   *   a1                  b1                      c1
   *                       b2 (principal alice)    c2 (assigned user alice)
   * </pre>
   */
  private final class Scenario {
    final ClusterNode a;
    final ClusterNode b;
    final ClusterNode c;
    final FakeSession a1 = new FakeSession();
    final FakeSession b1 = new FakeSession();
    final FakeSession b2 = FakeSession.withPrincipal("alice");
    final FakeSession c1 = new FakeSession();
    final FakeSession c2 = new FakeSession();
    final List<FakeSession> sessions = List.of(a1, b1, b2, c1, c2);

    Scenario(ClusterNode a, ClusterNode b, ClusterNode c) {
      this.a = a;
      this.b = b;
      this.c = c;
      a.onSessionOpened(a1.session);
      b.onSessionOpened(b1.session);
      b.onSessionOpened(b2.session);
      c.onSessionOpened(c1.session);
      c.onSessionOpened(c2.session);
      c.setUser(c2.session, "alice");
      awaitDirectory();
    }

    /** Until every node's presence sees every session: routing goes by the directory. */
    void awaitDirectory() {
      for (ClusterNode n : nodes()) {
        await().atMost(WAIT).until(() ->
            get(n.presence().sessionsOfUser("alice")).equals(Set.of(b2.id, c2.id))
                && get(n.presence().nodeOf(a1.id)).equals(Optional.of(a.nodeId()))
                && get(n.presence().nodeOf(b1.id)).equals(Optional.of(b.nodeId()))
                && get(n.presence().nodeOf(c1.id)).equals(Optional.of(c.nodeId())));
      }
    }

    List<ClusterNode> nodes() {
      return List.of(a, b, c);
    }

    String name(ClusterNode n) {
      return n == a ? "A" : n == b ? "B" : "C";
    }
  }

  private Scenario threeNodes() throws Exception {
    return threeNodes(x -> { });
  }

  private Scenario threeNodes(Consumer<WsClusterConfig.Builder> more) throws Exception {
    return new Scenario(start("a", more), start("b", more), start("c", more));
  }

  // ================================================================ receipts

  @Test
  void deliver_toASessionOnEachNodeFromEachNode_writesItOnceAndListsIt() throws Exception {
    Scenario s = threeNodes();

    for (ClusterNode from : s.nodes()) {
      for (FakeSession to : List.of(s.a1, s.b1, s.c1)) {
        String text = s.name(from) + " to " + to.id;

        Delivery d = get(from.deliver(Target.session(to.id), text));

        assertEquals(Set.of(to.id), d.delivered(), text);
        assertEquals(Map.of(), d.failed(), text);
        assertEquals(1, to.count(text), "written when the receipt says so: " + text);
      }
    }

    settle();
    for (FakeSession to : List.of(s.a1, s.b1, s.c1)) {
      assertEquals(List.of("A to " + to.id, "B to " + to.id, "C to " + to.id), to.received(),
          "each once, nothing else");
    }
    assertEquals(List.of(), s.b2.received());
    assertEquals(List.of(), s.c2.received());
  }

  @Test
  void deliver_toAUserWithSessionsOnTwoNodes_oneDeliveryListsBoth() throws Exception {
    Scenario s = threeNodes();

    for (ClusterNode from : s.nodes()) {
      String text = "alice from " + s.name(from);

      Delivery d = get(from.deliver(Target.user("alice"), text));

      assertEquals(Set.of(s.b2.id, s.c2.id), d.delivered(), text);
      assertEquals(Map.of(), d.failed(), text);
    }

    settle();
    List<String> all = List.of("alice from A", "alice from B", "alice from C");
    assertEquals(all, s.b2.received());
    assertEquals(all, s.c2.received());
    for (FakeSession other : List.of(s.a1, s.b1, s.c1)) {
      assertEquals(List.of(), other.received());
    }
  }

  @Test
  void deliver_toSessionsOnTwoNodes_listsBothAsDelivered() throws Exception {
    Scenario s = threeNodes();

    // each owner also reports the other's session as "not connected" here: written wins
    Delivery d = get(s.a.deliver(Target.sessions(s.b1.id, s.c1.id, s.a1.id), "three"));

    assertEquals(Set.of(s.a1.id, s.b1.id, s.c1.id), d.delivered());
    assertEquals(Map.of(), d.failed());
  }

  @Test
  void deliver_sessionsAndUserOverlapping_writesEachSessionOnce() throws Exception {
    Scenario s = threeNodes();

    Delivery d = get(s.a.deliver(Target.user("alice").andSessions(s.b2.id, s.c1.id), "overlap"));

    assertEquals(Set.of(s.b2.id, s.c2.id, s.c1.id), d.delivered());
    settle();
    assertEquals(List.of("overlap"), s.b2.received());
    assertEquals(List.of("overlap"), s.c2.received());
    assertEquals(List.of("overlap"), s.c1.received());
  }

  @Test
  void deliver_exceptASession_neitherWritesNorListsIt() throws Exception {
    Scenario s = threeNodes();

    Delivery d = get(s.a.deliver(Target.user("alice").except(s.c2.id), "not c2"));

    assertEquals(Set.of(s.b2.id), d.delivered());
    assertEquals(Map.of(), d.failed());
    settle();
    assertEquals(List.of(), s.c2.received());
  }

  @Test
  void deliver_toALocalSession_isWrittenDirectlyAndPublishesNothing() throws Exception {
    Scenario s = threeNodes();
    Capture capture = new Capture(s);

    CompletionStage<Delivery> stage = s.a.deliver(Target.session(s.a1.id), "local");

    assertEquals(List.of("local"), s.a1.received(), "written before deliver returns");
    assertEquals(Set.of(s.a1.id), get(stage).delivered());
    settle();
    assertEquals(List.of(), capture.all(), "no frame on any channel");
  }

  @Test
  void deliver_binary_isWrittenAsBinary() throws Exception {
    Scenario s = threeNodes();

    Delivery d = get(s.a.deliver(Target.session(s.c1.id), "bytes ✓".getBytes(
        StandardCharsets.UTF_8)));

    assertEquals(Set.of(s.c1.id), d.delivered());
    assertEquals(List.of("bin:bytes ✓"), s.c1.received());
  }

  @Test
  void deliver_message_goesToTheOwnerAndItsReceiptToTheOriginsChannelOnly() throws Exception {
    Scenario s = threeNodes();
    Capture capture = new Capture(s);

    get(s.a.deliver(Target.session(s.b1.id), "routed"));
    settle();

    // as a set: the capture sees the receipt before the message when the owner answers before the
    // memory bus has called the capture for the message (the owner is called first)
    assertEquals(java.util.Set.of(s.b.nodeChannel(s.b.nodeId()) + " message from " + s.a.nodeId(),
        s.a.nodeChannel(s.a.nodeId()) + " receipt from " + s.b.nodeId()),
        java.util.Set.copyOf(capture.all()));
    assertEquals(2, capture.all().size(), capture.all().toString());
  }

  // ================================================================ failures

  @Test
  void deliver_unknownSession_failsNotConnectedPromptly() throws Exception {
    Scenario s = threeNodes();
    Target ghost = Target.session("ghost");
    long start = System.nanoTime();

    DeliveryException e = failure(s.a.deliver(ghost, "to nobody"));

    assertEquals(DeliveryException.Reason.NOT_CONNECTED, e.reason());
    assertEquals("wscluster could not deliver to " + ghost
        + " (NOT_CONNECTED): Delivery{delivered 0 [], failed 1 [ghost=not connected]}", e.getMessage());
    assertEquals(Set.of(), e.delivery().delivered());
    assertEquals(Map.of("ghost", "not connected"), e.delivery().failed());
    assertTrue(System.nanoTime() - start < TimeUnit.SECONDS.toNanos(1),
        "no owner to wait for: fails at once");
  }

  @Test
  void deliver_unknownUser_failsNotConnected() throws Exception {
    Scenario s = threeNodes();
    Target nobody = Target.user("nobody");

    DeliveryException e = failure(s.b.deliver(nobody, "to nobody"));

    assertEquals(DeliveryException.Reason.NOT_CONNECTED, e.reason());
    assertEquals("wscluster could not deliver to " + nobody
        + " (NOT_CONNECTED): Delivery{delivered 0 [], failed 0 []}", e.getMessage());
  }

  @Test
  void deliver_knownAndUnknownSession_completesListingTheUnknownAsNotConnected()
      throws Exception {
    Scenario s = threeNodes();

    Delivery d = get(s.a.deliver(Target.sessions(s.c1.id, "ghost"), "half"));

    assertEquals(Set.of(s.c1.id), d.delivered());
    assertEquals(Map.of("ghost", "not connected"), d.failed());
  }

  @Test
  void deliver_remoteWriteFails_failsWriteFailedWithTheReason() throws Exception {
    Scenario s = threeNodes();
    s.b1.failInlineWrites(1);
    Target target = Target.session(s.b1.id);

    DeliveryException e = failure(s.a.deliver(target, "fails"));

    assertEquals(DeliveryException.Reason.WRITE_FAILED, e.reason());
    String why = "write to session " + s.b1.id + " failed: java.io.IOException: fake write failure";
    assertEquals(Map.of(s.b1.id, why), e.delivery().failed());
    assertEquals("wscluster could not deliver to " + target + " (WRITE_FAILED): Delivery{"
        + "delivered 0 [], failed 1 [" + s.b1.id + "=" + why + "]}", e.getMessage());
  }

  @Test
  void deliver_localWriteFails_failsWriteFailedWithTheReason() throws Exception {
    Scenario s = threeNodes();
    s.a1.failInlineWrites(1);

    DeliveryException e = failure(s.a.deliver(Target.session(s.a1.id), "fails"));

    assertEquals(DeliveryException.Reason.WRITE_FAILED, e.reason());
    assertEquals(Map.of(s.a1.id, "write to session " + s.a1.id
        + " failed: java.io.IOException: fake write failure"), e.delivery().failed());
  }

  @Test
  void deliver_sessionClosedBeforeTheWrite_failsWithTheReason() throws Exception {
    Scenario s = threeNodes();
    s.b1.completion(FakeSession.Completion.MANUAL);
    s.b.sendLocal(s.b1.session, "occupies the socket");
    Target target = Target.session(s.b1.id);

    CompletionStage<Delivery> stage = s.a.deliver(target, "queued behind");
    await().atMost(WAIT).until(() -> s.b.stats().getOrDefault("envelopesReceived", 0L) >= 1);
    Thread.sleep(100); // B queues it behind the write in flight
    s.b.onSessionClosed(s.b1.session); // the queued frame is dropped

    DeliveryException e = failure(stage);
    assertEquals(Map.of(s.b1.id, "session " + s.b1.id + " closed"), e.delivery().failed());
    assertEquals(DeliveryException.Reason.WRITE_FAILED, e.reason());
  }

  @Test
  void deliver_userWithOneWriteFailing_completesListingTheFailure() throws Exception {
    Scenario s = threeNodes();
    s.b2.failInlineWrites(1);

    Delivery d = get(s.a.deliver(Target.user("alice"), "half"));

    assertEquals(Set.of(s.c2.id), d.delivered(), "at least one written: the stage completes");
    assertEquals(Map.of(s.b2.id, "write to session " + s.b2.id
        + " failed: java.io.IOException: fake write failure"), d.failed());
  }

  @Test
  void deliver_writeNeverCompletes_timesOutListingWhatWasKnown() throws Exception {
    Scenario s = threeNodes(b -> b.set(WsClusterConfig.RECEIPT_TIMEOUT, "500ms"));
    s.b2.completion(FakeSession.Completion.MANUAL);
    long start = System.nanoTime();

    DeliveryException e = failure(s.a.deliver(Target.user("alice"), "slow"));

    long tookMillis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
    assertEquals(DeliveryException.Reason.TIMEOUT, e.reason());
    assertEquals("not every owning node confirmed within wscluster.receipt.timeout=500ms: "
        + "Delivery{delivered 1 [" + s.c2.id + "], failed 1 [" + s.b2.id + "=no receipt in time]}",
        e.getMessage());
    assertEquals(Set.of(s.c2.id), e.delivery().delivered(), "what did arrive in time");
    assertEquals(Map.of(s.b2.id, "no receipt in time"), e.delivery().failed());
    assertTrue(tookMillis >= 490 && tookMillis < 3_000, "took " + tookMillis + " ms");

    s.b2.completeNext(); // the late receipt finds nobody waiting: harmless
    settle();
  }

  @Test
  void deliver_ownerStopsWhileTheDeliveryIsPending_failsNodeGoneWellBeforeTheTimeout()
      throws Exception {
    Scenario s = threeNodes(b -> b.set(WsClusterConfig.RECEIPT_TIMEOUT, "10s"));
    awaitEveryNodeSawEveryLease();
    s.b1.completion(FakeSession.Completion.MANUAL);
    Target target = Target.session(s.b1.id);
    long start = System.nanoTime();

    CompletionStage<Delivery> stage = s.a.deliver(target, "never confirmed");
    await().atMost(WAIT).until(() -> s.b1.pendingWrites() == 1);
    s.b.stop();

    DeliveryException e = failure(stage);
    long tookMillis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
    assertEquals(DeliveryException.Reason.NODE_GONE, e.reason());
    assertEquals("wscluster could not deliver to " + target + " (NODE_GONE): Delivery{"
        + "delivered 0 [], failed 1 [" + s.b1.id + "=node left the cluster]}", e.getMessage());
    assertTrue(tookMillis < 3_000, "failed after " + tookMillis + " ms, timeout is 10 s");
  }

  @Test
  void deliver_oneOfTwoOwnersStops_completesListingItsSessionAsGone() throws Exception {
    Scenario s = threeNodes(b -> b.set(WsClusterConfig.RECEIPT_TIMEOUT, "10s"));
    awaitEveryNodeSawEveryLease();
    s.b2.completion(FakeSession.Completion.MANUAL);
    long start = System.nanoTime();

    CompletionStage<Delivery> stage = s.a.deliver(Target.user("alice"), "half");
    await().atMost(WAIT).until(() -> s.b2.pendingWrites() == 1);
    s.b.stop();

    Delivery d = get(stage);
    assertTrue(System.nanoTime() - start < TimeUnit.SECONDS.toNanos(3));
    assertEquals(Set.of(s.c2.id), d.delivered());
    assertEquals(Map.of(s.b2.id, "node left the cluster"), d.failed());
  }

  @Test
  void stop_originWithPendingDeliveries_failsThemNodeGone() throws Exception {
    Scenario s = threeNodes(b -> b.set(WsClusterConfig.RECEIPT_TIMEOUT, "10s"));
    s.b1.completion(FakeSession.Completion.MANUAL);
    CompletionStage<Delivery> stage = s.a.deliver(Target.session(s.b1.id), "pending");
    await().atMost(WAIT).until(() -> s.b1.pendingWrites() == 1);

    s.a.stop();

    DeliveryException e = failure(stage);
    assertEquals(DeliveryException.Reason.NODE_GONE, e.reason());
    assertTrue(e.getMessage().startsWith("wscluster node " + s.a.nodeId() + " stopped: "
        + "Delivery{delivered 0 [], failed 1 [" + s.b1.id + "="), e.getMessage());
  }

  /**
   * A receipt lists every session the owner wrote; a user with more sessions on one node than
   * a receipt may carry (EnvelopeCodec.MAX_SET_SIZE) must still get a receipt the origin accepts.
   */
  @Test
  void deliver_userWithMoreSessionsOnOneNodeThanAReceiptCarries_stillCompletes()
      throws Exception {
    ClusterNode a = start("a", b -> b.set(WsClusterConfig.RECEIPT_TIMEOUT, "2s"));
    ClusterNode b = start("b", x -> { });
    int n = EnvelopeCodec.MAX_SET_SIZE + 1;
    List<FakeSession> bots = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      FakeSession bot = FakeSession.withPrincipal("bot");
      bots.add(bot);
      b.onSessionOpened(bot.session);
    }
    await().atMost(WAIT).until(() -> get(a.presence().sessionsOfUser("bot")).size() == n);

    CompletionStage<Delivery> stage = a.deliver(Target.user("bot"), "to every bot");

    await().atMost(WAIT).until(() -> bots.stream().allMatch(x -> x.count("to every bot") == 1));
    Delivery d;
    try {
      d = get(stage);
    } catch (ExecutionException e) {
      // the message lists every session: report its gist only
      DeliveryException de = assertInstanceOf(DeliveryException.class, e.getCause());
      throw new AssertionError("every bot got it, yet deliver failed with " + de.reason() + " ("
          + de.delivery().delivered().size() + " delivered, " + de.delivery().failed().size()
          + " failed); rejected frames at the origin: " + a.stats().get("rejected"));
    }
    assertEquals(n, d.delivered().size());
    assertEquals(0L, a.stats().get("rejected"), "the receipt was accepted");
  }

  // ================================================================ refusals

  @Test
  void deliver_roomOrAllTarget_isRefusedNamingTheRule() throws Exception {
    Scenario s = threeNodes();

    for (Target t : List.of(Target.room("lobby"), Target.all(), Target.all().except(s.a1.id),
        Target.user("alice").andRooms("lobby"), Target.all().andUsers("alice"))) {
      IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
          () -> s.a.deliver(t, "refused"), t.toString());
      assertEquals("deliver takes sessions and users only (no rooms, not all), was " + t,
          e.getMessage());
      assertThrows(IllegalArgumentException.class, () -> s.a.deliver(t, new byte[] {1}));
    }
    assertEquals(0, s.a.stats().get("published"), "nothing was sent");
    assertEquals(List.of(), s.a1.received());
  }

  @Test
  void deliver_nullArguments_areRefusedNamingThem() throws Exception {
    ClusterNode a = start("a", x -> { });

    assertEquals("target", assertThrows(NullPointerException.class,
        () -> a.deliver(null, "x")).getMessage());
    assertEquals("text", assertThrows(NullPointerException.class,
        () -> a.deliver(Target.session("s"), (String) null)).getMessage());
    assertEquals("data", assertThrows(NullPointerException.class,
        () -> a.deliver(Target.session("s"), (byte[]) null)).getMessage());
  }

  @Test
  void deliver_payloadOverMessageMaxBytes_isRefusedNamingTheKey() throws Exception {
    ClusterNode a = start("a", b -> b.set(WsClusterConfig.MESSAGE_MAX_BYTES, "1024"));

    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> a.deliver(Target.session("s"), new byte[1025]));

    assertEquals("message of 1025 bytes exceeds wscluster.message.max-bytes=1024", e.getMessage());
  }

  @Test
  void deliverAndPresence_stoppedNode_areRefusedNamingTheNode() throws Exception {
    ClusterNode a = start("a", x -> { });
    a.stop();

    assertEquals("wscluster node " + a.nodeId() + " is stopped: nothing was sent",
        assertThrows(IllegalStateException.class,
            () -> a.deliver(Target.session("s"), "x")).getMessage());
    assertThrows(IllegalStateException.class, a::presence);
  }

  // ================================================================ dedup

  @Test
  void deliver_originSubscribedTwice_receiptsAreDeduplicated() throws Exception {
    Scenario s = new Scenario(start("a", TestMemory.transport(bus, 1), x -> { }),
        start("b", x -> { }), start("c", x -> { }));

    for (int i = 0; i < 5; i++) {
      Delivery d = get(s.a.deliver(Target.user("alice"), "twice? " + i));
      assertEquals(Set.of(s.b2.id, s.c2.id), d.delivered());
      assertEquals(Map.of(), d.failed());
    }

    settle();
    assertEquals(10L, s.a.stats().get("duplicates"), "each of the 10 receipts arrived twice");
    for (FakeSession alice : List.of(s.b2, s.c2)) {
      assertEquals(List.of("twice? 0", "twice? 1", "twice? 2", "twice? 3", "twice? 4"),
          alice.received());
    }
  }

  @Test
  void deliver_ownerSubscribedTwice_writesOnceAndConfirmsOnce() throws Exception {
    Scenario s = new Scenario(start("a", x -> { }),
        start("b", TestMemory.transport(bus, 1), x -> { }), start("c", x -> { }));

    Delivery d = get(s.a.deliver(Target.session(s.b1.id), "once"));

    assertEquals(Set.of(s.b1.id), d.delivered());
    settle();
    assertEquals(List.of("once"), s.b1.received());
    assertEquals(1L, s.b.stats().get("duplicates"));
    assertEquals(1L, s.b.stats().get("receiptsSent"));
  }

  // ================================================================ routing of plain sends

  @Test
  void send_toAUser_goesOnlyToTheOwningNodesChannels() throws Exception {
    Scenario s = threeNodes();
    Capture capture = new Capture(s);

    get(s.a.send(Target.user("alice"), "to alice"));
    settle();

    assertEquals(List.of(s.b.nodeChannel(s.b.nodeId()) + " message from " + s.a.nodeId(),
        s.c.nodeChannel(s.c.nodeId()) + " message from " + s.a.nodeId()),
        capture.all().stream().sorted().collect(Collectors.toList()),
        "not on " + prefix + ":all, not back to A");
    assertEquals(List.of("to alice"), s.b2.received());
    assertEquals(List.of("to alice"), s.c2.received());
  }

  @Test
  void send_toASession_goesOnlyToItsNodesChannel() throws Exception {
    Scenario s = threeNodes();
    Capture capture = new Capture(s);

    get(s.c.send(Target.session(s.b1.id), "to b1"));
    settle();

    assertEquals(List.of(s.b.nodeChannel(s.b.nodeId()) + " message from " + s.c.nodeId()),
        capture.all());
    assertEquals(List.of("to b1"), s.b1.received());
  }

  @Test
  void send_toAnUnknownSession_goesToTheBroadcastChannel() throws Exception {
    Scenario s = threeNodes();
    Capture capture = new Capture(s);

    get(s.a.send(Target.session("ghost"), "to ghost"));
    settle();

    assertEquals(List.of(prefix + ":all message from " + s.a.nodeId()), capture.all(),
        "the directory knows no owner: every node looks (documented fallback)");
  }

  @Test
  void send_toALocalSessionOnly_publishesNothing() throws Exception {
    Scenario s = threeNodes();
    Capture capture = new Capture(s);

    get(s.a.send(Target.session(s.a1.id), "mine"));
    settle();

    assertEquals(List.of("mine"), s.a1.received());
    assertEquals(List.of(), capture.all());
  }

  @Test
  void send_toARoom_goesOnTheRoomsChannelOnly() throws Exception {
    Scenario s = threeNodes();
    Capture capture = new Capture(s);

    get(s.a.send(Target.room("lobby"), "rooms have their channels"));
    settle();

    assertEquals(List.of(prefix + ":room:lobby message from " + s.a.nodeId()), capture.all(),
        "nothing on the broadcast or node channels");
  }

  // ================================================================ presence through the facade

  @Test
  void presence_joinsLeavesUsersAndClosesOnEveryNode_areSeenByEveryNode() throws Exception {
    Scenario s = threeNodes();
    s.a.join(s.a1.session, "lobby");
    s.b.join(s.b1.session, "lobby");
    s.b.join(s.b2.session, "lobby");
    s.c.join(s.c1.session, "lobby");
    s.c.setUser(s.c1.session, "carol");

    for (ClusterNode n : s.nodes()) {
      await().atMost(WAIT).until(() -> get(n.presence().sessionsInRoom("lobby"))
          .equals(Set.of(s.a1.id, s.b1.id, s.b2.id, s.c1.id))
          && get(n.presence().usersInRoom("lobby")).equals(Set.of("alice", "carol")));
    }

    s.b.leave(s.b2.session, "lobby");
    s.c.onSessionClosed(s.c1.session);
    s.c1.markClosed();

    for (ClusterNode n : s.nodes()) {
      await().atMost(WAIT).until(() -> get(n.presence().sessionsInRoom("lobby"))
          .equals(Set.of(s.a1.id, s.b1.id))
          && get(n.presence().usersInRoom("lobby")).equals(Set.of())
          && get(n.presence().sessionsOfUser("carol")).isEmpty()
          && get(n.presence().nodeOf(s.c1.id)).isEmpty()
          && get(n.presence().sessionsOfUser("alice")).equals(Set.of(s.b2.id, s.c2.id)));
      assertEquals(Set.of(s.a.nodeId(), s.b.nodeId(), s.c.nodeId()), get(n.presence().nodes()));
    }
  }

  @Test
  void presence_nodeStoppedGracefully_itsSessionsAreGoneAtOnce() throws Exception {
    Scenario s = threeNodes();
    s.c.join(s.c1.session, "lobby");
    s.a.join(s.a1.session, "lobby");
    await().atMost(WAIT).until(() -> get(s.a.presence().sessionsInRoom("lobby")).size() == 2);

    s.c.stop();

    // no heartbeat needed: stop removed C's entries before it returned
    assertEquals(Set.of(s.a1.id), get(s.a.presence().sessionsInRoom("lobby")));
    assertEquals(Set.of(s.b2.id), get(s.a.presence().sessionsOfUser("alice")));
    assertEquals(Optional.empty(), get(s.b.presence().nodeOf(s.c1.id)));
    assertEquals(Set.of(s.a.nodeId(), s.b.nodeId()), get(s.b.presence().nodes()));
  }

  // ================================================================ helpers

  /** Every envelope published on the broadcast channel and the nodes' own channels. */
  private final class Capture {
    private final List<String> seen = new CopyOnWriteArrayList<>();
    private final EnvelopeCodec codec = new EnvelopeCodec(WsClusterConfig.MAX_MESSAGE_BYTES);

    Capture(Scenario s) {
      List<String> channels = new ArrayList<>();
      channels.add(prefix + ":all");
      channels.add(prefix + ":room:lobby");
      for (ClusterNode n : s.nodes()) {
        channels.add(n.nodeChannel(n.nodeId()));
      }
      for (String ch : channels) {
        bus.computeIfAbsent(ch, k -> new CopyOnWriteArrayList<>()).add((channel, frame) -> {
          try {
            for (Envelope e : codec.decode(frame)) {
              if (e.kind == Envelope.KIND_RECEIPT && e.ref == e.seq
                  && channel.equals(prefix + ":node:" + e.origin)) {
                continue; // a node's liveness probe to itself, every heartbeat
              }
              if (e.kind == Envelope.KIND_SYNC) {
                continue; // a chain's link after traffic, every heartbeat: no message
              }
              seen.add(channel + (e.kind == Envelope.KIND_RECEIPT ? " receipt" : " message")
                  + " from " + e.origin);
            }
          } catch (EnvelopeCodec.Rejection r) {
            seen.add(channel + " rejected " + r.getMessage());
          }
        });
      }
    }

    List<String> all() {
      return List.copyOf(seen);
    }
  }

  /** Deliveries fail fast only for nodes the origin's heartbeat has seen (100 ms period). */
  private static void awaitEveryNodeSawEveryLease() throws InterruptedException {
    Thread.sleep(350);
  }

  /** Lets stray frames arrive: a late duplicate would show up in the assertions after this. */
  private static void settle() throws InterruptedException {
    Thread.sleep(150);
  }

  private static <T> T get(CompletionStage<T> stage) throws Exception {
    return stage.toCompletableFuture().get(WAIT.toMillis(), TimeUnit.MILLISECONDS);
  }

  private static DeliveryException failure(CompletionStage<Delivery> stage) throws Exception {
    ExecutionException e = assertThrows(ExecutionException.class,
        () -> stage.toCompletableFuture().get(WAIT.toMillis(), TimeUnit.MILLISECONDS));
    return assertInstanceOf(DeliveryException.class, e.getCause());
  }
}
