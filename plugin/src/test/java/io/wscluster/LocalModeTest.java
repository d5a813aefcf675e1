package io.wscluster;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.wscluster.memory.TestMemory;
import io.wscluster.spi.Transport;
import java.net.ConnectException;
import java.net.UnknownHostException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BiConsumer;
import java.util.stream.Collectors;
import javax.net.ssl.SSLHandshakeException;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.redisson.client.RedisConnectionException;
import org.redisson.client.RedisWrongPasswordException;

/**
 * A node whose transport cannot reach its servers at start runs local-only, then joins the
 * cluster when they come up: what it sent meanwhile reaches every other node exactly once.
 */
class LocalModeTest {
  private static final AtomicInteger PREFIXES = new AtomicInteger();
  private static final Duration WAIT = Duration.ofSeconds(10);

  private final ConcurrentHashMap<String, List<BiConsumer<String, byte[]>>> bus =
      new ConcurrentHashMap<>();
  private final java.util.concurrent.ConcurrentMap<String,
      java.util.concurrent.ConcurrentMap<String, String>> store = new ConcurrentHashMap<>();
  private final String prefix = "local" + PREFIXES.incrementAndGet();
  private final List<ClusterNode> nodes = new ArrayList<>();
  private Set<Thread> threadsBefore;

  @BeforeEach
  void rememberThreads() {
    threadsBefore = wsclusterThreads();
  }

  @AfterEach
  void stopNodes() {
    nodes.forEach(ClusterNode::stop);
  }

  private ClusterNode node(String name, Transport transport) {
    WsClusterConfig config = WsClusterConfig.builder()
        .transport(WsClusterConfig.TransportType.MEMORY)
        .channelPrefix(prefix)
        .nodeName(name)
        .set(WsClusterConfig.SHUTDOWN_TIMEOUT, "1s")
        .set(WsClusterConfig.NODE_HEARTBEAT, "200ms")
        .build();
    ClusterNode n = new ClusterNode(config, transport, NodeParts.DEFAULT, System::nanoTime,
        t -> TestMemory.directory(store, prefix));
    nodes.add(n);
    return n;
  }

  private static Set<Thread> wsclusterThreads() {
    return Thread.getAllStackTraces().keySet().stream()
        .filter(t -> t.getName().startsWith("wscluster-") && t.isAlive())
        .collect(Collectors.toSet());
  }

  private Set<String> newThreads() {
    Set<Thread> now = wsclusterThreads();
    now.removeAll(threadsBefore);
    return now.stream().map(Thread::getName).collect(Collectors.toSet());
  }

  /**
   * An in-memory transport whose start fails as Redisson's does while nothing listens on the
   * port, until {@link #comeUp}; counts its starts and stops.
   */
  private final class UnreachableTransport extends ForwardingTransport {
    private final Exception failure;
    private volatile boolean up;
    final AtomicInteger starts = new AtomicInteger();
    final AtomicInteger stops = new AtomicInteger();

    UnreachableTransport(Exception failure) {
      super(TestMemory.transport(bus, 0));
      this.failure = failure;
    }

    UnreachableTransport() {
      this(new WsClusterException("wscluster cannot connect to Redis at redis://127.0.0.1:1",
          new RedisConnectionException("Unable to connect to Redis server",
              new ConnectException("Connection refused"))));
    }

    void comeUp() {
      up = true;
    }

    @Override
    public void start(Receiver receiver) throws Exception {
      starts.incrementAndGet();
      if (!up) {
        throw failure;
      }
      super.start(receiver);
    }

    @Override
    public void stop() throws Exception {
      stops.incrementAndGet();
      super.stop();
    }

    @Override
    public String toString() {
      return "the test's unreachable Redis";
    }
  }

  private static <T> T get(CompletionStage<T> stage) throws Exception {
    return stage.toCompletableFuture().get(10, java.util.concurrent.TimeUnit.SECONDS);
  }

  // ================================================================ local-only, then joined

