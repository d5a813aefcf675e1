package io.wscluster.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.wscluster.it.TestClient.Send;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
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
import org.junit.jupiter.api.io.TempDir;

/**
 * A WAR that carries a Netty of its own, older than Redisson's: netty-common and netty-handler
 * 4.1.x declared by the app, and with them the rest of that Netty (it.app-netty.version, copied by
 * the build into it.shaded.dir with the shaded plugin jar). Both WARs are the demo WAR with other
 * jars in WEB-INF/lib, exactly those Maven resolves for each choice of plugin artifact.
 *
 * <p>With wscluster-shaded the app's Netty and the plugin's relocated one live side by side: two
 * nodes deliver every message exactly once, one node configured by a Redisson YAML file (SnakeYAML
 * and Redisson's config loading, relocated), and the demo's unshaded Micrometer binding serves the
 * plugin's meters; on two instances of the Jetty distribution as well. Control: the plain jar in the same WAR gets a mix of both Netty versions from
 * Maven's nearest-wins mediation, and the webapp fails to deploy on a missing Netty class.
 */
class ShadedJarIT {
  private static final int MESSAGES_PER_SENDER = 20;
  /** What Maven brings for an app's netty-common + netty-handler 4.1.x (netty-handler's dependencies). */
  private static final Pattern APP_NETTY = Pattern.compile("(netty-common|netty-buffer|netty-transport"
      + "|netty-resolver|netty-codec|netty-handler|netty-transport-native-unix-common)-\\d.*\\.jar");
  /** What wscluster-shaded holds inside, relocated, and so takes off WEB-INF/lib. */
  private static final Pattern SHADED_INSIDE =
      Pattern.compile("(wscluster|redisson|netty-[a-z-]+|snakeyaml)-\\d.*\\.jar");

  private static Path shadedDir() {
    Path dir = Path.of(System.getProperty("it.shaded.dir", "target/shaded-it"));
    assertTrue(Files.isRegularFile(dir.resolve("wscluster-shaded.jar")), "no wscluster-shaded.jar in "
        + dir.toAbsolutePath() + ": run through Maven (pre-integration-test copies it)");
    return dir;
  }

  private static List<Path> appNetty() throws IOException {
    String version = System.getProperty("it.app-netty.version", "4.1.118.Final");
    List<Path> jars = new ArrayList<>();
    try (var files = Files.list(shadedDir())) {
      files.filter(f -> APP_NETTY.matcher(f.getFileName().toString()).matches()).forEach(jars::add);
    }
    assertEquals(7, jars.size(), "the app's Netty jars in " + shadedDir() + ": " + jars);
    for (Path jar : jars) {
      assertTrue(jar.getFileName().toString().endsWith("-" + version + ".jar"), jar.toString());
    }
    return jars;
  }

  /** The demo WAR with wscluster-shaded instead of the plain jar, and the app's Netty 4.1. */
  private static Path shadedWar(Path dir) throws IOException {
    List<Path> add = new ArrayList<>(appNetty());
    add.add(shadedDir().resolve("wscluster-shaded.jar"));
    Path war = WarFile.withLibs(JettyNode.demoWar(), dir.resolve("shaded.war"),
        name -> SHADED_INSIDE.matcher(name).matches(), add);
    List<String> libs = WarFile.libs(war);
    assertTrue(libs.stream().noneMatch(l -> l.startsWith("redisson-") || l.contains("4.2.")),
        "the WAR holds Redisson or Redisson's Netty: " + libs);
    return war;
  }

  /** Two senders' messages to everyone, each to arrive at every client exactly once. */
  private static void broadcastExactlyOnce(List<TestClient> everyone, String scope, String what)
      throws Exception {
    ExactlyOnceChecker checker = new ExactlyOnceChecker();
    List<TestClient> senders = List.of(everyone.get(0), everyone.get(2));
    for (TestClient sender : senders) {
      for (int i = 0; i < MESSAGES_PER_SENDER; i++) {
        String text = scope + sender.label() + ":" + i;
        checker.expect(text, everyone);
        sender.send(Send.text(text).all());
      }
    }
    // per-origin order: once a sender's fence is everywhere, so is everything it sent before
    for (TestClient sender : senders) {
      String fence = "fence:" + scope + sender.label();
      sender.send(Send.text(fence).all());
      for (TestClient client : everyone) {
        client.awaitDelivery(fence);
      }
    }
    checker.check(everyone, t -> t.startsWith(scope)).assertExactlyOnce(what);
  }

