package io.wscluster.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.wscluster.it.TestClient.Send;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.Callable;
import org.junit.jupiter.api.Test;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Garbage and forged frames published straight into every wscluster channel of a running 3-node cluster (found with
 * {@code PUBSUB CHANNELS}), as anyone with access to Redis could: 10,000 seeded random byte strings, then frames made
 * from real ones captured off Redis (cut at every length, a wrong version byte, a payload over
 * {@code wscluster.message.max-bytes}, a negative payload length, a room name with a control character).
 *
 * <p>Every node must reject exactly the frames that reached it (per node: those published on {@code :all}, on its
 * own node channel and on the channels of the rooms it has members in), per reason where the reason is known,
 * deliver none of them, log the rejection at most once per 10 s, and deliver a normal message afterwards exactly
 * once. The negative control publishes one well-formed frame under an unknown origin id: it IS delivered (the
 * channels are trusted, see README "Failure behaviour"), which shows that the "no client received anything" check
 * would see an accepted frame.
 */
class ForgedFramesIT {

  private static final Logger LOG = LoggerFactory.getLogger(ForgedFramesIT.class);
  private static final long SEED = 20_240_905L;
  private static final int RANDOM_FRAMES = 10_000;
  private static final int MAX_RANDOM_LENGTH = 2_000;
  /** The nodes' wscluster.message.max-bytes: small, so that an oversized frame is cheap to publish. */
  private static final int MAX_BYTES = 16 * 1024;
  /** The plugin's rejected-frame WARN interval (ClusterNode.REJECT_LOG_INTERVAL_NANOS). */
  private static final Duration WARN_INTERVAL = Duration.ofSeconds(10);
  private static final Duration WAIT = Duration.ofSeconds(60);

