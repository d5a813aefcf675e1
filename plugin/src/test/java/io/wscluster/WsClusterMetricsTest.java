package io.wscluster;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tags;
import io.micrometer.core.instrument.TimeGauge;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.wscluster.memory.TestMemory;
import io.wscluster.micrometer.WsClusterMetrics;
import java.lang.reflect.Field;
import java.lang.reflect.Modifier;
import java.lang.reflect.Proxy;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * {@link WsClusterMetrics} against a real node on the in-memory transport, and against a stand-in
 * node for what a real one cannot be made to show on demand (a counter this version does not
 * know, the number of stats reads per scrape).
 */
class WsClusterMetricsTest {
  private static final AtomicInteger PREFIXES = new AtomicInteger();
  private static final Duration WAIT = Duration.ofSeconds(10);

  private final List<ClusterNode> nodes = new ArrayList<>();
  private final MeterRegistry registry = new SimpleMeterRegistry();

  @AfterEach
  void stop() {
    nodes.forEach(ClusterNode::stop);
    registry.close();
  }

  private ClusterNode start() throws Exception {
    WsClusterConfig config = WsClusterConfig.builder()
        .transport(WsClusterConfig.TransportType.MEMORY)
        .channelPrefix("metrics" + PREFIXES.incrementAndGet())
        .nodeName("m")
        .set(WsClusterConfig.NODE_HEARTBEAT, "100ms")
        .set(WsClusterConfig.SHUTDOWN_TIMEOUT, "1s")
        .build();
    ClusterNode node = new ClusterNode(config, TestMemory.transport(new ConcurrentHashMap<>(), 0),
        NodeParts.DEFAULT, System::nanoTime, t -> TestMemory.directory(null, config.channelPrefix()));
    nodes.add(node);
    node.start();
    return node;
  }

  /** The meter name the binder documents: camel-case words dot-separated, under wscluster. */
  private static String meterName(String stat) {
    return "wscluster." + stat.replaceAll("([A-Z])", ".$1").toLowerCase();
  }

  private double counter(String name) {
    FunctionCounter c = registry.find(name).functionCounter();
    assertNotNull(c, name + " is not registered");
    return c.count();
  }

  private double gauge(String name) {
    Gauge g = registry.find(name).gauge();
    assertNotNull(g, name + " is not registered");
    return g.value();
  }

  @Test
  void realNode_countersAndGaugesFollowItsStatsAndHealth() throws Exception {
    ClusterNode node = start();
    new WsClusterMetrics(node, Tags.of("app", "chat")).bindTo(registry);
    FakeSession session = new FakeSession();
    node.onSessionOpened(session.session);

    node.send(Target.all(), "hello").toCompletableFuture().get(10, TimeUnit.SECONDS);

    await().atMost(WAIT).untilAsserted(() -> {
      assertEquals(1, counter("wscluster.published"));
      assertEquals(1, counter("wscluster.delivered"));
      assertEquals(1, gauge("wscluster.sessions"));
      assertEquals(1, gauge("wscluster.joined"));
      assertEquals(1, gauge("wscluster.delivering"));
      assertEquals(1, gauge("wscluster.healthy"));
      assertEquals(1, gauge("wscluster.nodes.live"));
      assertTrue(counter("wscluster.frames.published") >= 1);
      assertTrue(counter("wscluster.probes.received") >= 1);
      TimeGauge rtt = registry.find("wscluster.probe.round.trip").timeGauge();
      assertTrue(rtt.value(TimeUnit.MICROSECONDS) > 0, "round trip " + rtt.value());
    });
    assertEquals(0, gauge("wscluster.outage.queued"));
    assertEquals(0, registry.find("wscluster.outage.held.age").timeGauge().value());
    assertEquals(0, gauge("wscluster.outbox.queued"));
    assertEquals(0, gauge("wscluster.outbox.queued.max"));
    assertEquals(0, gauge("wscluster.outbox.size"));
    assertEquals(0, gauge("wscluster.outbox.size.max"));
    for (Meter m : registry.getMeters()) {
      assertTrue(m.getId().getName().startsWith("wscluster."), m.getId().toString());
      assertEquals(node.nodeId(), m.getId().getTag("node"), m.getId().toString());
      assertEquals("chat", m.getId().getTag("app"), m.getId().toString());
    }
  }

