package io.wscluster.it;

import io.wscluster.it.EnvironmentNode.Environment;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.eclipse.jetty.websocket.client.WebSocketClient;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The fixture of {@link EnvironmentContract}: a private redis-server, N {@link EnvironmentNode}s of one Jetty
 * environment deploying the same WAR against it with a channel prefix unique to this cluster, and one WebSocket
 * client. Closing it closes everything it started, in reverse order.
 */
final class EnvironmentCluster implements PlainClients, AutoCloseable {

  private static final Logger LOG = LoggerFactory.getLogger(EnvironmentCluster.class);

  private final String prefix;
  private final RedisServer redis;
  private final List<EnvironmentNode> nodes = new ArrayList<>();
  private final List<TestClient> clients = new ArrayList<>();
  private WebSocketClient ws;

  private EnvironmentCluster(String prefix, RedisServer redis) {
    this.prefix = prefix;
    this.redis = redis;
  }

  /**
   * Starts Redis and {@code nodeCount} nodes named n0, n1, ...; {@code attributes} maps a node index to the test
   * hooks (context attributes) that node starts with.
   */
  static EnvironmentCluster start(String testName, Environment environment, Path war, int nodeCount,
      Map<Integer, Map<String, Object>> attributes) throws Exception {
    String prefix = "it-" + environment.id() + "-" + testName + "-" + UUID.randomUUID().toString().substring(0, 8);
    EnvironmentCluster cluster = new EnvironmentCluster(prefix, RedisServer.start());
    try {
      for (int i = 0; i < nodeCount; i++) {
        EnvironmentNode node = new EnvironmentNode("n" + i, environment, war, Map.of(
            "wscluster.redis.address", cluster.redis.address(),
            "wscluster.node.name", "n" + i,
            "wscluster.channel.prefix", prefix), attributes.getOrDefault(i, Map.of()));
        cluster.nodes.add(node);
        node.start();
      }
      // every node talks to this cluster's own Redis, never to the server the WAR's web.xml names
      String all = prefix + ":all";
      Settle.until("every node subscribed to " + all + " on the test's Redis", Duration.ofSeconds(10),
          Duration.ofMillis(20), () -> cluster.redis.numsub(all) >= nodeCount);
      cluster.ws = new WebSocketClient();
      cluster.ws.setIdleTimeout(Duration.ofMinutes(5));
      cluster.ws.start();
      LOG.info("{} cluster {} up: redis port {}, nodes {}", environment.id(), prefix, cluster.redis.port(),
          cluster.nodes);
      return cluster;
    } catch (Throwable t) {
      cluster.close();
      throw t;
    }
  }

  List<EnvironmentNode> nodes() {
    return List.copyOf(nodes);
  }

  /** Connects a client that takes every text frame as a delivery of that text; it is closed with the cluster. */
  @Override
  public TestClient plain(int node, String path, String label) throws Exception {
    return Cluster.closedWith(clients, TestClient.plain(ws, nodes.get(node), path, label));
  }

  @Override
  public void close() {
    Cluster.close(clients, ws, () -> Cluster.stopAll(nodes, EnvironmentNode::stop), redis);
  }
}
