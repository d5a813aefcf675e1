package io.wscluster.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.wscluster.it.TestClient.Send;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.eclipse.jetty.websocket.client.WebSocketClient;
import org.junit.jupiter.api.Test;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Redis down at deploy time: the webapps deploy local-only (health says not joined), their clients
 * get what their own node sends, and once redis-server starts on the configured port the nodes
 * join, publish what they held, and every message reaches every intended client exactly once.
 * A third node whose Redis never comes up is the negative control: the checker reports the
 * messages it sent as missing on the other nodes.
 */
class LocalModeIT {
  private static final Logger LOG = LoggerFactory.getLogger(LocalModeIT.class);

  private static JettyNode node(String name, String address, String prefix) {
    Map<String, String> params = new HashMap<>();
    params.put("wscluster.redis.address", address);
    params.put("wscluster.node.name", name);
    params.put("wscluster.channel.prefix", prefix);
    return new JettyNode(name, JettyNode.demoWar(), params, Map.of());
  }

  /** The demo acks a send once it is published: a local-only node acks it only after joining. */
  private static void sendUnacked(TestClient sender, Send spec) throws Exception {
    sender.send(Json.write(spec.toJson()));
  }

  @SuppressWarnings("unchecked")
  private static Map<String, Object> health(JettyNode n) throws Exception {
    return (Map<String, Object>) n.statsJson().get("health");
  }

