package io.wscluster.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.wscluster.it.TestClient.Send;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Frames Redis counted a node as receiving and then never handed it: node n1's transport silently loses every
 * {@value #LOSE_EVERY}th frame arriving on the broadcast channel (test hook {@code io.wscluster.test.lose-incoming}),
 * as a dropped subscriber connection or a client library losing a message would. n1 sees the gaps in the other
 * nodes' frame chains, asks for those frames again, and its client still gets every message exactly once and in
 * each sender's order. The negative control publishes unchained frames ({@code io.wscluster.test.chains=off} on
 * every node): the checker then reports messages missing on n1's client, and only there.
 */
class LossIT {

  private static final Logger LOG = LoggerFactory.getLogger(LossIT.class);
  private static final int LOSE_EVERY = 7;
  private static final int MESSAGES_PER_SENDER = 60;

  private record Run(List<TestClient> clients, ExactlyOnceChecker checker, String scope) {
    ExactlyOnceChecker.Report report() {
      return checker.check(clients, t -> t.startsWith(scope));
    }
  }

  /**
   * One client per node; n0 and n2 each send a stream to everyone, a few at a time so frames differ. With
   * {@code lossy} (the control) n1's client may miss anything, fences too: they are awaited on the other clients,
   * and then n1's frame count must settle.
   */
  private static Run run(Cluster cluster, boolean lossy) throws Exception {
    List<TestClient> clients = List.of(cluster.chat(0, "loss", "u0"), cluster.chat(1, "loss", "u1"),
        cluster.chat(2, "loss", "u2"));
    List<TestClient> fenced = lossy ? List.of(clients.get(0), clients.get(2)) : clients;
    cluster.fence(clients.get(0), fenced);
    String scope = "l:";
    ExactlyOnceChecker checker = new ExactlyOnceChecker();
    for (int i = 0; i < MESSAGES_PER_SENDER; i++) {
      for (TestClient sender : List.of(clients.get(0), clients.get(2))) {
        String text = scope + sender.user() + ":" + i;
        checker.expect(text, clients);
        sender.send(Send.text(text).all());
      }
      if (i % 5 == 4) {
        Thread.sleep(20);
      }
    }
    for (String text : checker.texts()) {
      for (TestClient c : fenced) {
        c.awaitDelivery(text);
      }
    }
    for (TestClient sender : List.of(clients.get(0), clients.get(2))) {
      cluster.fence(sender, fenced);
    }
    if (lossy) {
      Settle.stable(() -> (long) clients.get(1).frameCount(), Duration.ofSeconds(1), Duration.ofSeconds(15));
    }
    return new Run(clients, checker, scope);
  }

  /** Per sender, how {@code client}'s share differs from 0..n-1 in order (see {@link OrderIT}). */
  private static List<String> outOfOrder(TestClient client, String scope) {
    List<String> problems = new ArrayList<>();
    for (String sender : List.of("u0", "u2")) {
      String prefix = scope + sender + ":";
      List<Integer> got = client.deliveries().stream().filter(t -> t.startsWith(prefix))
          .map(t -> Integer.parseInt(t.substring(prefix.length()))).collect(Collectors.toList());
      String problem = OrderIT.firstOrderViolation(got, MESSAGES_PER_SENDER);
      if (problem != null) {
        problems.add(client.label() + " from " + sender + ": " + problem);
      }
    }
    return problems;
  }

  @Test
  void framesLostOnTheWayToANode_areAskedForAgain_exactlyOnceInOrder() throws Exception {
    try (Cluster cluster = Cluster.start("loss", 3,
        Map.of(1, Map.of(JettyNode.TEST_LOSE_INCOMING, LOSE_EVERY)))) {
      Run run = run(cluster, false);
      run.report().assertExactlyOnce("n1 losing every " + LOSE_EVERY + "th broadcast frame");
      for (TestClient c : run.clients()) {
        assertEquals(List.of(), outOfOrder(c, run.scope()));
      }
      JettyNode n1 = cluster.node(1);
      long recovered = Settle.stable(() -> n1.stat("chainRecovered"), Duration.ofMillis(500), Duration.ofSeconds(10));
      LOG.info("n1 /status after the run: {}", n1.statusText());
      assertTrue(recovered > 0, "n1 lost frames, so it must have recovered some: " + n1.statusText());
      assertEquals(n1.stat("chainGaps"), recovered, "every frame n1 found missing came again: " + n1.statusText());
      assertEquals(0, n1.stat("framesLost"), n1.statusText());
      assertTrue(cluster.node(0).stat("framesResent") + cluster.node(2).stat("framesResent") >= recovered,
          "the senders' nodes published them again");
    }
  }

  @Test
  void negativeControl_withoutChains_theLostFramesAreMissingOnThatNodeOnly() throws Exception {
    Map<String, Object> off = Map.of(JettyNode.TEST_CHAINS, "off");
    try (Cluster cluster = Cluster.start("lossoff", 3, Map.of(0, off,
        1, Map.of(JettyNode.TEST_CHAINS, "off", JettyNode.TEST_LOSE_INCOMING, LOSE_EVERY), 2, off))) {
      Run run = run(cluster, true);
      ExactlyOnceChecker.Report report = run.report();
      LOG.info("negative control report: {}", report);
      assertFalse(report.exactlyOnce(), "the checker must report the lost messages");
      assertFalse(report.missing().isEmpty(), report.toString());
      Set<String> missingAt = report.missing().stream().map(ExactlyOnceChecker.Problem::client)
          .collect(Collectors.toSet());
      assertEquals(Set.of(run.clients().get(1).label()), missingAt,
          "only n1's client may miss messages: " + report);
      assertEquals(List.of(), report.duplicates(), "nothing may be duplicated");
      assertEquals(0, cluster.node(1).stat("chainGaps"), "unchained frames show no gap");
    }
  }
}