  @Test
  void forgedFramesOnEveryChannel_rejectedAndCountedPerNode_noClientGetsAny_clusterStillDelivers() throws Exception {
    try (Cluster cluster = Cluster.start("forged", 3, Map.of(),
        Cluster.everyNode(3, Map.of("wscluster.message.max-bytes", Integer.toString(MAX_BYTES))));
        StderrTap log = new StderrTap()) {
      RedisServer redis = cluster.redis();
      TestClient c0 = cluster.chat(0, "main", "u0");
      TestClient c1 = cluster.chat(1, "main", "u1");
      TestClient c2 = cluster.chat(2, "main", "u2");
      TestClient c2b = cluster.chat(2, "side", "u3");
      List<TestClient> everyone = List.of(c0, c1, c2, c2b);
      cluster.fence(c0, everyone);

      // ---- real frames, captured off Redis: a binary broadcast, a room message, a send routed to n0's channel ----
      String binary = "real:binary:" + "b".repeat(100);
      byte[] binaryBytes = binary.getBytes(StandardCharsets.UTF_8);
      String routedChannel = cluster.prefix() + ":node:" + c0.nodeId();
      List<RedisCapture.Captured> captured;
      try (RedisCapture capture = redis.capture(cluster.channelPattern())) {
        c0.send(Send.text(binary).all().binary());
        c1.say("real:say");
        c2.send(Send.text("real:routed").sessions(c0.sessionId()));
        for (TestClient c : everyone) {
          c.awaitDelivery(binary);
        }
        c0.awaitDelivery("real:routed");
        Settle.until("the capture to hold the three frames", Duration.ofSeconds(10), Duration.ofMillis(20),
            () -> capture.size() >= 3);
        captured = capture.messages();
      }
      byte[] binaryFrame = captured.stream().map(RedisCapture.Captured::payload)
          .filter(f -> endsWith(f, binaryBytes) && envelopeCount(f) == 1).findFirst()
          .orElseThrow(() -> new AssertionError("no single-envelope frame ends with the binary payload"));
      assertTrue(captured.stream().anyMatch(m -> m.channel().equals(routedChannel)), "no frame on " + routedChannel);
      cluster.fence(c2, everyone);

      // ---- the channels, and which node receives what is published on each ----
      List<String> nodeIds = new ArrayList<>();
      for (JettyNode n : cluster.nodes()) {
        nodeIds.add(n.nodeId());
      }
      String all = cluster.prefix() + ":all";
      List<String> channels = redis.channels(cluster.channelPattern());
      // who subscribes what: every node :all, its own channel and its rooms' (main everywhere, side on n2)
      Map<String, List<String>> subscribers = new TreeMap<>();
      subscribers.put(all, nodeIds);
      nodeIds.forEach(id -> subscribers.put(cluster.prefix() + ":node:" + id, List.of(id)));
      subscribers.put(cluster.prefix() + ":room:main", nodeIds);
      subscribers.put(cluster.prefix() + ":room:side", List.of(c2b.nodeId()));
      assertEquals(subscribers.keySet(), new TreeSet<>(channels), "PUBSUB CHANNELS " + cluster.channelPattern());
      LOG.info("flooding channels {}", channels);

      Map<String, Long> clientFrames = frameCounts(everyone);
      List<Map<String, Long>> start = statsOf(cluster);
      long floodStart = System.nanoTime();

      // ---- phase 1: random byte strings; half start with the version byte, to get past it ----
      Random random = new Random(SEED);
      List<byte[]> randomFrames = new ArrayList<>();
      for (int i = 0; i < RANDOM_FRAMES; i++) {
        byte[] b = new byte[random.nextInt(MAX_RANDOM_LENGTH + 1)];
        random.nextBytes(b);
        if (i % 2 == 0 && b.length > 0) {
          b[0] = 1;
        }
        randomFrames.add(b);
      }
      List<Long> perNode = floodEveryChannel(cluster, subscribers, nodeIds, randomFrames);
      List<Map<String, Long>> afterRandom = awaitRejected(cluster, start, perNode);
      Map<String, Long> randomReasons = null;
      for (int i = 0; i < nodeIds.size(); i++) {
        Map<String, Long> delta = delta(start.get(i), afterRandom.get(i));
        LOG.info("node {}: {} random frames reached it; /status deltas {}", nodeIds.get(i), perNode.get(i), delta);
        // every heartbeat a node's liveness probe comes back as one frame of its own, and after traffic the
        // nodes' syncs (a frame each, see docs/protocol.md#frame-chains-frames-redis-lost) arrive: not part
        // of the flood
        assertEquals(perNode.get(i), delta.get("framesReceived") - delta.getOrDefault("probesReceived", 0L)
            - delta.getOrDefault("syncsReceived", 0L), nodeIds.get(i) + " framesReceived");
        assertEquals(0L, delta.getOrDefault("envelopesReceived", 0L), nodeIds.get(i) + ": a random frame decoded");
        Map<String, Long> reasons = reasons(delta);
        assertEquals(perNode.get(i), reasons.values().stream().mapToLong(Long::longValue).sum(),
            nodeIds.get(i) + ": per-reason counters must add up to rejected: " + reasons);
        // each frame reached a node once per channel it subscribes: compare the counts of one copy
        long copies = perNode.get(i) / randomFrames.size();
        reasons.replaceAll((reason, n) -> n / copies);
        if (randomReasons == null) {
          randomReasons = reasons;
        }
        assertEquals(randomReasons, reasons, "the same frames reached every node (once per channel it "
            + "subscribes), so every node must count the same reasons per copy");
      }

      // ---- phase 2: frames made from real ones; here every reason is known ----
      List<byte[]> handMade = new ArrayList<>();
      Map<String, Long> handReasons = new TreeMap<>();
      for (RedisCapture.Captured real : captured.subList(0, 3)) {
        byte[] f = real.payload();
        // a frame of recorded messages comes wrapped: 0x1F, its history ids, '\n', the frame
        int newline = f[0] == 0x1F ? indexOf(f, (byte) '\n') : -1;
        for (int length = 0; length < f.length; length++) {
          handMade.add(Arrays.copyOf(f, length));
          String reason = length == 0 || length == newline + 1 ? "rejected.empty"
              : length <= newline ? "rejected.offsets" : "rejected.truncated";
          handReasons.merge(reason, 1L, Long::sum);
        }
      }
      for (int version : new int[] {0, 4, 255}) { // 1 to 3 are read
        byte[] f = binaryFrame.clone();
        f[0] = (byte) version;
        handMade.add(f);
        handReasons.merge("rejected.version", 1L, Long::sum);
      }
      for (byte[] payload : List.of(new byte[MAX_BYTES + 1], new byte[4 * 1024 * 1024])) {
        handMade.add(withPayload(binaryFrame, binaryBytes.length, payload.length, payload));
        handReasons.merge("rejected.oversized", 1L, Long::sum);
      }
      handMade.add(withPayload(binaryFrame, binaryBytes.length, Integer.MAX_VALUE, binaryBytes));
      handReasons.merge("rejected.oversized", 1L, Long::sum);
      handMade.add(withPayload(binaryFrame, binaryBytes.length, -1, binaryBytes));
      handReasons.merge("rejected.length", 1L, Long::sum);
      handMade.add(withControlCharacterInRoomName(captured, "main"));
      handReasons.merge("rejected.name", 1L, Long::sum);

      List<Long> perNodeHand = floodEveryChannel(cluster, subscribers, nodeIds, handMade);
      List<Map<String, Long>> afterHand = awaitRejected(cluster, afterRandom, perNodeHand);
      long floodMillis = (System.nanoTime() - floodStart) / 1_000_000;
      for (int i = 0; i < nodeIds.size(); i++) {
        Map<String, Long> reasons = reasons(delta(afterRandom.get(i), afterHand.get(i)));
        Map<String, Long> expected = new TreeMap<>();
        long copies = perNodeHand.get(i) / handMade.size();
        handReasons.forEach((reason, n) -> expected.put(reason, n * copies));
        LOG.info("node {}: {} hand-made frames reached it; rejected by reason {}", nodeIds.get(i),
            perNodeHand.get(i), reasons);
        assertEquals(expected, reasons, nodeIds.get(i) + ": rejected.<reason> deltas of the hand-made frames");
      }

      // ---- nothing reached a client; the WARN was rate-limited ----
      assertEquals(clientFrames, frameCounts(everyone), "frames the clients received during the flood");
      String stderr = log.text();
      for (String id : nodeIds) {
        long warnings = stderr.lines().filter(l -> l.contains("[" + id + "] rejected ")).count();
        long allowed = 1 + floodMillis / WARN_INTERVAL.toMillis() + 1;
        LOG.info("node {}: {} rejected-frame WARN lines over a {} ms flood", id, warnings, floodMillis);
        assertTrue(warnings >= 1 && warnings <= allowed, id + " logged " + warnings + " rejected-frame WARN lines "
            + "in " + floodMillis + " ms, expected 1 to " + allowed);
      }

      // ---- every node still up and delivering, exactly once ----
      ExactlyOnceChecker checker = new ExactlyOnceChecker();
      for (TestClient sender : List.of(c0, c1, c2)) {
        String text = "after:" + sender.label();
        checker.expect(text, everyone);
        sender.send(Send.text(text).all());
      }
      for (TestClient sender : List.of(c0, c1, c2)) {
        cluster.fence(sender, everyone);
      }
      checker.check(everyone, t -> t.startsWith("after:")).assertExactlyOnce("after the flood");

      // ---- negative control: a well-formed frame under an origin id no node has is delivered ----
      long rejectedBefore = cluster.sumStat("rejected");
      byte[] forged = withPayload(freshOrigin(binaryFrame), binaryBytes.length, -2,
          "forged:fresh-origin".getBytes(StandardCharsets.UTF_8));
      redis.publish(all, forged);
      for (TestClient c : everyone) {
        c.awaitDelivery("forged:fresh-origin");
      }
      cluster.fence(c1, everyone);
      for (TestClient c : everyone) {
        assertEquals(1, c.count("forged:fresh-origin"), c + ": copies of the forged well-formed frame");
      }
      assertEquals(rejectedBefore, cluster.sumStat("rejected"), "the well-formed forged frame is not rejected");
    }
  }

