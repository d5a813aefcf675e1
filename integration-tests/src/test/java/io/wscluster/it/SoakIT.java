package io.wscluster.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.wscluster.it.TestClient.Deliver;
import io.wscluster.it.TestClient.Send;
import java.lang.management.BufferPoolMXBean;
import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.ToLongFunction;
import org.awaitility.core.ConditionTimeoutException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A bounded soak, run only with {@code -Psoak}: {@value #CLIENTS} clients on 3 nodes connect to random nodes, join
 * and leave random rooms, say, send, DM and deliver, and close (one in five without a close frame) after 1 to 5 s,
 * for {@code soak.minutes} (default 3), in rounds of {@value #ROUND_SECONDS} s.
 *
 * <p>After each round the churn pauses: the clients still open take part in an exactly-once check (each says one
 * message into its URL room and DMs a random user; every client in that room, or of that user, by the memberships
 * the test tracked from acks, gets it once, nobody else), then every client closes and one sample is taken, with
 * no client connected: {@code DBSIZE} once it is back to its value before the first client (the directory entries
 * of closed sessions are removed), then after {@code System.gc()} the used heap of this JVM (the nodes run in it),
 * its live threads and {@code wscluster-*} / {@code redisson-*} threads, and Redis's {@code PUBSUB CHANNELS
 * prefix*}, the subscriptions on them, {@code connected_clients} and {@code CLIENT LIST}. Throughout, no client
 * may receive any message twice (every text is unique) and no operation may fail.
 *
 * <p>Samples of the first {@link #MAX_WARM_UP} (a third of a shorter soak) are warm-up; of the rest, the last third
 * is compared with the first third (medians). The summary is one JSON line on stdout and in
 * {@code target/soak-summary.json}.
 */
@EnabledIfSystemProperty(named = SoakIT.MINUTES, matches = "[0-9]+(\\.[0-9]+)?",
    disabledReason = "a soak runs only when asked: mvn -B verify -pl integration-tests -am -Psoak")
class SoakIT {

  static final String MINUTES = "soak.minutes";

  private static final Logger LOG = LoggerFactory.getLogger(SoakIT.class);
  private static final int NODES = 3;
  private static final int CLIENTS = 30;
  private static final long ROUND_SECONDS = 10;
  private static final Duration MAX_WARM_UP = Duration.ofMinutes(1);
  private static final Duration SETTLE = Duration.ofSeconds(20);
  private static final List<String> ROOMS = List.of("r0", "r1", "r2", "r3", "r4", "r5", "r6", "r7");
  private static final List<String> USERS = List.of("u0", "u1", "u2", "u3", "u4", "u5", "u6", "u7", "u8", "u9");
  private static final long MB = 1024 * 1024;
  /**
   * Heap growth allowed from the first third to the last (medians of heap used after a full GC): 8 MB, about 30% of
   * the ~27 MB the 3 nodes, the clients and the harness hold. Samples differ by under 0.5 MB; the slack is for what
   * the JDK, Jetty and Redisson size lazily. A leak of 8 KB per session (~900 sessions in between in 3 minutes)
   * exceeds it.
   */
  private static final long HEAP_SLACK = 8 * MB;
  /**
   * Threads of Jetty's pools (the nodes' {@code it-jetty-*}, up to 64 each, and the test client's
   * {@code WebSocket@*}) allowed beyond the first third's median: a pool starts threads for the load's peaks and
   * ends them after 60 s idle. Every other thread gets no slack.
   */
  private static final int POOL_THREAD_SLACK = 16;
  /** {@code wscluster.redis.connections} of the nodes (the default): each opens at most that many plus one. */
  private static final int PUBLISHING_CONNECTIONS = 4;

  @Test
  void churnOnThreeNodes_heapThreadsRedisChannelsKeysAndConnectionsStayFlat_noDuplicates() throws Exception {
    Duration duration = Duration.ofMillis(Math.round(Double.parseDouble(System.getProperty(MINUTES)) * 60_000));
    Duration warmUp = duration.dividedBy(3).compareTo(MAX_WARM_UP) < 0 ? duration.dividedBy(3) : MAX_WARM_UP;
    long seed = Long.getLong("soak.seed", System.nanoTime());
    LOG.info("soak: {} clients on {} nodes for {}, warm-up {}, seed {}", CLIENTS, NODES, duration, warmUp, seed);
    Tally tally = new Tally();
    List<Sample> samples = new ArrayList<>();
    Random random = new Random(seed);
    try (Cluster cluster = Cluster.start("soak", NODES)) {
      RedisServer redis = cluster.redis();
      String pattern = cluster.channelPattern();
      long keysBefore = Settle.stable(() -> dbsize(redis), Duration.ofSeconds(1), SETTLE);
      long channelsBefore = redis.channels(pattern).size();
      long subscriptionsBefore = redis.totalSubscriptions(pattern);
      // each node: its publishing connections plus one for subscriptions; plus this harness's own
      long redisClientsCeiling = NODES * (PUBLISHING_CONNECTIONS + 1) + 1;
      LOG.info("soak: before the first client: {} keys, channels {}, {} subscriptions, redis clients (name, "
              + "subscriptions) {}", keysBefore, redis.channels(pattern), subscriptionsBefore,
          redis.clientList().stream().map(c -> c.get("name") + ":" + c.get("sub")).sorted().toList());

      List<Worker> workers = new ArrayList<>();
      for (int i = 0; i < CLIENTS; i++) {
        workers.add(new Worker(i, new Random(random.nextLong()), cluster, tally));
      }
      AtomicInteger threadIds = new AtomicInteger();
      ExecutorService pool = Executors.newFixedThreadPool(CLIENTS,
          r -> new Thread(r, "soak-client-" + threadIds.incrementAndGet()));
      long t0 = System.nanoTime();
      try {
        for (int round = 1; System.nanoTime() - t0 < duration.toNanos(); round++) {
          long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(ROUND_SECONDS);
          List<Future<?>> running = new ArrayList<>();
          for (Worker w : workers) {
            running.add(pool.submit(() -> w.churnUntil(deadline)));
          }
          Thread.sleep(TimeUnit.SECONDS.toMillis(ROUND_SECONDS) / 2);
          long keysUnderLoad = dbsize(redis);
          long redisClientsUnderLoad = redis.connectedClients();
          for (Future<?> f : running) {
            f.get(ROUND_SECONDS + 120, TimeUnit.SECONDS);
          }
          quietCheck(cluster, round, workers, random, tally);
          for (Worker w : workers) {
            w.retire(false);
          }
          Sample s = sample(redis, pattern, round, t0, keysBefore, keysUnderLoad, redisClientsUnderLoad, tally);
          samples.add(s);
          LOG.info("soak sample {}", s);
        }
      } finally {
        pool.shutdownNow();
        if (!pool.awaitTermination(30, TimeUnit.SECONDS)) {
          LOG.warn("soak: client threads still running 30 s after the interrupt");
        }
        for (Worker w : workers) {
          w.retire(true);
        }
      }
      List<Sample> steady = samples.stream().filter(s -> s.seconds() >= warmUp.toSeconds()).toList();
      LOG.info("soak: thread names at the last sample: {}", RedeployIT.summary(allThreadNames()));
      String summary = summary(duration, seed, tally, samples, steady, keysBefore, cluster.sumStat("duplicates"));
      System.out.println(summary);
      Files.writeString(Path.of("target", "soak-summary.json"), summary + "\n", StandardCharsets.UTF_8);

      // ---- correctness while soaking ----
      assertEquals(0, tally.errors.get(), () -> tally.errors.get() + " operations failed, the first: "
          + tally.firstErrors);
      assertEquals(0, tally.duplicates.get(), () -> tally.duplicates.get() + " messages reached a client twice, "
          + "the first: " + tally.firstDuplicates);
      assertTrue(tally.quietChecks.get() > 0, "no round ended with clients to check exactly-once with");

      // ---- flat ----
      assertTrue(steady.size() >= 3, "only " + steady.size() + " samples after the warm-up of " + warmUp
          + ": soak longer (" + MINUTES + ")");
      int third = steady.size() / 3;
      List<Sample> first = steady.subList(0, third);
      List<Sample> last = steady.subList(steady.size() - third, steady.size());
      for (Sample s : samples) {
        assertEquals(keysBefore, s.keys(), "round " + s.round() + ": DBSIZE with no client connected, expected the "
            + keysBefore + " keys before the first client; keys: " + redis.command("KEYS", "*"));
        assertEquals(channelsBefore, s.channels(), "round " + s.round() + ": PUBSUB CHANNELS " + pattern);
        assertEquals(subscriptionsBefore, s.subscriptions(), "round " + s.round() + ": subscriptions on "
            + pattern);
        // the plugin's executors start their thread with their first task: all have run one by the first pause
        assertEquals(samples.get(0).pluginThreads(), s.pluginThreads(), "round " + s.round()
            + ": wscluster-* threads");
        // Redisson opens publishing connections on demand and closes them after 10 s idle: bounded, not constant
        assertEquals(NODES, s.subscriberConnections(), "round " + s.round() + ": Redis connections subscribed");
        assertTrue(s.publishingConnectionsMax() <= PUBLISHING_CONNECTIONS, "round " + s.round() + ": a node has "
            + s.publishingConnectionsMax() + " publishing connections, more than " + PUBLISHING_CONNECTIONS);
        assertTrue(s.redisClients() <= redisClientsCeiling && s.redisClientsUnderLoad() <= redisClientsCeiling,
            "round " + s.round() + ": Redis connected_clients " + s.redisClients() + " (" + s.redisClientsUnderLoad()
                + " under load), more than the " + redisClientsCeiling + " the nodes and the harness may open");
      }
      for (Sample s : steady) {
        assertEquals(first.get(0).redissonThreads(), s.redissonThreads(), "round " + s.round()
            + ": redisson-* threads after the warm-up");
        assertEquals(first.get(0).otherThreads(), s.otherThreads(), "round " + s.round()
            + ": threads outside Jetty's pools after the warm-up; now: " + RedeployIT.summary(allThreadNames()));
      }
      long heapFirst = median(first, Sample::heapBytes);
      long heapLast = median(last, Sample::heapBytes);
      assertTrue(heapLast - heapFirst <= HEAP_SLACK, "heap after GC grew from " + heapFirst / MB + " MB to "
          + heapLast / MB + " MB (medians of the first and last third), more than " + HEAP_SLACK / MB + " MB");
      long poolFirst = median(first, Sample::poolThreads);
      long poolLast = median(last, Sample::poolThreads);
      assertTrue(poolLast - poolFirst <= POOL_THREAD_SLACK, "Jetty pool threads grew from " + poolFirst + " to "
          + poolLast + " (medians of the first and last third), more than " + POOL_THREAD_SLACK + "; now: "
          + RedeployIT.summary(allThreadNames()));
    }
  }

  // ---------------------------------------------------------------- the workload

  /** Counts over every worker; workers add while a round runs, the main thread reads between rounds. */
  private static final class Tally {
    final AtomicLong texts = new AtomicLong();
    final AtomicLong sessions = new AtomicLong();
    final AtomicLong aborted = new AtomicLong();
    final AtomicLong sent = new AtomicLong();
    final AtomicLong membershipChanges = new AtomicLong();
    final AtomicLong deliveries = new AtomicLong();
    final AtomicLong duplicates = new AtomicLong();
    final AtomicLong errors = new AtomicLong();
    final AtomicLong quietChecks = new AtomicLong();
    final AtomicLong quietCells = new AtomicLong();
    final Map<String, Long> deliverOutcomes = new TreeMap<>();
    final List<String> firstErrors = Collections.synchronizedList(new ArrayList<>());
    final List<String> firstDuplicates = Collections.synchronizedList(new ArrayList<>());

    String nextText() {
      return "s:" + texts.incrementAndGet();
    }

    void error(String who, Throwable e) {
      errors.incrementAndGet();
      LOG.warn("soak: {} failed", who, e);
      if (firstErrors.size() < 10) {
        firstErrors.add(who + ": " + e);
      }
    }

    synchronized void outcome(String kind) {
      deliverOutcomes.merge(kind, 1L, Long::sum);
    }

    synchronized Map<String, Long> outcomes() {
      return new TreeMap<>(deliverOutcomes);
    }
  }

  /**
   * One simulated user: connects to a random node, room and user name, acts every 100 to 300 ms and closes after 1 to
   * 5 s, until the round's deadline; the client open then stays open for {@link #quietCheck}. Its choices come from
   * its own seeded Random. Only one thread at a time uses a worker: a pool thread during a round, the main thread
   * between rounds.
   */
  private static final class Worker {
    final int index;
    final Random random;
    final Cluster cluster;
    final Tally tally;
    /** The rooms the open client is in, as its acks confirmed: its URL room, plus joins, minus leaves. */
    final Set<String> rooms = new TreeSet<>();
    TestClient client;
    long closeAt;

    Worker(int index, Random random, Cluster cluster, Tally tally) {
      this.index = index;
      this.random = random;
      this.cluster = cluster;
      this.tally = tally;
    }

    void churnUntil(long deadline) {
      while (System.nanoTime() < deadline && !Thread.currentThread().isInterrupted()) {
        try {
          if (client == null) {
            connect();
          } else if (System.nanoTime() >= closeAt) {
            retire(random.nextInt(5) == 0);
          } else {
            act();
            Thread.sleep(100 + random.nextInt(200));
          }
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
        } catch (Exception | AssertionError e) {
          tally.error("w" + index + " " + client, e);
          retire(true);
        }
      }
    }

    private void connect() throws Exception {
      String room = pick(ROOMS);
      client = TestClient.chat(cluster.ws(), cluster.node(random.nextInt(NODES)), room, pick(USERS));
      rooms.clear();
      rooms.add(room);
      closeAt = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(1_000 + random.nextInt(4_000));
      tally.sessions.incrementAndGet();
    }

    private void act() throws Exception {
      int dice = random.nextInt(100);
      if (dice < 40) {
        client.say(tally.nextText());
      } else if (dice < 55) {
        client.dm(pick(USERS), tally.nextText());
      } else if (dice < 65) {
        client.send(Send.text(tally.nextText()).rooms(pick(ROOMS), pick(ROOMS)).exceptSelf());
      } else if (dice < 72) {
        TestClient.Outcome outcome = client.deliver(Deliver.text(tally.nextText()).users(pick(USERS)));
        tally.outcome(outcome.isReceipt() ? "receipt" : outcome.reason());
      } else if (dice < 86 || rooms.isEmpty()) {
        String room = pick(ROOMS);
        client.join(room);
        rooms.add(room);
        tally.membershipChanges.incrementAndGet();
        return;
      } else {
        String room = pick(List.copyOf(rooms));
        client.leave(room);
        rooms.remove(room);
        tally.membershipChanges.incrementAndGet();
        return;
      }
      tally.sent.incrementAndGet();
    }

    /** Closes the client (abruptly: without a close frame) after checking it got no message twice. */
    void retire(boolean abruptly) {
      TestClient c = client;
      if (c == null) {
        return;
      }
      client = null;
      Set<String> seen = new HashSet<>();
      List<String> received = c.deliveries();
      for (String text : received) {
        if (!seen.add(text)) {
          tally.duplicates.incrementAndGet();
          if (tally.firstDuplicates.size() < 10) {
            tally.firstDuplicates.add(c + " got " + text + " twice");
          }
        }
      }
      tally.deliveries.addAndGet(received.size());
      if (abruptly) {
        tally.aborted.incrementAndGet();
        c.abort();
        return;
      }
      try {
        c.closeAndWait();
      } catch (Exception e) {
        tally.error("close of " + c, e);
      }
    }

    private <T> T pick(List<T> from) {
      return from.get(random.nextInt(from.size()));
    }
  }

  /**
   * With the churn paused, every open client says one message into its URL room and DMs a random user; each must
   * reach exactly the open clients in that room (or of that user), as tracked from the acks, once each. A fence from
   * every node with an open client then shows that nothing more arrives.
   */
  private static void quietCheck(Cluster cluster, int round, List<Worker> workers, Random random, Tally tally)
      throws Exception {
    List<Worker> open = workers.stream().filter(w -> w.client != null && w.client.isOpen()).toList();
    if (open.isEmpty()) {
      return;
    }
    List<TestClient> clients = open.stream().map(w -> w.client).toList();
    for (TestClient c : clients) {
      cluster.awaitInDirectory(c);
    }
    String scope = "q" + round + ":";
    ExactlyOnceChecker checker = new ExactlyOnceChecker();
    for (Worker w : open) {
      String say = scope + "w" + w.index + ":say";
      checker.expect(say, open.stream().filter(v -> v.rooms.contains(w.client.room())).map(v -> v.client)
          .toList());
      w.client.say(say);
      String user = USERS.get(random.nextInt(USERS.size()));
      String dm = scope + "w" + w.index + ":dm:" + user;
      checker.expect(dm, clients.stream().filter(c -> c.user().equals(user)).toList());
      w.client.dm(user, dm);
    }
    for (String text : checker.texts()) {
      for (TestClient c : checker.intended(text)) {
        c.awaitDelivery(text);
      }
    }
    for (JettyNode node : cluster.nodes()) {
      for (TestClient c : clients) {
        if (c.node() == node) {
          cluster.fence(c, clients);
          break;
        }
      }
    }
    ExactlyOnceChecker.Report report = checker.check(clients, t -> t.startsWith(scope));
    report.assertExactlyOnce("round " + round + ", " + clients.size() + " open clients");
    tally.quietChecks.incrementAndGet();
    tally.quietCells.addAndGet(report.checkedCells());
  }

  // ---------------------------------------------------------------- samples

  /**
   * One pause, taken with no client connected. Threads: all live ones, split into Jetty's pools, {@code wscluster-*},
   * {@code redisson-*} and the others. Redis connections: all, those subscribed, and the most any one node has for
   * publishing (its connections by client name, {@code wscluster-<node name>}, not subscribed).
   */
  record Sample(int round, long seconds, long sessions, long heapBytes, long directBytes, long threads,
      long poolThreads, long pluginThreads, long redissonThreads, long channels, long subscriptions, long keys,
      long keysUnderLoad, long redisClients, long redisClientsUnderLoad, long subscriberConnections,
      long publishingConnectionsMax) {

    long otherThreads() {
      return threads - poolThreads - pluginThreads - redissonThreads;
    }

    @Override
    public String toString() {
      return String.format(java.util.Locale.ROOT, "round %d at %d s: %d sessions so far, heap %.1f MB, direct "
              + "%.1f MB, threads %d (Jetty pools %d, wscluster %d, redisson %d, other %d), channels %d, "
              + "subscriptions %d, keys %d (%d under load), redis clients %d (%d under load; %d subscribed, at most "
              + "%d publishing per node)", round, seconds, sessions, heapBytes / (double) MB,
          directBytes / (double) MB, threads, poolThreads, pluginThreads, redissonThreads, otherThreads(), channels,
          subscriptions, keys, keysUnderLoad, redisClients, redisClientsUnderLoad, subscriberConnections,
          publishingConnectionsMax);
    }
  }

  private static Sample sample(RedisServer redis, String pattern, int round, long t0, long keysBefore,
      long keysUnderLoad, long redisClientsUnderLoad, Tally tally) throws Exception {
    try {
      Settle.until("DBSIZE back to " + keysBefore, SETTLE, Duration.ofMillis(100),
          () -> dbsize(redis) == keysBefore);
    } catch (ConditionTimeoutException e) {
      LOG.warn("soak round {}: DBSIZE {} after {}, expected {}", round, dbsize(redis), SETTLE, keysBefore);
    }
    long keys = dbsize(redis);
    System.gc();
    System.gc();
    long heap = ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getUsed();
    long direct = ManagementFactory.getPlatformMXBeans(BufferPoolMXBean.class).stream()
        .filter(b -> b.getName().equals("direct")).mapToLong(BufferPoolMXBean::getMemoryUsed).sum();
    List<String> threads = allThreadNames();
    long pools = threads.stream().filter(n -> n.startsWith("it-jetty-") || n.startsWith("WebSocket@")).count();
    long plugin = threads.stream().filter(n -> n.startsWith("wscluster-")).count();
    long redisson = threads.stream().filter(n -> n.startsWith("redisson-")).count();
    long subscribed = 0;
    Map<String, Long> publishing = new TreeMap<>();
    for (Map<String, String> c : redis.clientList()) {
      if (!"0".equals(c.getOrDefault("sub", "0")) || !"0".equals(c.getOrDefault("psub", "0"))) {
        subscribed++;
      } else if (c.getOrDefault("name", "").startsWith("wscluster-")) {
        publishing.merge(c.get("name"), 1L, Long::sum);
      }
    }
    return new Sample(round, TimeUnit.NANOSECONDS.toSeconds(System.nanoTime() - t0), tally.sessions.get(), heap,
        direct, threads.size(), pools, plugin, redisson, redis.channels(pattern).size(),
        redis.totalSubscriptions(pattern), keys, keysUnderLoad, redis.connectedClients(), redisClientsUnderLoad,
        subscribed, publishing.values().stream().mapToLong(Long::longValue).max().orElse(0));
  }

  private static List<String> allThreadNames() {
    return Thread.getAllStackTraces().keySet().stream().filter(Thread::isAlive).map(Thread::getName).toList();
  }

  private static long dbsize(RedisServer redis) throws Exception {
    return (Long) redis.command("DBSIZE");
  }

  private static long median(List<Sample> samples, ToLongFunction<Sample> value) {
    long[] values = samples.stream().mapToLong(value).sorted().toArray();
    return values[values.length / 2];
  }

  // ---------------------------------------------------------------- the JSON line

  private static String summary(Duration duration, long seed, Tally tally, List<Sample> samples,
      List<Sample> steady, long keysBefore, long nodeDuplicatesDropped) {
    Map<String, Object> out = new LinkedHashMap<>();
    out.put("workload", "soak");
    out.put("minutes", duration.toSeconds() / 60.0);
    out.put("nodes", NODES);
    out.put("clients", CLIENTS);
    out.put("seed", seed);
    out.put("rounds", samples.size());
    out.put("sessions", tally.sessions.get());
    out.put("abruptCloses", tally.aborted.get());
    out.put("messagesSent", tally.sent.get());
    out.put("membershipChanges", tally.membershipChanges.get());
    out.put("deliveries", tally.deliveries.get());
    out.put("duplicates", tally.duplicates.get());
    out.put("errors", tally.errors.get());
    out.put("deliverOutcomes", tally.outcomes());
    out.put("quietChecks", tally.quietChecks.get());
    out.put("quietCellsExactlyOnce", tally.quietCells.get());
    out.put("nodeDuplicatesDropped", nodeDuplicatesDropped);
    out.put("warmUpSamples", samples.size() - steady.size());
    if (steady.size() >= 3) {
      int third = steady.size() / 3;
      out.put("sessionsBetweenThirds", median(steady.subList(steady.size() - third, steady.size()), Sample::sessions)
          - median(steady.subList(0, third), Sample::sessions));
    }
    Map<String, Object> figures = new LinkedHashMap<>();
    figures.put("heapMb", firstLast(steady, s -> s.heapBytes() * 10 / MB, 10.0));
    figures.put("directMb", firstLast(steady, s -> s.directBytes() * 10 / MB, 10.0));
    figures.put("threads", firstLast(steady, Sample::threads, 1));
    figures.put("jettyPoolThreads", firstLast(steady, Sample::poolThreads, 1));
    figures.put("otherThreads", firstLast(steady, Sample::otherThreads, 1));
    figures.put("wsclusterThreads", firstLast(steady, Sample::pluginThreads, 1));
    figures.put("redissonThreads", firstLast(steady, Sample::redissonThreads, 1));
    figures.put("channels", firstLast(steady, Sample::channels, 1));
    figures.put("subscriptions", firstLast(steady, Sample::subscriptions, 1));
    figures.put("keysBefore", keysBefore);
    figures.put("keys", firstLast(steady, Sample::keys, 1));
    figures.put("keysUnderLoadMax", samples.stream().mapToLong(Sample::keysUnderLoad).max().orElse(0));
    figures.put("redisClients", firstLast(steady, Sample::redisClients, 1));
    figures.put("redisClientsUnderLoadMax",
        samples.stream().mapToLong(Sample::redisClientsUnderLoad).max().orElse(0));
    figures.put("redisSubscriberConnections", firstLast(steady, Sample::subscriberConnections, 1));
    out.put("samples", figures);
    Map<String, Object> machine = new LinkedHashMap<>();
    machine.put("cores", Runtime.getRuntime().availableProcessors());
    machine.put("jdk", System.getProperty("java.version"));
    machine.put("maxHeapMb", Runtime.getRuntime().maxMemory() / MB);
    out.put("machine", machine);
    return Json.write(out);
  }

  /**
   * Medians of the first and last third of the samples after the warm-up, and every value in order (each divided by
   * {@code scale}).
   */
  private static Map<String, Object> firstLast(List<Sample> steady, ToLongFunction<Sample> value, double scale) {
    Map<String, Object> out = new LinkedHashMap<>();
    int third = Math.max(1, steady.size() / 3);
    if (steady.isEmpty()) {
      return out;
    }
    out.put("first", scaled(median(steady.subList(0, third), value), scale));
    out.put("last", scaled(median(steady.subList(steady.size() - third, steady.size()), value), scale));
    out.put("all", steady.stream().map(s -> scaled(value.applyAsLong(s), scale)).toList());
    return out;
  }

  private static Object scaled(long value, double scale) {
    return scale == 1 ? (Object) value : (Object) (value / scale);
  }
}
