package io.wscluster.it;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.wscluster.it.TestClient.Send;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Duplicate source 3 of the design (retries / replays): every frame the cluster published on its Redis channels
 * during a run is captured verbatim and PUBLISHed again. No client may receive anything twice, and the nodes'
 * /status duplicates counters must rise (the replayed envelopes arrived and were dropped).
 */
class RepublishIT {

  private static final Logger LOG = LoggerFactory.getLogger(RepublishIT.class);

  @Test
  void republishCapturedFrames_noClientGetsAnythingTwice_duplicatesCounted() throws Exception {
    try (Cluster cluster = Cluster.start("republish", 3)) {
      RedisServer redis = cluster.redis();
      TestClient c0 = cluster.chat(0, "main", "u0");
      TestClient c1 = cluster.chat(1, "main", "u1");
      TestClient c2 = cluster.chat(2, "main", "u2");
      TestClient c2b = cluster.chat(2, "side", "u0");
      List<TestClient> everyone = List.of(c0, c1, c2, c2b);
      List<String> channels = redis.channels(cluster.channelPattern());
      LOG.info("cluster channels (PUBSUB CHANNELS {}): {}", cluster.channelPattern(), channels);
      assertFalse(channels.isEmpty(), "the nodes subscribe to no channel matching " + cluster.channelPattern());
      cluster.fence(c0, everyone);

      // ---- a run with every kind of send from every node, captured off Redis ----
      String scope = "r:";
      ExactlyOnceChecker checker = new ExactlyOnceChecker();
      List<RedisCapture.Captured> captured;
      try (RedisCapture capture = redis.capture(cluster.channelPattern())) {
        for (TestClient sender : List.of(c0, c1, c2)) {
          String id = scope + sender.user() + "@" + sender.node().name() + ":";
          checker.expect(id + "all", everyone);
          sender.send(Send.text(id + "all").all());
          checker.expect(id + "room", List.of(c0, c1, c2));
          sender.send(Send.text(id + "room").rooms("main"));
          checker.expect(id + "user", List.of(c0, c2b));
          sender.send(Send.text(id + "user").users("u0"));
          checker.expect(id + "session", List.of(c2b));
          sender.send(Send.text(id + "session").sessions(c2b.sessionId()));
          checker.expect(id + "binary", everyone);
          sender.send(Send.text(id + "binary").all().binary());
          checker.expect(id + "except", List.of(c0, c1, c2, c2b).stream().filter(c -> c != sender).toList());
          sender.send(Send.text(id + "except").all().exceptSelf());
          checker.expect(id + "say", List.of(c0, c1, c2));
          sender.say(id + "say");
        }
        for (String text : checker.texts()) {
          for (TestClient c : checker.intended(text)) {
            c.awaitDelivery(text);
          }
        }
        for (TestClient sender : List.of(c0, c1, c2)) {
          cluster.fence(sender, everyone);
        }
        captured = capture.messages();
      }
      checker.check(everyone, t -> t.startsWith(scope)).assertExactlyOnce("before the replay");
      Map<String, Integer> perChannel = new LinkedHashMap<>();
      for (RedisCapture.Captured m : captured) {
        perChannel.merge(m.channel(), 1, Integer::sum);
      }
      LOG.info("captured {} frames: {}", captured.size(), perChannel);
      assertFalse(captured.isEmpty(), "nothing was published on " + cluster.channelPattern() + " during the run");

      // ---- replay every captured frame, byte for byte ----
      List<Long> before = new ArrayList<>();
      for (JettyNode n : cluster.nodes()) {
        before.add(n.stat("duplicates"));
      }
      long receiversTotal = 0;
      for (RedisCapture.Captured m : captured) {
        receiversTotal += redis.publish(m.channel(), m.payload());
      }
      LOG.info("republished {} frames, {} receivers in all", captured.size(), receiversTotal);
      assertTrue(receiversTotal > 0, "the republished frames reached no subscriber");
      for (TestClient sender : List.of(c0, c1, c2)) {
        cluster.fence(sender, everyone);
      }
      Settle.stable(() -> cluster.sumStat("duplicates") + cluster.sumStat("ownEchoes"), Duration.ofSeconds(1),
          Duration.ofSeconds(20));

      List<String> notRisen = new ArrayList<>();
      for (int i = 0; i < cluster.nodes().size(); i++) {
        JettyNode n = cluster.node(i);
        long after = n.stat("duplicates");
        LOG.info("node {} duplicates {} -> {}; /status {}", n.name(), before.get(i), after, n.statusText());
        if (after <= before.get(i)) {
          notRisen.add(n.name() + " stayed at " + after);
        }
      }
      assertTrue(notRisen.isEmpty(), "every node received replayed envelopes of the two other origins, so every "
          + "node's /status duplicates must rise: " + notRisen);
      checker.check(everyone, t -> t.startsWith(scope)).assertExactlyOnce("after replaying " + captured.size()
          + " captured frames");
    }
  }
}
