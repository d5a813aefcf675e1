package io.wscluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.wscluster.FakeSession.Completion;
import io.wscluster.WsClusterConfig.Overflow;
import jakarta.websocket.CloseReason;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/** One session's bounded queue: one write in flight, FIFO, overflow policies, failures. */
class OutboxTest {
  private static final String NODE = "node-a-12345678";

  private final Stats stats = new Stats();
  private final FakeSession fake = new FakeSession().completion(Completion.MANUAL);

  private Outbox outbox(int maxFrames, Overflow overflow) {
    return new Outbox(fake.session, maxFrames, overflow, stats, NODE);
  }

  private static List<String> texts(String prefix, int from, int toExclusive) {
    List<String> out = new ArrayList<>();
    for (int i = from; i < toExclusive; i++) {
      out.add(prefix + i);
    }
    return out;
  }

  // ================================================================ ordering and flow

  @Test
  void offer_severalFrames_writesOneAtATimeInFifoOrder() {
    Outbox box = outbox(16, Overflow.CLOSE);

    for (int i = 0; i < 5; i++) {
      box.offer("m" + i);
    }

    assertEquals(List.of("m0"), fake.received(), "only the first write is started");
    assertEquals(4, box.size());
    for (int i = 1; i < 5; i++) {
      assertTrue(fake.completeNext());
      assertEquals(texts("m", 0, i + 1), fake.received());
      assertEquals(1, fake.pendingWrites(), "never two writes in flight");
    }
    assertTrue(fake.completeNext());
    assertFalse(fake.completeNext(), "nothing left");
    assertEquals(0, box.size());
    assertEquals(1, fake.maxInFlight());
    assertEquals(5, stats.get(Stats.DELIVERED));
  }

  @Test
  void offer_afterTheQueueDrained_startsWritingAgain() {
    Outbox box = outbox(16, Overflow.CLOSE);
    box.offer("a");
    fake.completeNext();

    box.offer("b");

    assertEquals(List.of("a", "b"), fake.received());
  }

  @Test
  void offer_binaryFrame_eachWriteGetsItsOwnView() {
    FakeSession other = new FakeSession();
    Outbox first = outbox(16, Overflow.CLOSE);
    Outbox second = new Outbox(other.session, 16, Overflow.CLOSE, stats, NODE);
    ByteBuffer shared = ByteBuffer.wrap("payload".getBytes(StandardCharsets.UTF_8))
        .asReadOnlyBuffer();

    first.offer(shared);
    second.offer(shared);
    first.offer(shared);
    fake.completeNext();

    assertEquals(List.of("bin:payload", "bin:payload"), fake.received());
    assertEquals(List.of("bin:payload"), other.received());
    assertEquals(7, shared.remaining(), "the shared buffer is never consumed");
  }

  @Test
  void offer_100kFramesCompletedInline_neitherRecursesNorLosesOrder() {
    int n = 100_000;
    Outbox box = outbox(n, Overflow.CLOSE);
    box.offer("m0"); // in flight, held
    for (int i = 1; i <= n; i++) {
      box.offer("m" + i);
    }
    assertEquals(n, box.size());

    fake.completion(Completion.INLINE);
    fake.completeNext(); // every further write completes inside sendText

    assertEquals(n + 1, fake.receivedCount());
    assertEquals(texts("m", 0, n + 1), fake.received());
    assertEquals(0, box.size());
    assertEquals(n + 1, stats.get(Stats.DELIVERED));
  }

  @Test
  void offer_inlineCompletionFromTheStart_deliversEverything() {
    fake.completion(Completion.INLINE);
    Outbox box = outbox(4, Overflow.CLOSE);

    for (int i = 0; i < 1_000; i++) {
      box.offer("m" + i);
    }

    assertEquals(texts("m", 0, 1_000), fake.received());
    assertEquals(0, stats.get(Stats.OVERFLOW_CLOSED), "inline writes never fill the queue");
  }

