package io.wscluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.wscluster.memory.TestMemory;
import io.wscluster.spi.History;
import io.wscluster.spi.Transport;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Function;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Connection-state recovery on the memory backend, which runs the core's whole path (recording
 * in the publish, ids on live frames, tracked sessions, replay, seam) with the same history
 * semantics as Redis: a client of one node disconnects while messages flow, and resumes on
 * another node with the offsets it last got.
 */
class RecoveryTest {
  private final String prefix = "rec-" + UUID.randomUUID().toString().substring(0, 8);
  private final ConcurrentMap<String, java.util.List<java.util.function.BiConsumer<String, byte[]>>>
      bus = new ConcurrentHashMap<>();
  private final ConcurrentMap<String, ConcurrentMap<String, String>> directory =
      new ConcurrentHashMap<>();
  private final ConcurrentMap<String, Object> store = new ConcurrentHashMap<>();
  private final List<ClusterNode> nodes = new ArrayList<>();

  @AfterEach
  void stop() {
    nodes.forEach(ClusterNode::stop);
  }

  private ClusterNode node(String name, NodeParts parts, int maxLength,
      Function<History, History> wrap) throws Exception {
    Transport t = TestMemory.transport(bus, 0);
    WsClusterConfig config = WsClusterConfig.builder()
        .transport(WsClusterConfig.TransportType.MEMORY).channelPrefix(prefix).nodeName(name)
        .set(WsClusterConfig.SHUTDOWN_TIMEOUT, "1s")
        .set(WsClusterConfig.HISTORY_MAX_LENGTH, Integer.toString(maxLength)).build();
    ClusterNode n = new ClusterNode(config, t, parts, System::nanoTime,
        tr -> TestMemory.directory(directory, prefix), true,
        () -> wrap.apply(TestMemory.history(store, t, prefix, maxLength, 120_000)));
    nodes.add(n);
    n.start();
    return n;
  }

  private ClusterNode node(String name) throws Exception {
    return node(name, NodeParts.DEFAULT, 1000, h -> h);
  }

  // ================================================================ the client side of the contract

  /** What a browser client keeps: the epoch of the last hello, the last offset per stream. */
  static final class Client {
    static final Pattern OFFSET = Pattern.compile("\"([^\"]+)\":\"([0-9]+-[0-9]+)\"");
    final List<String> frames;
    String epoch;
    final Map<String, String> offsets = new LinkedHashMap<>();
    /** Per stream, the payloads in arrival order. */
    final Map<String, List<String>> byStream = new HashMap<>();
    final Map<String, Boolean> resumed = new HashMap<>();
    final List<String> orderErrors = new ArrayList<>();
    final List<String> untracked = new ArrayList<>();

    Client(List<String> frames) {
      this.frames = frames;
      for (String f : frames) {
        read(f);
      }
    }

    private void read(String f) {
      if (f.isEmpty() || f.charAt(0) != '\u001e') {
        untracked.add(f);
        return;
      }
      int nl = f.indexOf('\n');
      String header = nl < 0 ? f.substring(1) : f.substring(1, nl);
      if (nl < 0) {
        if (header.contains("\"t\":\"hello\"")) {
          Matcher m = Pattern.compile("\"e\":\"([^\"]+)\"").matcher(header);
          epoch = m.find() ? m.group(1) : null;
        } else if (header.contains("\"t\":\"resumed\"")) {
          Matcher m = Pattern.compile("\"s\":\"([^\"]+)\"").matcher(header);
          assertTrue(m.find(), header);
          resumed.put(m.group(1), header.contains("\"recovered\":true"));
        }
        return;
      }
      String payload = f.substring(nl + 1);
      Matcher m = OFFSET.matcher(header);
      while (m.find()) {
        String stream = m.group(1);
        String id = m.group(2);
        String before = offsets.get(stream);
        if (before != null && Streams.compare(id, before) <= 0) {
          orderErrors.add(stream + ": " + id + " after " + before);
        }
        offsets.put(stream, id);
        byStream.computeIfAbsent(stream, k -> new ArrayList<>()).add(payload);
      }
    }

