package io.wscluster.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.ServerSocket;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.eclipse.jetty.websocket.client.WebSocketClient;
import org.junit.jupiter.api.Test;

/**
 * What a deployer sees: a bad config value fails the webapp's deployment with a message naming
 * what is wrong, and {@code wscluster.enabled=false} deploys single-node without Redis. (An
 * unreachable Redis deploys local-only: {@link LocalModeIT}.) Each test deploys the demo WAR on one real Jetty node.
 */
class DeploymentIT {

  private static String failureOf(Map<String, String> params) {
    JettyNode node = new JettyNode("bad", JettyNode.demoWar(), params, Map.of());
    try {
      Exception e = assertThrows(Exception.class, node::start, "deployment must fail");
      StringBuilder chain = new StringBuilder();
      for (Throwable t = e; t != null; t = t.getCause()) {
        chain.append(t.getMessage()).append('\n');
      }
      return chain.toString();
    } finally {
      node.stop();
    }
  }

  @Test
  void badValue_failsDeploymentNamingKeyValueAndExpectation() {
    String failure = failureOf(Map.of("wscluster.outbox.max-frames", "-5"));

    assertTrue(failure.contains("wscluster.outbox.max-frames value was set to '-5' "
        + "(web.xml context-param), must be a positive integer up to 1000000"), failure);
  }

  @Test
  void unknownKey_failsDeploymentWithASuggestion() {
    String failure = failureOf(Map.of("wscluster.redis.adress", "redis://127.0.0.1:6379"));

    assertTrue(failure.contains("Unknown configuration key 'wscluster.redis.adress' "
        + "(web.xml context-param). Did you mean 'wscluster.redis.address'?"), failure);
  }

  @Test
  void disabled_deploysWithoutRedisAndDeliversOnThisNode() throws Exception {
    int port;
    try (ServerSocket s = new ServerSocket(0)) {
      port = s.getLocalPort();
    }
    Map<String, String> params = new HashMap<>();
    params.put("wscluster.enabled", "false");
    params.put("wscluster.redis.address", "redis://127.0.0.1:" + port); // unreachable, unused
    JettyNode node = new JettyNode("solo", JettyNode.demoWar(), params, Map.of());
    WebSocketClient ws = new WebSocketClient();
    try {
      node.start();
      ws.setIdleTimeout(Duration.ofMinutes(1));
      ws.start();
      TestClient a = TestClient.chat(ws, node, "lobby", "a");
      TestClient b = TestClient.chat(ws, node, "lobby", "b");

      a.say("solo:1");
      b.awaitDelivery("solo:1");
      a.awaitDelivery("solo:1");

      for (TestClient c : List.of(a, b)) {
        assertEquals(1, c.count("solo:1"), c + ": " + c.deliveries());
      }
      a.close();
      b.close();
    } finally {
      ws.stop();
      node.stop();
    }
  }

  @Test
  void healthPath_servesTheHealth_200WhileDelivering_503WhenRedisIsGone_404WhereNotSet() throws Exception {
    try (Cluster cluster = Cluster.start("health", 2, Map.of(),
        Map.of(0, Map.of("wscluster.health.path", "/wscluster/health")))) {
      java.net.http.HttpClient http = java.net.http.HttpClient.newHttpClient();
      java.util.function.Function<Integer, java.net.http.HttpResponse<String>> get = i -> {
        try {
          return http.send(java.net.http.HttpRequest.newBuilder(cluster.node(i).httpUri("/wscluster/health"))
              .timeout(Duration.ofSeconds(10)).build(), java.net.http.HttpResponse.BodyHandlers.ofString());
        } catch (Exception e) {
          throw new IllegalStateException(e);
        }
      };

      java.net.http.HttpResponse<String> healthy = get.apply(0);
      assertEquals(200, healthy.statusCode(), healthy.body());
      assertTrue(healthy.body().startsWith("{\"ok\":true,\"running\":true,\"joined\":true,\"delivering\":true,"), healthy.body());
      assertEquals(404, get.apply(1).statusCode(), "off unless set");

      cluster.redis().kill();
      Settle.until("the health turns 503 once the probe goes missing", Duration.ofSeconds(15),
          Duration.ofMillis(100), () -> get.apply(0).statusCode() == 503);
      assertTrue(get.apply(0).body().contains("\"delivering\":false"), get.apply(0).body());
    }
  }
}