  @Test
  void offer_concurrentProducersWithCompletionsOnAnotherThread_keepOneInFlightAndEachOrder()
      throws Exception {
    int producers = 4;
    int perProducer = 5_000;
    Outbox box = outbox(producers * perProducer, Overflow.CLOSE);
    ExecutorService pool = Executors.newFixedThreadPool(producers);
    AtomicBoolean done = new AtomicBoolean();
    Thread completer = new Thread(() -> {
      while (!done.get() || fake.pendingWrites() > 0) {
        if (!fake.completeNext()) {
          Thread.onSpinWait();
        }
      }
    }, "test-completer");
    completer.start();
    try {
      CountDownLatch go = new CountDownLatch(1);
      List<Future<?>> futures = new ArrayList<>();
      for (int p = 0; p < producers; p++) {
        String prefix = "p" + p + "-";
        futures.add(pool.submit(() -> {
          go.await();
          for (int i = 0; i < perProducer; i++) {
            box.offer(prefix + i);
          }
          return null;
        }));
      }
      go.countDown();
      for (Future<?> f : futures) {
        f.get(20, TimeUnit.SECONDS);
      }
      Awaitility.await().atMost(Duration.ofSeconds(20))
          .until(() -> fake.receivedCount() == producers * perProducer);
    } finally {
      done.set(true);
      completer.join(10_000);
      pool.shutdownNow();
    }

    assertEquals(1, fake.maxInFlight(), "one write in flight at a time");
    List<String> got = fake.received();
    for (int p = 0; p < producers; p++) {
      String prefix = "p" + p + "-";
      List<String> mine = new ArrayList<>();
      for (String s : got) {
        if (s.startsWith(prefix)) {
          mine.add(s);
        }
      }
      assertEquals(texts(prefix, 0, perProducer), mine, "order of producer " + p);
    }
  }

  // ================================================================ overflow policies

  @Test
  void offer_overflowWithClosePolicy_closesWith1013AndCounts() {
    Outbox box = outbox(3, Overflow.CLOSE);
    box.offer("in-flight");
    for (int i = 0; i < 3; i++) {
      box.offer("q" + i);
    }
    assertEquals(0, stats.get(Stats.OVERFLOW_CLOSED));

    box.offer("one too many");

    assertEquals(1, fake.closeCalls());
    CloseReason reason = fake.closeReason();
    assertEquals(CloseReason.CloseCodes.TRY_AGAIN_LATER, reason.getCloseCode());
    assertEquals(1013, reason.getCloseCode().getCode());
    assertEquals("wscluster: client too slow, outbox full", reason.getReasonPhrase());
    assertEquals(1, stats.get(Stats.OVERFLOW_CLOSED));
    assertEquals(0, box.size(), "the queue is dropped");
  }

  @Test
  void offer_afterOverflowClose_isIgnoredAndClosesOnlyOnce() {
    Outbox box = outbox(1, Overflow.CLOSE);
    box.offer("in-flight");
    box.offer("queued");
    box.offer("overflow");

    box.offer("late-1");
    box.offer("late-2");
    fake.completeNext();

    assertEquals(1, fake.closeCalls());
    assertEquals(1, stats.get(Stats.OVERFLOW_CLOSED));
    assertEquals(List.of("in-flight"), fake.received(), "nothing written after the close");
  }

  @Test
  void offer_overflowWithDropNewest_keepsTheOldestAndCounts() {
    int max = 5;
    Outbox box = outbox(max, Overflow.DROP_NEWEST);
    for (int i = 0; i < 20; i++) {
      box.offer("m" + i);
      assertTrue(box.size() <= max, "size " + box.size());
    }

    assertEquals(max, box.size());
    assertEquals(20 - 1 - max, stats.get(Stats.OVERFLOW_DROPPED));
    while (fake.completeNext()) {
      // drain
    }
    assertEquals(texts("m", 0, 1 + max), fake.received());
    assertEquals(0, fake.closeCalls());
    assertEquals(0, stats.get(Stats.OVERFLOW_CLOSED));
  }

  @Test
  void offer_overflowWithDropOldest_keepsTheNewestAndCounts() {
    int max = 5;
    Outbox box = outbox(max, Overflow.DROP_OLDEST);
    for (int i = 0; i < 20; i++) {
      box.offer("m" + i);
      assertTrue(box.size() <= max, "size " + box.size());
    }

    assertEquals(max, box.size());
    assertEquals(20 - 1 - max, stats.get(Stats.OVERFLOW_DROPPED));
    while (fake.completeNext()) {
      // drain
    }
    List<String> expected = new ArrayList<>(List.of("m0")); // was already in flight
    expected.addAll(texts("m", 20 - max, 20));
    assertEquals(expected, fake.received());
    assertEquals(0, fake.closeCalls());
  }

