package io.wscluster.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLongArray;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A client that stops reading. On each of 3 nodes a raw-socket client (4 KiB receive buffer) joins the room, reads
 * its 101 and welcome, then nothing more; {@code wscluster.outbox.max-frames} is 64 and node i applies overflow
 * policy close, drop-newest and drop-oldest respectively. 2,000 messages of 8 KiB go to the room from a normal
 * client, paced so that the normal clients (one per node) are never more than 32 behind.
 *
 * <p>Asserted: the normal clients get all 2,000 exactly once; /status {@code outbox.queued.max}, polled through
 * the flood, never exceeds 64 on any node (the heap bound is the outbox bound, not a timing); n0 closed its slow
 * session once with 1013 (the client reads the close frame after the messages written before it, a prefix of the
 * flood); n1 and n2 kept theirs, and every flood message either reached the slow client or was counted in
 * {@code overflowDropped}: with drop-newest the client got a prefix of the flood, with drop-oldest the newest 64.
 */
class SlowConsumerIT {

  private static final Logger LOG = LoggerFactory.getLogger(SlowConsumerIT.class);
  private static final int MAX_FRAMES = 64;
  private static final int MESSAGES = 2_000;
  private static final int MESSAGE_CHARS = 8 * 1024;
  /** How far the normal clients may fall behind the sender: well inside {@link #MAX_FRAMES}. */
  private static final int WINDOW = 32;
  private static final int RECEIVE_BUFFER = 4 * 1024;
  private static final String ROOM = "flood";
  private static final List<String> POLICIES = List.of("close", "drop-newest", "drop-oldest");
  private static final Duration WAIT = Duration.ofSeconds(30);

