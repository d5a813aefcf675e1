package io.wscluster.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * webapp-guice-example on two real Jetty nodes: the legacy chat clustered the Guice way. WsClusterModule is
 * installed by a GuiceServletContextListener (WEB-INF/web.xml) or by the app's own listener that creates the
 * injector itself (WEB-INF/web-own-injector.xml); {@code /chat} gets WsCluster by field injection through Jetty's
 * object factory, {@code /ctor-chat} by constructor through GuiceEndpointConfigurator, and {@code /announce} is a
 * guice-servlet servlet. Both endpoints share one room, so each client must get every message exactly once.
 */
class GuiceIT {
  private static final String WAR = "wscluster-guice-example.war";
  private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

  /** A field-injected and a constructor-injected endpoint's client on each of nodes 0 and 1, all in one room. */
  static List<TestClient> clients(PlainClients cluster) throws Exception {
    return List.of(
        cluster.plain(0, "/chat", "field@n0"),
        cluster.plain(0, "/ctor-chat", "ctor@n0"),
        cluster.plain(1, "/chat", "field@n1"),
        cluster.plain(1, "/ctor-chat", "ctor@n1"));
  }

  @Test
  void guiceServletListener_fieldAndConstructorInjectedEndpoints_deliverExactlyOnceOnTwoNodes() throws Exception {
    try (Cluster cluster = Cluster.start("guice", JettyNode.war(WAR), null, 2, Map.of(), Map.of())) {
      assertTrue(cluster.node(0).webappCanLoad("com.google.inject.Injector"), "Guice comes with this WAR");

      RoomExchange exchange = RoomExchange.run(clients(cluster), "guice:", 25);

      exchange.report().assertExactlyOnce("guice example, field and constructor injection, 2 nodes");
    }
  }

  @Test
  void servletInjectedThroughGuiceServlet_announcesToEveryNode() throws Exception {
    try (Cluster cluster = Cluster.start("guice-servlet", JettyNode.war(WAR), null, 2, Map.of(), Map.of())) {
      List<TestClient> clients = clients(cluster);
      RoomExchange.awaitJoined(clients, "announce:");

      HttpResponse<String> posted = post(cluster.node(0), "/announce", "announce:1");

      assertEquals(204, posted.statusCode(), posted.body());
      for (TestClient c : clients) {
        c.awaitDelivery("announce:1");
      }
      RoomExchange.run(clients, "after-announce:", 1);
      for (TestClient c : clients) {
        assertEquals(1, c.count("announce:1"), c + ": " + c.deliveries());
      }
      assertTrue(get(cluster.node(1), "/announce").startsWith("n1-"), "node 1 answers its own id");
    }
  }

  @Test
  void ownInjector_moduleSettingsRankFirst_andDeliverExactlyOnce() throws Exception {
    try (Cluster cluster = Cluster.start("guice-own", JettyNode.war(WAR), "WEB-INF/web-own-injector.xml", 2,
        Map.of(), Map.of())) {
      for (JettyNode node : cluster.nodes()) {
        String nodeId = get(node, "/announce");
        // the Cluster fixture sets wscluster.node.name=nX as a context-param; the module's builder wins
        assertTrue(nodeId.startsWith("guice-own-"), node + " node id " + nodeId);
      }

      RoomExchange exchange = RoomExchange.run(clients(cluster), "own:", 25);

      exchange.report().assertExactlyOnce("guice example with its own injector, 2 nodes");
    }
  }

  @Test
  void redeploy_sameContextThreeTimes_oneDecoratorAndStillExactlyOnce() throws Exception {
    try (Cluster cluster = Cluster.start("guice-redeploy", JettyNode.war(WAR), null, 2, Map.of(), Map.of())) {
      JettyNode n0 = cluster.node(0);
      for (int i = 0; i < 3; i++) {
        n0.undeploy();
        assertEquals(0, decorators(n0), "after undeploy: " + n0.objectFactoryDecorators());
        n0.redeploy();
        assertEquals(1, decorators(n0), "after redeploy: " + n0.objectFactoryDecorators());
      }

      RoomExchange exchange = RoomExchange.run(clients(cluster), "redeployed:", 10);

      exchange.report().assertExactlyOnce("guice example after 3 redeploys of node 0");
    }
  }

  private static long decorators(JettyNode node) {
    return node.objectFactoryDecorators().stream().filter(d -> d.startsWith("wscluster Guice endpoint decorator"))
        .count();
  }

  @Test
  void negativeControl_dedupOffOnADoublySubscribedNode_checkerSeesDuplicates() throws Exception {
    try (Cluster cluster = Cluster.start("guice-dupoff", JettyNode.war(WAR), null, 2,
        Map.of(0, Map.of(JettyNode.TEST_EXTRA_SUBSCRIPTIONS, 1, JettyNode.TEST_DEDUP, "off")), Map.of())) {
      RoomExchange.run(clients(cluster), "dupoff:", 10).assertDuplicatesSeen();
    }
  }

  private static HttpResponse<String> post(JettyNode node, String path, String body) throws Exception {
    return HTTP.send(HttpRequest.newBuilder(node.httpUri(path)).timeout(Duration.ofSeconds(10))
        .POST(HttpRequest.BodyPublishers.ofString(body)).build(), HttpResponse.BodyHandlers.ofString());
  }

  private static String get(JettyNode node, String path) throws Exception {
    HttpResponse<String> r = HTTP.send(HttpRequest.newBuilder(node.httpUri(path)).timeout(Duration.ofSeconds(10))
        .GET().build(), HttpResponse.BodyHandlers.ofString());
    assertEquals(200, r.statusCode(), "GET " + path + " on " + node + ": " + r.body());
    return r.body();
  }
}