  @Test
  void offer_dropPolicies_keepWorkingAfterTheClientCatchesUp() {
    Outbox box = outbox(2, Overflow.DROP_NEWEST);
    for (int i = 0; i < 10; i++) {
      box.offer("a" + i);
    }
    while (fake.completeNext()) {
      // the client catches up
    }

    box.offer("b0");
    box.offer("b1");
    box.offer("b2");
    while (fake.completeNext()) {
      // drain
    }

    assertEquals(List.of("a0", "a1", "a2", "b0", "b1", "b2"), fake.received());
  }

  /**
   * The gauge behind {@code outbox.queued.max}: read from another thread while producers flood a
   * client that never reads, the size never exceeds the bound, whatever the policy.
   */
  @ParameterizedTest(name = "{0}")
  @EnumSource(Overflow.class)
  void size_readWhileProducersFloodAStalledClient_neverExceedsMaxFrames(Overflow policy)
      throws Exception {
    int max = 64;
    Outbox box = outbox(max, policy);
    ExecutorService pool = Executors.newFixedThreadPool(3);
    AtomicBoolean done = new AtomicBoolean();
    int largest = 0;
    try {
      List<Future<?>> producers = new ArrayList<>();
      for (int p = 0; p < 2; p++) {
        String prefix = "p" + p + "-";
        producers.add(pool.submit(() -> {
          for (int i = 0; i < 20_000; i++) {
            box.offer(prefix + i);
          }
        }));
      }
      Future<?> finished = pool.submit(() -> {
        for (Future<?> f : producers) {
          f.get();
        }
        done.set(true);
        return null;
      });
      while (!done.get()) {
        largest = Math.max(largest, box.size());
      }
      finished.get(30, TimeUnit.SECONDS);
    } finally {
      pool.shutdownNow();
    }

    assertTrue(largest <= max, policy + ": size reached " + largest);
    assertEquals(1, fake.pendingWrites(), "the one write in flight stalls");
    if (policy == Overflow.CLOSE) {
      assertEquals(0, box.size(), "closed: the queue is dropped");
      assertEquals(1, stats.get(Stats.OVERFLOW_CLOSED));
    } else {
      assertEquals(max, box.size());
      assertEquals(40_000 - 1 - max, stats.get(Stats.OVERFLOW_DROPPED),
          "every frame is written, queued or counted as dropped");
    }
  }

  // ================================================================ failures

  @Test
  void onResult_failedWrite_isCountedAndTheNextFrameIsWritten() {
    Outbox box = outbox(16, Overflow.CLOSE);
    box.offer("m0");
    box.offer("m1");
    box.offer("m2");

    fake.failNext();
    fake.completeNext();
    fake.completeNext();

    assertEquals(List.of("m0", "m1", "m2"), fake.received());
    assertEquals(1, stats.get(Stats.SEND_FAILED));
    assertEquals(2, stats.get(Stats.DELIVERED));
  }

  @Test
  void onResult_failedInlineWrites_areCountedAndTheDrainContinues() {
    fake.completion(Completion.INLINE).failInlineWrites(3);
    Outbox box = outbox(16, Overflow.CLOSE);

    for (int i = 0; i < 6; i++) {
      box.offer("m" + i);
    }

    assertEquals(texts("m", 0, 6), fake.received());
    assertEquals(3, stats.get(Stats.SEND_FAILED));
    assertEquals(3, stats.get(Stats.DELIVERED));
  }

  @Test
  void onResult_jettysMixedTypeRace_writesTheSameFrameAgain() {
    Outbox box = outbox(16, Overflow.CLOSE);
    java.util.concurrent.CompletableFuture<Void> written = new java.util.concurrent.CompletableFuture<>();
    box.offer(ByteBuffer.wrap("b".getBytes(StandardCharsets.UTF_8)), written);
    box.offer("next");

    // what Jetty reports when the app starts a text message on another thread at that instant
    fake.failNext(new RuntimeException("Cannot start BINARY message when TEXT message is not complete yet"));
    fake.completeNext();
    fake.completeNext();

    assertEquals(List.of("bin:b", "bin:b", "next"), fake.received());
    assertEquals(1, stats.get(Stats.WRITE_RETRIES));
    assertEquals(0, stats.get(Stats.SEND_FAILED));
    assertEquals(2, stats.get(Stats.DELIVERED));
    assertTrue(written.isDone() && !written.isCompletedExceptionally());
  }

