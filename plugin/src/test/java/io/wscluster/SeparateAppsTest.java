package io.wscluster;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.wscluster.memory.TestMemory;
import jakarta.servlet.ServletContext;
import java.lang.reflect.Proxy;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.function.BiConsumer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Two apps on one bus (as on one Redis) are two clusters when neither sets a channel prefix: each
 * node's config comes from its webapp's context exactly as at deployment
 * ({@link WebappLifecycle#loadConfig}), so the prefix is the one its context path gives. The
 * control sets one prefix in both apps' web.xml: then they are one cluster again.
 */
class SeparateAppsTest {
  private final ConcurrentHashMap<String, List<BiConsumer<String, byte[]>>> bus =
      new ConcurrentHashMap<>();
  private final List<ClusterNode> nodes = new ArrayList<>();
  /** The channel prefix of each node started, in order. */
  private final List<String> prefixes = new ArrayList<>();

  @AfterEach
  void stopNodes() {
    nodes.forEach(ClusterNode::stop);
  }

  @Test
  void twoAppsWithoutAPrefix_neverSeeEachOthersMessages_whileEachAppsNodesDo() throws Exception {
    FakeSession chatOnNode2 = join(node("/chat", Map.of()), "lobby");
    FakeSession gameOnNode2 = join(node("/game", Map.of()), "lobby");
    ClusterNode chatNode1 = node("/chat", Map.of());
    ClusterNode gameNode1 = node("/game", Map.of());

    send(chatNode1, "chat message");
    send(gameNode1, "game message");
    send(chatNode1, "chat done");
    send(gameNode1, "game done");
    awaitLast(chatOnNode2, "chat done");
    awaitLast(gameOnNode2, "game done");

    assertEquals(List.of("wscluster-chat", "wscluster-game", "wscluster-chat", "wscluster-game"),
        prefixes);
    assertEquals(List.of("chat message", "chat done"), chatOnNode2.received());
    assertEquals(List.of("game message", "game done"), gameOnNode2.received());
  }

  @Test
  void twoAppsSettingTheSamePrefix_areOneCluster() throws Exception {
    Map<String, String> shared = Map.of(WsClusterConfig.CHANNEL_PREFIX, "shared");
    FakeSession chatOnNode2 = join(node("/chat", shared), "lobby");
    FakeSession gameOnNode2 = join(node("/game", shared), "lobby");
    ClusterNode chatNode1 = node("/chat", shared);

    send(chatNode1, "chat message");
    awaitLast(chatOnNode2, "chat message");
    awaitLast(gameOnNode2, "chat message");

    assertEquals(List.of("shared", "shared", "shared"), prefixes);
    assertEquals(List.of("chat message"), gameOnNode2.received());
  }

  /** A started node of the webapp at {@code contextPath} with these web.xml context-params. */
  private ClusterNode node(String contextPath, Map<String, String> params) throws Exception {
    Map<String, String> all = new java.util.HashMap<>(params);
    all.put(WsClusterConfig.TRANSPORT, "memory");
    all.put(WsClusterConfig.SHUTDOWN_TIMEOUT, "1s");
    WsClusterConfig config = WebappLifecycle.loadConfig(context(contextPath, all), Map.of());
    ClusterNode node = new ClusterNode(config, TestMemory.transport(bus, 0), NodeParts.DEFAULT,
        System::nanoTime, t -> TestMemory.directory(null, config.channelPrefix()));
    nodes.add(node);
    prefixes.add(config.channelPrefix());
    node.start();
    return node;
  }

  private static FakeSession join(ClusterNode node, String room) {
    FakeSession s = new FakeSession();
    node.join(s.session, room);
    return s;
  }

  private static void send(ClusterNode node, String text) throws Exception {
    node.send(Target.room("lobby"), text).toCompletableFuture().get(5, TimeUnit.SECONDS);
  }

  /** Waits until {@code text} is the last message {@code s} received: what came before is in. */
  private static void awaitLast(FakeSession s, String text) throws InterruptedException {
    long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
    while (System.nanoTime() < end) {
      List<String> got = s.received();
      if (!got.isEmpty() && got.get(got.size() - 1).equals(text)) {
        return;
      }
      Thread.sleep(5);
    }
    throw new AssertionError("'" + text + "' was not the last of " + s.received());
  }

  /** A ServletContext with a context path and init parameters: what loadConfig reads. */
  private static ServletContext context(String contextPath, Map<String, String> params) {
    return (ServletContext) Proxy.newProxyInstance(SeparateAppsTest.class.getClassLoader(),
        new Class<?>[] {ServletContext.class}, (proxy, method, args) -> {
          switch (method.getName()) {
            case "getContextPath": return contextPath;
            case "getInitParameterNames": return Collections.enumeration(params.keySet());
            case "getInitParameter": return params.get((String) args[0]);
            case "getAttribute": return null;
            case "getClassLoader": return SeparateAppsTest.class.getClassLoader();
            default: throw new UnsupportedOperationException(method.getName());
          }
        });
  }
}
