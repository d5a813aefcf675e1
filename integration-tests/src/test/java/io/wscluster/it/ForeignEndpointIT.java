package io.wscluster.it;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * The plugin sees sessions of endpoints it does not own: the demo's {@code /legacy} is a plain
 * {@code @ServerEndpoint} that never calls the plugin. Its sessions are registered through Jetty's
 * container session listener (bound reflectively, the plugin being in WEB-INF/lib where Jetty's
 * classes are hidden), so a cluster-wide send reaches them, and their close is noticed.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class ForeignEndpointIT {
  private Cluster cluster;

  @BeforeAll
  void startCluster() throws Exception {
    cluster = Cluster.start("foreign", 2);
  }

  @AfterAll
  void stopCluster() {
    if (cluster != null) {
      cluster.close();
    }
  }

  @Test
  void all_fromAnotherNode_reachesSessionsOfAnEndpointThePluginDoesNotOwn() throws Exception {
    TestClient legacy = cluster.connect(1, "/legacy", "legacy@n1");
    TestClient sender = cluster.chat(0, "lobby", "alice");
    TestClient peer = cluster.chat(1, "lobby", "bob");
    List<TestClient> everyone = List.of(legacy, sender, peer);

    sender.send(TestClient.Send.text("foreign:all:1").all());
    cluster.fence(sender, everyone);

    for (TestClient c : everyone) {
      assertEquals(1, c.count("foreign:all:1"), c + " deliveries: " + c.deliveries());
    }
  }

  @Test
  void roomTarget_doesNotReachForeignSessionsThatJoinedNoRoom() throws Exception {
    TestClient legacy = cluster.connect(1, "/legacy", "legacy2@n1");
    TestClient sender = cluster.chat(0, "lobby", "carol");

    sender.say("foreign:room:1");
    cluster.fence(sender, List.of(legacy, sender));

    assertEquals(0, legacy.count("foreign:room:1"), legacy + " deliveries: " + legacy.deliveries());
    assertEquals(1, sender.count("foreign:room:1"));
  }

  @Test
  void close_ofAForeignSession_isNoticedByThePlugin() throws Exception {
    JettyNode n1 = cluster.node(1);
    long before = n1.stat("sessions");
    TestClient legacy = cluster.connect(1, "/legacy", "legacy3@n1");
    await().atMost(Duration.ofSeconds(10)).until(() -> n1.stat("sessions") == before + 1);

    legacy.closeAndWait();

    await().atMost(Duration.ofSeconds(10)).until(() -> n1.stat("sessions") == before);
  }
}