    String token() {
      StringBuilder o = new StringBuilder();
      offsets.forEach((s, id) -> o.append(o.length() == 0 ? "" : ",").append(Json.quote(s))
          .append(":\"").append(id).append('"'));
      String json = "{\"v\":1,\"e\":" + (epoch == null ? "null" : Json.quote(epoch)) + ",\"o\":{"
          + o + "}}";
      return Base64.getUrlEncoder().withoutPadding()
          .encodeToString(json.getBytes(StandardCharsets.UTF_8));
    }
  }

  static String freshToken() {
    return Base64.getUrlEncoder().withoutPadding().encodeToString(
        "{\"v\":1,\"e\":null,\"o\":{}}".getBytes(StandardCharsets.UTF_8));
  }

  private static void await(String what, java.util.function.BooleanSupplier done)
      throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
    while (!done.getAsBoolean()) {
      assertTrue(System.nanoTime() < deadline, "timed out waiting for " + what);
      Thread.sleep(5);
    }
  }

  /** Two senders (one per node), each alternating room r and all, until stopped. */
  private static final class Senders {
    final AtomicBoolean running = new AtomicBoolean(true);
    final Map<String, List<String>> sent = new ConcurrentHashMap<>();
    final AtomicInteger count = new AtomicInteger();
    final List<Thread> threads = new ArrayList<>();

    Senders(ClusterNode... from) {
      for (ClusterNode n : from) {
        String name = n.nodeId();
        Thread t = new Thread(() -> {
          for (int i = 0; running.get(); i++) {
            String stream = i % 2 == 0 ? "room:r" : "all";
            String text = name + "-" + i;
            sent.computeIfAbsent(stream, k -> java.util.Collections.synchronizedList(
                new ArrayList<>())).add(text);
            n.send(i % 2 == 0 ? Target.room("r") : Target.all(), text);
            count.incrementAndGet();
            try {
              Thread.sleep(1);
            } catch (InterruptedException e) {
              return;
            }
          }
        }, "test-sender-" + name);
        threads.add(t);
        t.start();
      }
    }

    void awaitAtLeast(int n) throws InterruptedException {
      RecoveryTest.await(n + " sends", () -> count.get() >= n);
    }

    void stop() throws InterruptedException {
      running.set(false);
      for (Thread t : threads) {
        t.join();
      }
    }
  }

  /**
   * Disconnects a tracked client of node a mid-stream and resumes it on node b while both keep
   * sending; b's session completes its writes slowly, so live messages arrive during the replay.
   * Returns the two clients' views and what was sent.
   */
  private Object[] disconnectAndResume(ClusterNode a, ClusterNode b) throws Exception {
    FakeSession s1 = new FakeSession().parameter("wscluster", freshToken());
    a.onSessionOpened(s1.session);
    a.join(s1.session, "r");
    Senders senders = new Senders(a, b);
    senders.awaitAtLeast(200);
    s1.markClosed();
    a.onSessionClosed(s1.session);
    senders.awaitAtLeast(700); // 500 missed, several pages of replay
    Client before = new Client(s1.received());
    assertNotNull(before.epoch, "the first frame is the hello");
    FakeSession s2 = new FakeSession().parameter("wscluster", before.token())
        .completion(FakeSession.Completion.MANUAL);
    b.onSessionOpened(s2.session);
    b.join(s2.session, "r");
    int target = senders.count.get() + 300;
    while (senders.count.get() < target) {
      s2.completeNext();
      Thread.sleep(1);
    }
    senders.stop();
    long quiet = System.nanoTime();
    int last = -1;
    while (System.nanoTime() - quiet < TimeUnit.MILLISECONDS.toNanos(300)) {
      if (!s2.completeNext()) {
        Thread.sleep(2);
      }
      if (s2.receivedCount() != last) {
        last = s2.receivedCount();
        quiet = System.nanoTime();
      }
    }
    return new Object[] {before, new Client(s2.received()), senders};
  }

  // ================================================================ the seam

  @Test
  void resume_onAnotherNodeWhileBothSend_everyMessageOnceInOrder() throws Exception {
    ClusterNode a = node("a");
    ClusterNode b = node("b");
    Object[] r = disconnectAndResume(a, b);
    Client before = (Client) r[0];
    Client after = (Client) r[1];
    Senders senders = (Senders) r[2];
    assertEquals(Map.of("all", true, "room:r", true), after.resumed);
    assertEquals(List.of(), before.orderErrors, "live, before the disconnect");
    assertEquals(List.of(), after.orderErrors);
    assertTrue(after.frames.get(0).contains("\"t\":\"hello\""), after.frames.get(0));
    for (String stream : List.of("all", "room:r")) {
      List<String> got = new ArrayList<>(before.byStream.get(stream));
      got.addAll(after.byStream.get(stream));
      List<String> sent = senders.sent.get(stream);
      assertEquals(sent.size(), got.size(), stream + ": messages before + after the resume");
      assertEquals(new java.util.HashSet<>(sent), new java.util.HashSet<>(got), stream);
      assertPerSenderOrder(got);
    }
    assertTrue(b.stats().get(Stats.RECOVERY_REPLAYED) >= 500, b.stats().toString());
  }

  @Test
  void negativeControl_seamOff_theResumedClientSeesRepeatsOrDisorder() throws Exception {
    ClusterNode a = node("a");
    ClusterNode b = node("b", NodeParts.DEFAULT.seam(false), 1000, h -> h);
    Object[] r = disconnectAndResume(a, b);
    Client before = (Client) r[0];
    Client after = (Client) r[1];
    Senders senders = (Senders) r[2];
    int sent = senders.sent.get("all").size() + senders.sent.get("room:r").size();
    int got = before.byStream.get("all").size() + before.byStream.get("room:r").size()
        + after.byStream.get("all").size() + after.byStream.get("room:r").size();
    assertTrue(!after.orderErrors.isEmpty() || got != sent,
        "without the seam the checks must fail: " + after.orderErrors.size() + " order errors, "
        + got + " received of " + sent);
  }

  /**
   * The control of the live order: a node that writes its own recorded messages to its tracked
   * session as soon as the history answered, not with their echo, lets them overtake the other
   * node's earlier ones, and the offsets the client keeps go backwards.
   */
  @Test
  void negativeControl_ownMessagesNotOnTheirEcho_overtakeTheOtherNodes() throws Exception {
    ClusterNode a = node("a", NodeParts.DEFAULT.echoOrder(false), 1000, h -> h);
    ClusterNode b = node("b");
    int errors = 0;
    for (int round = 0; round < 5 && errors == 0; round++) {
      FakeSession s = new FakeSession().parameter("wscluster", freshToken());
      a.onSessionOpened(s.session);
      a.join(s.session, "r");
      Senders senders = new Senders(a, b);
      senders.awaitAtLeast(600);
      senders.stop();
      await("the messages", () -> s.receivedCount() >= senders.count.get() + 1);
      errors = new Client(s.received()).orderErrors.size();
      a.onSessionClosed(s.session);
    }
    assertTrue(errors > 0, "own messages written on the history's answer must overtake others");
  }

  /** Per sender, increasing numbers: "node-i". */
  private static void assertPerSenderOrder(List<String> payloads) {
    Map<String, Integer> last = new HashMap<>();
    for (String p : payloads) {
      int dash = p.lastIndexOf('-');
      String sender = p.substring(0, dash);
      int i = Integer.parseInt(p.substring(dash + 1));
      Integer before = last.put(sender, i);
      assertTrue(before == null || before < i, p + " after " + sender + "-" + before);
    }
  }

  // ================================================================ coverage and epoch

  @Test
  void resume_gapLongerThanTheHistory_resumedFalse_thenLiveWithOffsets() throws Exception {
    ClusterNode a = node("a", NodeParts.DEFAULT, 10, h -> h);
    ClusterNode b = node("b", NodeParts.DEFAULT, 10, h -> h);
    FakeSession s1 = new FakeSession().parameter("wscluster", freshToken());
    a.onSessionOpened(s1.session);
    a.join(s1.session, "r");
    for (int i = 0; i < 5; i++) {
      a.send(Target.room("r"), "m" + i).toCompletableFuture().get(5, TimeUnit.SECONDS);
    }
    await("5 messages", () -> new Client(s1.received()).byStream.getOrDefault("room:r",
        List.of()).size() == 5);
    Client before = new Client(s1.received());
    s1.markClosed();
    a.onSessionClosed(s1.session);
    FakeSession observer = new FakeSession();
    b.onSessionOpened(observer.session);
    b.join(observer.session, "r");
    for (int i = 5; i < 40; i++) {
      a.send(Target.room("r"), "m" + i).toCompletableFuture().get(5, TimeUnit.SECONDS);
    }
    // every one of them reached node b before the client comes back there
    await("m39 on b", () -> observer.received().contains("m39"));
    FakeSession s2 = new FakeSession().parameter("wscluster", before.token());
    b.onSessionOpened(s2.session);
    b.join(s2.session, "r");
    await("resumed", () -> new Client(s2.received()).resumed.containsKey("room:r"));
    a.send(Target.room("r"), "live").toCompletableFuture().get(5, TimeUnit.SECONDS);
    await("live", () -> s2.received().stream().anyMatch(f -> f.endsWith("\nlive")));
    Client after = new Client(s2.received());
    assertEquals(Map.of("room:r", false), after.resumed);
    assertEquals(List.of("live"), after.byStream.get("room:r"), "nothing replayed, then live");
  }

  @Test
  void resume_historyCoversTheGapExactly_recoveredTrue() throws Exception {
    ClusterNode a = node("a", NodeParts.DEFAULT, 10, h -> h);
    ClusterNode b = node("b", NodeParts.DEFAULT, 10, h -> h);
    FakeSession s1 = new FakeSession().parameter("wscluster", freshToken());
    a.onSessionOpened(s1.session);
    a.join(s1.session, "r");
    a.send(Target.room("r"), "m0").toCompletableFuture().get(5, TimeUnit.SECONDS);
    await("m0", () -> new Client(s1.received()).offsets.containsKey("room:r"));
    Client before = new Client(s1.received());
    s1.markClosed();
    a.onSessionClosed(s1.session);
    for (int i = 1; i < 10; i++) { // with m0, exactly the 10 the history keeps
      a.send(Target.room("r"), "m" + i).toCompletableFuture().get(5, TimeUnit.SECONDS);
    }
    FakeSession s2 = new FakeSession().parameter("wscluster", before.token());
    b.onSessionOpened(s2.session);
    b.join(s2.session, "r");
    await("resumed", () -> new Client(s2.received()).resumed.containsKey("room:r"));
    Client after = new Client(s2.received());
    assertEquals(Map.of("room:r", true), after.resumed);
    assertEquals(List.of("m1", "m2", "m3", "m4", "m5", "m6", "m7", "m8", "m9"),
        after.byStream.get("room:r"));
  }

  /** A fresh tracked client of {@code a} that got one broadcast, m0: its state afterwards. */
  private static Client broadcastOne(ClusterNode a) throws Exception {
    FakeSession s1 = new FakeSession().parameter("wscluster", freshToken());
    a.onSessionOpened(s1.session);
    a.send(Target.all(), "m0").toCompletableFuture().get(5, TimeUnit.SECONDS);
    await("m0", () -> new Client(s1.received()).offsets.containsKey("all"));
    return new Client(s1.received());
  }

  @Test
  void resume_historyLost_epochDiffers_resumedFalse() throws Exception {
    ClusterNode a = node("a");
    Client before = broadcastOne(a);
    TestMemory.flushHistory(store);
    a.send(Target.all(), "m1").toCompletableFuture().get(5, TimeUnit.SECONDS);
    FakeSession s2 = new FakeSession().parameter("wscluster", before.token());
    a.onSessionOpened(s2.session);
    await("resumed", () -> new Client(s2.received()).resumed.containsKey("all"));
    Client after = new Client(s2.received());
    assertEquals(Map.of("all", false), after.resumed);
    assertFalse(after.epoch.equals(before.epoch), "the hello names the new epoch");
  }

  @Test
  void session_withoutTheParameter_getsPlainPayloads_andAStreamNotJoinedIsNotResumed()
      throws Exception {
    ClusterNode a = node("a");
    FakeSession plain = new FakeSession();
    a.onSessionOpened(plain.session);
    FakeSession s1 = new FakeSession().parameter("wscluster", freshToken());
    a.onSessionOpened(s1.session);
    a.join(s1.session, "r");
    a.send(Target.room("r"), "r0").toCompletableFuture().get(5, TimeUnit.SECONDS);
    a.send(Target.all(), "x").toCompletableFuture().get(5, TimeUnit.SECONDS);
    await("x", () -> plain.received().contains("x")
        && new Client(s1.received()).offsets.containsKey("all"));
    assertEquals(List.of("x"), plain.received());
    Client before = new Client(s1.received());
    FakeSession s2 = new FakeSession().parameter("wscluster", before.token());
    a.onSessionOpened(s2.session); // never joins r
    await("resumed all", () -> new Client(s2.received()).resumed.containsKey("all"));
    a.sendLocal(s2.session, "direct").toCompletableFuture().get(5, TimeUnit.SECONDS);
    Client after = new Client(s2.received());
    assertEquals(Map.of("all", true), after.resumed, "room:r is not resumed: not joined");
    assertTrue(s2.received().contains("\u001e{\"o\":{}}\ndirect"), s2.received().toString());
  }

  @Test
  void badToken_isCountedAndTheSessionTrackedAsFresh() throws Exception {
    ClusterNode a = node("a");
    FakeSession s = new FakeSession().parameter("wscluster", "not*base64");
    a.onSessionOpened(s.session);
    await("hello", () -> !s.received().isEmpty());
    assertTrue(s.received().get(0).startsWith("\u001e{\"t\":\"hello\""));
    assertEquals(1L, a.stats().get(Stats.RECOVERY_BAD_TOKENS));
  }

  @Test
  void resumeApi_resumesTheStreamsTheSessionIsIn() throws Exception {
    ClusterNode a = node("a");
    Client before = broadcastOne(a);
    a.send(Target.all(), "m1").toCompletableFuture().get(5, TimeUnit.SECONDS);
    FakeSession s2 = new FakeSession();
    a.onSessionOpened(s2.session);
    CompletionStage<Map<String, Boolean>> r = a.resume(s2.session, before.epoch, before.offsets);
    assertEquals(Map.of("all", true), r.toCompletableFuture().get(5, TimeUnit.SECONDS));
    await("m1", () -> new Client(s2.received()).byStream.containsKey("all"));
    assertEquals(List.of("m1"), new Client(s2.received()).byStream.get("all"));
  }

  // ================================================================ written once

  /** A history whose first publish is done but answered with a failure (a lost reply). */
  private static History answerLostOnce(History h, boolean sameToken) {
    AtomicBoolean first = new AtomicBoolean(true);
    AtomicInteger calls = new AtomicInteger();
    return new History() {
      @Override
      public CompletionStage<Published> publish(List<String> channels, List<byte[]> frames,
          List<Message> messages, String writer, String token) {
        CompletionStage<Published> done = h.publish(channels, frames, messages, writer,
            sameToken ? token : token + "-" + calls.incrementAndGet());
        return first.getAndSet(false)
            ? done.thenCompose(p -> java.util.concurrent.CompletableFuture.failedFuture(
                new java.io.IOException("reply lost")))
            : done;
      }

      @Override
      public CompletionStage<Page> read(String stream, String after, int count) {
        return h.read(stream, after, count);
      }

      @Override
      public CompletionStage<String> epoch() {
        return h.epoch();
      }
    };
  }

  private int historyEntriesAfterARetriedPublish(boolean sameToken) throws Exception {
    ClusterNode a = node("a", NodeParts.DEFAULT, 1000, h -> answerLostOnce(h, sameToken));
    a.send(Target.room("r"), "once").toCompletableFuture().get(5, TimeUnit.SECONDS);
    History reader = TestMemory.history(store, TestMemory.transport(bus, 0), prefix, 1000,
        120_000);
    return reader.read("room:r", "0-0", 100).toCompletableFuture().get().entries().size();
  }

  @Test
  void publishRetriedAfterALostReply_isWrittenToTheHistoryOnce() throws Exception {
    assertEquals(1, historyEntriesAfterARetriedPublish(true));
  }

  @Test
  void negativeControl_retryUnderAnotherToken_writesTheMessageTwice() throws Exception {
    assertEquals(2, historyEntriesAfterARetriedPublish(false));
  }

  // ================================================================ stop

  @Test
  void stop_closesLocalSessionsWithGoingAway() throws Exception {
    ClusterNode a = node("a");
    FakeSession s = new FakeSession();
    a.onSessionOpened(s.session);
    a.stop();
    assertNotNull(s.closeReason());
    assertEquals(1001, s.closeReason().getCloseCode().getCode());
  }
}
