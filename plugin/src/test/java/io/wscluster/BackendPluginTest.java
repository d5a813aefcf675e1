package io.wscluster;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * A backend plugs in by configuration alone: nodes made the way a webapp's are
 * ({@link WebappLifecycle#newNode}: the provider looked up by {@code wscluster.transport}, then
 * the node) run on the test tree's {@code test-loop} backend, which the core does not know.
 */
class BackendPluginTest {
  private static final Duration WAIT = Duration.ofSeconds(10);
  private final List<ClusterNode> nodes = new ArrayList<>();

  @AfterEach
  void stopNodes() {
    nodes.forEach(ClusterNode::stop);
  }

  private ClusterNode start(String name, String transport) throws Exception {
    WsClusterConfig config = WsClusterConfig.builder().transport(transport).nodeName(name)
        .channelPrefix("plugin").set(WsClusterConfig.SHUTDOWN_TIMEOUT, "1s").build();
    ClusterNode node = WebappLifecycle.newNode(config, Map.<String, Object>of()::get,
        getClass().getClassLoader());
    nodes.add(node);
    node.start();
    return node;
  }

  @Test
  void transport_aThirdPartyBackendsName_messagesFlowBetweenNodesExactlyOnce() throws Exception {
    ClusterNode a = start("a", "test-loop");
    ClusterNode b = start("b", "TEST-LOOP");
    FakeSession onA = new FakeSession();
    FakeSession onB = new FakeSession();
    a.onSessionOpened(onA.session);
    b.onSessionOpened(onB.session);
    b.join(onB.session, "lobby");
    await().atMost(WAIT).until(() -> a.health().liveNodes() == 2 && a.presence()
        .sessionsInRoom("lobby").toCompletableFuture().join().size() == 1);

    a.send(Target.all(), "to all").toCompletableFuture().get();
    b.send(Target.all(), "from b").toCompletableFuture().get();
    a.send(Target.room("lobby"), "to the lobby").toCompletableFuture().get();

    await().atMost(WAIT).until(() -> onB.receivedCount() == 3 && onA.receivedCount() == 2);
    Thread.sleep(200); // a repeat would arrive within this
    // sorted: messages of two origins arrive in either order
    assertEquals(List.of("from b", "to all"), onA.received().stream().sorted().toList());
    assertEquals(List.of("from b", "to all", "to the lobby"),
        onB.received().stream().sorted().toList());
  }

  @Test
  void transport_unknownName_failsNamingKeyValueAndTheBackendsThereAre() {
    ConfigException e = assertThrows(ConfigException.class, () -> start("a", "rabbit"));

    assertEquals("wscluster.transport value was set to 'rabbit', must be the name of a backend "
        + "on the class path: one of memory, redis, test-loop (a backend lists its provider in "
        + "META-INF/services/io.wscluster.spi.BackendProvider)", e.getMessage());
  }

  @Test
  void transport_notAName_isRefusedByTheConfig() {
    ConfigException e = assertThrows(ConfigException.class,
        () -> WsClusterConfig.builder().transport("redis cluster").build());

    assertEquals("wscluster.transport value was set to 'redis cluster' (builder), must be a "
        + "backend's name: 1 to 64 characters from a-z 0-9 . _ -", e.getMessage());
  }

  @Test
  void enabledFalse_runsOnAnIsolatedMemoryBackend_whateverTheTransport() throws Exception {
    WsClusterConfig config = WsClusterConfig.builder().enabled(false).transport("rabbit")
        .nodeName("alone").set(WsClusterConfig.SHUTDOWN_TIMEOUT, "1s").build();
    ClusterNode alone = WebappLifecycle.newNode(config, Map.<String, Object>of()::get, null);
    nodes.add(alone);
    alone.start();
    ClusterNode other = start("other", "memory");
    FakeSession s = new FakeSession();
    other.onSessionOpened(s.session);

    alone.send(Target.all(), "nobody else").toCompletableFuture().get();

    assertEquals(1, alone.health().liveNodes());
    Thread.sleep(200);
    assertEquals(List.of(), s.received(), "a disabled node reaches no other node");
  }
}
