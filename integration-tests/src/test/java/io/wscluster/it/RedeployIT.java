package io.wscluster.it;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.wscluster.it.TestClient.Send;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Lifecycle: one node's webapp is undeployed and redeployed {@value #CYCLES} times while its Jetty server and the
 * two other nodes keep running, in both ways a webapp comes back on Jetty: the same WebAppContext restarted, and a
 * new WebAppContext. After every undeploy the node's Redis subscriptions and connections are gone (PUBSUB NUMSUB
 * over the cluster's channels drops back, INFO connected_clients too) and its threads end; after every redeploy
 * the node holds exactly one subscription again (one node, not two); after the last cycle no {@code wscluster-*} /
 * {@code redisson-*} thread exists beyond those of the running nodes, and delivery is still exactly-once across
 * all three nodes. Stopping the whole cluster then leaves none beyond what existed before the test.
 */
class RedeployIT {

  private static final Logger LOG = LoggerFactory.getLogger(RedeployIT.class);
  private static final int CYCLES = 20;
  private static final Duration SETTLE = Duration.ofSeconds(20);

  /** Live threads whose names mark them as the plugin's or Redisson's. */
  static List<String> clusterThreads() {
    return Thread.getAllStackTraces().keySet().stream()
        .filter(Thread::isAlive)
        .map(Thread::getName)
        .filter(n -> n.startsWith("wscluster-") || n.startsWith("redisson-"))
        .sorted()
        .toList();
  }

  /** Thread names grouped with digits stripped, for failure messages. */
  static Map<String, Integer> summary(List<String> names) {
    Map<String, Integer> out = new TreeMap<>();
    for (String n : names) {
      out.merge(n.replaceAll("[0-9]+", "#"), 1, Integer::sum);
    }
    return out;
  }

  /**
   * Redis connections other than n0's and n1's (each Redisson connection carries its node's client
   * name): theirs grow and shrink with their own traffic (a pool opens a second connection when
   * two commands overlap), which says nothing of what n2 left behind.
   */
  static long connectionsBesidesSurvivors(RedisServer redis) throws java.io.IOException {
    return redis.clientList().stream()
        .filter(c -> !Set.of("wscluster-n0", "wscluster-n1").contains(c.getOrDefault("name", "")))
        .count();
  }

  /** How the cycled node's webapp comes back. */
  interface Redeploy {
    void redeploy(JettyNode node) throws Exception;
  }

  /** The same WebAppContext instance is stopped and started again (JMX, jetty-maven-plugin scan, IDE). */
  @Test
  void sameContextRestartedTwentyTimes_releasesSubscriptionsConnectionsAndThreads_deliveryStillExactlyOnce()
      throws Exception {
    cycle("redeploy-same", JettyNode::redeploy);
  }

  /** The stopped WebAppContext is replaced by a new instance each time (what Jetty's deployer does). */
  @Test
  void newContextDeployedTwentyTimes_releasesSubscriptionsConnectionsAndThreads_deliveryStillExactlyOnce()
      throws Exception {
    cycle("redeploy-new", JettyNode::redeployAsNewContext);
  }