  @Test
  void onResult_otherFailure_isNotRetriedAndFailsTheWaiter() {
    Outbox box = outbox(16, Overflow.CLOSE);
    java.util.concurrent.CompletableFuture<Void> written = new java.util.concurrent.CompletableFuture<>();
    box.offer("m0", written);

    fake.failNext();

    assertEquals(List.of("m0"), fake.received());
    assertEquals(0, stats.get(Stats.WRITE_RETRIES));
    assertTrue(written.isCompletedExceptionally());
  }

  @Test
  void offer_withWaiter_completesWhenWrittenAndFailsWhenDroppedOrClosed() {
    Outbox box = outbox(1, Overflow.DROP_NEWEST);
    java.util.concurrent.CompletableFuture<Void> first = new java.util.concurrent.CompletableFuture<>();
    java.util.concurrent.CompletableFuture<Void> queued = new java.util.concurrent.CompletableFuture<>();
    java.util.concurrent.CompletableFuture<Void> dropped = new java.util.concurrent.CompletableFuture<>();
    box.offer("in-flight", first);
    box.offer("queued", queued);
    box.offer("dropped", dropped);

    assertTrue(dropped.isCompletedExceptionally(), "a dropped frame fails its waiter");
    fake.completeNext();
    assertTrue(first.isDone() && !first.isCompletedExceptionally());
    box.close();
    java.util.concurrent.CompletableFuture<Void> late = new java.util.concurrent.CompletableFuture<>();
    box.offer("late", late);
    assertTrue(late.isCompletedExceptionally(), "a closed outbox fails new waiters at once");
  }

  @Test
  void offer_sendThatThrows_isCountedAsFailedAndTheOutboxKeepsWorking() {
    fake.completion(Completion.INLINE).throwOnSend(new IllegalStateException("socket closed"));
    Outbox box = outbox(16, Overflow.CLOSE);

    box.offer("lost-1");
    box.offer("lost-2");
    fake.throwOnSend(null);
    box.offer("ok");

    assertEquals(2, stats.get(Stats.SEND_FAILED));
    assertEquals(List.of("ok"), fake.received());
    assertEquals(1, stats.get(Stats.DELIVERED));
  }

  // ================================================================ close

  @Test
  void close_dropsTheQueueAndRefusesMore() {
    Outbox box = outbox(16, Overflow.CLOSE);
    box.offer("m0");
    box.offer("m1");

    box.close();
    box.offer("m2");
    fake.completeNext();

    assertEquals(List.of("m0"), fake.received());
    assertEquals(0, box.size());
    assertFalse(fake.completeNext());
    assertNull(fake.closeReason(), "closing the outbox does not close the session");
  }

  @Test
  void overflowClose_reasonPhrase_fitsTheWebSocketLimit() {
    // a close frame's reason may hold at most 123 bytes of UTF-8
    assertTrue(Outbox.OVERFLOW_CLOSE.getReasonPhrase().getBytes(StandardCharsets.UTF_8).length
        <= 123);
    assertSame(CloseReason.CloseCodes.TRY_AGAIN_LATER, Outbox.OVERFLOW_CLOSE.getCloseCode());
  }

  // ================================================================ runs (a batching writer)

  /** A writer that batches, as Jetty's core session does; completes when the test says. */
  private static final class RunWriter extends SessionWriter {
    final List<String> calls = new ArrayList<>();
    final java.util.ArrayDeque<Done> pending = new java.util.ArrayDeque<>();

    @Override
    boolean batches() {
      return true;
    }

    @Override
    synchronized void write(Payload payload, boolean more, Done done) {
      calls.add(payload.text() + (more ? "+" : ""));
      pending.add(done);
    }

    void completeAll(Throwable failure) {
      Done d;
      while (true) {
        synchronized (this) {
          d = pending.poll();
        }
        if (d == null) {
          return;
        }
        d.written(failure);
      }
    }
  }

  @Test
  void batchingWriter_framesQueuedDuringARun_goOutAsTheNextRun_flaggedMoreButTheLast() {
    RunWriter writer = new RunWriter();
    Outbox box = new Outbox(fake.session, writer, 16, Overflow.CLOSE, stats, NODE);

    box.offer("a");
    box.offer("b");
    box.offer("c");
    box.offer("d");
    assertEquals(List.of("a"), writer.calls, "one run at a time");
    writer.completeAll(null);

    assertEquals(List.of("a", "b+", "c+", "d"), writer.calls);
    assertEquals(2, stats.get(Stats.BATCHED_FRAMES));
    writer.completeAll(null);
    assertEquals(4, stats.get(Stats.DELIVERED));
  }