  @Test
  void start_transportUnreachable_runsLocalOnlyThenJoinsAndPublishesWhatWasHeldExactlyOnce()
      throws Exception {
    ClusterNode a = node("a", TestMemory.transport(bus, 0));
    a.start();
    UnreachableTransport unreachable = new UnreachableTransport();
    ClusterNode b = node("b", unreachable);
    b.start(); // returns although the transport did not start

    FakeSession a1 = new FakeSession();
    FakeSession a2 = FakeSession.withPrincipal("alice");
    FakeSession b1 = new FakeSession();
    FakeSession b2 = new FakeSession();
    a.onSessionOpened(a1.session);
    a.onSessionOpened(a2.session);
    b.onSessionOpened(b1.session);
    b.onSessionOpened(b2.session);
    b.join(b1.session, "lobby");
    b.join(b2.session, "lobby");
    b.leave(b2.session, "lobby");
    ClusterNodeTest.Ledger ledger = new ClusterNodeTest.Ledger(List.of(a1, a2, b1, b2));

    Health h = b.health();
    assertTrue(h.running());
    assertFalse(h.joined(), h.toString());
    assertFalse(h.delivering(), h.toString());
    assertFalse(h.ok(), h.toString());
    assertTrue(h.toString().contains("\"joined\":false"), h.toString());
    assertTrue(a.health().joined());

    // local-only: sends reach b's own sessions, and wait for publishing
    List<CompletionStage<Void>> sent = new ArrayList<>();
    for (int i = 0; i < 5; i++) {
      ledger.expect("b local " + i, a1, a2, b1, b2);
      sent.add(b.send(Target.all(), "b local " + i));
    }
    ledger.expect("b to alice", a2);
    sent.add(b.send(Target.user("alice"), "b to alice")); // no directory: on the broadcast channel
    ledger.expect("b to b1", b1);
    sent.add(b.send(Target.session(b1.id), "b to b1")); // local only: published nowhere
    ledger.expect("a before", a1, a2);
    a.send(Target.all(), "a before"); // b is not subscribed: it never gets this one
    await().atMost(WAIT).until(() -> b1.count("b to b1") == 1);
    assertEquals(1, b1.count("b local 0"));
    assertEquals(1, b2.count("b local 4"));
    Thread.sleep(600);
    assertEquals(0, a1.count("b local 0"), "nothing left b while it ran local-only");
    assertFalse(sent.get(0).toCompletableFuture().isDone());
    assertEquals(7, b.health().queuedMessages());
    assertEquals(7L, b.stats().get(Stats.PUBLISHED));

    // presence is in the directory, which b cannot reach yet; deliver() cannot look it up either
    ExecutionException e = assertThrows(ExecutionException.class,
        () -> get(b.presence().nodes()));
    assertInstanceOf(WsClusterException.class, e.getCause());
    assertTrue(e.getCause().getMessage().contains("has not joined the cluster yet (it cannot "
        + "reach the test's unreachable Redis): it runs local-only"), e.getCause().getMessage());
    assertThrows(IllegalArgumentException.class, () -> b.presence().sessionsInRoom(""));
    ExecutionException d = assertThrows(ExecutionException.class,
        () -> get(b.deliver(Target.session(b2.id), "b deliver")));
    assertTrue(d.getCause().getMessage().contains("has not joined"), d.getCause().getMessage());
    ledger.expect("b deliver", b2);

    unreachable.comeUp();
    await().atMost(WAIT).until(() -> b.health().joined());
    await().atMost(WAIT).until(ledger::complete);
    for (CompletionStage<Void> s : sent) {
      get(s);
    }
    assertEquals(0, b.health().queuedMessages());

    // joined: b's sessions are in the directory (not b2 in the lobby: it left before b joined)
    await().atMost(WAIT).until(() -> get(a.presence().nodeOf(b1.id)).equals(Optional.of(b.nodeId()))
        && get(a.presence().sessionsInRoom("lobby")).equals(Set.of(b1.id)));
    assertEquals(Set.of(a.nodeId(), b.nodeId()), get(b.presence().nodes()));
    ledger.expect("a after", a1, a2, b1, b2);
    a.send(Target.all(), "a after");
    ledger.expect("b after", a1, a2, b1, b2);
    b.send(Target.all(), "b after");
    ledger.expect("a to b1", b1);
    a.send(Target.session(b1.id), "a to b1");
    await().atMost(WAIT).until(ledger::complete);
    Thread.sleep(500);
    assertEquals(List.of(), ledger.violations());
    await().atMost(WAIT).until(() -> b.health().ok());
    assertTrue(unreachable.starts.get() >= 2, "started again until it worked");
    assertEquals(0, unreachable.stops.get());
    assertFalse(newThreads().stream().anyMatch(t -> t.startsWith("wscluster-connect-")),
        "the connect thread ends once the node joined: " + newThreads());
  }

