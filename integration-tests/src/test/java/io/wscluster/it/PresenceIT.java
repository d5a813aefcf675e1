package io.wscluster.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.wscluster.it.TestClient.Deliver;
import io.wscluster.it.TestClient.Outcome;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.DoubleSummaryStatistics;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.awaitility.core.ConditionTimeoutException;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Cluster-wide presence through the demo's {@code {"op":"presence"}}: 3 in-process nodes n0..n2 plus one node P
 * running as a separate JVM (the demo launcher) on the same Redis, with an observer client on each that asks the
 * queries.
 *
 * <ul>
 *   <li>listings (sessions and users of a room, sessions of a user, node of a session, live nodes) are right on
 *       every node, P included, after joins, leaves and closes on every node;
 *   <li>a join, leave or close on one node is visible on another within {@link #VISIBLE_WITHIN} (measured, logged);
 *   <li>SIGKILL of P: its sessions and its node vanish within its TTL + 2 s, a deliver pending on it fails with
 *       NODE_GONE before the receipt timeout, and the other nodes keep delivering;
 *   <li>a graceful stop of n2: its sessions and node vanish at once (within {@link #VISIBLE_WITHIN} of the stop).
 * </ul>
 * The tests run in order: the last two remove P, then n2.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class PresenceIT {

  private static final Logger LOG = LoggerFactory.getLogger(PresenceIT.class);
  /**
   * The bound a change must become visible within on another node (the README's Presence says
   * "within milliseconds"; the test allows a second on a loaded machine).
   */
  private static final Duration VISIBLE_WITHIN = Duration.ofSeconds(1);
  /** P's lease: short, so that its death is seen quickly. */
  private static final Duration PROCESS_TTL = Duration.ofSeconds(3);
  private static final Duration PROCESS_HEARTBEAT = Duration.ofMillis(500);
  /**
   * The in-process nodes wait this long for receipts: longer than P's TTL + 2 s, so a deliver pending on P must end
   * as NODE_GONE.
   */
  private static final Duration RECEIPT_TIMEOUT = Duration.ofSeconds(8);
  /** Upper bound of every wait (failures only). */
  private static final Duration WAIT = Duration.ofSeconds(15);
  private static final Duration POLL = Duration.ofMillis(10);
  private static final int LATENCY_ROUNDS = 4;

  private Cluster cluster;
  private NodeProcess process;
  private List<TestClient> observers;
  private TestClient obsP;

  @BeforeAll
  void start() throws Exception {
    cluster = Cluster.start("presence", 3, Map.of(),
        Cluster.everyNode(3, Map.of("wscluster.receipt.timeout", RECEIPT_TIMEOUT.toMillis() + "ms")));
    process = cluster.startProcess(PROCESS_TTL, PROCESS_HEARTBEAT);
    observers = List.of(
        cluster.chat(0, "observers", "obs0"),
        cluster.chat(1, "observers", "obs1"),
        cluster.chat(2, "observers", "obs2"));
    obsP = cluster.chat(process, "observers-p", "obsP");
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

  // ---------------------------------------------------------------- listings

  @Test
  @Order(1)
  void listings_afterJoinsLeavesAndCloses_correctOnEveryNode() throws Exception {
    TestClient a0 = cluster.chat(0, "lobby", "alice");
    TestClient a1 = cluster.chat(1, "lobby", "alice");
    TestClient b2 = cluster.chat(2, "lobby", "bob");
    TestClient cP = cluster.chat(process, "garden", "carol");
    List<TestClient> everywhere = all();

    expect(everywhere, "nodes", null, List.of(observers.get(0).nodeId(), observers.get(1).nodeId(),
        observers.get(2).nodeId(), obsP.nodeId()));
    expect(everywhere, "room", "lobby", ids(a0, a1, b2));
    expect(everywhere, "roomUsers", "lobby", List.of("alice", "bob"));
    expect(everywhere, "user", "alice", ids(a0, a1));
    expect(everywhere, "room", "garden", ids(cP));
    for (TestClient c : List.of(a0, a1, b2, cP)) {
      expect(everywhere, "node", c.sessionId(), List.of(c.nodeId()));
    }

    // joins on P and n0
    cP.join("lobby");
    a0.join("garden");
    expect(everywhere, "room", "lobby", ids(a0, a1, b2, cP));
    expect(everywhere, "roomUsers", "lobby", List.of("alice", "bob", "carol"));
    expect(everywhere, "room", "garden", ids(cP, a0));
    expect(everywhere, "roomUsers", "garden", List.of("alice", "carol"));

    // leaves: alice stays in the lobby through her other session; leaving a room ends no session
    a1.leave("lobby");
    expect(everywhere, "room", "lobby", ids(a0, b2, cP));
    expect(everywhere, "roomUsers", "lobby", List.of("alice", "bob", "carol"));
    expect(everywhere, "user", "alice", ids(a0, a1));
    a0.leave("lobby");
    expect(everywhere, "room", "lobby", ids(b2, cP));
    expect(everywhere, "roomUsers", "lobby", List.of("bob", "carol"));
    expect(everywhere, "user", "alice", ids(a0, a1));

    // closes clear every room of the session, its user entry and its node entry
    a0.closeAndWait();
    expect(everywhere, "room", "garden", ids(cP));
    expect(everywhere, "roomUsers", "garden", List.of("carol"));
    expect(everywhere, "user", "alice", ids(a1));
    expect(everywhere, "node", a0.sessionId(), List.of());
    b2.closeAndWait();
    cP.closeAndWait();
    expect(everywhere, "room", "lobby", List.of());
    expect(everywhere, "roomUsers", "lobby", List.of());
    expect(everywhere, "room", "garden", List.of());
    expect(everywhere, "user", "bob", List.of());
    expect(everywhere, "user", "carol", List.of());
    expect(everywhere, "node", cP.sessionId(), List.of());
    a1.closeAndWait();
    expect(everywhere, "user", "alice", List.of());
    // the observers' own rooms were never touched
    expect(everywhere, "room", "observers", ids(observers.toArray(TestClient[]::new)));
  }

  // ---------------------------------------------------------------- how fast a change is seen elsewhere

  @Test
  @Order(2)
  void joinLeaveConnectClose_visibleOnAnotherNodeWithinOneSecond() throws Exception {
    List<Double> joins = new ArrayList<>();
    List<Double> leaves = new ArrayList<>();
    List<Double> connects = new ArrayList<>();
    List<Double> closes = new ArrayList<>();
    for (int node = 0; node < 3; node++) {
      TestClient observer = observers.get((node + 1) % 3);
      String user = "lat" + node;
      long t0 = System.nanoTime();
      TestClient x = cluster.chat(node, "lat-home-" + node, user);
      connects.add(Settle.millis(t0, expect(observer, "room", "lat-home-" + node, ids(x))));
      for (int round = 0; round < LATENCY_ROUNDS; round++) {
        String room = "lat-" + node + "-" + round;
        t0 = System.nanoTime();
        x.join(room);
        joins.add(Settle.millis(t0, expect(observer, "room", room, ids(x))));
        t0 = System.nanoTime();
        x.leave(room);
        leaves.add(Settle.millis(t0, expect(observer, "room", room, List.of())));
      }
      t0 = System.nanoTime();
      x.closeAndWait();
      long gone = expect(observer, "node", x.sessionId(), List.of());
      gone = Math.max(gone, expect(observer, "user", user, List.of()));
      closes.add(Settle.millis(t0, gone));
    }
    LOG.info("presence visibility on another node (ms, from the request to the first answer showing it; "
        + "includes the poll interval of {} ms): connect {}, join {}, leave {}, close {}", POLL.toMillis(),
        summary(connects), summary(joins), summary(leaves), summary(closes));
    for (Map.Entry<String, List<Double>> e : Map.of("connect", connects, "join", joins, "leave", leaves,
        "close", closes).entrySet()) {
      double worst = e.getValue().stream().mapToDouble(Double::doubleValue).max().orElseThrow();
      assertTrue(worst < VISIBLE_WITHIN.toMillis(), e.getKey() + " took " + worst + " ms to be visible on another "
          + "node, expected under " + VISIBLE_WITHIN.toMillis() + " ms: " + e.getValue());
    }
  }

  // ---------------------------------------------------------------- SIGKILL

  @Test
  @Order(3)
  void sigkillOfProcessNode_sessionsAndNodeVanishWithinTtl_pendingDeliverFailsNodeGone_othersDeliver()
      throws Exception {
    TestClient k1 = cluster.chat(process, "kill-room", "kim");
    TestClient k2 = cluster.chat(process, "kill-room", "kai");
    TestClient m0 = cluster.chat(0, "kill-room", "mia");
    String deadNode = k1.nodeId();
    List<TestClient> inProcess = observers;
    expect(inProcess, "room", "kill-room", ids(k1, k2, m0));
    expect(inProcess, "node", k1.sessionId(), List.of(deadNode));
    expect(inProcess, "user", "kim", ids(k1));
    expect(inProcess, "nodes", null, nodeIds(deadNode));
    // the path works before the kill
    Outcome before = observers.get(1).deliver(Deliver.text("k:before").sessions(k1.sessionId()));
    assertTrue(before.isReceipt(), "deliver to P's session before the kill: " + before);
    k1.awaitDelivery("k:before");

    long killedAt = System.nanoTime();
    process.kill();
    // P's lease is still valid: the senders find k1, k2 in the directory and wait for P's confirmation, which never
    // comes. One deliver names only k1; the other names k2 and m0 (on n0, answered by n0).
    CompletableFuture<Outcome> aloneAsync = observers.get(0).deliverAsync(
        Deliver.text("k:after").sessions(k1.sessionId()));
    CompletableFuture<Outcome> mixedAsync = observers.get(1).deliverAsync(
        Deliver.text("k:after-mixed").sessions(k2.sessionId(), m0.sessionId()));
    Outcome pending = aloneAsync.get(WAIT.toMillis(), TimeUnit.MILLISECONDS);
    Outcome mixed = mixedAsync.get(WAIT.toMillis(), TimeUnit.MILLISECONDS);
    long bound = PROCESS_TTL.plusSeconds(2).toMillis();
    LOG.info("deliver to a session of the SIGKILLed node: {}; to one of its sessions and one on n0: {}", pending,
        mixed);
    assertEquals("deliveryError", pending.type(), "deliver to a session of a SIGKILLed node: " + pending);
    assertEquals("NODE_GONE", pending.reason(), "reason of a deliver to a session of a SIGKILLed node (receipt "
        + "timeout " + RECEIPT_TIMEOUT + ", P's TTL " + PROCESS_TTL + "): " + pending);
    assertFalse(pending.delivered().contains(k1.sessionId()), "reported delivered: " + pending);
    assertTrue(pending.millis() <= bound, "NODE_GONE took " + pending.millis() + " ms, expected within TTL + 2 s = "
        + bound + " ms");
    // whether a partly delivered message is a receipt or a NODE_GONE failure, the parts must be right
    assertTrue(mixed.millis() <= bound, "deliver to k2 + m0 answered after " + mixed.millis() + " ms: " + mixed);
    assertEquals(Set.of(m0.sessionId()), mixed.delivered(), "delivered of the deliver to k2 (dead node) + m0: "
        + mixed);
    m0.awaitDelivery("k:after-mixed");

    List<Long> seen = new ArrayList<>();
    for (TestClient observer : inProcess) {
      seen.add(expect(observer, "room", "kill-room", ids(m0)));
      seen.add(expect(observer, "node", k1.sessionId(), List.of()));
      seen.add(expect(observer, "user", "kim", List.of()));
      seen.add(expect(observer, "user", "kai", List.of()));
      seen.add(expect(observer, "nodes", null, nodeIds()));
    }
    double vanished = Settle.millis(killedAt, seen.stream().mapToLong(Long::longValue).max().orElseThrow());
    LOG.info("SIGKILL of {} (TTL {} ms, heartbeat {} ms): its sessions and node gone from every node's presence "
        + "{} ms after the kill; pending deliver failed {} after {} ms", process, PROCESS_TTL.toMillis(),
        PROCESS_HEARTBEAT.toMillis(), vanished, pending.reason(), pending.millis());
    assertTrue(vanished <= bound, "P's sessions and node vanished " + vanished + " ms after SIGKILL, expected within "
        + "TTL + 2 s = " + bound + " ms");

    // the survivors keep delivering, exactly once
    ExactlyOnceChecker checker = new ExactlyOnceChecker();
    List<TestClient> survivors = Stream.concat(inProcess.stream(), Stream.of(m0)).toList();
    for (TestClient sender : inProcess) {
      String text = "k:survivors:" + sender.user();
      List<TestClient> targets = survivors.stream().filter(c -> c != sender).toList();
      checker.expect(text, targets);
      Outcome o = sender.deliver(Deliver.text(text).sessions(ids(targets).toArray(String[]::new)));
      assertTrue(o.isReceipt(), sender + " delivering after P's death: " + o);
      assertEquals(Set.copyOf(ids(targets)), o.delivered(), sender + ": receipt after P's death");
    }
    for (TestClient sender : inProcess) {
      cluster.fence(sender, survivors);
    }
    checker.check(survivors, t -> t.startsWith("k:survivors:")).assertExactlyOnce("delivery after SIGKILL of P");
    assertEquals(1, m0.count("k:after-mixed"), "m0's copies of k:after-mixed");
    // last, so that the properties above are checked whatever this says
    assertEquals(pending.failed().get(k1.sessionId()), mixed.failed().get(k2.sessionId()), "reason given for k2 "
        + "(on the SIGKILLed node) when the deliver also named m0 on n0 (n0's receipt must not speak for P's "
        + "session); k1 alone: " + pending + "; k2 + m0: " + mixed);
  }

  // ---------------------------------------------------------------- graceful stop

  @Test
  @Order(4)
  void gracefulStopOfNode2_sessionsAndNodeVanishAtOnce() throws Exception {
    TestClient g2a = cluster.chat(2, "stop-room", "gus");
    TestClient g2b = cluster.chat(2, "stop-room", "gil");
    TestClient g0 = cluster.chat(0, "stop-room", "gwen");
    String n2 = g2a.nodeId();
    List<TestClient> remaining = observers.subList(0, 2);
    expect(remaining, "room", "stop-room", ids(g2a, g2b, g0));
    expect(remaining, "nodes", null, List.of(observers.get(0).nodeId(), observers.get(1).nodeId(), n2));

    long t0 = System.nanoTime();
    cluster.node(2).stop();
    long stopped = System.nanoTime();
    List<Long> seen = new ArrayList<>();
    for (TestClient observer : remaining) {
      seen.add(expect(observer, "room", "stop-room", ids(g0)));
      seen.add(expect(observer, "node", g2a.sessionId(), List.of()));
      seen.add(expect(observer, "user", "gil", List.of()));
      seen.add(expect(observer, "roomUsers", "stop-room", List.of("gwen")));
      seen.add(expect(observer, "nodes", null, List.of(observers.get(0).nodeId(), observers.get(1).nodeId())));
    }
    long last = seen.stream().mapToLong(Long::longValue).max().orElseThrow();
    LOG.info("graceful stop of n2 took {} ms; its sessions and node were gone from presence {} ms after stop() "
        + "returned ({} ms after it was called)", Settle.millis(t0, stopped), Settle.millis(stopped, last),
        Settle.millis(t0, last));
    assertTrue(Settle.millis(stopped, last) < VISIBLE_WITHIN.toMillis(), "n2's entries were still visible "
        + Settle.millis(stopped, last) + " ms after its graceful stop, expected gone within " + VISIBLE_WITHIN);
    Outcome o = observers.get(0).deliver(Deliver.text("g:after-stop").sessions(g2a.sessionId()));
    assertEquals("NOT_CONNECTED", o.reason(), "deliver to a session of the stopped node: " + o);
  }

  // ---------------------------------------------------------------- helpers

  private List<TestClient> all() {
    List<TestClient> all = new ArrayList<>(observers);
    all.add(obsP);
    return all;
  }

  /** The live node ids expected while all in-process nodes run, plus any extra. */
  private List<String> nodeIds(String... extra) {
    List<String> ids = new ArrayList<>();
    observers.forEach(o -> ids.add(o.nodeId()));
    ids.addAll(List.of(extra));
    return ids;
  }

  private static List<String> ids(TestClient... clients) {
    return ids(List.of(clients));
  }

  private static List<String> ids(Collection<TestClient> clients) {
    return clients.stream().map(TestClient::sessionId).toList();
  }

  /** Waits until every observer's answer equals {@code expected}; returns when the last one did. */
  private long expect(List<TestClient> from, String query, String name, Collection<String> expected)
      throws Exception {
    long last = 0;
    for (TestClient c : from) {
      last = Math.max(last, expect(c, query, name, expected));
    }
    return last;
  }

  /**
   * Polls {@code from}'s presence query until its (sorted) answer equals {@code expected} (in any order); returns
   * the nanoTime of the first matching answer.
   */
  static long expect(TestClient from, String query, String name, Collection<String> expected) {
    List<String> want = expected.stream().sorted().toList();
    Object[] last = {null};
    try {
      return Settle.until(from + ": presence " + query + " " + name + " = " + want, WAIT, POLL, () -> {
        List<String> answer = from.presence(query, name, Duration.ofSeconds(5));
        last[0] = answer;
        return answer.equals(want);
      });
    } catch (ConditionTimeoutException e) {
      throw new AssertionError(from + " on " + from.node().name() + ": presence " + query + " " + name + " was "
          + last[0] + " after " + WAIT + ", expected " + want, e);
    }
  }

  private static String summary(List<Double> millis) {
    DoubleSummaryStatistics s = millis.stream().mapToDouble(Double::doubleValue).summaryStatistics();
    List<Double> sorted = millis.stream().sorted().toList();
    return String.format("n=%d min=%.1f median=%.1f max=%.1f", s.getCount(), s.getMin(),
        sorted.get(sorted.size() / 2), s.getMax());
  }
}