  @Test
  void everyCounterOfThePlugin_isRegisteredAtZeroWhenBound() throws Exception {
    ClusterNode node = start();
    new WsClusterMetrics(node).bindTo(registry);

    List<String> counters = new ArrayList<>();
    for (Field f : Stats.class.getDeclaredFields()) {
      if (Modifier.isStatic(f.getModifiers()) && f.getType() == String.class) {
        String stat = (String) f.get(null);
        if (!stat.startsWith("outbox.") && !stat.equals(Stats.REJECTED)) {
          counters.add(stat);
        }
      }
    }
    assertTrue(counters.size() > 30, counters.toString());
    for (String stat : counters) {
      assertNotNull(registry.find(meterName(stat)).functionCounter(),
          stat + " has no counter " + meterName(stat));
    }
    for (EnvelopeCodec.Reason r : EnvelopeCodec.Reason.values()) {
      String reason = r.name().toLowerCase();
      assertNotNull(registry.find("wscluster.rejected").tag("reason", reason).functionCounter(),
          "rejected." + reason + " has no counter");
    }
    assertEquals(0, counter("wscluster.frames.lost"));
    assertEquals(EnvelopeCodec.Reason.values().length,
        registry.find("wscluster.rejected").functionCounters().size(),
        "one rejection counter per reason, none for their sum");
    assertTrue(Double.isNaN(registry.find("wscluster.probe.round.trip").timeGauge().value())
        || counter("wscluster.probes.received") > 0, "NaN until a probe came back");
  }

  /** A node whose stats are {@code stats}, counting how often they are read. */
  private static WsCluster standIn(Map<String, Long> stats, AtomicInteger reads) {
    Health health = new Health(true, true, true, -1, 2, 0, 0);
    return (WsCluster) Proxy.newProxyInstance(WsCluster.class.getClassLoader(),
        new Class<?>[] {WsCluster.class}, (proxy, method, args) -> {
          switch (method.getName()) {
            case "nodeId": return "stand-in";
            case "stats": reads.incrementAndGet(); return new TreeMap<>(stats);
            case "health": return health;
            default: throw new UnsupportedOperationException(method.getName());
          }
        });
  }

  @Test
  void countersUnknownToThisVersion_areBoundUnderTheirDerivedNameIfPresentWhenBound() {
    Map<String, Long> stats = new ConcurrentHashMap<>(Map.of("published", 3L,
        "brandNewThing", 7L, "rejected", 2L, "rejected.empty", 1L, "rejected.future_reason", 1L));
    new WsClusterMetrics(standIn(stats, new AtomicInteger())).bindTo(registry);

    assertEquals(7, counter("wscluster.brand.new.thing"));
    assertEquals(1, registry.find("wscluster.rejected").tag("reason", "future_reason")
        .functionCounter().count());
    assertEquals(1, registry.find("wscluster.rejected").tag("reason", "empty")
        .functionCounter().count());
    assertEquals(0, registry.find("wscluster.rejected").tag("reason", "auth_invalid")
        .functionCounter().count());
    assertTrue(Double.isNaN(registry.find("wscluster.probe.round.trip").timeGauge().value()));
    assertEquals(2, gauge("wscluster.nodes.live"));
  }

  @Test
  void oneScrape_readsTheStatsOnce_andCloseRemovesTheMeters() {
    AtomicInteger reads = new AtomicInteger();
    Map<String, Long> stats = new ConcurrentHashMap<>(Map.of("published", 3L, "sessions", 2L));
    WsClusterMetrics metrics = new WsClusterMetrics(standIn(stats, reads));
    metrics.bindTo(registry);
    int afterBind = reads.get();
    await().pollDelay(Duration.ofMillis(150)).until(() -> true); // the bind's snapshot expires

    for (Meter m : registry.getMeters()) {
      m.measure().forEach(x -> x.getValue());
    }
    assertEquals(afterBind + 1, reads.get(), "one stats() for the whole scrape");
    assertEquals(3, counter("wscluster.published"));
    assertEquals(2, gauge("wscluster.sessions"));

    metrics.close();
    assertEquals(List.of(), registry.getMeters());
  }
}