  @Test
  void stop_whileLocalOnly_stopsTheRetriesAndFailsWhatWasHeld() throws Exception {
    UnreachableTransport unreachable = new UnreachableTransport();
    ClusterNode b = node("b", unreachable);
    b.start();
    FakeSession b1 = new FakeSession();
    b.onSessionOpened(b1.session);
    CompletionStage<Void> held = b.send(Target.all(), "held");
    await().atMost(WAIT).until(() -> b1.count("held") == 1);
    await().atMost(WAIT).until(() -> unreachable.starts.get() >= 3);
    assertTrue(newThreads().stream().anyMatch(t -> t.startsWith("wscluster-connect-")),
        newThreads().toString());

    b.stop();
    ExecutionException e = assertThrows(ExecutionException.class, () -> get(held));
    assertTrue(e.getCause().getMessage().contains("stopped before the message was published"),
        e.getCause().getMessage());
    await().atMost(Duration.ofSeconds(5)).until(() -> newThreads().isEmpty());
    int starts = unreachable.starts.get();
    Thread.sleep(1500);
    assertEquals(starts, unreachable.starts.get(), "no attempt after stop");
    assertEquals(0, unreachable.stops.get(), "a transport that never started is not stopped");
    assertEquals(List.of(), bus.getOrDefault(prefix + ":all", List.of()));
  }

  @Test
  void startStop_localOnly50Times_leaksNoThread() throws Exception {
    for (int i = 0; i < 50; i++) {
      ClusterNode n = node("n" + i, new UnreachableTransport());
      n.start();
      n.send(Target.all(), "x");
      if (i % 2 == 0) {
        Thread.sleep(Membership.JOIN_RETRY_FIRST_MILLIS + 10); // stop after an attempt
      }
      n.stop();
    }
    await().atMost(Duration.ofSeconds(5)).until(() -> newThreads().isEmpty());
  }

  // ================================================================ what is not retried

  @Test
  void start_configurationErrors_failAtOnceAndLeaveNoThread() {
    for (Exception failure : List.of(
        new ConfigException("wscluster.redis.username is set to 'u' but wscluster.redis.password "
            + "is empty"),
        new WsClusterException("wscluster cannot connect to Redis at redis://h:1: Redis refused "
            + "the credentials", new RedisWrongPasswordException("WRONGPASS")),
        new WsClusterException("wscluster cannot connect to Redis at rediss://h:1: the TLS "
            + "handshake failed", new SSLHandshakeException("PKIX path building failed")),
        new java.io.FileNotFoundException("/nowhere/redisson.yaml"))) {
      UnreachableTransport t = new UnreachableTransport(failure);
      ClusterNode n = node("n", t);
      Exception thrown = assertThrows(Exception.class, n::start);
      assertSame(failure, thrown);
      assertEquals(1, t.starts.get(), "not retried: " + failure);
    }
    await().atMost(Duration.ofSeconds(5)).until(() -> newThreads().isEmpty());
  }

  @Test
  void unreachable_networkCausesOnly() {
    assertTrue(Membership.unreachable(new RedisConnectionException("Unable to connect",
        new ConnectException("Connection refused"))));
    assertTrue(Membership.unreachable(new RedisConnectionException("x",
        new UnknownHostException("Failed to resolve 'redis'"))));
    assertTrue(Membership.unreachable(new RedisConnectionException("x",
        new java.net.NoRouteToHostException("No route to host"))));
    assertFalse(Membership.unreachable(new RedisConnectionException("Unable to connect",
        new RedisWrongPasswordException("WRONGPASS"))));
    assertFalse(Membership.unreachable(new RedisConnectionException("x",
        new java.util.concurrent.TimeoutException())));
    assertFalse(Membership.unreachable(new WsClusterException("tls",
        new SSLHandshakeException("handshake"))));
    ConfigException config = new ConfigException("bad");
    config.initCause(new ConnectException("not the point"));
    assertFalse(Membership.unreachable(config));
    assertFalse(Membership.unreachable(new IllegalStateException("already started")));
  }

  /** Negative control for the test above: a node left local-only never delivers across. */
  @Test
  void negativeControl_neverComingUp_theOtherNodeMissesWhatWasSent() throws Exception {
    ClusterNode a = node("a", TestMemory.transport(bus, 0));
    a.start();
    ClusterNode b = node("b", new UnreachableTransport());
    b.start();
    FakeSession a1 = new FakeSession();
    a.onSessionOpened(a1.session);
    ClusterNodeTest.Ledger ledger = new ClusterNodeTest.Ledger(List.of(a1));
    ledger.expect("b local", a1);
    b.send(Target.all(), "b local");
    Thread.sleep(1500);
    assertEquals(List.of("session #0 received 'b local' 0 times, expected 1"),
        ledger.violations());
  }
}
