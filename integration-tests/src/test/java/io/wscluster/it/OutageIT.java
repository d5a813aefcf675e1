package io.wscluster.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.management.ManagementFactory;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import javax.management.MBeanServer;
import javax.management.ObjectName;
import org.junit.jupiter.api.Test;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Redis crashes in the middle of a stream and comes back empty on the same port 3 s later, as a
 * supervisor would restart it. Three demo nodes keep delivering locally throughout; what they could
 * not publish (Redis refused it, or a node had not resubscribed yet) they hold and publish again,
 * in order, once every live node receives it. Every client must get every one of the 20,000
 * messages exactly once.
 */
class OutageIT {
  private static final Logger LOG = LoggerFactory.getLogger(OutageIT.class);
  private static final int MESSAGES = 20_000;
  private static final int KILL_AT = 6_000;
  private static final Duration DOWN_FOR = Duration.ofSeconds(3);

  /** Messages from n0's client (every third) that {@code c} has received. */
  private static int fromN0(TestClient c) {
    return c.deliveriesMatching(t -> t.startsWith("o:") && Integer.parseInt(t.substring(2)) % 3 == 0).size();
  }

  /**
   * Waits until every client has {@code count} messages starting with {@code prefix}; if they do not come, fails
   * naming the missing ones and every node's counters. Returns when they had come (System.nanoTime).
   */
  private static long awaitEveryMessage(Cluster cluster, List<TestClient> clients, ExactlyOnceChecker checker,
      String prefix, int count, String context) throws Exception {
    try {
      return Settle.until("every client has every message", Duration.ofSeconds(60), Duration.ofMillis(50),
          () -> clients.stream().allMatch(c -> c.deliveriesMatching(t -> t.startsWith(prefix)).size() >= count));
    } catch (org.awaitility.core.ConditionTimeoutException e) {
      ExactlyOnceChecker.Report report = checker.check(clients, t -> t.startsWith(prefix));
      StringBuilder stats = new StringBuilder();
      for (JettyNode n : cluster.nodes()) {
        stats.append('\n').append(n.statsJson());
      }
      throw new AssertionError("not every message arrived; " + context + "; " + report.missingSummary() + stats, e);
    }
  }

  @Test
  void redisKilledMidStream_restartedAfter3s_everyClientGetsEveryMessageExactlyOnce() throws Exception {
    // After the outage each client gets what was held in one burst (about 2,000 messages a second of
    // outage): the outbox must hold it, or the policy for slow clients would rightly close the session.
    try (Cluster cluster = Cluster.start("outage", 3, Map.of(),
        Cluster.everyNode(3, Map.of("wscluster.outbox.max-frames", "20000")))) {
      List<TestClient> clients = new ArrayList<>();
      for (int i = 0; i < 3; i++) {
        clients.add(cluster.plain(i, "/bench", "bench@n" + i));
      }
      RoomExchange.awaitJoined(clients, "outage:");
      ExactlyOnceChecker checker = new ExactlyOnceChecker();
      long killedAt = 0;
      long restartedAt = 0;
      int firstAfterRestart = -1;
      Thread restarter = null;
      long[] restarted = {0};
      long[] resumed = {0};

      for (int k = 0; k < MESSAGES; k++) {
        String text = "o:" + k;
        checker.expect(text, clients);
        clients.get(k % 3).sendAsync(text);
        if (k == KILL_AT) {
          cluster.redis().kill();
          killedAt = System.nanoTime();
          LOG.info("redis-server killed after message {}", k);
          restarter = new Thread(() -> {
            try {
              Thread.sleep(DOWN_FOR.toMillis());
              int n0Before = fromN0(clients.get(1));
              cluster.redis().restartOnSamePort();
              restarted[0] = System.nanoTime();
              LOG.info("redis-server restarted on the same port");
              // resumed: n1's client gets messages from n0 again (first those held during the outage)
              resumed[0] = Settle.until("n1's client gets a message from n0 after the restart",
                  Duration.ofSeconds(60), Duration.ofMillis(2), () -> fromN0(clients.get(1)) > n0Before);
            } catch (Exception e) {
              throw new IllegalStateException(e);
            }
          }, "it-redis-restarter");
          restarter.start();
        }
        if (restarted[0] != 0 && firstAfterRestart < 0) {
          restartedAt = restarted[0];
          firstAfterRestart = k + 1;
        }
        if (k % 25 == 24) {
          Thread.sleep(10); // about 2,000 messages a second, for about 8 s
        }
      }
      restarter.join();
      assertTrue(firstAfterRestart > 0, "the stream must go on after Redis is back");

      long resumedAt = resumed[0];
      long drainedAt = awaitEveryMessage(cluster, clients, checker, "o:", MESSAGES, "killed after o:" + KILL_AT
          + ", first sent after the restart o:" + firstAfterRestart);
      // late copies would show up now
      Thread.sleep(1_000);

      ExactlyOnceChecker.Report report = checker.check(clients, t -> t.startsWith("o:"));
      List<Map<String, Object>> stats = new ArrayList<>();
      for (JettyNode n : cluster.nodes()) {
        stats.add(n.statsJson());
      }
      LOG.info("{\"test\":\"OutageIT\",\"messages\":{},\"clients\":{},\"downMs\":{},\"resumeAfterRestartMs\":{},"
          + "\"allDeliveredAfterRestartMs\":{},\"report\":\"{}\"}", MESSAGES, clients.size(),
          Settle.millis(killedAt, restartedAt), Math.max(0, Settle.millis(restartedAt, resumedAt)),
          Settle.millis(restartedAt, drainedAt), report);
      LOG.info("node stats after the outage: {}", stats);
      report.assertExactlyOnce("20,000 messages across a Redis kill -9 and restart");
      for (JettyNode n : cluster.nodes()) {
        assertEquals(0, n.stat("outageDropped"), n + " dropped messages");
        // the outage was real for every node: its liveness probe went missing
        assertTrue(n.stat("probesMissed") > 0, n + " never noticed the outage: " + n.statsJson());
      }
    }
  }