  @Test
  void clientThatStopsReading_policyApplies_outboxStaysBounded_othersGetEverythingOnce() throws Exception {
    Map<Integer, Map<String, String>> params = new HashMap<>();
    for (int i = 0; i < POLICIES.size(); i++) {
      params.put(i, Map.of("wscluster.outbox.max-frames", Integer.toString(MAX_FRAMES),
          "wscluster.outbox.overflow", POLICIES.get(i)));
    }
    ExecutorService threads = Executors.newFixedThreadPool(3);
    List<RawWebSocket> slow = new ArrayList<>();
    try (Cluster cluster = Cluster.start("slow", 3, Map.of(), params)) {
      List<TestClient> readers = List.of(cluster.chat(0, ROOM, "r0"), cluster.chat(1, ROOM, "r1"),
          cluster.chat(2, ROOM, "r2"));
      for (int i = 0; i < 3; i++) {
        RawWebSocket s = RawWebSocket.open(cluster.node(i), "/chat/" + ROOM + "?user=slow" + i, RECEIVE_BUFFER);
        slow.add(s);
        RawWebSocket.Message welcome = s.read();
        assertEquals("welcome", Json.object(welcome.text()).get("type"), "first frame: " + welcome.text());
      }
      // from here on the slow clients read nothing until the flood is over

      AtomicBoolean flooding = new AtomicBoolean(true);
      AtomicLongArray deepest = new AtomicLongArray(3);
      Future<Integer> poller = threads.submit(() -> {
        int samples = 0;
        while (flooding.get()) {
          for (int i = 0; i < 3; i++) {
            long depth = cluster.node(i).stats().get("outbox.queued.max");
            deepest.accumulateAndGet(i, depth, Math::max);
          }
          samples++;
          Thread.sleep(5);
        }
        return samples;
      });
      long t0 = System.nanoTime();
      TestClient sender = readers.get(0);
      ExactlyOnceChecker checker = new ExactlyOnceChecker();
      for (int i = 0; i < MESSAGES; i++) {
        checker.expect(text(i), readers);
        sender.say(text(i));
        if ((i + 1) % WINDOW == 0 || i == MESSAGES - 1) {
          for (TestClient r : readers) {
            r.awaitDeliveryCount(t -> t.startsWith("f:"), i + 1, WAIT, "flood messages");
          }
        }
      }
      long floodMillis = (System.nanoTime() - t0) / 1_000_000;
      Settle.stable(() -> cluster.sumStat("overflowDropped") + cluster.sumStat("overflowClosed"),
          Duration.ofMillis(500), WAIT);
      flooding.set(false);
      int samples = poller.get(10, TimeUnit.SECONDS);
      List<Map<String, Long>> stats = new ArrayList<>();
      for (JettyNode n : cluster.nodes()) {
        stats.add(n.stats());
      }
      LOG.info("flood of {} x {} chars took {} ms; outbox.queued.max per node over {} polls: {}; then overflow "
          + "closed/dropped per node: {}", MESSAGES, MESSAGE_CHARS, floodMillis, samples, deepest,
          IntStream.range(0, 3).mapToObj(i -> POLICIES.get(i) + " " + stats.get(i).get("overflowClosed") + "/"
              + stats.get(i).get("overflowDropped")).toList());

      checker.check(readers, t -> t.startsWith("f:")).assertExactlyOnce("the clients that read, during the flood");
      for (int i = 0; i < 3; i++) {
        assertTrue(deepest.get(i) <= MAX_FRAMES, cluster.node(i).name() + " had an outbox of " + deepest.get(i)
            + " frames, the limit is " + MAX_FRAMES);
      }
      assertTrue(samples >= 10, "the gauges were polled only " + samples + " times during the flood");
      assertEquals(1L, stats.get(0).get("overflowClosed"), "n0 (close) closes its slow session once");
      assertEquals(0L, stats.get(0).get("overflowDropped"), "n0 (close) drops nothing");
      for (int i = 1; i < 3; i++) {
        assertEquals(0L, stats.get(i).get("overflowClosed"), POLICIES.get(i) + " closes nothing");
        assertTrue(stats.get(i).get("overflowDropped") > 0, POLICIES.get(i) + " must have dropped messages");
        assertEquals(MAX_FRAMES, stats.get(i).get("outbox.queued.max"), POLICIES.get(i) + ": the slow session's "
            + "outbox is full and stays so");
      }

      // ---- the close policy: the messages written before the close, then the close frame ----
      List<Integer> closed = new ArrayList<>();
      RawWebSocket.Message close = readFlood(slow.get(0), closed, null);
      LOG.info("close's slow client got {} flood messages, then close {} '{}'", closed.size(), close.closeCode(),
          close.text());
      assertEquals(RawWebSocket.OP_CLOSE, close.opcode(), "n0's slow client: last frame");
      assertEquals(1013, close.closeCode(), "close code");
      assertEquals("wscluster: client too slow, outbox full", close.text(), "close reason");
      assertEquals(prefix(closed.size()), closed, "n0's slow client: what was written before the close");
      slow.get(0).close(); // the client goes away, as a real one does after a close
      Settle.until("n0 to forget its closed session", WAIT, Duration.ofMillis(50),
          () -> cluster.node(0).stat("sessions") == 1);

      // ---- the drop policies: the client reads again, catches up and stays ----
      List<List<Integer>> kept = List.of(new ArrayList<>(), new ArrayList<>());
      List<Future<RawWebSocket.Message>> catchingUp = new ArrayList<>();
      for (int i = 1; i < 3; i++) {
        RawWebSocket s = slow.get(i);
        List<Integer> into = kept.get(i - 1);
        catchingUp.add(threads.submit(() -> readFlood(s, into, "after")));
      }
      Settle.until("the slow outboxes to drain", WAIT, Duration.ofMillis(20),
          () -> cluster.node(1).stat("outbox.queued.total") == 0 && cluster.node(2).stat("outbox.queued.total") == 0);
      sender.say("after");
      for (int i = 1; i < 3; i++) {
        RawWebSocket.Message last = catchingUp.get(i - 1).get(WAIT.toSeconds(), TimeUnit.SECONDS);
        List<Integer> got = kept.get(i - 1);
        long dropped = stats.get(i).get("overflowDropped");
        LOG.info("{}'s slow client got {} flood messages (first {}, last {}); {} dropped", POLICIES.get(i),
            got.size(), got.get(0), got.get(got.size() - 1), dropped);
        assertEquals(RawWebSocket.OP_TEXT, last.opcode(), POLICIES.get(i) + ": the session stays open");
        assertEquals(MESSAGES, got.size() + dropped, POLICIES.get(i) + ": every flood message either reached the "
            + "slow client or was counted as dropped");
        assertTrue(IntStream.range(1, got.size()).allMatch(k -> got.get(k) > got.get(k - 1)),
            POLICIES.get(i) + ": in order, each once");
      }
      assertEquals(prefix(kept.get(0).size()), kept.get(0), "drop-newest keeps the oldest");
      assertFalse(kept.get(0).contains(MESSAGES - 1), "drop-newest dropped the last message");
      List<Integer> oldestKept = new ArrayList<>(prefix(kept.get(1).size() - MAX_FRAMES));
      oldestKept.addAll(IntStream.range(MESSAGES - MAX_FRAMES, MESSAGES).boxed().toList());
      assertEquals(oldestKept, kept.get(1), "drop-oldest: what was written before the stall, then the newest "
          + MAX_FRAMES);
    } finally {
      slow.forEach(RawWebSocket::close);
      threads.shutdownNow();
    }
  }

