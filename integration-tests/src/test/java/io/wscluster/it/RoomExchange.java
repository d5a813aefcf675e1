package io.wscluster.it;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import java.time.Duration;
import java.util.List;

/**
 * The traffic of the example apps' chats, which relay raw text to one room on every node: every client sends
 * {@code perSender} unique texts, and every client (the sender too) must get each exactly once. After all texts
 * arrived, each sender sends a fence text (outside the scope) and every client waits for it: deliveries from one
 * origin node are ordered, so by then every copy of that sender's texts that would ever arrive has arrived.
 */
record RoomExchange(List<TestClient> clients, ExactlyOnceChecker checker, String scope) {

  static RoomExchange run(List<TestClient> clients, String scope, int perSender) throws Exception {
    awaitJoined(clients, scope);
    ExactlyOnceChecker checker = new ExactlyOnceChecker();
    for (TestClient sender : clients) {
      for (int i = 0; i < perSender; i++) {
        String text = scope + sender.label() + ":" + i;
        checker.expect(text, clients);
        sender.send(text);
      }
    }
    try {
      for (String text : checker.texts()) {
        for (TestClient c : clients) {
          c.awaitDelivery(text);
        }
      }
    } catch (AssertionError e) {
      throw new AssertionError(e.getMessage() + "; texts received per client from each sender: "
          + receivedMatrix(clients, scope), e);
    }
    for (TestClient sender : clients) {
      String fence = "fence:" + scope + sender.label();
      sender.send(fence);
      for (TestClient c : clients) {
        c.awaitDelivery(fence);
      }
    }
    return new RoomExchange(List.copyOf(clients), checker, scope);
  }

  /**
   * The endpoints join the room in {@code @OnOpen}, which runs on the server after the client's connect returned;
   * a text sent before a session joined is rightly not for it. So the first client sends probes (outside the scope)
   * until every client has one: from then on every session is in the room.
   */
  static void awaitJoined(List<TestClient> clients, String scope) throws Exception {
    TestClient prober = clients.get(0);
    String probe = "probe:" + scope;
    int[] sent = {0};
    Settle.until("every client in the room", Duration.ofSeconds(15), Duration.ofMillis(50), () -> {
      prober.send(probe + sent[0]++);
      return clients.stream().allMatch(c -> !c.deliveriesMatching(t -> t.startsWith(probe)).isEmpty());
    });
  }

  private static String receivedMatrix(List<TestClient> clients, String scope) {
    StringBuilder out = new StringBuilder();
    for (TestClient c : clients) {
      out.append(c.label()).append(" <-");
      for (TestClient sender : clients) {
        String from = scope + sender.label() + ":";
        out.append(' ').append(sender.label()).append('=')
            .append(c.deliveriesMatching(t -> t.startsWith(from)).size());
      }
      out.append("; ");
    }
    return out.toString();
  }

  /**
   * The negative controls' check, on a cluster built to duplicate: the checker reports surplus copies (within 15 s:
   * late copies may still be arriving), so the run is not exactly-once, and nothing is missing (the duplicates are
   * the only fault).
   */
  void assertDuplicatesSeen() {
    await("the checker to see duplicates").atMost(Duration.ofSeconds(15))
        .until(() -> report().duplicateCopies() > 0);
    ExactlyOnceChecker.Report report = report();
    assertFalse(report.exactlyOnce(), "the checker must report the duplicates: " + report);
    assertEquals(List.of(), report.missing(), "nothing may be missing even with dedup off");
  }

  ExactlyOnceChecker.Report report() {
    return checker.check(clients, t -> t.startsWith(scope));
  }
}