  @Test
  void heldOffers_waitForRelease_thenGoAsOneRun() {
    RunWriter writer = new RunWriter();
    Outbox box = new Outbox(fake.session, writer, 16, Overflow.CLOSE, stats, NODE);

    box.offer("a", null, true);
    box.offer("b", null, true);
    assertEquals(List.of(), writer.calls, "held");
    box.release();
    box.release(); // idempotent while the run is in flight

    assertEquals(List.of("a+", "b"), writer.calls);
    writer.completeAll(null);
    box.release(); // nothing queued: nothing happens
    assertEquals(List.of("a+", "b"), writer.calls);
  }

  @Test
  void heldOffers_withTheJakartaWriter_releaseWritesOneAtATimeInOrder() {
    Outbox box = outbox(16, Overflow.CLOSE);
    box.offer("a", null, true);
    box.offer("b", null, true);
    assertEquals(List.of(), fake.received());

    box.release();
    fake.completeNext();

    assertEquals(List.of("a", "b"), fake.received());
  }

  @Test
  void batchingWriter_failedRun_failsEachWaiterAndTheNextRunStillGoes() {
    RunWriter writer = new RunWriter();
    Outbox box = new Outbox(fake.session, writer, 16, Overflow.CLOSE, stats, NODE);
    java.util.concurrent.CompletableFuture<Void> first = new java.util.concurrent.CompletableFuture<>();
    java.util.concurrent.CompletableFuture<Void> second = new java.util.concurrent.CompletableFuture<>();
    box.offer("a", first, true);
    box.offer("b", second, true);
    box.release();

    writer.completeAll(new java.io.IOException("broken pipe"));
    box.offer("c");

    assertTrue(first.isCompletedExceptionally() && second.isCompletedExceptionally());
    assertEquals(2, stats.get(Stats.SEND_FAILED));
    assertEquals(List.of("a+", "b", "c"), writer.calls);
  }

  @Test
  void batchingWriter_aRunInFlight_countsAsWaitingButItsFirstFrame_forTheBoundAndTheGauge() {
    RunWriter writer = new RunWriter();
    Outbox box = new Outbox(fake.session, writer, 3, Overflow.DROP_NEWEST, stats, NODE);
    box.offer("a", null, true);
    box.offer("b", null, true);
    box.offer("c", null, true);
    box.release();
    assertEquals(List.of("a+", "b+", "c"), writer.calls);
    assertEquals(2, box.size(), "as if only a were being written");

    box.offer("d");
    box.offer("e");

    assertEquals(3, box.size(), "full at maxFrames, as with one frame in flight");
    assertEquals(1, stats.get(Stats.OVERFLOW_DROPPED));
    writer.completeAll(null);
    assertEquals(List.of("a+", "b+", "c", "d"), writer.calls);
  }

  @Test
  void batchingWriter_dropOldest_handsOverOneFrameAtATime_soTheNewestSurvive() {
    RunWriter writer = new RunWriter();
    Outbox box = new Outbox(fake.session, writer, 2, Overflow.DROP_OLDEST, stats, NODE);
    box.offer("a", null, true);
    box.offer("b", null, true);
    box.release();
    assertEquals(List.of("a"), writer.calls, "no run under drop-oldest");

    box.offer("c");
    box.offer("d"); // b is dropped, the oldest waiting
    writer.completeAll(null);
    writer.completeAll(null);
    writer.completeAll(null);

    assertEquals(List.of("a", "c", "d"), writer.calls);
    assertEquals(1, stats.get(Stats.OVERFLOW_DROPPED));
  }