  /**
   * Publishes every frame on every channel of {@code subscribers} (pipelined) and returns, per node, how many of
   * them reach it: those on the channels it subscribes, checked against the receivers PUBLISH reported.
   */
  private static List<Long> floodEveryChannel(Cluster cluster, Map<String, List<String>> subscribers,
      List<String> nodeIds, List<byte[]> frames) throws Exception {
    List<RedisCapture.Captured> messages = new ArrayList<>();
    for (byte[] f : frames) {
      for (String channel : subscribers.keySet()) {
        messages.add(new RedisCapture.Captured(channel, f));
      }
    }
    long t0 = System.nanoTime();
    long[] receivers = cluster.redis().publishAll(messages, 1_000);
    LOG.info("published {} frames ({} on each of {} channels) in {} ms", messages.size(), frames.size(),
        subscribers.size(), (System.nanoTime() - t0) / 1_000_000);
    List<Long> perNode = new ArrayList<>();
    for (String id : nodeIds) {
      long n = 0;
      for (int i = 0; i < messages.size(); i++) {
        String channel = messages.get(i).channel();
        List<String> nodes = subscribers.get(channel);
        assertEquals(nodes.size(), receivers[i], "receivers of a frame on " + channel);
        if (nodes.contains(id)) {
          n++;
        }
      }
      perNode.add(n);
    }
    return perNode;
  }

  /** Waits until every node's rejected counter rose by its share, and stays there; returns the nodes' stats. */
  private static List<Map<String, Long>> awaitRejected(Cluster cluster, List<Map<String, Long>> from,
      List<Long> perNode) throws Exception {
    Callable<Boolean> reached = () -> {
      for (int i = 0; i < perNode.size(); i++) {
        if (cluster.node(i).stat("rejected") - from.get(i).get("rejected") < perNode.get(i)) {
          return false;
        }
      }
      return true;
    };
    Settle.until("every node to reject what reached it", WAIT, Duration.ofMillis(100), reached);
    Settle.stable(() -> cluster.sumStat("rejected") + cluster.sumStat("framesReceived")
        - cluster.sumStat("probesReceived"), Duration.ofMillis(500),
        WAIT);
    List<Map<String, Long>> now = statsOf(cluster);
    for (int i = 0; i < perNode.size(); i++) {
      assertEquals(perNode.get(i), now.get(i).get("rejected") - from.get(i).get("rejected"),
          cluster.node(i).name() + ": rejected must rise by exactly the frames that reached it");
    }
    return now;
  }

