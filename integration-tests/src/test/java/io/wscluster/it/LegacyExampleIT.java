package io.wscluster.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * The migration story on two real Jetty nodes: webapp-legacy-example holds a single-node chat as legacy apps write
 * it ({@code /before/chat}, a loop over getOpenSessions()) and the same endpoint after the README's migration diff
 * ({@code /chat}), configured by web.xml only and without Guice in the WAR. The first stays node-local (the reason
 * to migrate, and the control that the second's cross-node deliveries come from the change); the second delivers
 * every message to every client on both nodes exactly once.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class LegacyExampleIT {
  private Cluster cluster;

  @BeforeAll
  void startCluster() throws Exception {
    cluster = Cluster.start("legacy", JettyNode.war("wscluster-legacy-example.war"), null, 2, Map.of(), Map.of());
  }

  @AfterAll
  void stopCluster() {
    if (cluster != null) {
      cluster.close();
    }
  }

  @Test
  void war_withoutGuice_deploysAndRunsThePlugin() {
    for (JettyNode node : cluster.nodes()) {
      assertFalse(node.webappCanLoad("com.google.inject.Injector"), node + " must not see Guice");
      assertTrue(node.webappCanLoad("io.wscluster.WsCluster"), node + " must have the plugin");
      assertTrue(node.isWebappRunning(), node + " webapp running");
    }
  }

  @Test
  void before_getOpenSessionsBroadcast_staysOnTheSendersNode() throws Exception {
    TestClient sender = cluster.plain(0, "/before/chat", "before-a@n0");
    TestClient local = cluster.plain(0, "/before/chat", "before-b@n0");
    TestClient remote = cluster.plain(1, "/before/chat", "before-c@n1");

    sender.send("before:1");
    sender.awaitDelivery("before:1");
    local.awaitDelivery("before:1");
    // the same text through the clustered endpoint of node 0 reaches node 1 in milliseconds; give this one a second
    Thread.sleep(1_000);

    assertEquals(0, remote.count("before:1"), "the legacy loop cannot reach another node: " + remote.deliveries());
    assertEquals(1, local.count("before:1"));
  }

  @Test
  void after_everyClientOnBothNodes_getsEveryMessageExactlyOnce() throws Exception {
    List<TestClient> clients = List.of(
        cluster.plain(0, "/chat", "after-a@n0"),
        cluster.plain(0, "/chat", "after-b@n0"),
        cluster.plain(1, "/chat", "after-c@n1"),
        cluster.plain(1, "/chat", "after-d@n1"));

    RoomExchange exchange = RoomExchange.run(clients, "after:", 25);

    exchange.report().assertExactlyOnce("legacy example after migration, 2 nodes");
  }

  @Test
  void after_doesNotReachTheUnmigratedEndpoint() throws Exception {
    TestClient migrated = cluster.plain(0, "/chat", "mixed-a@n0");
    TestClient unmigrated = cluster.plain(1, "/before/chat", "mixed-b@n1");
    TestClient peer = cluster.plain(1, "/chat", "mixed-c@n1");
    RoomExchange.awaitJoined(List.of(migrated, peer), "mixed:");

    migrated.send("mixed:1");
    peer.awaitDelivery("mixed:1");
    migrated.awaitDelivery("mixed:1");

    assertEquals(0, unmigrated.count("mixed:1"), "the room holds the migrated endpoint's sessions only");
  }
}
