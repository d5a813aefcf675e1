package io.wscluster.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.wscluster.it.TestClient.Send;
import java.io.ByteArrayOutputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;
import org.junit.jupiter.api.Test;

/**
 * Envelope authentication on real Jetty nodes and Redis: n0 and n1 share {@code wscluster.secret}, n2 has another
 * one. Nothing n2 sends reaches a client of n0 or n1; a frame the test builds by hand from the documented wire format
 * and publishes straight into Redis is rejected without a tag and delivered with the right one (the control that
 * proves the hand-built frame is otherwise genuine).
 */
class EnvelopeAuthIT {

  private static final String SECRET = "it-cluster-secret-0123456789abcdef";
  private static final String OTHER_SECRET = "it-another-secret-0123456789abcdef";

  @Test
  void nodeWithAnotherSecretOrAFrameWithoutTheRightTag_reachesNoClient() throws Exception {
    Map<String, String> shared = Map.of("wscluster.secret", SECRET);
    try (Cluster cluster = Cluster.start("auth", 3, Map.of(),
        Map.of(0, shared, 1, shared, 2, Map.of("wscluster.secret", OTHER_SECRET)))) {
      RedisServer redis = cluster.redis();
      TestClient c0 = cluster.chat(0, "main", "u0");
      TestClient c1 = cluster.chat(1, "main", "u1");
      TestClient c2 = cluster.chat(2, "main", "u2");
      List<TestClient> trusted = List.of(c0, c1);

      // ---- n2, with another secret, sends every way it can; n0 sends to all ----
      List<RedisCapture.Captured> captured;
      try (RedisCapture capture = redis.capture(cluster.channelPattern())) {
        c2.send(Send.text("auth:n2:all").all());
        c2.send(Send.text("auth:n2:user").users("u0")); // to n0's own channel
        c2.say("auth:n2:room");
        c0.send(Send.text("auth:n0:all").all());
        cluster.fence(c0, trusted); // n2's frames were published before: n0 and n1 have handled them
        captured = capture.messages();
      }

      for (TestClient c : trusted) {
        assertEquals(List.of(), c.deliveriesMatching(t -> t.startsWith("auth:n2:")).stream()
            .map(TestClient.Frame::deliveryText).toList(), c + " got messages of the node with another secret");
        assertEquals(1, c.count("auth:n0:all"), c + " " + c.deliveries());
      }
      // n0 gets n2's three frames (one on its own channel), n1 two; n2 gets n0's message and fence
      long[] atLeast = {3, 2, 2};
      for (int i = 0; i < 3; i++) {
        JettyNode n = cluster.node(i);
        long min = atLeast[i];
        Settle.until(n.name() + " counts rejected.auth_invalid", Duration.ofSeconds(10), Duration.ofMillis(20),
            () -> rejected(n, "auth_invalid") >= min);
        assertEquals(n.stat("rejected"), rejected(n, "auth_invalid"), n.name() + " " + n.statusText());
      }
      assertEquals(1, c2.count("auth:n2:all"), "n2's own clients still get its sends (local first)");
      assertEquals(1, c2.count("auth:n2:room"));
      assertEquals(0, c2.count("auth:n0:all"), "and n2 rejects n0's frames");
      assertFalse(captured.isEmpty());
      for (RedisCapture.Captured m : captured) {
        // version 3, bit 7 tagged (bit 6, a copy published again, does not occur without a loss);
        // a frame of recorded messages comes wrapped in its history ids: 0x1F, ids, '\n', frame
        byte[] p = m.payload();
        int head = 0;
        if (p[0] == 0x1F) {
          while (p[head] != '\n') {
            head++;
          }
          head++;
        }
        assertEquals((byte) 0x83, p[head], "every frame on " + m.channel() + " is tagged");
      }

      // ---- frames built by hand, published straight into Redis ----
      String all = cluster.prefix() + ":all";
      redis.publish(all, frame("mallory-0badc0de", 1, "auth:forged:untagged", null));
      redis.publish(all, frame("mallory-0badc0de", 2, "auth:forged:tagged", SECRET));
      for (TestClient c : trusted) {
        c.awaitDelivery("auth:forged:tagged"); // the control: the hand-built frame is genuine with the right tag
      }
      cluster.fence(c0, trusted);

      for (TestClient c : trusted) {
        assertEquals(0, c.count("auth:forged:untagged"), c + " " + c.deliveries());
        assertEquals(1, c.count("auth:forged:tagged"), c + " " + c.deliveries());
      }
      for (int i = 0; i < 2; i++) {
        assertEquals(1, rejected(cluster.node(i), "auth_missing"), cluster.node(i).statusText());
      }
      assertEquals(0, c2.count("auth:forged:tagged"), "n2 has another secret");
      Settle.until("n2 rejected the untagged frame", Duration.ofSeconds(10), Duration.ofMillis(20),
          () -> rejected(cluster.node(2), "auth_missing") == 1);
    }
  }

  /** A /status counter rejected.REASON; 0 while the node never counted one. */
  private static long rejected(JettyNode node, String reason) throws Exception {
    Object stats = node.statsJson().get("stats");
    return stats instanceof Map<?, ?> map && map.get("rejected." + reason) instanceof Number n ? n.longValue() : 0;
  }

  /**
   * One binary envelope to every session, framed as the plugin's EnvelopeCodec documents it (version 1, which
   * nodes still read): head (version 1, bit 7
   * when tagged), count, kind 1, flags binary|all, origin, sequence, four empty name sets, payload; then, when
   * {@code secret} is not null, HMAC-SHA256 of all that under the secret.
   */
  private static byte[] frame(String origin, long seq, String payload, String secret) throws Exception {
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    DataOutputStream out = new DataOutputStream(bytes);
    byte[] originBytes = origin.getBytes(StandardCharsets.UTF_8);
    byte[] data = payload.getBytes(StandardCharsets.UTF_8);
    out.writeByte(secret == null ? 0x01 : 0x81);
    out.writeShort(1);
    out.writeByte(1);
    out.writeByte(1 | 2);
    out.writeByte(originBytes.length);
    out.write(originBytes);
    out.writeLong(seq);
    for (int set = 0; set < 4; set++) {
      out.writeShort(0);
    }
    out.writeInt(data.length);
    out.write(data);
    if (secret != null) {
      out.write(hmac(secret, bytes.toByteArray()));
    }
    out.flush();
    return bytes.toByteArray();
  }

  private static byte[] hmac(String secret, byte[] data) throws IOException {
    try {
      Mac mac = Mac.getInstance("HmacSHA256");
      mac.init(new SecretKeySpec(secret.getBytes(StandardCharsets.UTF_8), "HmacSHA256"));
      return mac.doFinal(data);
    } catch (java.security.GeneralSecurityException e) {
      throw new IOException(e);
    }
  }
}
