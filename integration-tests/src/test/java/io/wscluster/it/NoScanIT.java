package io.wscluster.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.wscluster.it.RedisServer.CommandStats;
import io.wscluster.it.TestClient.Deliver;
import io.wscluster.it.TestClient.Outcome;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The "no cluster-wide scan" property of targeted delivery and presence, measured on the test's own Redis: one
 * {@code deliver} to one session and one of each presence query issue exactly the same Redis commands (and move
 * the same number of bytes) with {@value #SMALL} connected sessions as with {@value #LARGE}.
 *
 * <p>How it counts: {@code CONFIG RESETSTAT}, one operation through a chat client (awaited until its answer
 * arrives, then {@link #AFTER_OP} for any trailing command), then {@code INFO stats commandstats}: calls per command
 * and {@code total_net_input/output_bytes}. Not counted: the harness's own {@code INFO} and {@code CONFIG RESETSTAT},
 * and {@code PING}, which Redisson sends on every connection on a timer (a function of time, not of sessions). The
 * nodes run with a 1 min heartbeat and 5 min TTL so that no lease renewal falls into the short windows; to be safe
 * against any other timer each operation is measured {@value #REPS} times and the quietest run counts (timers can
 * only add commands, never remove the operation's own).
 *
 * <p>Negative control: a deliberate scan of the cluster's keys ({@code SCAN 0 MATCH prefix* COUNT 100} to the end,
 * what "fetch every socket, then find one" amounts to in Redis) measured the same way DOES grow from
 * {@value #SMALL} to {@value #LARGE} sessions, proving the counter sees growth when there is some.
 */
class NoScanIT {

  private static final Logger LOG = LoggerFactory.getLogger(NoScanIT.class);
  static final int SMALL = 100;
  static final int LARGE = 2_000;
  private static final int REPS = 3;
  private static final Duration AFTER_OP = Duration.ofMillis(200);
  /** Commands of the harness itself and Redisson's timer PINGs; see the class comment. */
  private static final Set<String> NOT_COUNTED = Set.of("info", "config|resetstat", "ping");
  private static final int CONNECT_THREADS = 8;
  private static final String IDLE = "idle (baseline)";

  /** One measured operation: the quietest of {@link #REPS} runs, and the total calls of every run. */
  record Measure(CommandStats quietest, List<Long> callsPerRun) {
    long calls() {
      return quietest.callsExcept(NOT_COUNTED);
    }

    Map<String, Long> perCommand() {
      return quietest.callsWithout(NOT_COUNTED);
    }

    @Override
    public String toString() {
      return calls() + " calls " + perCommand() + ", " + quietest.netInputBytes() + " B in / "
          + quietest.netOutputBytes() + " B out (calls per run " + callsPerRun + ")";
    }
  }

  interface Operation {
    void run() throws Exception;
  }

  @Test
  void deliverToOneSessionAndPresenceQueries_sameRedisCommandsAt100And2000Sessions_whileAScanGrows()
      throws Exception {
    long t0 = System.nanoTime();
    try (Cluster cluster = Cluster.start("noscan", 3, Map.of(), Cluster.everyNode(3, Map.of(
        "wscluster.node.heartbeat", "1m",
        "wscluster.node.ttl", "5m")))) {
      RedisServer redis = cluster.redis();
      TestClient sender = cluster.chat(0, "small", "sender");
      TestClient third = cluster.chat(1, "small", "third");
      TestClient target = cluster.chat(2, "small", "target");
      List<TestClient> small = List.of(sender, third, target);
      AtomicInteger crowd = new AtomicInteger();

      connectCrowd(cluster, crowd, SMALL - small.size());
      awaitDirectory(sender, crowd.get());
      quiesce(redis);
      Map<String, Operation> ops = operations(sender, target, small);
      Map<String, Measure> warmUp = measureAll(redis, ops);
      LOG.info("warm-up (first use of each command, not compared): {}", warmUp);
      Map<String, Measure> atSmall = measureAll(redis, ops);
      Measure scanSmall = measure(redis, () -> scan(redis, cluster.prefix()));
      long keysSmall = (Long) redis.command("DBSIZE");

      long connectStart = System.nanoTime();
      connectCrowd(cluster, crowd, LARGE - SMALL);
      awaitDirectory(sender, crowd.get());
      quiesce(redis);
      LOG.info("connected {} more sessions in {} ms", LARGE - SMALL, (System.nanoTime() - connectStart) / 1_000_000);
      Map<String, Measure> atLarge = measureAll(redis, ops);
      Measure scanLarge = measure(redis, () -> scan(redis, cluster.prefix()));
      long keysLarge = (Long) redis.command("DBSIZE");

      StringBuilder table = new StringBuilder();
      table.append(String.format("%nRedis commands per operation (%d vs %d connected sessions; %d vs %d keys):",
          SMALL, LARGE, keysSmall, keysLarge));
      for (String op : ops.keySet()) {
        table.append(String.format("%n  %-22s %4d sessions: %s%n  %-22s %4d sessions: %s", op, SMALL,
            atSmall.get(op), "", LARGE, atLarge.get(op)));
      }
      table.append(String.format("%n  %-22s %4d sessions: %s%n  %-22s %4d sessions: %s", "SCAN (control)", SMALL,
          scanSmall, "", LARGE, scanLarge));
      LOG.info("{}", table);

      assertTrue(keysLarge > keysSmall + (LARGE - SMALL), "the directory did not grow with the sessions: " + keysSmall
          + " keys at " + SMALL + " sessions, " + keysLarge + " at " + LARGE);
      for (String op : ops.keySet()) {
        Measure a = atSmall.get(op);
        Measure b = atLarge.get(op);
        if (!op.equals(IDLE)) {
          assertTrue(a.calls() > 0, op + " issued no Redis command at all: " + a);
        }
        assertEquals(a.perCommand(), b.perCommand(), op + ": Redis commands at " + SMALL + " vs " + LARGE
            + " sessions");
        // the same commands on the same keys with the same answers: byte for byte the same traffic. Nothing in
        // them varies in length between the runs: the deliver texts have one length, session and node ids are
        // fixed-length, envelopes carry sequence numbers as fixed 8-byte integers, PUBLISH answers the same
        // subscriber count. A command that read a big key whole (SMEMBERS of every session) would show here even
        // though its call count stays the same.
        assertEquals(a.quietest().netInputBytes(), b.quietest().netInputBytes(), op + ": bytes into Redis at "
            + SMALL + " vs " + LARGE + " sessions (" + a + " / " + b + ")");
        assertEquals(a.quietest().netOutputBytes(), b.quietest().netOutputBytes(), op + ": bytes out of Redis at "
            + SMALL + " vs " + LARGE + " sessions (" + a + " / " + b + ")");
      }
      // the negative control: the same counters do see a scan grow
      assertTrue(scanLarge.calls() > scanSmall.calls(), "the control scan's calls did not grow: " + scanSmall
          + " / " + scanLarge);
      assertTrue(scanLarge.quietest().netOutputBytes() > 5 * scanSmall.quietest().netOutputBytes(),
          "the control scan's bytes did not grow: " + scanSmall + " / " + scanLarge);
    }
    LOG.info("NoScanIT done in {} ms", (System.nanoTime() - t0) / 1_000_000);
  }

  /** The measured operations, all asked by {@code sender} (n0) about {@code target} (n2) and the room "small". */
  private static Map<String, Operation> operations(TestClient sender, TestClient target, List<TestClient> small) {
    AtomicInteger n = new AtomicInteger();
    List<String> smallIds = small.stream().map(TestClient::sessionId).sorted().toList();
    Map<String, Operation> ops = new LinkedHashMap<>();
    ops.put("deliver(session)", () -> {
      // same length every time, so that the bytes compare
      String text = String.format("noscan-%06d", n.incrementAndGet());
      Outcome o = sender.deliver(Deliver.text(text).sessions(target.sessionId()));
      assertEquals("receipt", o.type(), "deliver: " + o);
      assertEquals(Set.of(target.sessionId()), o.delivered(), "deliver: " + o);
      target.awaitDelivery(text);
    });
    ops.put("presence nodeOf", () ->
        assertEquals(List.of(target.nodeId()), sender.presence("node", target.sessionId())));
    ops.put("presence sessionsInRoom", () -> assertEquals(smallIds, sender.presence("room", "small")));
    ops.put("presence usersInRoom", () ->
        assertEquals(List.of("sender", "target", "third"), sender.presence("roomUsers", "small")));
    ops.put("presence sessionsOfUser", () ->
        assertEquals(List.of(target.sessionId()), sender.presence("user", "target")));
    // nothing: what the windows hold when no operation runs (the harness's own INFO and RESETSTAT bytes)
    ops.put(IDLE, () -> { });
    return ops;
  }

  private static Map<String, Measure> measureAll(RedisServer redis, Map<String, Operation> ops) throws Exception {
    Map<String, Measure> out = new LinkedHashMap<>();
    for (Map.Entry<String, Operation> e : ops.entrySet()) {
      out.put(e.getKey(), measure(redis, e.getValue()));
    }
    return out;
  }

  /** {@link #REPS} runs of reset, operation, pause, read; the run with the fewest calls (then bytes) counts. */
  private static Measure measure(RedisServer redis, Operation op) throws Exception {
    CommandStats quietest = null;
    List<Long> calls = new ArrayList<>();
    for (int i = 0; i < REPS; i++) {
      redis.resetStats();
      op.run();
      Thread.sleep(AFTER_OP.toMillis());
      CommandStats s = redis.commandStats();
      calls.add(s.callsExcept(NOT_COUNTED));
      if (quietest == null || s.callsExcept(NOT_COUNTED) < quietest.callsExcept(NOT_COUNTED)
          || (s.callsExcept(NOT_COUNTED) == quietest.callsExcept(NOT_COUNTED)
              && s.netOutputBytes() + s.netInputBytes() < quietest.netOutputBytes() + quietest.netInputBytes())) {
        quietest = s;
      }
    }
    return new Measure(quietest, calls);
  }

  /** The control: every key of the cluster, the way a cluster-wide lookup would have to walk them. */
  private static void scan(RedisServer redis, String prefix) throws Exception {
    String cursor = "0";
    do {
      List<?> reply = (List<?>) redis.command("SCAN", cursor, "MATCH", prefix + "*", "COUNT", "100");
      cursor = new String((byte[]) reply.get(0), StandardCharsets.UTF_8);
    } while (!cursor.equals("0"));
  }

  /** Connects {@code count} more chat clients to room "crowd", each its own user, round-robin over the nodes. */
  private static void connectCrowd(Cluster cluster, AtomicInteger crowd, int count) throws Exception {
    ExecutorService pool = Executors.newFixedThreadPool(CONNECT_THREADS);
    try {
      List<Future<TestClient>> futures = new ArrayList<>();
      for (int i = 0; i < count; i++) {
        int n = crowd.getAndIncrement();
        futures.add(pool.submit(() -> cluster.chat(n % 3, "crowd", "c" + n)));
      }
      for (Future<TestClient> f : futures) {
        f.get();
      }
    } finally {
      pool.shutdownNow();
    }
  }

  /**
   * Waits (at most 15 s) until Redis sees no counted command for 300 ms, so that the directory writes of the
   * sessions just connected are over; logs what it saw if that never happens (the quietest-run rule still holds).
   */
  private static void quiesce(RedisServer redis) throws Exception {
    long deadline = System.nanoTime() + Duration.ofSeconds(15).toNanos();
    CommandStats s = null;
    while (System.nanoTime() < deadline) {
      redis.resetStats();
      Thread.sleep(300);
      s = redis.commandStats();
      if (s.callsExcept(NOT_COUNTED) == 0) {
        return;
      }
    }
    LOG.warn("Redis never went quiet for 300 ms; last window: {}", s == null ? null : s.callsWithout(NOT_COUNTED));
  }

  /** Waits until the directory lists every crowd session (so the sessions are really there), then until idle. */
  private static void awaitDirectory(TestClient asker, int crowd) {
    Settle.until("room crowd to list " + crowd + " sessions", Duration.ofSeconds(30), Duration.ofMillis(200),
        () -> asker.presence("room", "crowd").size() == crowd);
  }
}
