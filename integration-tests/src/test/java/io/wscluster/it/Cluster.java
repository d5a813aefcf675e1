package io.wscluster.it;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;
import java.util.function.Function;
import org.eclipse.jetty.websocket.client.WebSocketClient;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The fixture of a multi-node test: a private redis-server (or another {@link RedisTopology} of the test's own), N
 * Jetty nodes deploying the demo WAR against it with a channel prefix unique to this cluster, and one shared
 * WebSocket client. Closing it closes everything it started or was handed, in reverse order.
 */
final class Cluster implements PlainClients, AutoCloseable {

  private static final Logger LOG = LoggerFactory.getLogger(Cluster.class);

  private final String prefix;
  private final RedisTopology redis;
  /** Where the nodes' Redisson YAML files are written, when the Redis is no single server. */
  private final Path configDir;
  private final Path war;
  private final String descriptor;
  private final List<JettyNode> nodes = new ArrayList<>();
  private final List<TestClient> clients = new ArrayList<>();
  private final AtomicInteger fences = new AtomicInteger();
  private WebSocketClient ws;

  private Cluster(String prefix, RedisTopology redis, Path war, String descriptor) throws java.io.IOException {
    this.prefix = prefix;
    this.redis = redis;
    this.configDir = java.nio.file.Files.createTempDirectory("wscluster-it-config-");
    this.war = war;
    this.descriptor = descriptor;
  }

  /**
   * Starts Redis and {@code nodeCount} nodes named n0, n1, ...; {@code attributes} maps a node index to the test
   * hooks (context attributes) that node starts with.
   */
  static Cluster start(String testName, int nodeCount, Map<Integer, Map<String, Object>> attributes)
      throws Exception {
    return start(testName, nodeCount, attributes, Map.of());
  }

  /**
   * As {@link #start(String, int, Map)}, and {@code initParameters} maps a node index to extra context init-parameters
   * (plugin configuration such as {@code wscluster.receipt.timeout}) for that node; see {@link #everyNode}.
   */
  static Cluster start(String testName, int nodeCount, Map<Integer, Map<String, Object>> attributes,
      Map<Integer, Map<String, String>> initParameters) throws Exception {
    return start(testName, JettyNode.demoWar(), null, nodeCount, attributes, initParameters);
  }

  /**
   * As {@link #start(String, int, Map, Map)} with another WAR than the demo's, deployed with {@code descriptor}
   * (a path inside the WAR) instead of WEB-INF/web.xml unless it is null.
   */
  static Cluster start(String testName, Path war, String descriptor, int nodeCount,
      Map<Integer, Map<String, Object>> attributes, Map<Integer, Map<String, String>> initParameters)
      throws Exception {
    return start(testName, war, descriptor, nodeCount, attributes, redis -> initParameters);
  }

  /**
   * As {@link #start(String, Path, String, int, Map, Map)}, with each node's init-parameters made once Redis runs (a
   * Redisson YAML file naming its port, say).
   */
  static Cluster start(String testName, Path war, int nodeCount,
      Function<RedisServer, Map<Integer, Map<String, String>>> initParameters) throws Exception {
    return start(testName, war, null, nodeCount, Map.of(), initParameters);
  }

  private static Cluster start(String testName, Path war, String descriptor, int nodeCount,
      Map<Integer, Map<String, Object>> attributes,
      Function<RedisServer, Map<Integer, Map<String, String>>> initParametersOf) throws Exception {
    RedisServer redis = RedisServer.start();
    Map<Integer, Map<String, String>> initParameters;
    try {
      initParameters = initParametersOf.apply(redis);
    } catch (Throwable t) {
      redis.stop();
      throw t;
    }
    return start(testName, war, descriptor, redis, nodeCount, attributes, initParameters);
  }

  /**
   * {@code nodeCount} demo nodes on a Redis the test started: a {@link RedisClusterProcess}, a
   * {@link RedisSentinelProcess}. From here the cluster owns it and stops it on close (also if this fails). Each node
   * gets {@code attributes} and {@code initParameters} of its index, besides what points it at that Redis
   * ({@link RedisTopology#nodeParameters}).
   */
  static Cluster start(String testName, RedisTopology redis, int nodeCount,
      Map<Integer, Map<String, Object>> attributes, Map<Integer, Map<String, String>> initParameters)
      throws Exception {
    return start(testName, JettyNode.demoWar(), null, redis, nodeCount, attributes, initParameters);
  }

  private static Cluster start(String testName, Path war, String descriptor, RedisTopology redis, int nodeCount,
      Map<Integer, Map<String, Object>> attributes, Map<Integer, Map<String, String>> initParameters)
      throws Exception {
    String prefix = "it-" + testName + "-" + UUID.randomUUID().toString().substring(0, 8);
    Cluster cluster;
    try {
      cluster = new Cluster(prefix, redis, war, descriptor);
    } catch (Throwable t) {
      redis.close();
      throw t;
    }
    try {
      for (int i = 0; i < nodeCount; i++) {
        cluster.addNode(attributes.getOrDefault(i, Map.of()), initParameters.getOrDefault(i, Map.of()));
      }
      // every node must talk to this cluster's own Redis, never to a server a WAR's web.xml names
      String all = prefix + ":all";
      Settle.until("every node subscribed to " + all + " on the test's Redis", Duration.ofSeconds(10),
          Duration.ofMillis(20), () -> cluster.redis.numsub(all) >= nodeCount);
      cluster.ws = new WebSocketClient();
      cluster.ws.setIdleTimeout(Duration.ofMinutes(5));
      // presence answers list whole rooms (NoScanIT checks a room of 2,000 sessions: ~75 KB)
      cluster.ws.setMaxTextMessageSize(4 * 1024 * 1024);
      cluster.ws.start();
      LOG.info("cluster {} up: {}, nodes {}", prefix, cluster.redis, cluster.nodes);
      return cluster;
    } catch (Throwable t) {
      cluster.close();
      throw t;
    }
  }

  /**
   * {@code nodeCount} nodes with the same init-parameters, made once Redis runs (a Redisson YAML file naming its port,
   * say). Where they set {@code wscluster.redis.config}, the nodes get no {@code wscluster.redis.address}.
   */
  static Cluster start(String testName, int nodeCount, Function<RedisServer, Map<String, String>> initParameters)
      throws Exception {
    return start(testName, JettyNode.demoWar(), null, nodeCount, Map.of(),
        redis -> everyNode(nodeCount, initParameters.apply(redis)));
  }

  static Cluster start(String testName, int nodeCount) throws Exception {
    return start(testName, nodeCount, Map.of());
  }

  /** The same init-parameters for nodes 0 .. nodeCount-1, for {@link #start(String, int, Map, Map)}. */
  static Map<Integer, Map<String, String>> everyNode(int nodeCount, Map<String, String> initParameters) {
    Map<Integer, Map<String, String>> map = new HashMap<>();
    for (int i = 0; i < nodeCount; i++) {
      map.put(i, initParameters);
    }
    return map;
  }

  private JettyNode addNode(Map<String, Object> attributes, Map<String, String> extraParams) throws Exception {
    String name = "n" + nodes.size();
    Map<String, String> params = new HashMap<>();
    if (!extraParams.containsKey("wscluster.redis.config")) {
      params.putAll(redis.nodeParameters(configDir));
    }
    params.put("wscluster.node.name", name);
    params.put("wscluster.channel.prefix", prefix);
    params.putAll(extraParams);
    JettyNode node = new JettyNode(name, war, params, attributes).descriptor(descriptor);
    nodes.add(node);
    node.start();
    return node;
  }

  String prefix() {
    return prefix;
  }

  /** The PUBSUB pattern matching every channel of this cluster. */
  String channelPattern() {
    return prefix + "*";
  }

  /** The single redis-server of a cluster started without a {@link RedisTopology} of the test's own. */
  RedisServer redis() {
    if (!(redis instanceof RedisServer single)) {
      throw new IllegalStateException("this cluster runs on " + redis.getClass().getSimpleName());
    }
    return single;
  }

  /** The Redis the nodes run on. */
  RedisTopology topology() {
    return redis;
  }

  JettyNode node(int i) {
    return nodes.get(i);
  }

  List<JettyNode> nodes() {
    return List.copyOf(nodes);
  }

  WebSocketClient ws() {
    return ws;
  }

  /**
   * Connects a client to {@code path} on node i that takes every text frame as a delivery of that text (for
   * endpoints that relay raw text, like the examples'); it is closed with the cluster.
   */
  @Override
  public TestClient plain(int node, String path, String label) throws Exception {
    return closedWith(clients, TestClient.plain(ws, nodes.get(node), path, label));
  }

  /**
   * Adds {@code client} to a fixture's {@code clients}, which {@link #close(List, WebSocketClient, Runnable,
   * RedisServer)} closes; returns it.
   */
  static TestClient closedWith(List<TestClient> clients, TestClient client) {
    synchronized (clients) {
      clients.add(client);
    }
    return client;
  }

  /** Connects a chat client to node i; it is closed with the cluster. */
  TestClient chat(int node, String room, String user) throws Exception {
    TestClient client = TestClient.chat(ws, nodes.get(node), room, user);
    synchronized (clients) {
      clients.add(client);
    }
    awaitInDirectory(client);
    return client;
  }

  /**
   * Waits until the client's session and user are in the cluster directory in Redis. Directory
   * writes are asynchronous (milliseconds): a send to a user or a session id from another node
   * routes by what the directory holds, so a test that sends right after connecting waits here,
   * as a real client's peers do by the time they learn of it.
   */
  void awaitInDirectory(TestClient client) {
    String key = prefix + ":ses:" + client.sessionId();
    org.awaitility.Awaitility.await().pollDelay(java.time.Duration.ZERO)
        .pollInterval(java.time.Duration.ofMillis(5)).atMost(java.time.Duration.ofSeconds(10)).until(() -> {
      Object reply = redis.command("HGET", key, "user");
      String user = reply instanceof byte[] ? new String((byte[]) reply,
          java.nio.charset.StandardCharsets.UTF_8) : reply == null ? null : reply.toString();
      return client.user() == null || client.user().isEmpty() ? reply != null
          : client.user().equals(user);
    });
  }

  /** Connects a chat client to any node, for example a {@link NodeProcess}; it is closed with the cluster. */
  TestClient chat(WsNode node, String room, String user) throws Exception {
    TestClient client = TestClient.chat(ws, node, room, user);
    synchronized (clients) {
      clients.add(client);
    }
    awaitInDirectory(client);
    return client;
  }

  /** Connects a client to any endpoint path of node i; it is closed with the cluster. */
  TestClient connect(int node, String path, String label) throws Exception {
    TestClient client = TestClient.connect(ws, nodes.get(node), path, label);
    synchronized (clients) {
      clients.add(client);
    }
    return client;
  }

  /**
   * Sends a fence message to everyone from {@code sender} and waits until every one of {@code everyone} has it.
   * Deliveries from the same origin are ordered, so after the fence every earlier message of that origin has been
   * delivered (or never will be). Returns the fence text (outside every test's message scope).
   */
  String fence(TestClient sender, Collection<TestClient> everyone) throws Exception {
    String text = "fence:" + fences.incrementAndGet() + ":" + sender.label();
    sender.send(TestClient.Send.text(text).all());
    for (TestClient c : everyone) {
      c.awaitDelivery(text);
    }
    return text;
  }

  /**
   * Starts a node of this cluster in a JVM of its own ({@link NodeProcess}: one a test can SIGKILL or SIGSTOP) with
   * the given lease, on this cluster's Redis and channel prefix. The caller closes it.
   */
  NodeProcess startProcess(Duration ttl, Duration heartbeat) throws Exception {
    return NodeProcess.start(redis().address(), Map.of(
        "wscluster.channel.prefix", prefix,
        "wscluster.node.ttl", ttl.toMillis() + "ms",
        "wscluster.node.heartbeat", heartbeat.toMillis() + "ms"));
  }

  /** Sums a /status counter over the running nodes. */
  long sumStat(String counter) throws Exception {
    long sum = 0;
    for (JettyNode n : nodes) {
      sum += n.stat(counter);
    }
    return sum;
  }

  @Override
  public void close() {
    close(clients, ws, () -> stopAll(nodes, JettyNode::stop), redis);
    RedisServer.deleteRecursively(configDir);
  }

  /**
   * Stops the nodes side by side, each on a thread of its own, and returns when all have stopped: a
   * node's stop can wait seconds on Redis (its client's shutdown), and the others need not queue
   * behind it.
   */
  static <N extends WsNode> void stopAll(List<N> nodes, Consumer<? super N> stop) {
    List<Thread> stopping = new ArrayList<>();
    for (N node : List.copyOf(nodes)) {
      Thread t = new Thread(() -> stop.accept(node), "it-stop-" + node.name());
      t.start();
      stopping.add(t);
    }
    boolean interrupted = false;
    for (Thread t : stopping) {
      while (t.isAlive()) {
        try {
          t.join();
        } catch (InterruptedException e) {
          interrupted = true;
        }
      }
    }
    if (interrupted) {
      Thread.currentThread().interrupt();
    }
  }

  /**
   * Closes a cluster's parts in the reverse order of their start: its clients, the WebSocket client (null: not
   * started), then {@code stopNodes}, then Redis.
   */
  static void close(List<TestClient> clients, WebSocketClient ws, Runnable stopNodes, RedisTopology redis) {
    synchronized (clients) {
      for (TestClient c : clients) {
        c.close();
      }
      clients.clear();
    }
    if (ws != null) {
      try {
        ws.stop();
      } catch (Exception e) {
        LOG.warn("websocket client did not stop cleanly", e);
      }
    }
    stopNodes.run();
    redis.close();
  }
}