  @Test
  void shadedJar_nextToTheAppsOwnOlderNetty_twoNodes_everyMessageExactlyOnce(@TempDir Path dir)
      throws Exception {
    Path war = shadedWar(dir);
    Path yaml = dir.resolve("redisson.yaml");

    // n0 by address, n1 by a Redisson YAML file: both must reach the test's Redis (Cluster.start waits)
    try (Cluster cluster = Cluster.start("shaded", war, 2, redis -> {
      try {
        Files.writeString(yaml, "singleServerConfig:\n  address: \"" + redis.address() + "\"\n");
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
      return Map.of(1, Map.of("wscluster.redis.config", yaml.toString()));
    })) {
      for (JettyNode node : cluster.nodes()) {
        assertTrue(node.webappCanLoad("io.wscluster.shaded.org.redisson.Redisson"), node.name());
        assertFalse(node.webappCanLoad("org.redisson.Redisson"), node.name());
        assertTrue(node.webappCanLoad("io.wscluster.shaded.io.netty.util.concurrent.ThreadAwareExecutor"),
            node.name() + ": the plugin's Netty is Redisson's, 4.2");
        assertTrue(node.webappCanLoad("io.netty.util.Version"), node.name() + ": the app's Netty");
        assertFalse(node.webappCanLoad("io.netty.util.concurrent.ThreadAwareExecutor"),
            node.name() + ": the app sees its own Netty 4.1 only, no class of Netty 4.2");
      }

      List<TestClient> everyone = List.of(cluster.chat(0, "lobby", "a0"), cluster.chat(0, "lobby", "b0"),
          cluster.chat(1, "lobby", "a1"), cluster.chat(1, "lobby", "b1"));
      broadcastExactlyOnce(everyone, "m:" + cluster.prefix() + ":",
          "shaded plugin next to the app's Netty 4.1, 2 embedded nodes");

      HttpResponse<String> metrics = HttpClient.newHttpClient().send(
          HttpRequest.newBuilder(cluster.node(0).httpUri("/metrics")).timeout(Duration.ofSeconds(10)).build(),
          HttpResponse.BodyHandlers.ofString());
      assertEquals(200, metrics.statusCode(), metrics.body());
      assertTrue(metrics.body().contains("# TYPE wscluster_published_total counter"), metrics.body());
    }
  }

  /**
   * The same WAR on two instances of the stock distribution, set up as docs/jetty-home.md says
   * (with wscluster-logging): the plugin starts and logs through Jetty, and clusters exactly once.
   */
  @Test
  void shadedJar_onTheJettyDistribution_twoInstances_everyMessageExactlyOnce(@TempDir Path dir)
      throws Exception {
    Path war = shadedWar(dir);
    String prefix = "it-shaded-home-" + UUID.randomUUID().toString().substring(0, 8);
    List<AutoCloseable> started = new ArrayList<>();
    // closed in reverse order: clients, then the Jetty processes, then Redis
    try {
      RedisServer redis = RedisServer.start();
      started.add(redis);
      List<JettyHomeNode> nodes = new ArrayList<>();
      for (String name : List.of("home0", "home1")) {
        JettyHomeNode node = JettyHomeNode.create(name, war, List.of(JettyHomeIT.loggingModule()),
            JettyHomeNode.params("wscluster.node.name", name, "wscluster.channel.prefix", prefix),
            Map.of("WSCLUSTER_REDIS_ADDRESS", redis.address()));
        started.add(node);
        nodes.add(node);
        node.start();
      }
      for (JettyHomeNode node : nodes) {
        node.awaitStarted();
      }
      Settle.until("both instances subscribed", Duration.ofSeconds(20), Duration.ofMillis(50),
          () -> redis.numsub(prefix + ":all") >= 2);
      for (JettyHomeNode node : nodes) {
        assertTrue(node.output().stream().anyMatch(l -> l.contains("wscluster node started on channel")),
            node.name() + " output:\n" + String.join("\n", node.output()));
      }

      WebSocketClient ws = new WebSocketClient();
      ws.start();
      started.add(ws::stop);
      List<TestClient> everyone = new ArrayList<>();
      for (JettyHomeNode node : nodes) {
        for (String user : List.of("a", "b")) {
          TestClient client = TestClient.chat(ws, node, "lobby", user + node.name());
          started.add(client::close);
          everyone.add(client);
        }
      }
      broadcastExactlyOnce(everyone, "m:" + prefix + ":",
          "shaded plugin next to the app's Netty 4.1, 2 jetty-home instances");
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

  @Test
  void plainJar_nextToTheAppsOwnOlderNetty_failsToDeploy(@TempDir Path dir) throws Exception {
    Path war = WarFile.withLibs(JettyNode.demoWar(), dir.resolve("plain.war"),
        name -> APP_NETTY.matcher(name).matches(), appNetty());
    List<String> libs = WarFile.libs(war);
    assertTrue(libs.contains("redisson-4.3.1.jar") && libs.contains("netty-resolver-dns-4.2.12.Final.jar"),
        "Maven keeps Redisson's Netty where the app's does not win: " + libs);

    // Jetty rethrows the webapp's startup failure as it is: here an Error
    Throwable e = assertThrows(Throwable.class,
        () -> Cluster.start("plain-netty", war, 1, redis -> Map.of()).close());

    List<String> chain = new ArrayList<>();
    for (Throwable t = e; t != null; t = t.getCause()) {
      chain.add(t.toString());
    }
    assertTrue(chain.stream().anyMatch(t -> t.startsWith("java.lang.NoClassDefFoundError: io/netty/")),
        "the webapp must fail on a class of Netty 4.2 that 4.1 lacks: " + chain);
  }
}
