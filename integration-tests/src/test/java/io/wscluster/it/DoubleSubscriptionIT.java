package io.wscluster.it;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.wscluster.it.TestClient.Send;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Duplicate source 2 of the design: the same channel subscribed twice on one node. Node n0 starts with the test
 * hook {@code io.wscluster.test.extra-subscriptions = 1} (its Redis listener is registered twice), so every frame
 * published on the cluster channel reaches n0 twice.
 *
 * <p>With dedup on, clients still get every message exactly once and n0's /status {@code duplicates} shows the
 * second copies arrived and were dropped. The negative control runs the same scenario with dedup switched off on
 * n0 ({@code io.wscluster.test.dedup = "off"}) and asserts the exactly-once checker then FAILS, proving it can.
 */
class DoubleSubscriptionIT {

  private static final Logger LOG = LoggerFactory.getLogger(DoubleSubscriptionIT.class);
  private static final int MESSAGES_PER_SENDER = 20;

  /** The clients and what was sent; one per node, all in room "dup". */
  private record Scenario(List<TestClient> clients, ExactlyOnceChecker checker, String scope) {
    ExactlyOnceChecker.Report report() {
      return checker.check(clients, t -> t.startsWith(scope));
    }
  }

  private static Scenario run(Cluster cluster) throws Exception {
    List<TestClient> clients = List.of(
        cluster.chat(0, "dup", "u0"),
        cluster.chat(1, "dup", "u1"),
        cluster.chat(2, "dup", "u2"));
    cluster.fence(clients.get(1), clients);
    String scope = "d:";
    ExactlyOnceChecker checker = new ExactlyOnceChecker();
    for (TestClient sender : clients) {
      for (int i = 0; i < MESSAGES_PER_SENDER; i++) {
        String all = scope + sender.user() + ":all:" + i;
        checker.expect(all, clients);
        sender.send(Send.text(all).all());
        String room = scope + sender.user() + ":say:" + i;
        checker.expect(room, clients);
        sender.say(room);
      }
    }
    for (String text : checker.texts()) {
      for (TestClient c : clients) {
        c.awaitDelivery(text);
      }
    }
    for (TestClient sender : clients) {
      cluster.fence(sender, clients);
    }
    return new Scenario(clients, checker, scope);
  }

  @Test
  void doubleSubscription_dedupOn_exactlyOnceAndDuplicatesCounted() throws Exception {
    try (Cluster cluster = Cluster.start("dupsub", 3,
        Map.of(0, Map.of(JettyNode.TEST_EXTRA_SUBSCRIPTIONS, 1)))) {
      Scenario scenario = run(cluster);
      JettyNode n0 = cluster.node(0);
      long duplicates = Settle.stable(() -> n0.stat("duplicates"), Duration.ofSeconds(1), Duration.ofSeconds(15));
      LOG.info("n0 /status after the run: {}", n0.statusText());
      assertTrue(duplicates > 0, "n0 subscribes twice, so its /status duplicates must be > 0 (the second copies "
          + "arrived and were dropped); /status: " + n0.statusText());
      scenario.report().assertExactlyOnce("double subscription on n0 with dedup on");
    }
  }

  @Test
  void negativeControl_doubleSubscription_dedupOff_checkerSeesDuplicates() throws Exception {
    try (Cluster cluster = Cluster.start("dupoff", 3,
        Map.of(0, Map.of(JettyNode.TEST_EXTRA_SUBSCRIPTIONS, 1, JettyNode.TEST_DEDUP, "off")))) {
      Scenario scenario = run(cluster);
      TestClient onN0 = scenario.clients().get(0);
      // every remote message reaches n0 twice, and n0's own messages come back as echoes: the checker must see it
      await("the checker to see duplicates on n0's client").atMost(Duration.ofSeconds(15))
          .until(() -> scenario.report().duplicateCopies() > 0);
      ExactlyOnceChecker.Report report = scenario.report();
      LOG.info("negative control report: {}", report);
      assertFalse(report.exactlyOnce(), "the checker must report the duplicates");
      AssertionError failure = assertThrows(AssertionError.class,
          () -> report.assertExactlyOnce("negative control"), "assertExactlyOnce must fail with dedup off");
      assertTrue(failure.getMessage().contains("duplicated"), failure.getMessage());
      Set<String> duplicatedAt = report.duplicates().stream().map(ExactlyOnceChecker.Problem::client)
          .collect(Collectors.toSet());
      assertEquals(Set.of(onN0.label()), duplicatedAt,
          "only the client on n0 (dedup off, double subscription) may see duplicates: " + report);
      assertEquals(List.of(), report.missing(), "nothing may be missing even with dedup off");
    }
  }
}