  /**
   * The default outbox settings (byte bound 4 MiB, stall timeout 10 s, close): a client that reads nothing is judged
   * on both rules while the clients that read are unaffected. In room "flood" a slow client on n0 is sent 1,500
   * messages of 8 KiB (12 MB, far more than its socket buffers and the byte bound take): it is closed by the byte
   * bound, and n0's {@code outbox.bytes.max}, polled throughout, never exceeds 4 MiB. In room "trickle" a slow client
   * on n1 is sent 1,000 messages of 4 KiB: its socket buffers take most of them and its outbox the rest (well under
   * the bound), then its write makes no progress: it is closed by the stall rule, about 10 s later.
   */
  @Test
  void clientThatReadsNothing_defaultSettings_closedByTheByteBoundOrTheStallTimeout_othersGetEverythingOnce()
      throws Exception {
    long bound = 4L << 20;
    List<RawWebSocket> slow = new ArrayList<>();
    ExecutorService threads = Executors.newFixedThreadPool(1);
    try (Cluster cluster = Cluster.start("slow-default", 3)) {
      List<TestClient> flood = List.of(cluster.chat(0, "flood", "r0"), cluster.chat(1, "flood", "r1"),
          cluster.chat(2, "flood", "r2"));
      List<TestClient> trickle = List.of(cluster.chat(1, "trickle", "t1"), cluster.chat(2, "trickle", "t2"));
      slow.add(RawWebSocket.open(cluster.node(0), "/chat/flood?user=slow0", RECEIVE_BUFFER));
      slow.add(RawWebSocket.open(cluster.node(1), "/chat/trickle?user=slow1", RECEIVE_BUFFER));
      for (RawWebSocket s : slow) {
        assertEquals("welcome", Json.object(s.read().text()).get("type"));
      }
      AtomicBoolean polling = new AtomicBoolean(true);
      AtomicLongArray largest = new AtomicLongArray(3);
      Future<Integer> poller = threads.submit(() -> {
        int samples = 0;
        while (polling.get()) {
          for (int i = 0; i < 3; i++) {
            largest.accumulateAndGet(i, cluster.node(i).stats().get("outbox.bytes.max"), Math::max);
          }
          samples++;
          Thread.sleep(5);
        }
        return samples;
      });

      ExactlyOnceChecker checker = new ExactlyOnceChecker();
      for (int i = 0; i < 1_500; i++) {
        checker.expect(text(i), flood);
        flood.get(0).say(text(i));
        if ((i + 1) % WINDOW == 0 || i == 1_499) {
          for (TestClient r : flood) {
            r.awaitDeliveryCount(t -> t.startsWith("f:"), i + 1, WAIT, "flood messages");
          }
        }
      }
      Settle.until("n0 to close its slow client by the byte bound", WAIT, Duration.ofMillis(20),
          () -> cluster.node(0).stat("overflowClosed") == 1);

      for (int i = 0; i < 1_000; i++) {
        String text = String.format("t:%04d:", i) + "y".repeat(4 * 1024 - 7);
        checker.expect(text, trickle);
        trickle.get(0).say(text);
        if ((i + 1) % WINDOW == 0 || i == 999) {
          for (TestClient r : trickle) {
            r.awaitDeliveryCount(t -> t.startsWith("t:"), i + 1, WAIT, "trickle messages");
          }
        }
      }
      long trickled = System.nanoTime();
      long closedAt = Settle.until("n1 to close its stalled client", Duration.ofSeconds(40), Duration.ofMillis(20),
          () -> cluster.node(1).stat("overflowClosed") == 1);
      polling.set(false);
      int samples = poller.get(10, TimeUnit.SECONDS);
      LOG.info("default outbox: n0 closed its slow client by the byte bound; n1 closed its stalled client {} ms after "
          + "the last trickle message; outbox.bytes.max per node over {} polls: {}",
          Settle.millis(trickled, closedAt), samples, largest);

      checker.check(flood, t -> t.startsWith("f:")).assertExactlyOnce("the clients that read, in room flood");
      checker.check(trickle, t -> t.startsWith("t:")).assertExactlyOnce("the clients that read, in room trickle");
      for (int i = 0; i < 3; i++) {
        assertTrue(largest.get(i) <= bound, cluster.node(i).name() + " held " + largest.get(i) + " bytes for a "
            + "session, the bound is " + bound);
      }
      assertTrue(largest.get(0) > bound / 2, "the flood should have filled n0's slow outbox: " + largest);
      assertTrue(largest.get(1) > 0 && largest.get(1) < bound / 2, "the trickle stalls below the bound: " + largest);
      assertTrue(Settle.millis(trickled, closedAt) >= 5_000, "closed by the stall rule, not at once");
      assertEquals(0L, cluster.node(2).stat("overflowClosed"), "n2 has no slow client");
      for (RawWebSocket s : slow) {
        RawWebSocket.Message last = s.read();
        while (last.opcode() != RawWebSocket.OP_CLOSE) {
          last = s.read();
        }
        assertEquals(1013, last.closeCode(), "close code");
      }
    } finally {
      slow.forEach(RawWebSocket::close);
      threads.shutdownNow();
    }
  }

  private static String text(int i) {
    String id = String.format("f:%04d:", i);
    return id + "x".repeat(MESSAGE_CHARS - id.length());
  }

  private static List<Integer> prefix(int n) {
    return IntStream.range(0, n).boxed().toList();
  }

  /**
   * Reads chat messages, adding the index of each flood message to {@code into}, until a close frame or the
   * message {@code until}; returns that last frame.
   */
  private static RawWebSocket.Message readFlood(RawWebSocket ws, List<Integer> into, String until)
      throws Exception {
    while (true) {
      RawWebSocket.Message m = ws.read();
      if (m.opcode() == RawWebSocket.OP_CLOSE) {
        return m;
      }
      String text = (String) Json.object(m.text()).get("text");
      if (text.equals(until)) {
        return m;
      }
      into.add(Integer.parseInt(text.substring(2, 6)));
    }
  }
}
