package io.wscluster.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The survivors keep delivering while a node dies. Two in-process nodes n0, n1 and a node P in a JVM of its own
 * (TTL 3 s, heartbeat 500 ms); clients of the room on each, and on P sessions of the users the survivors write to.
 * Clients on n0 and n1 send a stream (room messages, and direct messages to a user that also has a session on P, so
 * those are routed to P's channel too while the directory still lists it) before, during and after a SIGKILL of P:
 * every message reaches every surviving intended client exactly once, none lost, and no send fails. What P had
 * published before it died reaches both survivors once, in order, the same prefix on each.
 *
 * <p>That P's sessions and node vanish from presence within its TTL, and that a {@code deliver} waiting on P fails
 * NODE_GONE early, is {@link PresenceIT}'s; here the test only waits for P to vanish to know the stream covered it.
 */
class NodeDeathIT {

  private static final Logger LOG = LoggerFactory.getLogger(NodeDeathIT.class);
  private static final Duration PROCESS_TTL = Duration.ofSeconds(3);
  private static final Duration PROCESS_HEARTBEAT = Duration.ofMillis(500);
  private static final Duration PHASE = Duration.ofSeconds(1);
  private static final Duration WAIT = Duration.ofSeconds(20);

  /** One message of a stream: its text, whom it is for, and when it was sent. */
  private record Sent(String text, List<TestClient> to, long nanos) {
  }

  @Test
  void sigkillOfANode_survivorsKeepDeliveringExactlyOnce_beforeDuringAndAfter() throws Exception {
    ExecutorService streams = Executors.newFixedThreadPool(3);
    try (Cluster cluster = Cluster.start("death", 2);
        NodeProcess process = cluster.startProcess(PROCESS_TTL, PROCESS_HEARTBEAT)) {
      TestClient alice = cluster.chat(0, "stream", "alice");
      TestClient bob = cluster.chat(1, "stream", "bob");
      TestClient carol = cluster.chat(process, "stream", "carol");
      cluster.chat(process, "elsewhere", "alice");
      cluster.chat(process, "elsewhere", "bob");
      List<TestClient> survivors = List.of(alice, bob);
      String deadNode = carol.nodeId();
      cluster.fence(carol, List.of(alice, bob, carol));

      AtomicBoolean running = new AtomicBoolean(true);
      Future<List<Sent>> fromAlice = streams.submit(() -> stream(alice, "bob", bob, survivors, running));
      Future<List<Sent>> fromBob = streams.submit(() -> stream(bob, "alice", alice, survivors, running));
      Future<Integer> fromCarol = streams.submit(() -> streamUntilDead(carol, running));

      Thread.sleep(PHASE.toMillis());
      long killedAt = System.nanoTime();
      process.kill();
      long goneAt = Settle.until("P to vanish from the live nodes", WAIT, Duration.ofMillis(50),
          () -> !alice.presence("nodes", null).contains(deadNode));
      Thread.sleep(PHASE.toMillis());
      running.set(false);
      List<Sent> sent = new ArrayList<>(fromAlice.get(WAIT.toSeconds(), TimeUnit.SECONDS));
      sent.addAll(fromBob.get(WAIT.toSeconds(), TimeUnit.SECONDS));
      int carolSent = fromCarol.get(WAIT.toSeconds(), TimeUnit.SECONDS);
      for (TestClient sender : survivors) {
        cluster.fence(sender, survivors);
      }

      long before = sent.stream().filter(s -> s.nanos() < killedAt).count();
      long during = sent.stream().filter(s -> s.nanos() >= killedAt && s.nanos() < goneAt).count();
      long after = sent.stream().filter(s -> s.nanos() >= goneAt).count();
      LOG.info("P gone from presence {} ms after SIGKILL; survivors sent {} messages before, {} during, {} after; "
          + "carol sent {} before P died", Settle.millis(killedAt, goneAt), before, during, after, carolSent);
      assertTrue(before > 0 && during > 0 && after > 0, "the stream must cover every phase: " + before + " before, "
          + during + " while P was dead but listed, " + after + " after");

      ExactlyOnceChecker checker = new ExactlyOnceChecker();
      sent.forEach(s -> checker.expect(s.text(), s.to()));
      checker.check(survivors, t -> t.startsWith("s:") || t.startsWith("d:"))
          .assertExactlyOnce("the survivors' stream across the SIGKILL of P");

      List<Integer> carolAtAlice = indices(alice, "p:");
      List<Integer> carolAtBob = indices(bob, "p:");
      LOG.info("of carol's stream on P, {} messages reached the survivors", carolAtAlice.size());
      assertEquals(IntStream.range(0, carolAtAlice.size()).boxed().toList(), carolAtAlice,
          "what P published before it died reaches alice once each, in order, with no gap");
      assertEquals(carolAtAlice, carolAtBob, "and the same to bob");
      assertTrue(carolAtAlice.size() > 0, "P published nothing of carol's stream before it died");
    } finally {
      streams.shutdownNow();
    }
  }

  /**
   * Until {@code running} turns false: a room message to both survivors, then a direct message to {@code user}
   * (acknowledged once published), whose sessions are {@code userClient} and one on P.
   */
  private static List<Sent> stream(TestClient sender, String user, TestClient userClient, List<TestClient> room,
      AtomicBoolean running) throws Exception {
    List<Sent> sent = new ArrayList<>();
    for (int i = 0; running.get(); i++) {
      String say = "s:" + sender.user() + ":" + i;
      sent.add(new Sent(say, room, System.nanoTime()));
      sender.say(say);
      String dm = "d:" + sender.user() + ":" + i;
      sent.add(new Sent(dm, List.of(userClient), System.nanoTime()));
      sender.dm(user, dm);
      Thread.sleep(5);
    }
    return sent;
  }

  /** Room messages from a client of P until its connection fails; returns how many were written. */
  private static int streamUntilDead(TestClient sender, AtomicBoolean running) {
    int i = 0;
    try {
      for (; running.get() && sender.isOpen(); i++) {
        sender.say("p:" + i);
        Thread.sleep(5);
      }
    } catch (Exception | AssertionError dead) {
      LOG.info("carol's stream ended after {} messages: {}", i, dead.toString());
    }
    return i;
  }

  private static List<Integer> indices(TestClient client, String prefix) {
    return client.deliveries().stream().filter(t -> t.startsWith(prefix))
        .map(t -> Integer.parseInt(t.substring(prefix.length()))).toList();
  }
}
