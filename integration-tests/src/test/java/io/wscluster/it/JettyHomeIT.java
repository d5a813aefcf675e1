package io.wscluster.it;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.wscluster.it.TestClient.Send;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.regex.Pattern;
import org.eclipse.jetty.websocket.client.WebSocketClient;
import org.junit.jupiter.api.Test;

/**
 * The demo WAR, unchanged, on the stock Jetty 12 distribution (jetty-home, unpacked by the
 * build) as docs/jetty-home.md sets it up: two {@code jetty.base}s with the http, ee10-deploy and
 * ee10-websocket-jakarta modules plus config/jetty-base/modules/wscluster-logging.mod, the WAR as
 * webapps/ROOT.war, context-params in webapps/ROOT.xml and the Redis address in the environment.
 * The processes share a test-owned redis-server.
 *
 * <p>Asserted: a broadcast from either instance reaches every client exactly once; the plugin's
 * lines are in Jetty's output, in Jetty's log format, with the configuration the base gave;
 * SIGTERM undeploys the webapp, which logs its stop and leaves the cluster. Control: a third base
 * without wscluster-logging clusters all the same but logs none of the plugin's lines, and SLF4J
 * says it found no provider, which is what users of the stock distribution saw.
 */
class JettyHomeIT {

  private static final int MESSAGES_PER_SENDER = 20;
  /** Jetty's format (jetty-slf4j-impl): "2026-01-31 12:00:00.000:INFO :iw.ClusterNode:main: ". */
  private static final Pattern JETTY_INFO_LINE =
      Pattern.compile("^\\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\d\\.\\d{3}:INFO :\\S+:\\S+: .*");

  /** config/jetty-base/modules/wscluster-logging.mod, which docs/jetty-home.md has users copy. */
  static Path loggingModule() {
    Path module = Path.of(System.getProperty("it.wscluster.logging.module",
        "../config/jetty-base/modules/wscluster-logging.mod"));
    assertTrue(Files.isRegularFile(module), "no module file at " + module.toAbsolutePath());
    return module;
  }

  @Test
  void stockDistribution_twoInstancesOnOneRedis_broadcastExactlyOnce_pluginLogsThroughJetty()
      throws Exception {
    String prefix = "it-jettyhome-" + UUID.randomUUID().toString().substring(0, 8);
    List<AutoCloseable> started = new ArrayList<>();
    // closed in reverse order: clients, then the Jetty processes, then Redis
    try {
      RedisServer redis = RedisServer.start();
      started.add(redis);
      Map<String, String> env = Map.of("WSCLUSTER_REDIS_ADDRESS", redis.address());
      List<JettyHomeNode> nodes = new ArrayList<>();
      for (String name : List.of("home0", "home1", "quiet")) {
        List<Path> modules = name.equals("quiet") ? List.of() : List.of(loggingModule());
        Map<String, String> params = JettyHomeNode.params(
            "wscluster.node.name", name, "wscluster.channel.prefix", prefix);
        JettyHomeNode node = JettyHomeNode.create(name, JettyNode.demoWar(), modules, params, env);
        started.add(node);
        nodes.add(node);
      }
      // the three JVMs start side by side: the test's time is one start, not three
      for (JettyHomeNode node : nodes) {
        node.start();
      }
      for (JettyHomeNode node : nodes) {
        node.awaitStarted();
      }
      JettyHomeNode home0 = nodes.get(0);
      JettyHomeNode home1 = nodes.get(1);
      JettyHomeNode quiet = nodes.get(2);
      String all = prefix + ":all";
      Settle.until("the three instances subscribed to " + all, Duration.ofSeconds(20),
          Duration.ofMillis(50), () -> redis.numsub(all) >= 3);

      for (JettyHomeNode node : List.of(home0, home1)) {
        assertLogged(node, "wscluster node started on channel " + all + " with config {");
        // the context-params of webapps/ROOT.xml and the environment's address reached the plugin
        assertLogged(node, "wscluster.redis.address=" + redis.address() + ",");
        assertLogged(node, "wscluster.node.name=" + node.name() + ",");
        assertFalse(node.output().stream().anyMatch(l -> l.contains("No SLF4J providers")),
            node.name() + " has an SLF4J without provider:\n" + String.join("\n", node.output()));
      }
      assertFalse(quiet.output().stream().anyMatch(l -> l.contains("wscluster node started")),
          "control: without wscluster-logging the plugin's lines cannot reach Jetty's output");
      assertTrue(quiet.output().stream().anyMatch(l -> l.contains("No SLF4J providers were found")),
          "control: the WAR's own slf4j-api reports that it has no provider:\n"
              + String.join("\n", quiet.output()));

      WebSocketClient ws = new WebSocketClient();
      ws.setIdleTimeout(Duration.ofMinutes(2));
      ws.start();
      started.add(ws::stop);
      List<TestClient> everyone = List.of(
          TestClient.chat(ws, home0, "lobby", "a0"), TestClient.chat(ws, home0, "lobby", "b0"),
          TestClient.chat(ws, home1, "lobby", "a1"), TestClient.chat(ws, home1, "lobby", "b1"),
          TestClient.chat(ws, quiet, "lobby", "q"));
      for (TestClient client : everyone) {
        started.add(client::close);
      }

      String scope = "m:" + prefix + ":";
      ExactlyOnceChecker checker = new ExactlyOnceChecker();
      for (TestClient sender : List.of(everyone.get(0), everyone.get(2))) {
        for (int i = 0; i < MESSAGES_PER_SENDER; i++) {
          String text = scope + sender.label() + ":" + i;
          checker.expect(text, everyone);
          sender.send(Send.text(text).all());
        }
      }
      // per-origin order: once a sender's fence is everywhere, so is everything it sent before
      for (TestClient sender : List.of(everyone.get(0), everyone.get(2))) {
        String fence = "fence:" + sender.label();
        sender.send(Send.text(fence).all());
        for (TestClient client : everyone) {
          client.awaitDelivery(fence);
        }
      }
      checker.check(everyone, t -> t.startsWith(scope))
          .assertExactlyOnce("broadcast across two stock Jetty instances and the control");

      home1.stop();
      assertLogged(home1, "wscluster node stopped");
      Settle.until("home1 left " + all, Duration.ofSeconds(10), Duration.ofMillis(50),
          () -> redis.numsub(all) == 2);
    } finally {
      for (int i = started.size() - 1; i >= 0; i--) {
        try {
          started.get(i).close();
        } catch (Exception e) {
          // the rest must be stopped all the same
        }
      }
    }
  }

  /** A line of the node's output that contains {@code text} and has Jetty's log format. */
  private static void assertLogged(JettyHomeNode node, String text) {
    List<String> output = node.output();
    assertTrue(output.stream()
            .anyMatch(l -> l.contains(text) && JETTY_INFO_LINE.matcher(l).matches()),
        node.name() + " did not log '" + text + "' through Jetty's logging; its output:\n"
            + String.join("\n", output));
  }
}
