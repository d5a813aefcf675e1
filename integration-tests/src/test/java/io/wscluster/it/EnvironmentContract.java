package io.wscluster.it;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.wscluster.it.EnvironmentNode.Environment;
import java.net.URL;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * What each Jetty 12 environment's test module proves about the wscluster artifact built for it, with the legacy
 * example app built for that environment (its migrated {@code /chat} endpoint joins a room in {@code @OnOpen} and
 * sends every text to that room; the WAR is configured by web.xml only):
 * <ul>
 *   <li>the plugin the webapp runs is the artifact under test, from the WAR's WEB-INF/lib, and the webapp sees the
 *       environment's servlet and WebSocket API, not the other namespace's;</li>
 *   <li>on 3 nodes sharing a test-owned redis-server, every client on every node gets every message exactly once;</li>
 *   <li>the negative control: with dedup off on a node that subscribes twice, the same exchange and checker report
 *       duplicates (and nothing missing), so the exactly-once assertion above can fail;</li>
 *   <li>the Guice example built for that environment on 2 nodes: endpoints injected by field (through Jetty's object
 *       factory) and by constructor (GuiceEndpointConfigurator) share a room, exactly once (as {@link GuiceIT} on
 *       ee10).</li>
 * </ul>
 * A subclass names the environment; the module's build names the WARs (system properties {@code it.environment.war}
 * and {@code it.environment.guice-war}, each a file or an unpacked directory) and the plugin jar's file name
 * ({@code it.environment.plugin-jar}).
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
abstract class EnvironmentContract {

  private static final String CHAT = "/chat";
  private static final String LEGACY_WAR = "it.environment.war";
  private EnvironmentCluster cluster;

  abstract Environment environment();

  /** The WAR (a file or an unpacked directory) the system property {@code property} names. */
  private static Path war(String property) {
    Path war = Path.of(required(property));
    if (!Files.exists(war)) {
      throw new IllegalStateException("WAR not found at " + war.toAbsolutePath() + ": build it first (mvn -B verify "
          + "-pl <this module> -am copies it in pre-integration-test)");
    }
    return war;
  }

  private static String required(String property) {
    String value = System.getProperty(property);
    if (value == null || value.isBlank()) {
      throw new IllegalStateException("system property " + property + " is not set: run this test through the "
          + "module's failsafe configuration");
    }
    return value;
  }

  @BeforeAll
  void startCluster() throws Exception {
    cluster = EnvironmentCluster.start("legacy", environment(), war(LEGACY_WAR), 3, Map.of());
  }

  @AfterAll
  void stopCluster() {
    if (cluster != null) {
      cluster.close();
    }
  }

  @Test
  void plugin_isTheArtifactUnderTest_onTheEnvironmentsApi() {
    String jar = "/WEB-INF/lib/" + required("it.environment.plugin-jar");
    String api = environment().api();
    String other = api.equals("javax") ? "jakarta" : "javax";
    for (EnvironmentNode node : cluster.nodes()) {
      URL plugin = node.webappResourceOf("io.wscluster.WsCluster");
      assertNotNull(plugin, node + " must have the plugin");
      assertTrue(plugin.toString().contains(jar), node + " loads the plugin from " + plugin + ", not " + jar + "*");
      assertTrue(node.webappCanLoad(api + ".websocket.Session"), node + " must see " + api + ".websocket");
      assertTrue(node.webappCanLoad(api + ".servlet.ServletContext"), node + " must see " + api + ".servlet");
      assertFalse(node.webappCanLoad(other + ".websocket.Session"), node + " must not see " + other + ".websocket");
    }
  }

  @Test
  void everyClientOnEveryNode_getsEveryMessageExactlyOnce() throws Exception {
    List<TestClient> clients = new ArrayList<>();
    for (int node = 0; node < 3; node++) {
      clients.add(cluster.plain(node, CHAT, "a@n" + node));
      clients.add(cluster.plain(node, CHAT, "b@n" + node));
    }

    RoomExchange exchange = RoomExchange.run(clients, "once:", 10);

    exchange.report().assertExactlyOnce(environment().id() + " legacy example, 3 nodes");
  }

  @Test
  void negativeControl_dedupOffOnADoublySubscribedNode_checkerSeesDuplicates() throws Exception {
    try (EnvironmentCluster doubled = EnvironmentCluster.start("dupoff", environment(), war(LEGACY_WAR), 2,
        Map.of(0, Map.of(JettyNode.TEST_EXTRA_SUBSCRIPTIONS, 1, JettyNode.TEST_DEDUP, "off")))) {
      List<TestClient> clients = List.of(doubled.plain(0, CHAT, "a@n0"), doubled.plain(1, CHAT, "b@n1"));

      RoomExchange.run(clients, "dupoff:", 10).assertDuplicatesSeen();
    }
  }

  @Test
  void guiceExample_fieldAndConstructorInjectedEndpoints_exactlyOnceOnTwoNodes() throws Exception {
    try (EnvironmentCluster guice = EnvironmentCluster.start("guice", environment(),
        war("it.environment.guice-war"), 2, Map.of())) {
      RoomExchange exchange = RoomExchange.run(GuiceIT.clients(guice), "guice:", 10);

      exchange.report().assertExactlyOnce(environment().id() + " Guice example, field and constructor injection");
    }
  }
}