  private void cycle(String name, Redeploy redeploy) throws Exception {
    List<String> beforeCluster = clusterThreads();
    long t0 = System.nanoTime();
    try (Cluster cluster = Cluster.start(name, 3)) {
      RedisServer redis = cluster.redis();
      String pattern = cluster.channelPattern();
      JettyNode cycled = cluster.node(2);

      long subsAll = Settle.stable(() -> redis.totalSubscriptions(pattern), Duration.ofMillis(500), SETTLE);
      long threadsAll = Settle.stable(() -> (long) clusterThreads().size(), Duration.ofSeconds(1), SETTLE);
      long connectionsAll = Settle.stable(() -> connectionsBesidesSurvivors(redis), Duration.ofMillis(500), SETTLE);
      LOG.info("3 nodes: {} subscriptions on {}, {} redis connections, {} cluster threads {}", subsAll,
          redis.channels(pattern), connectionsAll, threadsAll, summary(clusterThreads()));
      assertTrue(subsAll > 0, "no subscriptions on " + pattern);

      long subsWithout = -1;
      long threadsWithout = -1;
      long connectionsWithout = -1;
      for (int cycle = 1; cycle <= CYCLES; cycle++) {
        final int c = cycle;
        cycled.undeploy();
        if (cycle == 1) {
          await("n2's subscriptions to go after undeploy").atMost(SETTLE)
              .until(() -> redis.totalSubscriptions(pattern) < subsAll);
          subsWithout = Settle.stable(() -> redis.totalSubscriptions(pattern), Duration.ofMillis(500), SETTLE);
          threadsWithout = Settle.stable(() -> (long) clusterThreads().size(), Duration.ofSeconds(1), SETTLE);
          connectionsWithout = Settle.stable(() -> connectionsBesidesSurvivors(redis), Duration.ofMillis(500), SETTLE);
          LOG.info("after undeploy: {} subscriptions, {} redis connections, {} cluster threads", subsWithout,
              connectionsWithout, threadsWithout);
          assertTrue(threadsWithout < threadsAll, "undeploy ended none of the node's threads: still "
              + summary(clusterThreads()));
          assertTrue(connectionsWithout < connectionsAll, "undeploy closed none of the node's Redis connections");
        } else {
          long subs = subsWithout;
          long threads = threadsWithout;
          long connections = connectionsWithout;
          await("cycle " + c + ": subscriptions back to " + subs + " after undeploy").atMost(SETTLE)
              .until(() -> redis.totalSubscriptions(pattern) == subs);
          await("cycle " + c + ": redis connections besides n0's and n1's back to " + connections + " after undeploy").atMost(SETTLE)
              .until(() -> connectionsBesidesSurvivors(redis) <= connections);
          try {
            await("cycle " + c + ": cluster threads back to " + threads + " after undeploy").atMost(SETTLE)
                .until(() -> clusterThreads().size() <= threads);
          } catch (org.awaitility.core.ConditionTimeoutException e) {
            throw new AssertionError("cycle " + c + ": " + clusterThreads().size() + " cluster threads after "
                + "undeploy, expected <= " + threads + ": " + summary(clusterThreads()), e);
          }
        }
        redeploy.redeploy(cycled);
        await("cycle " + c + ": n2 subscribed again after redeploy").atMost(SETTLE)
            .until(() -> redis.totalSubscriptions(pattern) >= subsAll);
        long subs = Settle.stable(() -> redis.totalSubscriptions(pattern), Duration.ofMillis(300), SETTLE);
        assertEquals(subsAll, subs, "cycle " + c + ": PUBSUB NUMSUB over " + redis.channels(pattern)
            + " after redeploy (expected the 3-node value); n2's webapp listeners from the WAR: "
            + cycled.webappListeners());
      }
      LOG.info("{} undeploy/redeploy cycles in {} ms", CYCLES, (System.nanoTime() - t0) / 1_000_000);

      try {
        await("cluster threads back to the 3-node count " + threadsAll).atMost(SETTLE)
            .until(() -> clusterThreads().size() <= threadsAll);
      } catch (org.awaitility.core.ConditionTimeoutException e) {
        throw new AssertionError("after " + CYCLES + " cycles " + clusterThreads().size()
            + " cluster threads, expected <= " + threadsAll + ": " + summary(clusterThreads()), e);
      }

      // ---- delivery after the last redeploy ----
      List<TestClient> clients = List.of(
          cluster.chat(0, "after", "u0"),
          cluster.chat(1, "after", "u1"),
          cluster.chat(2, "after", "u2"),
          cluster.chat(2, "other", "u0"));
      ExactlyOnceChecker checker = new ExactlyOnceChecker();
      for (TestClient sender : clients.subList(0, 3)) {
        String id = "a:" + sender.label() + ":";
        checker.expect(id + "all", clients);
        sender.send(Send.text(id + "all").all());
        checker.expect(id + "user", List.of(clients.get(0), clients.get(3)));
        sender.send(Send.text(id + "user").users("u0"));
        checker.expect(id + "room", clients.subList(0, 3));
        sender.say(id + "room");
      }
      for (String text : checker.texts()) {
        for (TestClient client : checker.intended(text)) {
          client.awaitDelivery(text);
        }
      }
      for (TestClient sender : clients.subList(0, 3)) {
        cluster.fence(sender, clients);
      }
      checker.check(clients, t -> t.startsWith("a:")).assertExactlyOnce("after " + CYCLES + " redeploys");
    }

    // ---- nothing left once every node is stopped ----
    int allowed = beforeCluster.size();
    try {
      await("no cluster threads beyond the " + allowed + " that existed before this test").atMost(SETTLE)
          .until(() -> clusterThreads().size() <= allowed);
    } catch (org.awaitility.core.ConditionTimeoutException e) {
      throw new AssertionError("after stopping every node: " + summary(clusterThreads()) + " (before the test: "
          + summary(beforeCluster) + ")", e);
    }
    LOG.info("{} done in {} ms", name, (System.nanoTime() - t0) / 1_000_000);
  }
}