  @Test
  void redisDownAtDeploy_nodesRunLocalOnlyThenJoin_whatTheyHeldCrossesExactlyOnce() throws Exception {
    String prefix = "it-local-" + UUID.randomUUID().toString().substring(0, 8);
    RedisServer redis = RedisServer.start();
    redis.kill(); // its port stays reserved for it: nothing listens there until the restart
    RedisServer never = RedisServer.start();
    never.kill(); // never comes back: node n2 stays local-only
    List<JettyNode> nodes = new ArrayList<>();
    WebSocketClient ws = new WebSocketClient();
    try {
      nodes.add(node("n0", redis.address(), prefix));
      nodes.add(node("n1", redis.address(), prefix));
      nodes.add(node("n2", never.address(), prefix));
      for (JettyNode n : nodes) {
        long t0 = System.nanoTime();
        n.start(); // deploys although Redis is unreachable
        LOG.info("{} deployed in {} ms with Redis down", n.name(), (System.nanoTime() - t0) / 1_000_000);
        assertTrue(n.isWebappRunning(), n.name());
        Map<String, Object> h = health(n);
        assertEquals(Boolean.FALSE, h.get("joined"), n.name() + " " + h);
        assertEquals(Boolean.FALSE, h.get("ok"), n.name() + " " + h);
        assertEquals(Boolean.TRUE, h.get("running"), n.name() + " " + h);
      }
      ws.setIdleTimeout(Duration.ofMinutes(1));
      ws.start();
      TestClient c0 = TestClient.chat(ws, nodes.get(0), "main", "u0");
      TestClient c1 = TestClient.chat(ws, nodes.get(1), "main", "u1");
      TestClient c2 = TestClient.chat(ws, nodes.get(2), "main", "u2");
      List<TestClient> joining = List.of(c0, c1);

      // ---- local-only: each node's own client gets it at once, the other node's nothing yet ----
      ExactlyOnceChecker checker = new ExactlyOnceChecker();
      ExactlyOnceChecker control = new ExactlyOnceChecker();
      for (TestClient sender : joining) {
        TestClient other = sender == c0 ? c1 : c0;
        String id = "p:" + sender.user() + ":local:";
        for (int i = 0; i < 20; i++) {
          checker.expect(id + "all" + i, joining);
          sendUnacked(sender, Send.text(id + "all" + i).rooms("main"));
        }
        checker.expect(id + "user", List.of(other));
        sendUnacked(sender, Send.text(id + "user").users(other.user())); // no directory: broadcast
        checker.expect(id + "say", joining);
        sender.say(id + "say");
        sender.awaitDelivery(id + "all19");
      }
      control.expect("x:n2:local", List.of(c0, c1, c2));
      sendUnacked(c2, Send.text("x:n2:local").rooms("main"));
      c2.awaitDelivery("x:n2:local");
      Thread.sleep(500);
      assertEquals(0, c1.count("p:u0:local:all0"), "nothing crossed while Redis was down");
      assertEquals(0, c0.count("p:u1:local:all0"), "nothing crossed while Redis was down");
      long queued = ((Number) health(nodes.get(0)).get("queuedMessages")).longValue();
      assertTrue(queued >= 22, "n0 holds what it sent: " + health(nodes.get(0)));

      // ---- Redis comes up: n0 and n1 join and publish what they held ----
      long upAt = System.nanoTime();
      redis.restartOnSamePort();
      for (JettyNode n : nodes.subList(0, 2)) {
        Settle.until(n.name() + " joined", Duration.ofSeconds(15), Duration.ofMillis(50),
            () -> Boolean.TRUE.equals(health(n).get("joined")));
        LOG.info("{} joined {} ms after redis-server started", n.name(), (System.nanoTime() - upAt) / 1_000_000);
      }
      for (String text : checker.texts()) {
        for (TestClient c : checker.intended(text)) {
          c.awaitDelivery(text);
        }
      }
      // the directory now has both clients: targeted sends go straight to the owner
      Settle.until("u1 in the directory", Duration.ofSeconds(10), Duration.ofMillis(20),
          () -> redis.command("HGET", prefix + ":ses:" + c1.sessionId(), "user") != null);

      // ---- joined: new messages cross both ways ----
      for (TestClient sender : joining) {
        TestClient other = sender == c0 ? c1 : c0;
        String id = "p:" + sender.user() + ":joined:";
        for (int i = 0; i < 20; i++) {
          checker.expect(id + "all" + i, joining);
          sender.send(Send.text(id + "all" + i).rooms("main"));
        }
        checker.expect(id + "session", List.of(other));
        sender.send(Send.text(id + "session").sessions(other.sessionId()));
        control.expect("x:" + sender.user() + ":joined", List.of(c0, c1, c2));
        sender.send(Send.text("x:" + sender.user() + ":joined").rooms("main"));
      }
      for (String text : checker.texts()) {
        for (TestClient c : checker.intended(text)) {
          c.awaitDelivery(text);
        }
      }
      Thread.sleep(1000); // a late duplicate would show by now
      checker.check(joining, t -> t.startsWith("p:")).assertExactlyOnce("n0 and n1 after joining");
      Settle.until("n0 healthy", Duration.ofSeconds(10), Duration.ofMillis(100),
          () -> Boolean.TRUE.equals(health(nodes.get(0)).get("ok")));
      assertEquals(0L, ((Number) health(nodes.get(0)).get("queuedMessages")).longValue());

      // ---- negative control: n2 never joined; the checker sees what did not cross ----
      Map<String, Object> h2 = health(nodes.get(2));
      assertEquals(Boolean.FALSE, h2.get("joined"), h2.toString());
      ExactlyOnceChecker.Report report = control.check(List.of(c0, c1, c2), t -> t.startsWith("x:"));
      LOG.info("negative control: {}", report.missing());
      assertFalse(report.exactlyOnce(), "the checker must report what the local-only node lacks");
      assertEquals(List.of("u0@n0/main got 'x:n2:local' 0x, expected 1x",
          "u1@n1/main got 'x:n2:local' 0x, expected 1x",
          "u2@n2/main got 'x:u0:joined' 0x, expected 1x",
          "u2@n2/main got 'x:u1:joined' 0x, expected 1x"),
          report.missing().stream().map(Object::toString).sorted().toList());
      assertTrue(report.duplicates().isEmpty(), report.duplicates().toString());
    } finally {
      ws.stop();
      Cluster.stopAll(nodes, JettyNode::stop);
      redis.close();
      never.close();
    }
  }
}