  @Test
  void batchingWriter_runsAreCappedInFramesAndBytes() {
    RunWriter writer = new RunWriter();
    Outbox box = new Outbox(fake.session, writer, 1024, Overflow.CLOSE, stats, NODE);
    for (int i = 0; i < Outbox.MAX_RUN_FRAMES + 10; i++) {
      box.offer("m" + i, null, true);
    }
    box.release();
    assertEquals(Outbox.MAX_RUN_FRAMES, writer.calls.size());
    assertTrue(writer.calls.get(Outbox.MAX_RUN_FRAMES - 1).equals("m" + (Outbox.MAX_RUN_FRAMES - 1)),
        "the last of a run is not flagged: Jetty flushes it");
    writer.completeAll(null);
    assertEquals(Outbox.MAX_RUN_FRAMES + 10, writer.calls.size());

    String big = "x".repeat(Outbox.MAX_RUN_BYTES / 2 + 1);
    writer.completeAll(null);
    writer.calls.clear();
    box.offer(big, null, true);
    box.offer(big, null, true);
    box.release();
    assertEquals(1, writer.calls.size(), "two frames over the byte cap: two runs");
  }

  // ================================================================ byte bound and stall judgement

  private final long[] now = {1_000_000_000L};

  /** Frames of 100 payload bytes cost 164 against the byte bound. */
  private static String frame100(int i) {
    String head = "m" + i + ":";
    return head + "x".repeat(100 - head.length());
  }

  private Outbox judged(SessionWriter writer, long maxBytes, long stallMillis, Overflow overflow) {
    return new Outbox(fake.session, writer, new OutboxLimits(1_000_000, maxBytes,
        TimeUnit.MILLISECONDS.toNanos(stallMillis), overflow, 0, null, () -> now[0]), stats, NODE);
  }

  @Test
  void byteBound_aBurstWithinTheBound_aHealthyClientTakesItAll_nothingClosed() {
    RunWriter writer = new RunWriter();
    Outbox box = judged(writer, 164 * 3000, 10_000, Overflow.CLOSE);

    for (int i = 0; i < 3000; i++) { // an outage's burst, far past the frame bound of old
      box.offer(frame100(i));
    }
    assertEquals(164L * 3000, box.bytes());
    while (!writer.pending.isEmpty()) {
      now[0] += TimeUnit.MILLISECONDS.toNanos(5); // the client reads, slowly but steadily
      writer.completeAll(null);
    }

    assertEquals(0, fake.closeCalls());
    assertEquals(3000, stats.get(Stats.DELIVERED));
    assertEquals(0, box.bytes());
  }

  @Test
  void byteBound_aFrameThatWouldPassIt_closesTheSession_andTheBytesNeverPassedIt() {
    RunWriter writer = new RunWriter();
    Outbox box = judged(writer, 164 * 10, 10_000, Overflow.CLOSE);
    List<java.util.concurrent.CompletableFuture<Void>> writes = new ArrayList<>();
    for (int i = 0; i < 11; i++) {
      java.util.concurrent.CompletableFuture<Void> w = new java.util.concurrent.CompletableFuture<>();
      writes.add(w);
      box.offer(frame100(i), w);
      assertTrue(box.bytes() <= 164 * 10, "at most the bound");
    }

    assertEquals(1, fake.closeCalls());
    assertEquals(1013, fake.closeReason().getCloseCode().getCode());
    assertEquals(1, stats.get(Stats.OVERFLOW_CLOSED));
    assertTrue(writes.get(10).isCompletedExceptionally(), "the one that did not fit fails");
    assertTrue(writes.get(5).isCompletedExceptionally(), "and what waited");
  }

  @Test
  void byteBound_dropNewest_dropsWhatDoesNotFit_theSessionStaysOpen() {
    RunWriter writer = new RunWriter();
    Outbox box = judged(writer, 164 * 4, 10_000, Overflow.DROP_NEWEST);
    for (int i = 0; i < 6; i++) {
      box.offer(frame100(i));
    }
    writer.completeAll(null);
    writer.completeAll(null);

    assertEquals(0, fake.closeCalls());
    assertEquals(2, stats.get(Stats.OVERFLOW_DROPPED));
    assertEquals(4, stats.get(Stats.DELIVERED));
  }

  @Test
  void byteBound_oneFrameLargerThanTheBound_isTakenIntoAnEmptyOutbox() {
    RunWriter writer = new RunWriter();
    Outbox box = judged(writer, 1 << 16, 10_000, Overflow.CLOSE);

    box.offer("y".repeat(1 << 17));
    writer.completeAll(null);

    assertEquals(0, fake.closeCalls());
    assertEquals(1, stats.get(Stats.DELIVERED));
  }

