package io.wscluster;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.wscluster.memory.TestMemory;
import io.wscluster.spi.Directory;
import io.wscluster.spi.Transport;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.BiConsumer;
import java.util.function.Consumer;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Three nodes in one JVM on the in-memory transport: every targeting mode reaches exactly the
 * intended sessions exactly once, per-origin order, the duplicate sources
 * (docs/protocol.md#where-duplicates-come-from-and-dedup), garbage on
 * the channel, and the lifecycle.
 */
class ClusterNodeTest {
  private static final AtomicInteger PREFIXES = new AtomicInteger();
  private static final Duration WAIT = Duration.ofSeconds(10);

  private final ConcurrentHashMap<String, List<BiConsumer<String, byte[]>>> bus =
      new ConcurrentHashMap<>();
  private final String prefix = "test" + PREFIXES.incrementAndGet();
  private final String channel = prefix + ":all";
  private final List<ClusterNode> nodes = new ArrayList<>();
  private Set<Thread> threadsBefore;

  @BeforeEach
  void rememberThreads() {
    threadsBefore = wsclusterThreads();
  }

  @AfterEach
  void stopNodes() {
    nodes.forEach(ClusterNode::stop);
  }

  /** The directory of this test's nodes: this class loader's in-memory store, under the prefix. */
  private Directory directory(Transport transport) {
    return TestMemory.directory(null, prefix);
  }

  private WsClusterConfig config(String name, Consumer<WsClusterConfig.Builder> more) {
    WsClusterConfig.Builder b = WsClusterConfig.builder()
        .transport(WsClusterConfig.TransportType.MEMORY)
        .channelPrefix(prefix)
        .nodeName(name)
        .set(WsClusterConfig.SHUTDOWN_TIMEOUT, "1s");
    more.accept(b);
    return b.build();
  }

  private ClusterNode start(String name, NodeParts hooks, Transport transport,
      Consumer<WsClusterConfig.Builder> more) throws Exception {
    return start(name, transport, System::nanoTime, hooks, more);
  }

  private ClusterNode start(String name, Transport transport, java.util.function.LongSupplier clock,
      NodeParts hooks, Consumer<WsClusterConfig.Builder> more) throws Exception {
    WsClusterConfig config = config(name, more);
    ClusterNode node = new ClusterNode(config, transport, hooks, clock, this::directory);
    nodes.add(node);
    node.start();
    return node;
  }

  private ClusterNode start(String name) throws Exception {
    return start(name, NodeParts.DEFAULT, TestMemory.transport(bus, 0), b -> { });
  }

  private static Set<Thread> wsclusterThreads() {
    return Thread.getAllStackTraces().keySet().stream()
        .filter(t -> t.getName().startsWith("wscluster-") && t.isAlive())
        .collect(Collectors.toSet());
  }

  // ================================================================ the scenario

  /**
   * Nodes A, B, C with two sessions each:
   * <pre>
   *   a1 lobby            b1 lobby news          c1 (assigned user alice)
   *   a2 lobby news       b2 (principal alice)   c2 news (principal bob)
   * </pre>
   */
  private final class Cluster {
    final ClusterNode a;
    final ClusterNode b;
    final ClusterNode c;
    final FakeSession a1 = new FakeSession();
    final FakeSession a2 = new FakeSession();
    final FakeSession b1 = new FakeSession();
    final FakeSession b2 = FakeSession.withPrincipal("alice");
    final FakeSession c1 = new FakeSession();
    final FakeSession c2 = FakeSession.withPrincipal("bob");
    final List<FakeSession> sessions = List.of(a1, a2, b1, b2, c1, c2);
    final Ledger ledger = new Ledger(sessions);

    Cluster(ClusterNode a, ClusterNode b, ClusterNode c) {
      this.a = a;
      this.b = b;
      this.c = c;
      for (FakeSession s : List.of(a1, a2)) {
        a.onSessionOpened(s.session);
      }
      for (FakeSession s : List.of(b1, b2)) {
        b.onSessionOpened(s.session);
      }
      for (FakeSession s : List.of(c1, c2)) {
        c.onSessionOpened(s.session);
      }
      a.join(a1.session, "lobby");
      a.join(a2.session, "lobby");
      a.join(a2.session, "news");
      b.join(b1.session, "lobby");
      b.join(b1.session, "news");
      c.setUser(c1.session, "alice");
      c.join(c2.session, "news");
      awaitDirectory();
    }

    /**
     * Waits until every node's presence sees the scenario: directory writes are asynchronous, and
     * a send to a user or session routes by what the directory knows at that moment.
     */
    void awaitDirectory() {
      for (ClusterNode n : nodes()) {
        await().atMost(WAIT).until(() ->
            n.presence().sessionsOfUser("alice").toCompletableFuture().get().size() == 2
                && n.presence().sessionsOfUser("bob").toCompletableFuture().get().size() == 1
                && n.presence().sessionsInRoom("news").toCompletableFuture().get().size() == 3);
      }
    }

    List<ClusterNode> nodes() {
      return List.of(a, b, c);
    }

    void send(ClusterNode from, Target target, String text, FakeSession... to) {
      ledger.expect(text, to);
      from.send(target, text);
    }

    void sendBinary(ClusterNode from, Target target, String text, FakeSession... to) {
      ledger.expect("bin:" + text, to);
      from.send(target, text.getBytes(StandardCharsets.UTF_8));
    }

    /** Every targeting mode, from every node. */
    void sendEveryTargetingMode() {
      for (ClusterNode from : nodes()) {
        String n = from == a ? "A" : from == b ? "B" : "C";
        send(from, Target.all(), n + " all", a1, a2, b1, b2, c1, c2);
        send(from, Target.room("lobby"), n + " lobby", a1, a2, b1);
        send(from, Target.rooms("lobby", "news"), n + " lobby+news", a1, a2, b1, c2);
        send(from, Target.user("alice"), n + " alice", b2, c1);
        send(from, Target.users("alice", "bob"), n + " alice+bob", b2, c1, c2);
        send(from, Target.sessions(b2.id, c1.id, a1.id), n + " by id", a1, b2, c1);
        send(from, Target.room("lobby").andUsers("alice").except(a1.id), n + " mixed",
            a2, b1, b2, c1);
        send(from, Target.all().except(a1.id, b2.id), n + " all but", a2, b1, c1, c2);
        send(from, Target.room("news").andUsers("bob").andSessions(c2.id),
            n + " overlap", a2, b1, c2);
        send(from, Target.room("nobody-here"), n + " empty room");
        send(from, Target.session("unknown-session"), n + " unknown id");
        sendBinary(from, Target.room("news"), n + " binary news", a2, b1, c2);
      }
    }

    /** Waits for every expected frame, then until nothing moves any more. */
    void settle() {
      await().atMost(WAIT).until(ledger::complete);
      settleQuietly();
    }

    void settleQuietly() {
      ClusterNodeTest.settleQuietly(nodes(), sessions);
    }
  }

  /** Waits until the nodes' stats and what the sessions received stop changing. */
  private static void settleQuietly(List<ClusterNode> nodes, List<FakeSession> sessions) {
    Object before = null;
    long deadline = System.nanoTime() + WAIT.toNanos();
    while (System.nanoTime() < deadline) {
      Object now = List.of(nodes.stream().map(ClusterNode::stats).collect(Collectors.toList()),
          sessions.stream().map(FakeSession::receivedCount).collect(Collectors.toList()));
      if (now.equals(before)) {
        return;
      }
      before = now;
      sleep(150);
    }
    throw new AssertionError("the cluster never settled");
  }

  /**
   * The exactly-once checker: for every message, every intended session must have received it
   * once and every other session never.
   */
  static final class Ledger {
    private final List<FakeSession> sessions;
    private final Map<String, Set<FakeSession>> expected = new LinkedHashMap<>();

    Ledger(List<FakeSession> sessions) {
      this.sessions = sessions;
    }

    void expect(String frame, FakeSession... to) {
      expected.put(frame, new HashSet<>(Arrays.asList(to)));
    }

    boolean complete() {
      return expected.entrySet().stream()
          .allMatch(e -> e.getValue().stream().allMatch(s -> s.count(e.getKey()) >= 1));
    }

    List<String> violations() {
      List<String> out = new ArrayList<>();
      for (Map.Entry<String, Set<FakeSession>> e : expected.entrySet()) {
        for (int i = 0; i < sessions.size(); i++) {
          FakeSession s = sessions.get(i);
          int want = e.getValue().contains(s) ? 1 : 0;
          int got = s.count(e.getKey());
          if (got != want) {
            out.add("session #" + i + " received '" + e.getKey() + "' " + got
                + " times, expected " + want);
          }
        }
      }
      for (int i = 0; i < sessions.size(); i++) {
        for (String frame : sessions.get(i).received()) {
          if (!expected.containsKey(frame)) {
            out.add("session #" + i + " received unexpected '" + frame + "'");
          }
        }
      }
      return out;
    }
  }

  private Cluster threeNodes() throws Exception {
    return new Cluster(start("a"), start("b"), start("c"));
  }

  // ================================================================ targeting, exactly once

  @Test
  void send_everyTargetingMode_reachesExactlyTheIntendedSessionsOnce() throws Exception {
    Cluster cl = threeNodes();

    cl.sendEveryTargetingMode();
    cl.settle();

    assertEquals(List.of(), cl.ledger.violations());
    for (ClusterNode n : cl.nodes()) {
      Map<String, Long> s = n.stats();
      assertEquals(0, s.get("duplicates"), "no duplicate source in a healthy cluster");
      assertEquals(0, s.get("rejected"));
      assertEquals(12, s.get("published"));
      // 3 sends to users or session ids go to the owning nodes' channels only, never back; the
      // one to an unknown session id has no owner in the directory, so it goes to every node:
      // 5 on the broadcast channel; those to rooms come back on the channels of the rooms the
      // node has members in (A and B: lobby and news, C: news only), lobby+news on both
      boolean both = n != cl.c;
      assertEquals(both ? 9 : 7, s.get("ownEchoes"), "its own envelopes came back, dropped");
      // the other two nodes' lobby+news, on the second of the two room channels
      assertEquals(both ? 2 : 0, s.get("roomCopies"), "second copies of a two-room message");
    }
  }

  @Test
  void send_localMatchingSessions_queuedBeforeSendReturns_writtenByTheDispatcher() throws Exception {
    Cluster cl = threeNodes();
    List<String> writers = new java.util.concurrent.CopyOnWriteArrayList<>();
    cl.a1.onSend(() -> writers.add(Thread.currentThread().getName()));

    cl.a.send(Target.room("lobby"), "local first");
    cl.a.send(Target.room("lobby"), "local second");

    await().atMost(WAIT).until(() -> cl.a1.receivedCount() == 2 && cl.a2.receivedCount() == 2);
    assertEquals(List.of("local first", "local second"), cl.a1.received());
    assertEquals(List.of("local first", "local second"), cl.a2.received());
    assertTrue(writers.stream().allMatch(t -> t.startsWith("wscluster-dispatch-")),
        "the sending thread writes to no socket: " + writers);
  }

  @Test
  void send_returnedStage_completesOncePublished() throws Exception {
    Cluster cl = threeNodes();

    CompletionStage<Void> done = cl.a.send(Target.all(), "x");

    done.toCompletableFuture().get(10, TimeUnit.SECONDS);
    assertEquals(1, cl.a.stats().get("published"));
  }

  @Test
  void send_perOriginOrder_isKeptFor1000MessagesFromTwoConcurrentSenders() throws Exception {
    Cluster cl = threeNodes();
    int n = 1_000;
    ExecutorService senders = Executors.newFixedThreadPool(2);
    try {
      List<Future<?>> running = new ArrayList<>();
      for (ClusterNode from : List.of(cl.a, cl.b)) {
        String origin = from == cl.a ? "A-" : "B-";
        for (int i = 0; i < n; i++) {
          cl.ledger.expect(origin + i, cl.sessions.toArray(new FakeSession[0]));
        }
        running.add(senders.submit(() -> {
          for (int i = 0; i < n; i++) {
            from.send(Target.all(), origin + i);
          }
          return null;
        }));
      }
      for (Future<?> f : running) {
        f.get(30, TimeUnit.SECONDS);
      }
    } finally {
      senders.shutdownNow();
    }
    cl.settle();

    assertEquals(List.of(), cl.ledger.violations());
    for (FakeSession s : cl.sessions) {
      for (String origin : List.of("A-", "B-")) {
        List<String> mine = s.received().stream().filter(f -> f.startsWith(origin))
            .collect(Collectors.toList());
        List<String> inOrder = new ArrayList<>();
        for (int i = 0; i < n; i++) {
          inOrder.add(origin + i);
        }
        assertEquals(inOrder, mine, "order of " + origin + " at " + s);
      }
    }
  }

  // ======================================== duplicate sources (docs/protocol.md, dedup)

  @Test
  void send_nodeSubscribedTwice_stillDeliversExactlyOnceAndCountsDuplicates() throws Exception {
    Cluster cl = new Cluster(start("a"),
        start("b", NodeParts.DEFAULT, TestMemory.transport(bus, 1), x -> { }),
        start("c"));

    cl.sendEveryTargetingMode();
    cl.settle();

    assertEquals(List.of(), cl.ledger.violations());
    assertTrue(cl.b.stats().get("duplicates") > 0, "B saw every frame twice: " + cl.b.stats());
    // from A and from C: 9 broadcast envelopes each, plus the 3 routed ones with a session on B
    // from A and C each: 7 on the broadcast channel (nobody-here goes to a room no node is in)
    // and 3 on B's own; lobby+news comes 4 times (twice on each room channel), counted as room
    // copies
    assertEquals(20, cl.b.stats().get("duplicates"), "one second copy per envelope B got from A and C");
    assertEquals(6, cl.b.stats().get("roomCopies"));
    assertEquals(0, cl.a.stats().get("duplicates"));
  }

  /** Proves the checker can fail: with dedup off, the origin's own echo is delivered again. */
  @Test
  void negativeControl_dedupOff_theExactlyOnceCheckerSeesDuplicates() throws Exception {
    NodeParts off = NodeParts.DEFAULT.dedup(false);
    Cluster cl = new Cluster(
        start("a", off, TestMemory.transport(bus, 0), x -> { }),
        start("b", off, TestMemory.transport(bus, 0), x -> { }),
        start("c", off, TestMemory.transport(bus, 0), x -> { }));

    cl.sendEveryTargetingMode();
    await().atMost(WAIT).until(cl.ledger::complete);
    cl.settleQuietly();

    List<String> violations = cl.ledger.violations();
    assertFalse(violations.isEmpty(), "the checker must report the duplicates");
    assertTrue(violations.contains("session #0 received 'A all' 2 times, expected 1"),
        violations.toString());
    // b1, in lobby and news, gets A's message to both rooms on both room channels
    assertTrue(violations.contains("session #2 received 'A lobby+news' 2 times, expected 1"),
        violations.toString());
    // on A itself: local first, then its echo on each of the two room channels
    assertTrue(violations.contains("session #0 received 'A lobby+news' 3 times, expected 1"),
        violations.toString());
    assertTrue(violations.stream().allMatch(v -> v.contains(" 2 times, expected 1")
        || v.contains("lobby+news' 3 times, expected 1")), violations.toString());
  }

  @Test
  void negativeControl_dedupOffAndSubscribedTwice_remoteSessionsSeeDuplicatesToo()
      throws Exception {
    NodeParts off = NodeParts.DEFAULT.dedup(false);
    Cluster cl = new Cluster(start("a"),
        start("b", off, TestMemory.transport(bus, 1), x -> { }), start("c"));

    cl.send(cl.a, Target.all(), "once?", cl.sessions.toArray(new FakeSession[0]));
    await().atMost(WAIT).until(cl.ledger::complete);
    cl.settleQuietly();

    assertEquals(List.of("session #2 received 'once?' 2 times, expected 1",
        "session #3 received 'once?' 2 times, expected 1"), cl.ledger.violations());
  }

  @Test
  void republishedFrames_areDroppedAsDuplicates() throws Exception {
    List<byte[]> captured = new CopyOnWriteArrayList<>();
    BiConsumer<String, byte[]> capturer = (ch, frame) -> captured.add(frame);
    bus.computeIfAbsent(channel, k -> new CopyOnWriteArrayList<>()).add(capturer);
    Cluster cl = threeNodes();
    cl.sendEveryTargetingMode();
    cl.settle();
    EnvelopeCodec codec = new EnvelopeCodec(WsClusterConfig.MAX_MESSAGE_BYTES);
    int envelopes = 0;
    for (byte[] frame : captured) {
      envelopes += codec.decode(frame).size();
    }
    // 5 of each node's 12 sends are broadcast; 4 go to rooms' channels, 3 to owners' channels
    assertEquals(15, envelopes, "every broadcast envelope was captured");
    Map<ClusterNode, Long> echoesBefore = new java.util.HashMap<>();
    cl.nodes().forEach(n -> echoesBefore.put(n, n.stats().get("ownEchoes")));

    for (byte[] frame : captured) { // a retry, a replay, a second publisher: all the same
      for (BiConsumer<String, byte[]> s : List.copyOf(bus.get(channel))) {
        if (s != capturer) {
          s.accept(channel, frame);
        }
      }
    }
    await().atMost(WAIT).until(() -> cl.nodes().stream()
        .mapToLong(n -> n.stats().get("duplicates")).sum() == 2L * 15);
    cl.settleQuietly();

    assertEquals(List.of(), cl.ledger.violations());
    for (ClusterNode n : cl.nodes()) {
      assertEquals(10, n.stats().get("duplicates"), "the 10 broadcast envelopes of the two other nodes");
      assertEquals(5, n.stats().get("ownEchoes") - echoesBefore.get(n), "its own 5, echoed again");
    }
  }


  @Test
  void garbageFrames_areCountedAsRejectedAndNeverReachASession() throws Exception {
    Cluster cl = threeNodes();
    EnvelopeCodec codec = new EnvelopeCodec(WsClusterConfig.MAX_MESSAGE_BYTES);
    Random random = new Random(42);
    List<byte[]> garbage = new ArrayList<>();
    garbage.add(new byte[0]);
    garbage.add(new byte[] {2, 0, 1});
    garbage.add("{\"type\":\"message\",\"text\":\"hi\"}".getBytes(StandardCharsets.UTF_8));
    while (garbage.size() < 300) {
      byte[] b = new byte[random.nextInt(200)];
      random.nextBytes(b);
      if (b.length > 0 && random.nextBoolean()) {
        b[0] = EnvelopeCodec.VERSION;
      }
      try {
        codec.decode(b);
      } catch (EnvelopeCodec.Rejection expected) {
        garbage.add(b);
      }
    }

    Map<String, Long> byReason = new java.util.TreeMap<>();
    for (byte[] g : garbage) {
      try {
        codec.decode(g);
      } catch (EnvelopeCodec.Rejection r) {
        byReason.merge("rejected." + r.reason.name().toLowerCase(), 1L, Long::sum);
      }
    }

    for (byte[] g : garbage) { // straight onto the bus, as a forger with Redis access would
      flood(g, 1);
    }
    await().atMost(WAIT).until(() -> cl.nodes().stream()
        .allMatch(n -> n.stats().get("rejected") == garbage.size()));

    for (FakeSession s : cl.sessions) {
      assertEquals(List.of(), s.received());
    }
    for (ClusterNode n : cl.nodes()) {
      byReason.forEach((reason, count) -> assertEquals(count, n.stats().get(reason), reason));
      assertEquals(0, n.stats().get("envelopesReceived") == null ? 0
          : n.stats().get("envelopesReceived"));
    }
    // the nodes still work
    cl.send(cl.b, Target.all(), "after garbage", cl.sessions.toArray(new FakeSession[0]));
    cl.settle();
    assertEquals(List.of(), cl.ledger.violations());
  }

  @Test
  void garbageFrames_warningIsLoggedAtMostOncePer10sWithTheCountSinceTheLastOne() throws Exception {
    AtomicLong clock = new AtomicLong(TimeUnit.HOURS.toNanos(1));
    ClusterNode a = start("a", TestMemory.transport(bus, 0), clock::get, NodeParts.DEFAULT,
        b -> { });
    String log = capturingStderr(() -> {
      flood(new byte[] {9, 9, 9}, 1_000); // wrong version
      await().atMost(WAIT).until(() -> a.stats().get("rejected") == 1_000);
      clock.addAndGet(TimeUnit.MILLISECONDS.toNanos(9_999));
      flood(new byte[0], 1);
      await().atMost(WAIT).until(() -> a.stats().get("rejected") == 1_001);
      clock.addAndGet(TimeUnit.MILLISECONDS.toNanos(1));
      flood(new byte[] {EnvelopeCodec.VERSION, 0}, 1);
      await().atMost(WAIT).until(() -> a.stats().get("rejected") == 1_002);
    });

    List<String> warnings = log.lines().filter(l -> l.contains("[" + a.nodeId() + "] rejected "))
        .collect(Collectors.toList());
    assertEquals(2, warnings.size(), "one at the first reject, one 10 s later:\n" + log);
    assertTrue(warnings.get(0).endsWith("WARN io.wscluster.Dispatcher - [" + a.nodeId()
        + "] rejected 1 frame(s) from Redis; latest: 3 bytes, VERSION: version 9, this"
        + " node reads 1 to 3"), warnings.get(0));
    assertTrue(warnings.get(1).endsWith("[" + a.nodeId() + "] rejected 1001 frame(s)"
        + " from Redis; latest: 2 bytes, TRUNCATED: needs 2 bytes at offset 1, 1 left"),
        warnings.get(1));
    assertEquals(1_000, a.stats().get("rejected.version"));
    assertEquals(1, a.stats().get("rejected.empty"));
    assertEquals(1, a.stats().get("rejected.truncated"));
  }

  /** Puts a frame on this test's broadcast channel {@code times} times, as a forger would. */
  private void flood(byte[] frame, int times) {
    for (int i = 0; i < times; i++) {
      for (BiConsumer<String, byte[]> s : List.copyOf(bus.get(channel))) {
        s.accept(channel, frame);
      }
    }
  }

  /** What slf4j-simple wrote to System.err while {@code body} ran. */
  private static String capturingStderr(ThrowingRunnable body) throws Exception {
    java.io.PrintStream err = System.err;
    java.io.ByteArrayOutputStream captured = new java.io.ByteArrayOutputStream();
    System.setErr(new java.io.PrintStream(captured, true, StandardCharsets.UTF_8));
    try {
      body.run();
    } finally {
      System.setErr(err);
    }
    return captured.toString(StandardCharsets.UTF_8);
  }

  interface ThrowingRunnable {
    void run() throws Exception;
  }

  /**
   * A target the wire cannot carry must not poison the frame it is batched into: the messages
   * around it still reach the other nodes.
   */
  @Test
  void send_targetTooLargeForTheWire_doesNotLoseTheMessagesBatchedWithIt() throws Exception {
    GatedTransport gate = new GatedTransport(TestMemory.transport(bus, 0));
    ClusterNode a = start("a", NodeParts.DEFAULT, gate, x -> { });
    ClusterNode b = start("b");
    FakeSession b1 = new FakeSession();
    b.onSessionOpened(b1.session);
    b.join(b1.session, "room-0");
    List<String> rooms = new ArrayList<>();
    for (int i = 0; i < EnvelopeCodec.MAX_SET_SIZE + 1; i++) {
      rooms.add("room-" + i);
    }

    gate.hold();
    a.send(Target.all(), "before"); // published, completion held: the next sends queue up
    await().atMost(WAIT).until(() -> gate.heldCount() == 1);
    boolean refused = false;
    try {
      a.send(Target.rooms(rooms), "big target");
    } catch (IllegalArgumentException e) {
      refused = true;
    }
    a.send(Target.all(), "after-1");
    a.send(Target.all(), "after-2");
    gate.release(); // the queued sends go out as one frame

    List<String> expected = refused ? List.of("before", "after-1", "after-2")
        : List.of("before", "big target", "after-1", "after-2");
    await().atMost(WAIT).until(() -> b1.receivedCount() >= expected.size()
        || b.stats().get("rejected") > 0);
    sleep(200);
    assertEquals(expected, b1.received(), "stats of b: " + b.stats());
  }

  // ================================================================ authentication (wscluster.secret)

  private static final String SECRET = "cluster-secret-0123456789abcdefghij";
  private static final String OTHER_SECRET = "another-secret-0123456789abcdefghi";

  private ClusterNode signed(String name, String secret, String previous) throws Exception {
    return start(name, NodeParts.DEFAULT, TestMemory.transport(bus, 0), b -> b
        .set(WsClusterConfig.SECRET, secret).set(WsClusterConfig.SECRET_PREVIOUS, previous));
  }

  @Test
  void secret_sameOnEveryNode_everyTargetingModeReachesExactlyTheIntendedSessionsOnce()
      throws Exception {
    List<byte[]> onTheBus = new CopyOnWriteArrayList<>();
    bus.computeIfAbsent(channel, k -> new CopyOnWriteArrayList<>()).add((ch, f) -> onTheBus.add(f));
    Cluster cl = new Cluster(signed("a", SECRET, ""), signed("b", SECRET, ""),
        signed("c", SECRET, ""));

    cl.sendEveryTargetingMode();
    cl.settle();

    assertEquals(List.of(), cl.ledger.violations());
    for (ClusterNode n : cl.nodes()) {
      assertEquals(0, n.stats().get("rejected"), n.stats().toString());
      assertEquals(0, n.stats().get("duplicates"));
    }
    assertFalse(onTheBus.isEmpty());
    for (byte[] frame : onTheBus) {
      assertEquals((byte) 0x83, frame[0], "every frame on the bus is tagged (version 3)");
    }
  }

  /** A node with a different secret cannot inject (README, Envelope authentication). */
  @Test
  void secret_nodeWithAnotherSecret_reachesNoSessionOfTheOthersAndIsCounted() throws Exception {
    Cluster cl = new Cluster(signed("a", SECRET, ""), signed("b", SECRET, ""),
        signed("c", OTHER_SECRET, ""));

    cl.send(cl.c, Target.all(), "C all", cl.c1, cl.c2);          // its own sessions only
    cl.send(cl.c, Target.room("lobby"), "C lobby");                // a1 a2 b1: none
    cl.send(cl.c, Target.user("alice"), "C alice", cl.c1);        // b2 is alice too: routed to b
    cl.send(cl.a, Target.all(), "A all", cl.a1, cl.a2, cl.b1, cl.b2);
    cl.settle();

    assertEquals(List.of(), cl.ledger.violations());
    for (ClusterNode n : cl.nodes()) {
      Map<String, Long> s = n.stats();
      assertTrue(s.getOrDefault("rejected.auth_invalid", 0L) > 0, n.nodeId() + " " + s);
      assertEquals(s.get("rejected"), s.get("rejected.auth_invalid"), s.toString());
    }
  }

  /**
   * Nodes a and b, one session each, on {@code nodeSecret}; a frame for every session forged by
   * someone who can publish on the channel and holds {@code forgerSecret} ("" for none).
   */
  private final class Injection {
    final ClusterNode a;
    final ClusterNode b;
    final FakeSession a1 = new FakeSession();
    final FakeSession b1 = new FakeSession();

    Injection(String nodeSecret, String forgerSecret) throws Exception {
      a = signed("a", nodeSecret, "");
      b = signed("b", nodeSecret, "");
      a.onSessionOpened(a1.session);
      b.onSessionOpened(b1.session);
      EnvelopeCodec forger = new EnvelopeCodec(WsClusterConfig.MAX_MESSAGE_BYTES,
          FrameAuthenticator.of(forgerSecret, ""));
      byte[] frame = forger.frame(List.of(forger.encode(new Envelope(Envelope.KIND_MESSAGE,
          "mallory-0badc0de", 1, Target.all(), false,
          "injected".getBytes(StandardCharsets.UTF_8)))));
      for (BiConsumer<String, byte[]> s : List.copyOf(bus.get(channel))) {
        s.accept(channel, frame);
      }
      // a fence: each node receives it after the forged frame, on the same transport thread
      a.send(Target.all(), "fence");
      await().atMost(WAIT).until(() -> b1.count("fence") == 1
          && a.stats().get("ownEchoes") == 1);
    }
  }

  /** A frame tagged with another secret, or with none, as a forger would publish it. */
  @ParameterizedTest(name = "{1}")
  @CsvSource({OTHER_SECRET + ", rejected.auth_invalid", "'', rejected.auth_missing"})
  void injection_frameWithoutTheRightTag_reachesNoSessionAndIsCountedByReason(String forgerSecret,
      String counter) throws Exception {
    Injection in = new Injection(SECRET, forgerSecret);

    assertEquals(List.of("fence"), in.a1.received());
    assertEquals(List.of("fence"), in.b1.received());
    for (ClusterNode n : List.of(in.a, in.b)) {
      assertEquals(1, n.stats().get(counter), n.stats().toString());
      assertEquals(1, n.stats().get("rejected"));
    }
  }

  /** Proves the test above can fail: without secrets the same injection is delivered. */
  @Test
  void negativeControl_noSecretAnywhere_theSameInjectionIsDelivered() throws Exception {
    Injection in = new Injection("", "");

    assertEquals(1, in.a1.count("injected"), in.a1.received().toString());
    assertEquals(1, in.b1.count("injected"), in.b1.received().toString());
    assertEquals(0, in.a.stats().get("rejected"));
  }

  /** A node left without the secret is a configuration mistake, loud on both sides. */
  @Test
  void secret_onOneNodeOnly_bothSidesRejectTheOthersFramesAndCountThem() throws Exception {
    assertEquals(List.of("old missed new: {rejected.auth_missing=1}",
        "new missed old: {rejected.auth_unexpected=1}"),
        exchange(new String[] {SECRET, ""}, new String[] {"", ""}));
  }

  /**
   * The README's procedure from secret A to secret B, one node at a time: in each step a node
   * already changed and a node not yet changed exchange messages without a single rejection.
   */
  @Test
  void rotation_eachStepOfTheDocumentedProcedure_mixedNodesRejectNothing() throws Exception {
    String[][] states = {{SECRET, ""}, {SECRET, OTHER_SECRET}, {OTHER_SECRET, SECRET},
        {OTHER_SECRET, ""}};
    for (int step = 1; step < states.length; step++) {
      assertEquals(List.of(), exchange(states[step - 1], states[step]), "step " + step);
    }
  }

  /** Proves the test above can fail: straight to secret=B previous=A loses the new node's sends. */
  @Test
  void rotation_skippingTheFirstStep_theOldNodeRejectsTheNewNodesMessages() throws Exception {
    assertEquals(List.of("old missed new: {rejected.auth_invalid=1}"),
        exchange(new String[] {SECRET, ""}, new String[] {OTHER_SECRET, SECRET}));
  }

  /**
   * Nodes "old" and "new" with {secret, previous} each send one message to all; which node missed
   * the other's message, and the rejections it counted.
   */
  private List<String> exchange(String[] old, String[] now) throws Exception {
    ClusterNode o = signed("old", old[0], old[1]);
    ClusterNode n = signed("new", now[0], now[1]);
    FakeSession o1 = new FakeSession();
    FakeSession n1 = new FakeSession();
    o.onSessionOpened(o1.session);
    n.onSessionOpened(n1.session);
    o.send(Target.all(), "from old");
    n.send(Target.all(), "from new");
    await().atMost(WAIT).until(() -> (o1.count("from new") + o.stats().get("rejected") == 1)
        && (n1.count("from old") + n.stats().get("rejected") == 1));
    List<String> problems = new ArrayList<>();
    if (o1.count("from new") != 1) {
      problems.add("old missed new: " + rejections(o));
    }
    if (n1.count("from old") != 1) {
      problems.add("new missed old: " + rejections(n));
    }
    o.stop();
    n.stop();
    return problems;
  }

  /** The rejected.REASON counters of a node. */
  private static Map<String, Long> rejections(ClusterNode node) {
    Map<String, Long> out = new java.util.TreeMap<>(node.stats());
    out.keySet().removeIf(k -> !k.startsWith("rejected."));
    return out;
  }

  // ================================================================ failures and limits

  @Test
  void send_publishFailsUntilStop_localSessionsReceiveAndTheStageFailsAtStop() throws Exception {
    Transport failing = new GatedTransport(TestMemory.transport(bus, 0)) {
      @Override
      public CompletionStage<Long> publish(String ch, byte[] frame) {
        return CompletableFuture.failedFuture(new IllegalStateException("redis is down"));
      }
    };
    ClusterNode a = start("a", NodeParts.DEFAULT, failing, x -> { });
    FakeSession a1 = new FakeSession();
    a.onSessionOpened(a1.session);

    CompletionStage<Void> done = a.send(Target.all(), "still local");

    await().atMost(WAIT).until(() -> a1.receivedCount() == 1);
    assertEquals(List.of("still local"), a1.received());
    sleep(500);
    assertFalse(done.toCompletableFuture().isDone(), "held while Redis refuses it");
    a.stop();
    ExecutionException e = assertThrows(ExecutionException.class,
        () -> done.toCompletableFuture().get(10, TimeUnit.SECONDS));
    assertInstanceOf(WsClusterException.class, e.getCause());
    assertEquals("wscluster node " + a.nodeId() + " stopped before the message was published",
        e.getCause().getMessage());
    assertEquals(1, a.stats().get("outageDropped"));
  }

  @Test
  void send_payloadOverMessageMaxBytes_isRefusedNamingTheKey() throws Exception {
    ClusterNode a = start("a", NodeParts.DEFAULT, TestMemory.transport(bus, 0),
        b -> b.set(WsClusterConfig.MESSAGE_MAX_BYTES, "1024"));
    FakeSession a1 = new FakeSession();
    a.onSessionOpened(a1.session);

    IllegalArgumentException binary = assertThrows(IllegalArgumentException.class,
        () -> a.send(Target.all(), new byte[1025]));
    IllegalArgumentException text = assertThrows(IllegalArgumentException.class,
        () -> a.send(Target.all(), "é".repeat(513))); // 513 chars, 1026 bytes of UTF-8

    assertEquals("message of 1025 bytes exceeds wscluster.message.max-bytes=1024",
        binary.getMessage());
    assertEquals("message of 1026 bytes exceeds wscluster.message.max-bytes=1024",
        text.getMessage());
    assertEquals(List.of(), a1.received(), "nothing delivered locally");
    assertEquals(0, a.stats().get("published"));
    a.send(Target.all(), new byte[1024]); // exactly the limit is fine
  }

  // ================================================================ bad input from the application

  /**
   * Every way the application can hand the node something it must refuse fails at once, naming
   * what and why, and nothing reaches the transport, a local session or another node. The valid
   * send in the middle shows that the publish counter and the remote session would see one.
   */
  @Test
  void badInput_isRefusedAtOnceAndNothingIsPublishedOrDelivered() throws Exception {
    GatedTransport counted = new GatedTransport(TestMemory.transport(bus, 0));
    ClusterNode a = start("a", NodeParts.DEFAULT, counted,
        b -> b.set(WsClusterConfig.MESSAGE_MAX_BYTES, "1024"));
    ClusterNode b = start("b");
    FakeSession a1 = new FakeSession();
    FakeSession b1 = new FakeSession();
    a.onSessionOpened(a1.session);
    b.onSessionOpened(b1.session);
    a.join(a1.session, "lobby");
    b.join(b1.session, "lobby");
    String tooLong = "é".repeat(513); // 513 chars, 1026 bytes of UTF-8
    String overLimit = "message of 1026 bytes exceeds wscluster.message.max-bytes=1024";

    refused(IllegalArgumentException.class, overLimit, () -> a.send(Target.all(), tooLong));
    refused(IllegalArgumentException.class,
        "message of 1025 bytes exceeds wscluster.message.max-bytes=1024",
        () -> a.send(Target.room("lobby"), new byte[1025]));
    refused(IllegalArgumentException.class, overLimit,
        () -> a.deliver(Target.session(b1.id), tooLong));
    refused(IllegalArgumentException.class, overLimit, () -> a.sendLocal(a1.session, tooLong));
    refused(IllegalArgumentException.class, "deliver takes sessions and users only (no rooms, "
        + "not all), was " + Target.room("lobby"), () -> a.deliver(Target.room("lobby"), "x"));
    refused(IllegalArgumentException.class, "room '' must be 1 to 256 characters long, was 0",
        () -> a.join(a1.session, ""));
    refused(IllegalArgumentException.class, "room 'lob?by' must not contain control characters"
        + " (found U+000A at index 3)", () -> a.join(a1.session, "lob\nby"));
    refused(IllegalArgumentException.class, "room '" + "r".repeat(40) + "...' must be 1 to 256"
        + " characters long, was 257", () -> a.leave(a1.session, "r".repeat(257)));
    refused(IllegalArgumentException.class, "user '' must be 1 to 256 characters long, was 0",
        () -> a.setUser(a1.session, ""));
    refused(IllegalArgumentException.class, "user 'al?ce' must not contain control characters"
        + " (found U+0000 at index 2)", () -> a.setUser(a1.session, "al\u0000ce"));
    assertEquals(Set.of("lobby"), a.rooms(a1.session), "the refused join and leave changed nothing");
    assertEquals(null, a.user(a1.session), "the refused user names were not set");
    assertEquals(0, counted.publishes(), "refused calls publish nothing");

    a.send(Target.room("lobby"), "valid").toCompletableFuture().get(10, TimeUnit.SECONDS);
    await().atMost(WAIT).until(() -> b1.receivedCount() == 1);
    assertEquals(1, counted.publishes(), "the valid send is published once");

    a.stop();
    String stopped = "wscluster node " + a.nodeId() + " is stopped: nothing was sent";
    refused(IllegalStateException.class, stopped, () -> a.send(Target.all(), "late"));
    refused(IllegalStateException.class, stopped, () -> a.send(Target.all(), new byte[] {1}));
    refused(IllegalStateException.class, stopped, () -> a.deliver(Target.session(b1.id), "late"));
    refused(IllegalStateException.class, stopped, () -> a.sendLocal(a1.session, "late"));
    refused(IllegalStateException.class, stopped, a::presence);
    settleQuietly(List.of(b), List.of(b1));

    assertEquals(1, counted.publishes(), "nothing published after the valid send");
    assertEquals(List.of("valid"), a1.received());
    assertEquals(List.of("valid"), b1.received());
    assertEquals(1, a.stats().get("published"));
  }

  private static void refused(Class<? extends Throwable> type, String message,
      org.junit.jupiter.api.function.Executable call) {
    assertEquals(message, assertThrows(type, call).getMessage());
  }

  @Test
  void sendToSession_writesThatLocalSessionOnlyAndPublishesNothing() throws Exception {
    ClusterNode a = start("a");
    ClusterNode b = start("b");
    FakeSession mine = new FakeSession();
    FakeSession other = new FakeSession();
    FakeSession remote = new FakeSession();
    a.onSessionOpened(mine.session);
    a.onSessionOpened(other.session);
    b.onSessionOpened(remote.session);

    a.sendLocal(mine.session, "just you").toCompletableFuture().get(10, TimeUnit.SECONDS);
    a.send(Target.all(), "fence").toCompletableFuture().get(10, TimeUnit.SECONDS);
    await().atMost(WAIT).until(() -> remote.count("fence") == 1);

    assertEquals(List.of("just you", "fence"), mine.received());
    assertEquals(List.of("fence"), other.received());
    assertEquals(List.of("fence"), remote.received());
    assertEquals(1, a.stats().get("published"), "only the fence went to the other nodes");
  }

  @Test
  void stats_outboxGauges_reportTheDeepestAndTheTotalQueuedFramesNow() throws Exception {
    ClusterNode a = start("a", NodeParts.DEFAULT, TestMemory.transport(bus, 0),
        b -> b.set(WsClusterConfig.OUTBOX_MAX_FRAMES, "8")
            .set(WsClusterConfig.OUTBOX_OVERFLOW, "drop-newest"));
    FakeSession stalled = new FakeSession().completion(FakeSession.Completion.MANUAL);
    FakeSession slow = new FakeSession().completion(FakeSession.Completion.MANUAL);
    FakeSession fast = new FakeSession();
    for (FakeSession s : List.of(stalled, slow, fast)) {
      a.onSessionOpened(s.session);
      a.join(s.session, "lobby");
    }
    a.join(stalled.session, "news");
    assertEquals(0L, a.stats().get("outbox.queued.max"));
    assertEquals(0L, a.stats().get("outbox.queued.total"));

    for (int i = 0; i < 4; i++) {
      a.send(Target.room("lobby"), "lobby " + i); // 1 written + 3 queued each for stalled and slow
    }
    // the dispatcher started the writes of this node's own messages
    await().atMost(WAIT).until(() -> fast.receivedCount() == 4);
    for (int i = 0; i < 20; i++) {
      a.send(Target.room("news"), "news " + i); // stalled: 5 more fit, 15 dropped
    }

    assertEquals(8L, a.stats().get("outbox.queued.max"), "never more than max-frames");
    assertEquals(8L + 3, a.stats().get("outbox.queued.total"));
    assertEquals(15L, a.stats().get("overflowDropped"));
    while (slow.completeNext()) {
      // the slow client catches up
    }
    assertEquals(8L, a.stats().get("outbox.queued.total"));
    assertEquals(4, fast.receivedCount(), "the fast client reads at once: nothing queued");
  }

  @Test
  void send_afterStop_isRefusedWithAClearMessage() throws Exception {
    ClusterNode a = start("a");
    a.stop();

    IllegalStateException e = assertThrows(IllegalStateException.class,
        () -> a.send(Target.all(), "late"));

    assertEquals("wscluster node " + a.nodeId() + " is stopped: nothing was sent", e.getMessage());
  }

  @Test
  void send_beforeStart_isRefused() {
    ClusterNode a = new ClusterNode(config("a", b -> { }), TestMemory.transport(bus, 0),
        NodeParts.DEFAULT, System::nanoTime, this::directory);

    IllegalStateException e = assertThrows(IllegalStateException.class,
        () -> a.send(Target.all(), "early"));

    assertTrue(e.getMessage().startsWith("wscluster node " + a.nodeId() + " is "),
        e.getMessage());
    assertTrue(e.getMessage().endsWith(": nothing was sent"), e.getMessage());
  }

  @Test
  void send_nullArguments_areRefusedNamingThem() throws Exception {
    ClusterNode a = start("a");
    assertEquals("target", assertThrows(NullPointerException.class,
        () -> a.send(null, "x")).getMessage());
    assertEquals("text", assertThrows(NullPointerException.class,
        () -> a.send(Target.all(), (String) null)).getMessage());
    assertEquals("data", assertThrows(NullPointerException.class,
        () -> a.send(Target.all(), (byte[]) null)).getMessage());
  }

  // ================================================================ sessions through the facade

  @Test
  void sessionMethods_reflectJoinLeaveAndUser() throws Exception {
    ClusterNode a = start("a");
    FakeSession s = FakeSession.withPrincipal("alice");
    a.onSessionOpened(s.session);

    a.join(s.session, "lobby");
    a.join(s.session, "news");
    a.leave(s.session, "lobby");
    a.setUser(s.session, "carol");

    assertEquals(Set.of("news"), a.rooms(s.session));
    assertEquals("carol", a.user(s.session));
    assertEquals(s.id, a.sessionId(s.session));
    assertEquals(1L, a.stats().get("sessions"));
    a.onSessionClosed(s.session);
    assertEquals(Set.of(), a.rooms(s.session));
    assertEquals(0L, a.stats().get("sessions"));
  }

  @Test
  void join_closedSession_isRefused() throws Exception {
    ClusterNode a = start("a");
    FakeSession s = new FakeSession();
    s.markClosed();

    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> a.join(s.session, "lobby"));
    assertEquals("session " + s.id + " is closed", e.getMessage());
  }

  @Test
  void join_badRoomName_isRefused() throws Exception {
    ClusterNode a = start("a");
    FakeSession s = new FakeSession();
    a.onSessionOpened(s.session);

    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> a.join(s.session, ""));
    assertEquals("room '' must be 1 to 256 characters long, was 0", e.getMessage());
  }

  @Test
  void nodeId_sameNameTwice_givesDifferentIds() throws Exception {
    ClusterNode one = start("same");
    ClusterNode two = start("same");
    assertNotEquals(one.nodeId(), two.nodeId());
    assertTrue(one.nodeId().startsWith("same-"), one.nodeId());

    FakeSession s = new FakeSession();
    two.onSessionOpened(s.session);
    one.send(Target.all(), "from one");
    await().atMost(WAIT).until(() -> s.count("from one") == 1);
  }

  // ================================================================ lifecycle

  @Test
  void start_twice_isRefused() throws Exception {
    ClusterNode a = start("a");
    IllegalStateException e = assertThrows(IllegalStateException.class, a::start);
    assertEquals("node " + a.nodeId() + " was already started", e.getMessage());
  }

  @Test
  void stop_isIdempotentAndStopsEveryWsclusterThread() throws Exception {
    Cluster cl = threeNodes();
    cl.send(cl.a, Target.all(), "hello", cl.sessions.toArray(new FakeSession[0]));
    cl.settle();
    assertFalse(newThreads().isEmpty(), "the nodes run wscluster- threads");

    for (ClusterNode n : cl.nodes()) {
      n.stop();
      n.stop();
    }
    cl.a.stop();

    await().atMost(Duration.ofSeconds(5)).until(() -> newThreads().isEmpty());
    assertEquals(List.of(), bus.get(channel), "every subscription left the bus");
  }

  @Test
  void stop_neverStarted_isHarmless() {
    ClusterNode a = new ClusterNode(config("a", b -> { }), TestMemory.transport(bus, 0),
        NodeParts.DEFAULT, System::nanoTime, this::directory);
    a.stop();
    a.stop();
    assertEquals(Set.of(), newThreads());
  }

  @Test
  void stop_stoppedNodeReceivesNothingAndOthersCarryOn() throws Exception {
    Cluster cl = threeNodes();
    cl.c.stop();

    cl.send(cl.a, Target.all(), "after c stopped", cl.a1, cl.a2, cl.b1, cl.b2);
    cl.settle();

    assertEquals(List.of(), cl.ledger.violations());
  }

  @Test
  void stop_unregistersSessionsAndIgnoresLaterOpens() throws Exception {
    ClusterNode a = start("a");
    FakeSession s = new FakeSession();
    a.onSessionOpened(s.session);

    a.stop();
    a.onSessionOpened(new FakeSession().session);

    assertEquals(0L, a.stats().get("sessions"));
  }

  @Test
  void stop_whilePublishIsInFlight_failsThatSendsStage() throws Exception {
    GatedTransport gate = new GatedTransport(TestMemory.transport(bus, 0));
    ClusterNode a = start("a", NodeParts.DEFAULT, gate, x -> { });
    gate.hold();
    CompletableFuture<Void> inFlight = a.send(Target.all(), "held").toCompletableFuture();
    await().atMost(WAIT).until(() -> gate.heldCount() == 1);
    CompletableFuture<Void> queued = a.send(Target.all(), "queued").toCompletableFuture();

    assertTimeoutPreemptively(Duration.ofSeconds(10), a::stop);

    // every stage the node handed out completes once stop returns: failed, naming the node
    for (CompletableFuture<Void> stage : List.of(inFlight, queued)) {
      ExecutionException e = assertThrows(ExecutionException.class,
          () -> stage.get(5, TimeUnit.SECONDS));
      assertInstanceOf(WsClusterException.class, e.getCause());
      assertTrue(e.getCause().getMessage().startsWith("wscluster node " + a.nodeId() + " "),
          e.getCause().getMessage());
    }
  }

  /**
   * The shutdown wait is bounded in real time: the injected clock is for dedup and may be a
   * test's frozen clock, yet stop must still return once wscluster.shutdown.timeout has passed.
   */
  @Test
  void stop_publishNeverCompletesAndTheInjectedClockIsFrozen_stillReturnsInBoundedTime()
      throws Exception {
    GatedTransport gate = new GatedTransport(TestMemory.transport(bus, 0));
    ClusterNode a = new ClusterNode(config("a", b -> { }), gate, NodeParts.DEFAULT,
        () -> 42L, this::directory);
    nodes.add(a);
    a.start();
    gate.hold();
    a.send(Target.all(), "held forever");
    await().atMost(WAIT).until(() -> gate.heldCount() == 1);

    assertTimeoutPreemptively(Duration.ofSeconds(3), a::stop,
        "stop with wscluster.shutdown.timeout=1s did not return within 3 s");
  }

  @Test
  void startStop_100Times_leaksNoThreadAndNoSubscription() throws Exception {
    for (int i = 0; i < 100; i++) {
      ClusterNode n = new ClusterNode(config("r", b -> { }), TestMemory.transport(bus, 0),
          NodeParts.DEFAULT, System::nanoTime, this::directory);
      n.start();
      n.send(Target.all(), "x" + i);
      n.stop();
    }

    await().atMost(Duration.ofSeconds(5)).until(() -> newThreads().isEmpty());
    assertEquals(List.of(), bus.get(channel));
  }

  // ================================================================ helpers

  private Set<Thread> newThreads() {
    Set<Thread> now = wsclusterThreads();
    now.removeAll(threadsBefore);
    return now;
  }

  private static void sleep(long millis) {
    try {
      Thread.sleep(millis);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new AssertionError(e);
    }
  }

  /**
   * A transport whose publish completions can be held back: frames still go out at once, but the
   * node sees them "in flight" until {@link #release}, so later sends queue up into one frame.
   * Its stop fails held completions, as Redisson's shutdown does.
   */
  static class GatedTransport extends ForwardingTransport {
    private final List<CompletableFuture<Long>> held = new ArrayList<>();
    private final AtomicInteger publishes = new AtomicInteger();
    private boolean holding;
    private boolean stopped;

    GatedTransport(Transport delegate) {
      super(delegate);
    }

    synchronized void hold() {
      holding = true;
    }

    synchronized int heldCount() {
      return held.size();
    }

    void release() {
      List<CompletableFuture<Long>> toComplete;
      synchronized (this) {
        holding = false;
        toComplete = new ArrayList<>(held);
        held.clear();
      }
      toComplete.forEach(f -> f.complete(1L));
    }

    /** How many times the node called {@link #publish}, whatever became of the frame. */
    int publishes() {
      return publishes.get();
    }

    @Override
    public CompletionStage<Long> publish(String ch, byte[] frame) {
      publishes.incrementAndGet();
      synchronized (this) {
        if (stopped) {
          return CompletableFuture.failedFuture(new IllegalStateException("not started"));
        }
      }
      CompletionStage<Long> sent = delegate.publish(ch, frame);
      synchronized (this) {
        if (!holding) {
          return sent;
        }
        CompletableFuture<Long> later = new CompletableFuture<>();
        held.add(later);
        return later;
      }
    }

    @Override
    public void stop() throws Exception {
      List<CompletableFuture<Long>> toFail;
      synchronized (this) {
        stopped = true;
        toFail = new ArrayList<>(held);
        held.clear();
      }
      toFail.forEach(f -> f.completeExceptionally(new IllegalStateException("transport stopped")));
      delegate.stop();
    }
  }
}
