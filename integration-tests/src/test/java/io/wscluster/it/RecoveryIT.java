package io.wscluster.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Connection-state recovery end to end: three Jetty nodes of the demo WAR on a real redis-server, with the default
 * history settings unless a test says otherwise. A client ({@link ResumingClient}, speaking the wire contract of
 * docs/recovery.md) in room r of one node loses its connection while another node's client keeps saying numbered
 * messages to r every {@value #PACE_MILLIS} ms; it reconnects to a <em>different</em> node with its last epoch and
 * offsets. Then what it got before and after, in order, must be exactly every message sent: nothing lost, nothing
 * twice, nothing out of order; or the server says {@code recovered:false}. The control reconnects without the
 * parameter and sees the loss.
 */
class RecoveryIT {
  private static final Logger LOG = LoggerFactory.getLogger(RecoveryIT.class);
  private static final long PACE_MILLIS = 10;
  private static final Duration WAIT = Duration.ofSeconds(30);
  private static final Duration PROCESS_TTL = Duration.ofSeconds(2);
  private static final Duration PROCESS_HEARTBEAT = Duration.ofMillis(500);

  /** Says m0, m1, ... to room r from one client, paced, until stopped. */
  private static final class Sayer implements AutoCloseable {
    private final AtomicBoolean running = new AtomicBoolean(true);
    private final List<String> said = new ArrayList<>();
    private final Thread thread;

    Sayer(TestClient from) {
      thread = new Thread(() -> {
        for (int i = 0; running.get(); i++) {
          String text = "m" + i;
          try {
            from.sendAsync(Json.write(Map.of("op", "say", "text", text))).get();
            synchronized (said) {
              said.add(text);
            }
            Thread.sleep(PACE_MILLIS);
          } catch (Exception e) {
            return;
          }
        }
      }, "it-sayer");
      thread.start();
    }

    int count() {
      synchronized (said) {
        return said.size();
      }
    }

    List<String> stop() throws InterruptedException {
      running.set(false);
      thread.join();
      synchronized (said) {
        return new ArrayList<>(said);
      }
    }

    @Override
    public void close() throws InterruptedException {
      stop();
    }
  }

  /** Waits until {@code client} has {@code n} texts, or its server said it could not recover them all. */
  private static void awaitTexts(ResumingClient client, int n) throws InterruptedException {
    client.await(n + " messages", WAIT, () -> client.texts().size() >= n);
  }

  private static void awaitSaid(Sayer sayer, int n) throws InterruptedException {
    Settle.until(n + " messages said", WAIT, Duration.ofMillis(10), () -> sayer.count() >= n);
  }

  /**
   * The scenario on {@code cluster}: connect to node 0, receive some, lose the connection ({@code drop}), stay away
   * {@code away}, reconnect to node 1 ({@code plain}: without the parameter), stop the sayer once the client is back
   * and waited a little, and return before, after and what was said.
   */
  private static Outcome run(Cluster cluster, WsNode first, Duration away, boolean plain,
      Drop drop) throws Exception {
    TestClient talker = cluster.chat(cluster.node(2), "r", "sayer");
    ResumingClient before = ResumingClient.connect(cluster.ws(), first, "r", "alice", null);
    before.await("hello", WAIT, () -> before.epoch() != null);
    try (Sayer sayer = new Sayer(talker)) {
      awaitTexts(before, 50);
      drop.drop(before);
      long droppedAt = System.nanoTime();
      Thread.sleep(away.toMillis());
      ResumingClient after = plain ? ResumingClient.plain(cluster.ws(), cluster.node(1), "r", "alice")
          : ResumingClient.connect(cluster.ws(), cluster.node(1), "r", "alice", before);
      if (!plain) {
        after.await("resumed", WAIT, () -> after.resumed().containsKey("room:r"));
      }
      awaitSaid(sayer, sayer.count() + 50); // live again for a while
      List<String> said = sayer.stop();
      String last = said.get(said.size() - 1);
      after.await("the last message", WAIT, () -> after.texts().contains(last));
      LOG.info("away {} ms: said {}, before {}, after {}, resumed {}",
          (System.nanoTime() - droppedAt) / 1_000_000, said.size(), before.texts().size(),
          after.texts().size(), after.resumed());
      return new Outcome(before, after, said);
    }
  }

  /** How the first connection is lost. */
  interface Drop {
    void drop(ResumingClient client) throws Exception;
  }

  record Outcome(ResumingClient before, ResumingClient after, List<String> said) {
    List<String> received() {
      List<String> all = new ArrayList<>(before.texts());
      all.addAll(after.texts());
      return all;
    }

    /** Every message said, each once, in the order said (or recovered:false, then only live ones after). */
    void assertExactlyOnceInOrder() {
      assertEquals(List.of(), before.violations());
      assertEquals(List.of(), after.violations());
      assertTrue(after.firstFrame().startsWith("\u001e{\"t\":\"hello\""), after.firstFrame());
      assertEquals(Map.of("room:r", true), after.resumed());
      assertEquals(said, received(), "before + after the reconnect = every message said, once, in order");
    }
  }

  // ================================================================ covered gaps

  @Test
  void disconnectedFor2s_reconnectToAnotherNode_everyMessageOnceInOrder() throws Exception {
    try (Cluster cluster = Cluster.start("recovery", 3)) {
      Outcome o = run(cluster, cluster.node(0), Duration.ofSeconds(2), false, ResumingClient::close);
      o.assertExactlyOnceInOrder();
      assertTrue(o.after().texts().size() > 100, "the gap was replayed: " + o.after().texts().size());
    }
  }

  /** 30 s away: behind -Dit.recovery.long=true (the default build keeps the 2 s variant above). */
  @Test
  void disconnectedFor30s_reconnectToAnotherNode_everyMessageOnceInOrder() throws Exception {
    Assumptions.assumeTrue(Boolean.getBoolean("it.recovery.long"), "set -Dit.recovery.long=true to run");
    try (Cluster cluster = Cluster.start("recovery-long", 3,
        redis -> Map.of("wscluster.history.max-length", "10000"))) {
      Outcome o = run(cluster, cluster.node(0), Duration.ofSeconds(30), false, ResumingClient::close);
      o.assertExactlyOnceInOrder();
    }
  }

  @Test
  void clientsNodeSigkilled_reconnectToAnotherNode_everyMessageOnceInOrder() throws Exception {
    try (Cluster cluster = Cluster.start("recovery-kill", 3);
        NodeProcess process = cluster.startProcess(PROCESS_TTL, PROCESS_HEARTBEAT)) {
      Outcome o = run(cluster, process, Duration.ofSeconds(2), false, c -> process.kill());
      o.assertExactlyOnceInOrder();
    }
  }

  // ================================================================ not covered, and the control

  @Test
  void disconnectedLongerThanTheHistory_resumedFalse_thenLiveWithoutRepeats() throws Exception {
    try (Cluster cluster = Cluster.start("recovery-short", 3,
        redis -> Map.of("wscluster.history.max-length", "10"))) {
      // 2 s of messages at 100 a second: far more than the 10 (in nodes of 100) the streams keep
      Outcome o = run(cluster, cluster.node(0), Duration.ofSeconds(3), false, ResumingClient::close);
      assertEquals(Map.of("room:r", false), o.after().resumed());
      assertEquals(List.of(), o.after().violations());
      List<String> received = o.received();
      assertEquals(received.size(), new java.util.HashSet<>(received).size(), "no message twice");
      assertTrue(received.size() < o.said().size(), "the gap was not replayed");
    }
  }

  @Test
  void negativeControl_reconnectWithoutTheParameter_messagesSentMeanwhileAreLost() throws Exception {
    try (Cluster cluster = Cluster.start("recovery-control", 3)) {
      Outcome o = run(cluster, cluster.node(0), Duration.ofSeconds(2), true, ResumingClient::close);
      assertFalse(o.said().equals(o.received()), "the checker sees the loss");
      assertTrue(o.said().size() - o.received().size() >= 100,
          "about 2 s of messages missing: said " + o.said().size() + ", received " + o.received().size());
    }
  }

  // ================================================================ close code

  @Test
  void webappUndeployed_clientsAreClosedWithGoingAway() throws Exception {
    try (Cluster cluster = Cluster.start("recovery-1001", 2)) {
      ResumingClient client = ResumingClient.connect(cluster.ws(), cluster.node(0), "r", "alice", null);
      client.await("hello", WAIT, () -> client.epoch() != null);
      ResumingClient plain = ResumingClient.plain(cluster.ws(), cluster.node(0), "r", "bob");
      plain.await("welcome", WAIT, () -> plain.firstFrame() != null);
      cluster.node(0).undeploy();
      assertEquals(1001, client.closeCode(Duration.ofSeconds(10)));
      assertEquals(1001, plain.closeCode(Duration.ofSeconds(10)));
    }
  }
}