  @Test
  void stall_noWriteProgressForTheStallTime_theNextOfferClosesTheSession() {
    RunWriter writer = new RunWriter();
    Outbox box = judged(writer, 1 << 20, 10_000, Overflow.CLOSE);
    box.offer(frame100(0)); // in flight, never completes: the client reads nothing
    now[0] += TimeUnit.MILLISECONDS.toNanos(9_999);
    box.offer(frame100(1));
    assertEquals(0, fake.closeCalls(), "not yet");

    now[0] += TimeUnit.MILLISECONDS.toNanos(2);
    box.offer(frame100(2));

    assertEquals(1, fake.closeCalls());
    assertEquals(1, stats.get(Stats.OVERFLOW_CLOSED));
  }

  @Test
  void stall_judgedByTheTimer_withoutNewOffers() {
    RunWriter writer = new RunWriter();
    Outbox box = judged(writer, 1 << 20, 10_000, Overflow.CLOSE);
    box.offer(frame100(0));
    box.offer(frame100(1));
    box.judge();
    assertEquals(0, fake.closeCalls());

    now[0] += TimeUnit.SECONDS.toNanos(11);
    box.judge();
    box.judge();

    assertEquals(1, fake.closeCalls(), "once");
  }

  @Test
  void stall_progressResetsIt_aSlowButReadingClientIsNeverClosed() {
    RunWriter writer = new RunWriter();
    Outbox box = judged(writer, 1 << 20, 10_000, Overflow.CLOSE);
    for (int i = 0; i < 100; i++) {
      box.offer(frame100(i));
      now[0] += TimeUnit.SECONDS.toNanos(9); // one write every 9 s: slow, still progress
      box.judge();
      writer.completeAll(null);
    }

    assertEquals(0, fake.closeCalls());
    assertEquals(100, stats.get(Stats.DELIVERED));
  }

  @Test
  void stall_idleOutbox_isNeverStalled() {
    RunWriter writer = new RunWriter();
    Outbox box = judged(writer, 1 << 20, 10_000, Overflow.CLOSE);
    box.offer(frame100(0));
    writer.completeAll(null);

    now[0] += TimeUnit.MINUTES.toNanos(5); // nothing sent for minutes
    box.judge();
    box.offer(frame100(1));

    assertEquals(0, fake.closeCalls());
  }

  @ParameterizedTest
  @EnumSource(value = Overflow.class, names = {"DROP_NEWEST", "DROP_OLDEST"})
  void stall_dropPolicies_dropWhatIsOffered_andNeverClose(Overflow overflow) {
    RunWriter writer = new RunWriter();
    Outbox box = judged(writer, 1 << 20, 10_000, overflow);
    box.offer(frame100(0));
    box.offer(frame100(1));
    now[0] += TimeUnit.SECONDS.toNanos(11);

    box.judge();
    box.offer(frame100(2));

    assertEquals(0, fake.closeCalls());
    assertEquals(1, stats.get(Stats.OVERFLOW_DROPPED));
  }

  @Test
  void unjudged_theFrameBoundOfOld_aBurstClosesAHealthyClient() {
    // the negative control of the byte bound: the same burst as the first test
    RunWriter writer = new RunWriter();
    Outbox box = new Outbox(fake.session, writer, OutboxLimits.unjudged(Overflow.CLOSE), stats,
        NODE);
    for (int i = 0; i < 3000; i++) {
      box.offer(frame100(i));
    }

    assertEquals(1, fake.closeCalls());
  }

  @Test
  void writeDelay_framesOfferedWithinIt_goOutAsOneRun() throws Exception {
    RunWriter writer = new RunWriter();
    java.util.concurrent.ScheduledExecutorService delayer =
        Executors.newSingleThreadScheduledExecutor();
    try {
      Outbox box = new Outbox(fake.session, writer, new OutboxLimits(1_000_000, 1 << 20,
          Long.MAX_VALUE, Overflow.CLOSE, TimeUnit.MILLISECONDS.toNanos(200), delayer,
          System::nanoTime), stats, NODE);
      box.offer("a");
      box.offer("b");
      box.offer("c");
      synchronized (writer) {
        assertEquals(List.of(), writer.calls, "waiting for the delay");
      }

      Awaitility.await().atMost(Duration.ofSeconds(5)).until(() -> {
        synchronized (writer) {
          return writer.calls.size() == 3;
        }
      });
      synchronized (writer) {
        assertEquals(List.of("a+", "b+", "c"), writer.calls, "one run");
      }
    } finally {
      delayer.shutdownNow();
    }
  }
}