  /**
   * Redis drops every subscription connection ({@code CLIENT KILL TYPE pubsub}) in the middle of a stream. Each node's
   * liveness probe notices that its messages no longer come back, its health says so, and it receives again once the
   * subscription is back (Redisson reconnects; the probe subscribes again if it does not); what was published to a
   * node without its subscription is held and published again. Every message arrives exactly once. The nodes' JMX
   * MBeans are checked on the way: one per node, its health readable, gone when the nodes stop.
   */
  @Test
  void pubsubConnectionsKilled_nodesReceiveAgainAndEveryMessageArrivesOnce() throws Exception {
    MBeanServer jmx = ManagementFactory.getPlatformMBeanServer();
    ObjectName nodes = new ObjectName("io.wscluster:type=Node,*");
    int mbeansBefore = jmx.queryNames(nodes, null).size();
    try (Cluster cluster = Cluster.start("pubsub-kill", 3)) {
      Set<ObjectName> mine = jmx.queryNames(nodes, null);
      assertEquals(mbeansBefore + 3, mine.size(), "one MBean per node: " + mine);
      for (ObjectName n : mine) {
        assertTrue(jmx.getAttribute(n, "health.liveNodes") instanceof Integer, n.toString());
        assertTrue(jmx.getAttribute(n, "delivered") instanceof Long, n.toString());
      }
      List<TestClient> clients = new ArrayList<>();
      for (int i = 0; i < 3; i++) {
        clients.add(cluster.plain(i, "/bench", "bench@n" + i));
      }
      RoomExchange.awaitJoined(clients, "pubsub:");
      ExactlyOnceChecker checker = new ExactlyOnceChecker();
      long killedAt = 0;
      Object killed = null;
      for (int k = 0; k < 3_000; k++) {
        String text = "p:" + k;
        checker.expect(text, clients);
        clients.get(k % 3).sendAsync(text);
        if (k == 1_000) {
          killed = cluster.redis().command("CLIENT", "KILL", "TYPE", "pubsub");
          killedAt = System.nanoTime();
        }
        if (k % 25 == 24) {
          Thread.sleep(10);
        }
      }
      long healthyAt = Settle.until("every node delivering again", Duration.ofSeconds(30), Duration.ofMillis(20),
          () -> {
            for (JettyNode n : cluster.nodes()) {
              if (!Boolean.TRUE.equals(((Map<?, ?>) n.statsJson().get("health")).get("delivering"))) {
                return false;
              }
            }
            return true;
          });
      awaitEveryMessage(cluster, clients, checker, "p:", 3_000, "connections killed after p:1000");
      Thread.sleep(1_000);
      ExactlyOnceChecker.Report report = checker.check(clients, t -> t.startsWith("p:"));
      List<Object> health = new ArrayList<>();
      for (JettyNode n : cluster.nodes()) {
        health.add(n.statsJson().get("health"));
      }
      LOG.info("{\"test\":\"OutageIT.pubsubKill\",\"killedConnections\":{},\"healthyAfterKillMs\":{},"
          + "\"report\":\"{}\",\"health\":\"{}\"}", killed, Settle.millis(killedAt, healthyAt), report, health);
      report.assertExactlyOnce("3,000 messages across CLIENT KILL TYPE pubsub");
      // what Redis had taken but not yet written to the killed connections was published again
      long replayed = 0;
      for (JettyNode n : cluster.nodes()) {
        replayed += n.stat("outageReplayed");
      }
      assertTrue(replayed > 0, "no node published again what Redis took before the kill: " + health);
    }
    assertEquals(mbeansBefore, jmx.queryNames(nodes, null).size(), "the MBeans go with their nodes");
  }
}
