package io.wscluster.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.wscluster.it.TestClient.Deliver;
import io.wscluster.it.TestClient.Outcome;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInfo;
import org.junit.jupiter.api.TestInstance;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@code cluster.deliver} through the demo's {@code {"op":"deliver"}} on 3 in-process nodes, plus one node P in a
 * JVM of its own (the demo launcher) so that an owner can be frozen with SIGSTOP: a receipt lists exactly the
 * sessions written, every targeted session gets the message once and nobody else gets it, and every failure ends
 * with its documented reason in bounded time.
 *
 * <pre>
 *   client  node  user   room
 *   s0..s2  n0..n2 s0..s2 senders     senders, one per node
 *   t0..t2  n0..n2 t0..t2 targets     targets, one per node
 *   ulla0   n0    ulla   ulla         one user with sessions on two nodes
 *   ulla1   n1    ulla   ulla
 *   p       P     p      frozen       P: TTL 30 s (stays live while frozen); n2's receipt timeout is 2 s
 * </pre>
 *
 * <p>n1 subscribes to every channel twice (test hook {@code io.wscluster.test.extra-subscriptions = 1}): every
 * targeted envelope for n1 and every receipt for n1 arrives there twice, so each case involving n1 also proves that
 * dedup covers targeted envelopes and receipts (design, duplicate source 2).
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class TargetedDeliveryIT {

  private static final Logger LOG = LoggerFactory.getLogger(TargetedDeliveryIT.class);
  /** n2's wscluster.receipt.timeout; the other nodes keep the default (5 s). */
  private static final Duration N2_RECEIPT_TIMEOUT = Duration.ofSeconds(2);
  /** P's lease: far longer than a receipt timeout, so a frozen P stays a live owner and the sender times out. */
  private static final Duration PROCESS_TTL = Duration.ofSeconds(30);
  /** A failure that needs no owner's answer (nobody connected) must come at least this fast. */
  private static final long QUICK_MILLIS = 1_000;
  /** A session closed before or while a deliver is under way: the failure must come within this, not a timeout. */
  private static final long NO_HANG_MILLIS = 3_000;
  /** After the fences: time for any late duplicate to show up before absence and counts are asserted. */
  private static final Duration QUIET = Duration.ofMillis(500);

  private Cluster cluster;
  private NodeProcess process;
  private List<TestClient> senders;
  private List<TestClient> targets;
  private TestClient ulla0;
  private TestClient ulla1;
  private TestClient p;
  private List<TestClient> everyone;
  private String scope;

  @BeforeAll
  void start() throws Exception {
    cluster = Cluster.start("targeted", 3, Map.of(1, Map.of(JettyNode.TEST_EXTRA_SUBSCRIPTIONS, 1)),
        Map.of(2, Map.of("wscluster.receipt.timeout", N2_RECEIPT_TIMEOUT.toMillis() + "ms")));
    process = cluster.startProcess(PROCESS_TTL, Duration.ofSeconds(1));
    senders = List.of(cluster.chat(0, "senders", "s0"), cluster.chat(1, "senders", "s1"),
        cluster.chat(2, "senders", "s2"));
    targets = List.of(cluster.chat(0, "targets", "t0"), cluster.chat(1, "targets", "t1"),
        cluster.chat(2, "targets", "t2"));
    ulla0 = cluster.chat(0, "ulla", "ulla");
    ulla1 = cluster.chat(1, "ulla", "ulla");
    p = cluster.chat(process, "frozen", "p");
    List<TestClient> all = new ArrayList<>(senders);
    all.addAll(targets);
    all.addAll(List.of(ulla0, ulla1, p));
    everyone = List.copyOf(all);
    // every session is in the directory before the cases start
    for (TestClient c : everyone) {
      Settle.until(c + " in the directory", Duration.ofSeconds(10), Duration.ofMillis(20),
          () -> senders.get(0).presence("node", c.sessionId()).equals(List.of(c.nodeId())));
    }
  }

  @AfterAll
  void stop() {
    if (process != null) {
      process.close();
    }
    if (cluster != null) {
      cluster.close();
    }
  }

  @BeforeEach
  void scope(TestInfo info) {
    scope = "td:" + info.getTestMethod().orElseThrow().getName() + ":" + UUID.randomUUID().toString().substring(0, 8)
        + ":";
  }

  // ---------------------------------------------------------------- one session

  @Test
  void session_onEachNode_fromEachNode_deliveredOnceWithReceipt() throws Exception {
    ExactlyOnceChecker checker = new ExactlyOnceChecker();
    List<Long> receiptMillis = new ArrayList<>();
    for (TestClient sender : senders) {
      for (TestClient target : targets) {
        String text = scope + sender.user() + "->" + target.user();
        checker.expect(text, List.of(target));
        Outcome o = sender.deliver(Deliver.text(text).sessions(target.sessionId()));
        assertReceipt(sender + " -> " + target, o, Set.of(target.sessionId()));
        receiptMillis.add(o.millis());
        TestClient.Frame f = target.awaitDelivery(text);
        assertEquals(sender.user(), f.json().get("from"), target + ": 'from' of " + text);
        assertEquals(sender.nodeId(), f.json().get("node"), target + ": 'node' of " + text);
      }
    }
    LOG.info("deliver to one session, request to receipt at the sender (ms), 3 x 3 node pairs: {}", receiptMillis);
    quietThenCheck(checker, "deliver to one session, from each node to each node");
  }

  @Test
  void session_binary_onAnotherNodeAndLocal_oneBinaryFrameEach() throws Exception {
    ExactlyOnceChecker checker = new ExactlyOnceChecker();
    for (TestClient sender : List.of(senders.get(0), senders.get(2))) {
      String text = scope + "bin:" + sender.user();
      checker.expect(text, List.of(targets.get(2)));
      Outcome o = sender.deliver(Deliver.text(text).sessions(targets.get(2).sessionId()).binary());
      assertReceipt(sender + " -> t2 (binary)", o, Set.of(targets.get(2).sessionId()));
      assertTrue(targets.get(2).awaitDelivery(text).binary(), "t2 got a text frame for binary " + text);
    }
    quietThenCheck(checker, "binary deliver");
  }

  @Test
  void unknownSessionOrUser_notConnected_quickly() throws Exception {
    String ghost = "no-such-session-" + UUID.randomUUID();
    String nobody = "nobody-" + UUID.randomUUID();
    for (TestClient sender : senders) {
      Outcome session = sender.deliver(Deliver.text(scope + "ghost").sessions(ghost));
      Outcome user = sender.deliver(Deliver.text(scope + "nobody").users(nobody));
      LOG.info("{}: deliver to an unknown session: {}; to an unknown user: {}", sender, session, user);
      for (Outcome o : List.of(session, user)) {
        assertFailure(sender + " to an unknown target", o, Set.of("NOT_CONNECTED"), QUICK_MILLIS);
        assertEquals(Set.of(), o.delivered(), sender + ": delivered of " + o);
      }
    }
    quietThenCheck(new ExactlyOnceChecker(), "nobody gets a deliver to an unknown target");
  }

  /**
   * n1 gets every frame twice. The second copy of a targeted envelope for n1, and of a receipt for n1, must be
   * dropped (n1's /status duplicates grows by each) and the target written once, the deliver answered once.
   */
  @Test
  void doubleSubscribedNode_secondCopiesOfTargetedEnvelopeAndReceiptDropped() throws Exception {
    JettyNode n1 = cluster.node(1);
    ExactlyOnceChecker checker = new ExactlyOnceChecker();

    long before = Settle.stable(() -> n1.stat("duplicates"), Duration.ofMillis(300), Duration.ofSeconds(10));
    String toN1 = scope + "to-n1";
    checker.expect(toN1, List.of(targets.get(1)));
    Outcome o = senders.get(0).deliver(Deliver.text(toN1).sessions(targets.get(1).sessionId()));
    assertReceipt("s0 -> t1 (n1 double-subscribed)", o, Set.of(targets.get(1).sessionId()));
    long afterEnvelope = Settle.stable(() -> n1.stat("duplicates"), Duration.ofMillis(300), Duration.ofSeconds(10));
    assertTrue(afterEnvelope > before, "n1 dropped no second copy of the targeted envelope (duplicates " + before
        + " -> " + afterEnvelope + "): is the test hook in effect on n1's own channel?");

    String fromN1 = scope + "from-n1";
    checker.expect(fromN1, List.of(targets.get(0)));
    Outcome r = senders.get(1).deliver(Deliver.text(fromN1).sessions(targets.get(0).sessionId()));
    assertReceipt("s1 -> t0 (receipt to the double-subscribed n1)", r, Set.of(targets.get(0).sessionId()));
    long afterReceipt = Settle.stable(() -> n1.stat("duplicates"), Duration.ofMillis(300), Duration.ofSeconds(10));
    assertTrue(afterReceipt > afterEnvelope, "n1 dropped no second copy of n0's receipt (duplicates "
        + afterEnvelope + " -> " + afterReceipt + ")");
    LOG.info("n1 duplicates dropped: {} before, {} after a targeted envelope to n1, {} after a receipt to n1", before,
        afterEnvelope, afterReceipt);

    quietThenCheck(checker, "deliver through a double-subscribed node");
    assertEquals(1, senders.get(0).framesWithId(o.id()).size(), "answers to s0's deliver");
    assertEquals(1, senders.get(1).framesWithId(r.id()).size(), "answers to s1's deliver");
  }

  // ---------------------------------------------------------------- users

  @Test
  void user_withSessionsOnTwoNodes_eachSessionOnce_oneReceiptListingBoth() throws Exception {
    ExactlyOnceChecker checker = new ExactlyOnceChecker();
    Set<String> ullas = Set.of(ulla0.sessionId(), ulla1.sessionId());
    List<Map.Entry<TestClient, Outcome>> outcomes = new ArrayList<>();
    // from n2 (both owners remote) and from n0 (one owner is the sender's node)
    for (TestClient sender : List.of(senders.get(2), senders.get(0))) {
      String text = scope + "ulla-from-" + sender.user();
      checker.expect(text, List.of(ulla0, ulla1));
      Outcome o = sender.deliver(Deliver.text(text).users("ulla"));
      assertReceipt(sender + " -> user ulla", o, ullas);
      outcomes.add(Map.entry(sender, o));
    }
    // a session and a user on three nodes; a session named twice (by id and through its user)
    String mixed = scope + "mixed";
    checker.expect(mixed, List.of(targets.get(2), ulla0, ulla1));
    Outcome o = senders.get(1).deliver(Deliver.text(mixed).sessions(targets.get(2).sessionId()).users("ulla"));
    assertReceipt("s1 -> t2 + user ulla", o, Set.of(targets.get(2).sessionId(), ulla0.sessionId(),
        ulla1.sessionId()));
    outcomes.add(Map.entry(senders.get(1), o));
    String overlap = scope + "overlap";
    checker.expect(overlap, List.of(ulla0, ulla1));
    o = senders.get(2).deliver(Deliver.text(overlap).sessions(ulla0.sessionId()).users("ulla"));
    assertReceipt("s2 -> ulla0 + user ulla", o, ullas);
    outcomes.add(Map.entry(senders.get(2), o));

    quietThenCheck(checker, "deliver to users");
    for (Map.Entry<TestClient, Outcome> e : outcomes) {
      assertEquals(1, e.getKey().framesWithId(e.getValue().id()).size(), e.getKey() + ": answers to request "
          + e.getValue().id() + " (one aggregate receipt expected): " + e.getKey().framesWithId(e.getValue().id()));
    }
  }

  // ---------------------------------------------------------------- closed sessions

  @Test
  void sessionClosedJustBefore_failsPromptly_notConnectedOrWriteFailed() throws Exception {
    int[][] pairs = {{0, 1}, {0, 0}, {1, 2}, {2, 0}};
    for (int[] pair : pairs) {
      TestClient sender = senders.get(pair[0]);
      TestClient x = cluster.chat(pair[1], "closing", "x" + pair[0] + pair[1]);
      x.closeAndWait();
      // at once: the owner may not have updated the directory yet
      Outcome o = sender.deliver(Deliver.text(scope + "closed:" + x.label()).sessions(x.sessionId()));
      LOG.info("{} -> {} closed just before: {}", sender, x, o);
      assertFailure(sender + " -> " + x + " (closed just before)", o, Set.of("NOT_CONNECTED", "WRITE_FAILED"),
          NO_HANG_MILLIS);
      assertEquals(Set.of(), o.delivered(), "delivered of " + o);
    }
  }

  /**
   * The client closes while the deliver is under way. Either the frame was written before the close (a receipt
   * naming the session) or the write failed / the session was gone (NOT_CONNECTED, WRITE_FAILED); never a hang
   * into TIMEOUT.
   */
  @Test
  void sessionClosingMidFlight_completesPromptly_neverTimesOut() throws Exception {
    int[][] pairs = {{0, 1}, {1, 1}, {2, 0}, {0, 2}, {1, 0}, {2, 2}};
    for (int[] pair : pairs) {
      TestClient sender = senders.get(pair[0]);
      TestClient x = cluster.chat(pair[1], "closing", "y" + pair[0] + pair[1]);
      x.close();
      Outcome o = sender.deliverAsync(Deliver.text(scope + "closing:" + x.label()).sessions(x.sessionId()))
          .get(NO_HANG_MILLIS + 5_000, TimeUnit.MILLISECONDS);
      LOG.info("{} -> {} closing mid-flight: {}", sender, x, o);
      assertTrue(o.millis() < NO_HANG_MILLIS, sender + " -> " + x + " closing mid-flight took " + o.millis()
          + " ms, expected under " + NO_HANG_MILLIS + ": " + o);
      if (o.isReceipt()) {
        assertEquals(Set.of(x.sessionId()), o.delivered(), "receipt of " + o);
      } else {
        assertFailure(sender + " -> " + x + " (closing)", o, Set.of("NOT_CONNECTED", "WRITE_FAILED"),
            NO_HANG_MILLIS);
      }
    }
  }

  // ---------------------------------------------------------------- an owner that does not answer

  @Test
  void ownerFrozenBySigstop_timeoutWithPartialDelivery_thenRecovers() throws Exception {
    TestClient s2 = senders.get(2);
    TestClient t0 = targets.get(0);
    Outcome warm = s2.deliver(Deliver.text(scope + "warm").sessions(p.sessionId()));
    assertReceipt("s2 -> p before SIGSTOP", warm, Set.of(p.sessionId()));

    String frozenAlone = scope + "frozen-alone";
    String frozenAndLive = scope + "frozen-and-live";
    Outcome alone;
    Outcome mixed;
    process.suspend();
    try {
      alone = s2.deliver(Deliver.text(frozenAlone).sessions(p.sessionId()));
      mixed = s2.deliver(Deliver.text(frozenAndLive).sessions(p.sessionId(), t0.sessionId()));
      // the rest of the cluster is unaffected meanwhile
      Outcome other = senders.get(0).deliver(Deliver.text(scope + "meanwhile").sessions(targets.get(1).sessionId()));
      assertReceipt("s0 -> t1 while P is frozen", other, Set.of(targets.get(1).sessionId()));
    } finally {
      process.resume();
    }
    LOG.info("deliver to a frozen owner (n2 receipt timeout {} ms): alone {}; with a live session {}",
        N2_RECEIPT_TIMEOUT.toMillis(), alone, mixed);
    long timeout = N2_RECEIPT_TIMEOUT.toMillis();
    for (Outcome o : List.of(alone, mixed)) {
      assertEquals("deliveryError", o.type(), "deliver to a frozen owner: " + o);
      assertEquals("TIMEOUT", o.reason(), "deliver to a frozen owner (P's lease " + PROCESS_TTL + " outlives the "
          + "receipt timeout): " + o);
      assertTrue(o.millis() >= timeout - 50 && o.millis() <= timeout + 2_000, "TIMEOUT after " + o.millis()
          + " ms, expected about " + timeout + " ms: " + o);
      assertTrue(!o.delivered().contains(p.sessionId()), "frozen session reported delivered: " + o);
    }
    assertEquals(Set.of(t0.sessionId()), mixed.delivered(), "what arrived in time, with a live and a frozen owner: "
        + mixed);
    t0.awaitDelivery(frozenAndLive);

    // P thaws and answers again
    String after = scope + "after-thaw";
    Outcome thawed = s2.deliver(Deliver.text(after).sessions(p.sessionId()));
    assertReceipt("s2 -> p after SIGCONT", thawed, Set.of(p.sessionId()));
    p.awaitDelivery(after);
    cluster.fence(s2, everyone);
    Thread.sleep(QUIET.toMillis());
    // what was sent while frozen may reach p late (the sender gave up, not the owner), but never twice
    for (String text : List.of(frozenAlone, frozenAndLive)) {
      LOG.info("p got '{}' {} time(s) after thawing", text, p.count(text));
      assertTrue(p.count(text) <= 1, "p got " + text + " " + p.count(text) + " times");
    }
    assertEquals(1, t0.count(frozenAndLive), "t0's copy of " + frozenAndLive);
    // last, so that the properties above are checked whatever this says: the frozen session failed for the same
    // reason whether or not another owner answered the same deliver
    assertEquals(alone.failed().get(p.sessionId()), mixed.failed().get(p.sessionId()), "reason given for the "
        + "frozen session p when the deliver also named t0 on n0 (n0's receipt must not speak for P's session); "
        + "alone: " + alone + "; with t0: " + mixed);
  }

  // ---------------------------------------------------------------- helpers

  private static void assertReceipt(String what, Outcome o, Set<String> delivered) {
    assertEquals("receipt", o.type(), what + ": " + o);
    assertEquals(delivered, o.delivered(), what + ": sessions in the receipt");
    assertEquals(Map.of(), o.failed(), what + ": failed sessions in the receipt");
  }

  private static void assertFailure(String what, Outcome o, Set<String> reasons, long withinMillis) {
    assertEquals("deliveryError", o.type(), what + ": " + o);
    assertTrue(reasons.contains(o.reason()), what + ": reason " + o.reason() + ", expected one of " + reasons
        + ": " + o);
    assertTrue(o.millis() < withinMillis, what + ": answered after " + o.millis() + " ms, expected under "
        + withinMillis + " ms: " + o);
  }

  /**
   * Fences from every sender (a broadcast each, awaited by everyone), a quiet period for late copies, then exactly
   * once for the declared messages and nothing else of this case's scope anywhere.
   */
  private void quietThenCheck(ExactlyOnceChecker checker, String what) throws Exception {
    for (TestClient sender : senders) {
      cluster.fence(sender, everyone);
    }
    Thread.sleep(QUIET.toMillis());
    String prefix = scope;
    checker.check(everyone, t -> t.startsWith(prefix)).assertExactlyOnce(what);
  }
}
