package io.wscluster.it;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A steady stream of broadcasts through a Redis fault, for the failover tests: {@value #CLIENTS_PER_NODE} /bench
 * clients per node, the first client of each node sending in turn on a fixed schedule ({@code rate} messages a
 * second, each reaching every client), the fault injected {@code before} into the stream, the stream going on for
 * {@code after} once Redis serves again. Reports exactly-once over every (client, message) and per-sender order,
 * and logs how long after Redis served again the messages held during the fault reached the other nodes' clients.
 */
final class FailoverStream {

  private static final Logger LOG = LoggerFactory.getLogger(FailoverStream.class);
  static final int CLIENTS_PER_NODE = 3;
  /** The loss controls' hooks: no outage hold, no chains (nobody asks for a missing frame again). */
  static final Map<String, Object> UNPROTECTED = Map.of(JettyNode.TEST_OUTAGE_HOLD, "off",
      JettyNode.TEST_CHAINS, "off");
  static final long CONTROL_SETTLE_MILLIS = 7_000;
  /** Liveness only: never a performance bound. */
  static final Duration LIVENESS = Duration.ofSeconds(60);

  /** The fault: injects it, waits until Redis serves again, returns when it did (System.nanoTime). */
  interface Fault {
    long inject() throws Exception;
  }

  /** What a run saw. {@code flowingMs}: from Redis serving again until every client had held messages of others. */
  record Result(ExactlyOnceChecker.Report report, List<String> orderProblems, int messages, double faultMs,
      double flowingMs, double deliveriesPerSecond, double drainMs, List<Map<String, Long>> stats) {

    long sum(String counter) {
      return stats.stream().mapToLong(s -> s.getOrDefault(counter, 0L)).sum();
    }

    /**
     * Duplicates at clients of another node than the sender's. With dedup off every client also gets its own node's
     * echo of its node's messages; copies of another node's messages come from what the fault made nodes publish
     * again.
     */
    List<ExactlyOnceChecker.Problem> duplicatesFromOtherNodes() {
      int nodes = stats.size();
      return report.duplicates().stream().filter(p -> {
        int sender = Integer.parseInt(p.text().substring(p.text().indexOf(':') + 1)) % nodes;
        return !p.client().endsWith("@n" + sender);
      }).toList();
    }
  }

  /** The init-parameters of every node: the pub/sub mode of {@code -Dit.redis.pubsub}, when set. */
  static Map<Integer, Map<String, String>> nodeParameters(int nodes) {
    return nodeParameters(nodes, Map.of());
  }

  /** The same, plus {@code extra} (which wins). */
  static Map<Integer, Map<String, String>> nodeParameters(int nodes, Map<String, String> extra) {
    String mode = System.getProperty("it.redis.pubsub", "");
    Map<String, String> params = new HashMap<>();
    if (!mode.isEmpty()) {
      params.put("wscluster.redis.pubsub", mode);
    }
    params.putAll(extra);
    return Cluster.everyNode(nodes, params);
  }

  /** Three nodes on {@code topology}, each with {@code hooks} and {@code parameters} (see {@link #nodeParameters}). */
  static Cluster start(String name, RedisTopology topology, Map<String, Object> hooks,
      Map<String, String> parameters) throws Exception {
    return Cluster.start(name, topology, 3, everyNode(3, hooks), nodeParameters(3, parameters));
  }

  /** The same test hooks on every node. */
  static Map<Integer, Map<String, Object>> everyNode(int nodes, Map<String, Object> hooks) {
    Map<Integer, Map<String, Object>> out = new HashMap<>();
    for (int i = 0; i < nodes; i++) {
      out.put(i, hooks);
    }
    return out;
  }

  private FailoverStream() {
  }

  /**
   * The channel the stream travels on: the clients talk through the demo's {@code /bench} endpoint, which sends
   * every message to the room "bench", whose messages go on that room's channel.
   */
  static String streamChannel(Cluster cluster) {
    return cluster.prefix() + ":room:bench";
  }

  /**
   * Runs the stream. With {@code awaitAll} it waits (up to {@link #LIVENESS} each) after the fault until every
   * client has a message sent after it from each other node ("flowing"), and after the stream until every client
   * has every message; else (negative controls) it waits for neither and gives them {@value #CONTROL_SETTLE_MILLIS}
   * ms after the stream (a held frame is retried every 200 ms, a missing one asked for again after 5 s at most).
   */
  static Result run(Cluster cluster, String test, int rate, Duration before, Duration after, Fault fault,
      boolean awaitAll) throws Exception {
    int nodes = cluster.nodes().size();
    List<TestClient> clients = new ArrayList<>();
    for (int k = 0; k < CLIENTS_PER_NODE; k++) {
      for (int i = 0; i < nodes; i++) {
        clients.add(cluster.plain(i, "/bench", "bench" + k + "@n" + i));
      }
    }
    String scope = "f:";
    RoomExchange.awaitJoined(clients, test + ":");
    ExactlyOnceChecker checker = new ExactlyOnceChecker();
    AtomicInteger sent = new AtomicInteger();
    AtomicBoolean stop = new AtomicBoolean();
    Thread sender = new Thread(() -> {
      long start = System.nanoTime();
      for (int k = 0; !stop.get(); k++) {
        long due = start + k * 1_000_000_000L / rate;
        long wait = due - System.nanoTime();
        if (wait > 200_000) {
          try {
            Thread.sleep(wait / 1_000_000, (int) (wait % 1_000_000));
          } catch (InterruptedException e) {
            return;
          }
        }
        String text = scope + k;
        checker.expect(text, clients);
        clients.get(k % nodes).sendAsync(text);
        sent.set(k + 1);
      }
    }, "it-failover-sender");
    long streamStart = System.nanoTime();
    sender.start();
    long faultAt;
    long servingAt;
    long flowingAt;
    int total;
    try {
      Thread.sleep(before.toMillis());
      int[] fromIndex = new int[clients.size()];
      for (int i = 0; i < clients.size(); i++) {
        fromIndex[i] = clients.get(i).frameCount();
      }
      int firstHeld = sent.get();
      faultAt = System.nanoTime();
      servingAt = fault.inject();
      // a control's messages may never flow again (that is what it shows): it does not wait for them
      flowingAt = awaitAll ? awaitHeldFromOthers(clients, nodes, fromIndex, firstHeld, scope) : 0;
      long end = servingAt + after.toNanos();
      Thread.sleep(Math.max(0, (end - System.nanoTime()) / 1_000_000));
    } finally {
      stop.set(true);
      sender.join();
    }
    long streamEnd = System.nanoTime();
    total = sent.get();
    long drainedAt = 0;
    if (awaitAll) {
      try {
        drainedAt = Settle.until("every client has every message", LIVENESS, Duration.ofMillis(50),
            () -> clients.stream().allMatch(c -> c.deliveriesMatching(t -> t.startsWith(scope)).size() >= total));
      } catch (org.awaitility.core.ConditionTimeoutException e) {
        StringBuilder stats = new StringBuilder();
        for (JettyNode n : cluster.nodes()) {
          stats.append('\n').append(n.statsJson());
        }
        stats.append("\nsubscribers of the stream's channel:").append(cluster.topology().subscribers(
            streamChannel(cluster)));
        throw new AssertionError("not every message arrived; " + checker.check(clients, t -> t.startsWith(scope))
            .missingSummary() + stats, e);
      }
    } else {
      Thread.sleep(CONTROL_SETTLE_MILLIS);
    }
    Thread.sleep(1_000); // late copies would show up now
    ExactlyOnceChecker.Report report = checker.check(clients, t -> t.startsWith(scope));
    List<String> order = new ArrayList<>();
    for (TestClient c : clients) {
      int[] last = new int[nodes];
      java.util.Arrays.fill(last, -1);
      for (TestClient.Frame f : c.deliveriesMatching(t -> t.startsWith(scope))) {
        int k = Integer.parseInt(f.deliveryText().substring(scope.length()));
        if (k <= last[k % nodes] && order.size() < 20) {
          order.add(c + " got " + scope + k + " after " + scope + last[k % nodes] + " of the same sender");
        }
        last[k % nodes] = Math.max(last[k % nodes], k);
      }
    }
    List<Map<String, Long>> stats = new ArrayList<>();
    for (JettyNode n : cluster.nodes()) {
      stats.add(n.stats());
    }
    double seconds = (streamEnd - streamStart) / 1e9;
    Result result = new Result(report, order, total, Settle.millis(faultAt, servingAt),
        flowingAt == 0 ? -1 : Settle.millis(servingAt, flowingAt), total * (double) clients.size() / seconds,
        drainedAt == 0 ? -1 : Settle.millis(streamEnd, drainedAt), stats);
    LOG.info("{\"test\":\"{}\",\"redis\":\"{}\",\"pubsub\":\"{}\",\"rate\":{},\"messages\":{},\"clients\":{},"
        + "\"deliveriesPerSecond\":{},\"lastDeliveredAfterStreamMs\":{},\"faultToServingMs\":{},"
        + "\"servingToHeldFlowingMs\":{},\"outageHeld\":{},\"outageRetries\":{},\"outageReplayed\":{},"
        + "\"outageGaveUp\":{},\"resubscribes\":{},\"report\":\"{}\"}", test,
        cluster.topology().getClass().getSimpleName(), System.getProperty("it.redis.pubsub", "default"), rate, total,
        clients.size(), Math.round(result.deliveriesPerSecond()), result.drainMs(), result.faultMs(),
        result.flowingMs(), result.sum("outageHeld"), result.sum("outageRetries"), result.sum("outageReplayed"),
        result.sum("outageGaveUp"), result.sum("resubscribes"), report);
    LOG.info("node stats after {}: {}", test, stats);
    return result;
  }

  /**
   * Waits until every client has, from each other node's sender, a message sent at or after {@code firstHeld};
   * returns when the last one came (System.nanoTime), or 0 if one did not come within {@link #LIVENESS}.
   */
  private static long awaitHeldFromOthers(List<TestClient> clients, int nodes, int[] fromIndex, int firstHeld,
      String scope) throws InterruptedException {
    long[] at = new long[clients.size()];
    List<Throwable> failures = Collections.synchronizedList(new ArrayList<>());
    List<Thread> watchers = new ArrayList<>();
    for (int i = 0; i < clients.size(); i++) {
      int me = i;
      Thread w = new Thread(() -> {
        TestClient c = clients.get(me);
        try {
          for (int origin = 0; origin < nodes; origin++) {
            if (origin == me % nodes) {
              continue;
            }
            int from = origin;
            c.awaitFrame(fromIndex[me], f -> f.isDelivery() && f.deliveryText().startsWith(scope)
                && Integer.parseInt(f.deliveryText().substring(scope.length())) % nodes == from
                && Integer.parseInt(f.deliveryText().substring(scope.length())) >= firstHeld, LIVENESS,
                "a message of n" + origin + " sent during the fault");
          }
          at[me] = System.nanoTime();
        } catch (Throwable t) {
          failures.add(t);
        }
      }, "it-failover-watch-" + i);
      w.start();
      watchers.add(w);
    }
    for (Thread w : watchers) {
      w.join();
    }
    if (!failures.isEmpty()) {
      LOG.warn("held messages did not reach every client: {}", failures.get(0).toString());
      return 0;
    }
    long last = 0;
    for (long t : at) {
      last = Math.max(last, t);
    }
    return last;
  }
}
