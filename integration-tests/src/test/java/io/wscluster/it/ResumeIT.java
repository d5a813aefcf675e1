package io.wscluster.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * How soon held messages flow again once Redis is back. Three nodes, one client each, 100 messages a second in
 * turn; Redis is killed (-9) and restarted empty on the same port {@value #DOWN_MILLIS} ms later,
 * {@code -Dit.resume.outages} times (1 by default). Per outage it logs, from Redis accepting connections again: the
 * first message sent during the outage reaching a client of another node, every client having one of another node,
 * and every client having all of them. Every client must get every message exactly once, in each sender's
 * order. Times are logged, not asserted (a liveness bound of 60 s only).
 */
class ResumeIT {
  private static final Logger LOG = LoggerFactory.getLogger(ResumeIT.class);
  private static final long DOWN_MILLIS = 2_000;
  private static final long PACE_MILLIS = 10;
  private static final Duration LIVENESS = Duration.ofSeconds(60);
  private static final int OUTAGES = Integer.getInteger("it.resume.outages", 1);

  @Test
  void redisRestarted_defaultConfig_heldMessagesArriveExactlyOnceInOrder() throws Exception {
    try (Cluster cluster = Cluster.start("resume", 3, redis -> Map.of())) {
      outages(cluster, "address");
    }
  }

  /**
   * The nodes name a Redisson YAML file (single server, nothing about delays or pools) instead of the address: its
   * servers reconnect as fast as with the address.
   */
  @Test
  void redisRestarted_redissonYamlConfig_heldMessagesArriveExactlyOnceInOrder(@TempDir Path dir) throws Exception {
    Path yaml = dir.resolve("redisson.yaml");
    try (Cluster cluster = Cluster.start("resume-yaml", 3, redis -> {
      String delays = System.getProperty("it.resume.yaml-extra", "");
      try {
        Files.writeString(yaml, "singleServerConfig:\n  address: \"" + redis.address() + "\"\n"
            + "  connectionMinimumIdleSize: 1\n  subscriptionConnectionPoolSize: 1\n"
            + "  subscriptionConnectionMinimumIdleSize: 1\n" + delays.replace("\\n", "\n"));
      } catch (java.io.IOException e) {
        throw new java.io.UncheckedIOException(e);
      }
      return Map.of("wscluster.redis.config", yaml.toString(), "wscluster.redis.connections", "4");
    })) {
      outages(cluster, "yaml");
    }
  }

  private static int number(String text) {
    return Integer.parseInt(text.substring(text.indexOf(':') + 1));
  }

  private void outages(Cluster cluster, String config) throws Exception {
    List<TestClient> clients = new ArrayList<>();
    for (int i = 0; i < 3; i++) {
      clients.add(cluster.plain(i, "/bench", "bench@n" + i));
    }
    RoomExchange.awaitJoined(clients, "resume:");
    ExactlyOnceChecker checker = new ExactlyOnceChecker();
    AtomicInteger sent = new AtomicInteger();
    AtomicLong stop = new AtomicLong();
    Thread sender = new Thread(() -> {
      try {
        long next = System.nanoTime();
        for (int k = 0; stop.get() == 0; k++) {
          String text = "m:" + k;
          checker.expect(text, clients);
          clients.get(k % 3).sendAsync(text);
          sent.set(k + 1);
          next += PACE_MILLIS * 1_000_000;
          long wait = next - System.nanoTime();
          if (wait > 0) {
            Thread.sleep(wait / 1_000_000, (int) (wait % 1_000_000));
          }
        }
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }, "it-resume-sender");
    sender.start();
    List<String> runs = new ArrayList<>();
    try {
      Thread.sleep(1_500);
      for (int outage = 1; outage <= OUTAGES; outage++) {
        runs.add(outage(cluster, clients, sent, config, outage));
        Thread.sleep(2_000);
      }
    } finally {
      stop.set(1);
      sender.join();
    }
    int total = sent.get();
    Settle.until("every client has every message", LIVENESS, Duration.ofMillis(50),
        () -> clients.stream().allMatch(c -> c.deliveriesMatching(t -> t.startsWith("m:")).size() >= total));
    Thread.sleep(1_000); // late copies would show up now
    ExactlyOnceChecker.Report report = checker.check(clients, t -> t.startsWith("m:"));
    LOG.info("{\"test\":\"ResumeIT\",\"config\":\"{}\",\"messages\":{},\"outages\":[{}],\"report\":\"{}\"}", config,
        total, String.join(",", runs), report);
    for (JettyNode n : cluster.nodes()) {
      LOG.info("node stats after the outages: {}", n.statsJson());
    }
    report.assertExactlyOnce(total + " messages across " + OUTAGES + " Redis restart(s)");
    for (TestClient c : clients) {
      int[] last = {-1, -1, -1};
      for (TestClient.Frame f : c.deliveriesMatching(t -> t.startsWith("m:"))) {
        int k = number(f.deliveryText());
        assertTrue(k > last[k % 3], c + " got m:" + k + " after m:" + last[k % 3] + " of the same sender");
        last[k % 3] = k;
      }
    }
    for (JettyNode n : cluster.nodes()) {
      assertEquals(0, n.stat("outageDropped"), n + " dropped messages");
    }
  }

  /**
   * One kill and restart; returns its figures as JSON. Held: the messages sent from the kill to the restart. Each
   * client waits (event-driven) for the first held message of another node's client, and then for all of them.
   */
  private String outage(Cluster cluster, List<TestClient> clients, AtomicInteger sent, String config, int outage)
      throws Exception {
    int[] fromIndex = new int[clients.size()];
    for (int i = 0; i < clients.size(); i++) {
      fromIndex[i] = clients.get(i).frameCount();
    }
    int firstHeld = sent.get();
    cluster.redis().kill();
    Thread.sleep(DOWN_MILLIS);
    int endHeld = sent.get();
    long launched = System.nanoTime();
    cluster.redis().restartOnSamePort();
    long back = System.nanoTime();
    long[] firstAt = new long[clients.size()];
    long[] originAt = new long[clients.size()];
    List<Thread> watchers = new ArrayList<>();
    List<Throwable> failures = java.util.Collections.synchronizedList(new ArrayList<>());
    for (int j = 0; j < clients.size(); j++) {
      int origin = j;
      Thread w = new Thread(() -> {
        try {
          // the first held message of this origin's client at another node's client
          long first = Long.MAX_VALUE;
          for (int i = 0; i < clients.size(); i++) {
            if (i != origin) {
              clients.get(i).awaitFrame(fromIndex[i], f -> f.isDelivery() && f.deliveryText().startsWith("m:")
                  && number(f.deliveryText()) >= firstHeld && number(f.deliveryText()) < endHeld
                  && number(f.deliveryText()) % 3 == origin, LIVENESS, "a held message of n" + origin);
              first = Math.min(first, System.nanoTime());
              break;
            }
          }
          originAt[origin] = first;
        } catch (Throwable t) {
          failures.add(t);
        }
      }, "it-resume-origin-" + j);
      w.start();
      watchers.add(w);
    }
    long[] allAt = new long[clients.size()];
    for (int i = 0; i < clients.size(); i++) {
      int me = i;
      TestClient c = clients.get(i);
      java.util.function.Predicate<String> heldFromOthers = t -> {
        if (!t.startsWith("m:")) {
          return false;
        }
        int k = number(t);
        return k >= firstHeld && k < endHeld && k % 3 != me;
      };
      int expected = 0;
      for (int k = firstHeld; k < endHeld; k++) {
        expected += k % 3 != me ? 1 : 0;
      }
      int count = expected;
      Thread w = new Thread(() -> {
        try {
          c.awaitFrame(fromIndex[me], f -> f.isDelivery() && heldFromOthers.test(f.deliveryText()), LIVENESS,
              "a held message of another node");
          firstAt[me] = System.nanoTime();
          c.awaitDeliveryCount(heldFromOthers, count, LIVENESS, "held messages of other nodes");
          allAt[me] = System.nanoTime();
        } catch (Throwable t) {
          failures.add(t);
        }
      }, "it-resume-watch-" + i);
      w.start();
      watchers.add(w);
    }
    for (Thread w : watchers) {
      w.join();
    }
    if (!failures.isEmpty()) {
      StringBuilder stats = new StringBuilder();
      for (JettyNode n : cluster.nodes()) {
        stats.append('\n').append(n.statsJson());
      }
      AssertionError e = new AssertionError("outage " + outage + ": held messages m:" + firstHeld + " to m:"
          + (endHeld - 1) + " did not all arrive" + stats, failures.get(0));
      throw e;
    }
    long first = Long.MAX_VALUE;
    long everyClientFirst = 0;
    long all = 0;
    for (int i = 0; i < clients.size(); i++) {
      first = Math.min(first, firstAt[i]);
      everyClientFirst = Math.max(everyClientFirst, firstAt[i]);
      all = Math.max(all, allAt[i]);
    }
    long everyOrigin = 0;
    for (long t : originAt) {
      everyOrigin = Math.max(everyOrigin, t);
    }
    String json = String.format(java.util.Locale.ROOT,
        "{\"outage\":%d,\"held\":%d,\"pingAfterLaunchMs\":%.1f,\"firstHeldMs\":%.1f,"
            + "\"everyClientFirstMs\":%.1f,\"everyOriginFirstMs\":%.1f,\"allHeldMs\":%.1f}",
        outage, endHeld - firstHeld, Settle.millis(launched, back), Settle.millis(back, first),
        Settle.millis(back, everyClientFirst), Settle.millis(back, everyOrigin), Settle.millis(back, all));
    LOG.info("ResumeIT {} outage: {}", config, json);
    return json;
  }
}