  private static List<Map<String, Long>> statsOf(Cluster cluster) throws Exception {
    List<Map<String, Long>> out = new ArrayList<>();
    for (JettyNode n : cluster.nodes()) {
      out.add(n.stats());
    }
    return out;
  }

  private static Map<String, Long> delta(Map<String, Long> before, Map<String, Long> after) {
    Map<String, Long> out = new TreeMap<>();
    after.forEach((k, v) -> {
      long d = v - before.getOrDefault(k, 0L);
      if (d != 0) {
        out.put(k, d);
      }
    });
    return out;
  }

  private static int indexOf(byte[] bytes, byte b) {
    for (int i = 0; i < bytes.length; i++) {
      if (bytes[i] == b) {
        return i;
      }
    }
    return -1;
  }

  private static Map<String, Long> reasons(Map<String, Long> delta) {
    Map<String, Long> out = new TreeMap<>();
    delta.forEach((k, v) -> {
      if (k.startsWith("rejected.")) {
        out.put(k, v);
      }
    });
    return out;
  }

  private static Map<String, Long> frameCounts(List<TestClient> clients) {
    Map<String, Long> out = new LinkedHashMap<>();
    clients.forEach(c -> out.put(c.label(), (long) c.frameCount()));
    return out;
  }

  // ---- frame surgery on a captured single-envelope message frame whose payload ends it (wire format v1) ----

  private static boolean endsWith(byte[] frame, byte[] tail) {
    return frame.length >= tail.length
        && Arrays.equals(frame, frame.length - tail.length, frame.length, tail, 0, tail.length);
  }

  private static int envelopeCount(byte[] frame) {
    return frame.length < 3 ? -1 : ((frame[1] & 0xff) << 8) | (frame[2] & 0xff);
  }

  /**
   * The frame with its payload (the last {@code oldLength} bytes, after a 4-byte length) replaced by
   * {@code payload}, declaring {@code declared} as its length, or the true length when {@code declared} is -2.
   */
  private static byte[] withPayload(byte[] frame, int oldLength, int declared, byte[] payload) {
    int head = frame.length - oldLength - 4;
    return ByteBuffer.allocate(head + 4 + payload.length).put(frame, 0, head)
        .putInt(declared == -2 ? payload.length : declared).put(payload).array();
  }

  /** A captured frame naming {@code room}, with a newline in place of the room name's second byte. */
  private static byte[] withControlCharacterInRoomName(List<RedisCapture.Captured> captured, String room) {
    byte[] name = room.getBytes(StandardCharsets.UTF_8);
    byte[] str16 = ByteBuffer.allocate(2 + name.length).putShort((short) name.length).put(name).array();
    for (RedisCapture.Captured m : captured) {
      byte[] f = m.payload().clone();
      for (int at = 0; at + str16.length <= f.length; at++) {
        if (Arrays.equals(f, at, at + str16.length, str16, 0, str16.length)) {
          f[at + 3] = '\n';
          return f;
        }
      }
    }
    throw new AssertionError("no captured frame names room " + room);
  }

  /** The frame with the last character of its origin id changed: an origin no node has. */
  private static byte[] freshOrigin(byte[] frame) {
    byte[] f = frame.clone();
    // version u8, count u16, link i64 (versions 2 and 3), kind u8, flags u8, origin length u8
    int originLength = f[13] & 0xff;
    int last = 14 + originLength - 1;
    f[last] = (byte) (f[last] == 'z' ? 'y' : 'z');
    return f;
  }

  /** Copies System.err (where the nodes' slf4j-simple logs go) to a buffer as well, while open. */
  private static final class StderrTap implements AutoCloseable {
    private final PrintStream original = System.err;
    private final ByteArrayOutputStream copy = new ByteArrayOutputStream();

    StderrTap() {
      PrintStream tee = new PrintStream(new java.io.OutputStream() {
        @Override
        public void write(int b) {
          original.write(b);
          synchronized (copy) {
            copy.write(b);
          }
        }

        @Override
        public void write(byte[] b, int off, int len) {
          original.write(b, off, len);
          synchronized (copy) {
            copy.write(b, off, len);
          }
        }
      }, true, StandardCharsets.UTF_8);
      System.setErr(tee);
    }

    String text() {
      synchronized (copy) {
        return copy.toString(StandardCharsets.UTF_8);
      }
    }

    @Override
    public void close() {
      System.setErr(original);
    }
  }
}
