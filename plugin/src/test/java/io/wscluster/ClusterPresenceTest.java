package io.wscluster;

import static io.wscluster.spi.DirectoryContractTest.close;
import static io.wscluster.spi.DirectoryContractTest.get;
import static io.wscluster.spi.DirectoryContractTest.join;
import static io.wscluster.spi.DirectoryContractTest.leave;
import static io.wscluster.spi.DirectoryContractTest.members;
import static io.wscluster.spi.DirectoryContractTest.open;
import static io.wscluster.spi.DirectoryContractTest.user;
import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.wscluster.memory.TestMemory;
import io.wscluster.spi.Directory;
import io.wscluster.spi.Directory.Change;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * One node's presence on an in-memory directory, with a wall clock the test moves: the lease
 * (heartbeat 50 ms, TTL 200 ms), the cleanup of dead nodes, the filtering of queries, the ordered
 * writer and stop. The heartbeat runs on its real schedule; only lease time is faked, so a lease
 * expires exactly when the test moves the clock past it.
 */
class ClusterPresenceTest {
  private static final Duration WAIT = Duration.ofSeconds(10);
  private static final long TTL = 200;
  /** A realistic epoch-ms start: collision logging is rate-limited against time 0. */
  private static final long T0 = 1_700_000_000_000L;

  private final ConcurrentMap<String, ConcurrentMap<String, String>> store =
      new ConcurrentHashMap<>();
  private final String prefix = "presence-" + UUID.randomUUID().toString().substring(0, 8);
  private final Directory directory = TestMemory.directory(store, prefix);
  private final AtomicLong clock = new AtomicLong(T0);
  private final List<String> gone = new CopyOnWriteArrayList<>();
  private final List<String> goneThreads = new CopyOnWriteArrayList<>();
  private final List<ClusterPresence> started = new ArrayList<>();
  private final List<ExecutorService> executors = new ArrayList<>();

  @AfterEach
  void stopEverything() {
    started.forEach(p -> p.stop(1_000));
    executors.forEach(ExecutorService::shutdownNow);
  }

  private static WsClusterConfig config() {
    return WsClusterConfig.builder()
        .transport(WsClusterConfig.TransportType.MEMORY)
        .nodeName("p")
        .set(WsClusterConfig.NODE_HEARTBEAT, "50ms")
        .set(WsClusterConfig.NODE_TTL, TTL + "ms")
        .build();
  }

  private ClusterPresence start(String node, Directory dir) throws Exception {
    ClusterPresence p = new ClusterPresence(dir, node, config(), n -> {
      gone.add(n);
      goneThreads.add(Thread.currentThread().getName());
    }, clock::get);
    started.add(p);
    p.start();
    return p;
  }

  private ClusterPresence start(String node) throws Exception {
    return start(node, directory);
  }

  /** Another node, written straight into the directory: a lease and sessions, no heartbeat. */
  private void otherNode(String node, Change... changes) throws Exception {
    otherNode(node, TTL, changes);
  }

  private void otherNode(String node, long ttl, Change... changes) throws Exception {
    get(directory.renew(node, "token-" + node, ttl, clock.get()));
    get(directory.apply(node, List.of(changes)));
  }

  private void advanceClock(long millis) {
    clock.addAndGet(millis);
  }

  /** Lets several heartbeats run (the heartbeat period is 50 ms). */
  private static void heartbeats(int n) throws InterruptedException {
    Thread.sleep(50L * n + 30);
  }

  // ================================================================ the lease

  @Test
  void start_takesTheLeaseUntilNowPlusTtl() throws Exception {
    start("n1");

    assertEquals(Map.of("n1", T0 + TTL), get(directory.leases()));
  }

  @Test
  void heartbeat_renewsTheLeaseByTheClock() throws Exception {
    start("n1");

    advanceClock(1_000);

    await().atMost(WAIT).until(() -> get(directory.leases()).get("n1") == T0 + 1_000 + TTL);
  }

  @Test
  void nodes_listsLiveLeasesOnly() throws Exception {
    ClusterPresence p = start("n1");
    get(directory.renew("n2", "token-n2", TTL, clock.get()));
    get(directory.renew("old", "token-old", TTL, clock.get() - TTL));

    assertEquals(Set.of("n1", "n2"), get(p.queries().nodes()), "a lease that ends now is over");
  }

  // ================================================================ queries filter dead nodes

  @Test
  void queries_nodeWhoseLeaseExpiredByTheClock_filterOutItsMembersBeforeCleanup()
      throws Exception {
    ScriptedDirectory scripted = new ScriptedDirectory(directory);
    scripted.holdRemovalOf("dead");
    otherNode("dead", open("d1", "alice"), join("d1", "alice", "lobby"));
    otherNode("live", 10 * TTL, open("l1", "bob"), join("l1", "bob", "lobby"));
    ClusterPresence p = start("n1", scripted);
    p.record(open("p1", "alice"));
    p.record(join("p1", "alice", "lobby"));
    await().atMost(WAIT).until(() -> "n1".equals(get(directory.nodeOf("p1"))));

    assertEquals(Set.of("d1", "l1", "p1"), get(p.queries().sessionsInRoom("lobby")), "all live at first");
    assertEquals(Set.of("alice", "bob"), get(p.queries().usersInRoom("lobby")));
    assertEquals(Set.of("d1", "p1"), get(p.queries().sessionsOfUser("alice")));
    assertEquals(Optional.of("dead"), get(p.queries().nodeOf("d1")));

    advanceClock(TTL); // the lease of "dead" ends now; "live" has time left

    // at once, whatever the heartbeat did yet: the clock alone filters
    assertEquals(Set.of("l1", "p1"), get(p.queries().sessionsInRoom("lobby")));
    assertEquals(Set.of("bob", "alice"), get(p.queries().usersInRoom("lobby")));
    assertEquals(Set.of("p1"), get(p.queries().sessionsOfUser("alice")));
    assertEquals(Optional.empty(), get(p.queries().nodeOf("d1")));
    assertEquals(Optional.of("live"), get(p.queries().nodeOf("l1")));
    assertEquals(Map.of("n1", Set.of("p1"), "live", Set.of("l1")),
        get(p.queries().owners(Target.sessions("d1", "p1", "l1"))));
    assertEquals(Map.of("n1", Set.of("p1")), get(p.queries().owners(Target.user("alice"))));

    // the heartbeat saw it, its removal is held: still filtered, entries still there
    await().atMost(WAIT).until(() -> scripted.removals().contains("dead"));
    assertEquals("dead", get(directory.nodeOf("d1")), "removal held: the entry is still there");
    assertEquals(Set.of("l1", "p1"), get(p.queries().sessionsInRoom("lobby")));
    assertEquals(Set.of(), Set.copyOf(gone), "not gone before its entries are removed");
  }

  @Test
  void queries_nodeNotSeenYet_countsAsLive() throws Exception {
    ClusterPresence p = start("n1");

    otherNode("newcomer", open("x1", "zoe"), join("x1", "zoe", "lobby"));

    assertEquals(Optional.of("newcomer"), get(p.queries().nodeOf("x1")),
        "it joined after the last heartbeat: live until a heartbeat says otherwise");
    assertEquals(Set.of("x1"), get(p.queries().sessionsInRoom("lobby")));
  }

  @Test
  void queries_badNames_areRefusedNamingTheRule() throws Exception {
    ClusterPresence p = start("n1");

    assertEquals("room '' must be 1 to 256 characters long, was 0",
        assertThrows(IllegalArgumentException.class, () -> p.queries().sessionsInRoom("")).getMessage());
    assertEquals("room must not be null",
        assertThrows(IllegalArgumentException.class, () -> p.queries().usersInRoom(null)).getMessage());
    assertEquals("user 'a?b' must not contain control characters (found U+001F at index 1)",
        assertThrows(IllegalArgumentException.class, () -> p.queries().sessionsOfUser("a\u001fb"))
            .getMessage());
    assertEquals("session id must not be null",
        assertThrows(IllegalArgumentException.class, () -> p.queries().nodeOf(null)).getMessage());
  }

  @Test
  void queries_directoryFails_failWithWsClusterExceptionNamingTheCause() throws Exception {
    ScriptedDirectory scripted = new ScriptedDirectory(directory);
    ClusterPresence p = start("n1", scripted);
    scripted.failQueries(new IllegalStateException("redis is down"));

    ExecutionException e = assertThrows(ExecutionException.class,
        () -> get(p.queries().sessionsInRoom("lobby")));

    assertInstanceOf(WsClusterException.class, e.getCause());
    assertEquals("wscluster presence query failed: java.lang.IllegalStateException: redis is down",
        e.getCause().getMessage());
    assertInstanceOf(IllegalStateException.class, e.getCause().getCause(), "the cause itself");
  }

  // ================================================================ dead nodes and nodes gone

  @Test
  void heartbeat_expiredNode_isRemovedAndReportedOnce() throws Exception {
    otherNode("dead", open("d1", "alice"), join("d1", "alice", "lobby"));
    start("n1");

    advanceClock(TTL + 1);

    await().atMost(WAIT).until(() -> !gone.isEmpty());
    assertNull(get(directory.nodeOf("d1")));
    assertEquals(Set.of(), members(directory.room("lobby")));
    assertEquals(Set.of(), members(directory.user("alice")));
    assertEquals(Set.of("n1"), get(directory.leases()).keySet());
    heartbeats(6);
    assertEquals(List.of("dead"), gone, "told once of the node that left");
  }

  @Test
  void heartbeat_nodeRemovedBySomeoneElse_isReportedOnce() throws Exception {
    otherNode("leaver", open("x1", "alice"));
    start("n1");

    get(directory.removeNode("leaver")); // its own graceful stop

    await().atMost(WAIT).until(() -> !gone.isEmpty());
    heartbeats(6);
    assertEquals(List.of("leaver"), gone);
  }

  @Test
  void heartbeat_liveNodes_areNeverReported() throws Exception {
    otherNode("live", open("x1", "alice"));
    start("n1");

    for (int i = 0; i < 5; i++) {
      advanceClock(TTL / 2);
      get(directory.renew("live", "token-live", TTL, clock.get()));
      heartbeats(1);
    }

    assertEquals(List.of(), gone);
    assertEquals("live", get(directory.nodeOf("x1")));
  }

  /**
   * Node n1 and another node ("other", which never renews by itself), then Redis unreachable for
   * longer than a ttl, back without its data, and two heartbeats of n1 after.
   */
  private ClusterPresence nodeAndOtherAcrossALongOutageRedisBackEmpty() throws Exception {
    ScriptedDirectory scripted = new ScriptedDirectory(directory);
    otherNode("other");
    ClusterPresence p = start("n1", scripted);
    await().atMost(WAIT).until(() -> p.liveCount() == 2);
    scripted.down = true;
    heartbeats(2);
    advanceClock(3 * TTL); // the outage outlasts every lease
    store.clear(); // and Redis comes back without its data
    scripted.down = false;
    heartbeats(2);
    return p;
  }

  /**
   * Redis is unreachable for longer than a ttl and comes back empty (restarted without its
   * data). The other node's lease is gone and its old expiry has passed, yet it is not gone: it
   * renews within a heartbeat of reaching Redis again. Until it does (for at most a ttl) it
   * counts as live, because a publish is checked against the live count.
   */
  @Test
  void redisBackEmptyAfterAnOutageLongerThanATtl_theOthersStayLiveForATtl() throws Exception {
    ClusterPresence p = nodeAndOtherAcrossALongOutageRedisBackEmpty();
    heartbeats(2);

    assertEquals(2, p.liveCount(), "the other node has a ttl to renew");
    assertEquals(List.of(), gone);
    get(directory.renew("other", "token-other", TTL, clock.get()));
    advanceClock(TTL / 2);
    heartbeats(2);
    assertEquals(2, p.liveCount());
    assertEquals(List.of(), gone);
  }

  /** The control: a node that does not renew within that ttl is gone after it. */
  @Test
  void redisBackEmpty_aNodeThatNeverRenews_isGoneAfterTheTtl() throws Exception {
    ClusterPresence p = nodeAndOtherAcrossALongOutageRedisBackEmpty();
    assertEquals(2, p.liveCount());

    advanceClock(TTL + 1);
    await().atMost(WAIT).until(() -> gone.equals(List.of("other")));
    assertEquals(1, p.liveCount());
  }

  @Test
  void heartbeat_ownLeaseExpired_neverRemovesItself() throws Exception {
    ScriptedDirectory scripted = new ScriptedDirectory(directory);
    ClusterPresence p = start("n1", scripted);
    p.record(open("p1", "alice"));
    await().atMost(WAIT).until(() -> "n1".equals(get(directory.nodeOf("p1"))));

    advanceClock(10 * TTL); // a long pause: our own lease ran out
    heartbeats(4);

    assertFalse(scripted.removals().contains("n1"));
    assertEquals("n1", get(directory.nodeOf("p1")));
    assertEquals(Optional.of("n1"), get(p.queries().nodeOf("p1")), "this node is always live to itself");
  }

  /**
   * The constructor's contract: onNodeGone is told "on the heartbeat thread". With Redis, the
   * directory's stages complete on Redisson's threads; this directory does the same.
   */
  @Test
  void onNodeGone_directoryCompletesOnItsOwnThreads_isStillToldOnTheHeartbeatThread()
      throws Exception {
    ExecutorService io = Executors.newSingleThreadExecutor(r -> new Thread(r, "fake-redis-io"));
    executors.add(io);
    ScriptedDirectory scripted = new ScriptedDirectory(directory).completeOn(io);
    otherNode("dead", open("d1", "alice"));
    otherNode("leaver", open("x1", "bob"));
    start("n1", scripted);

    get(directory.removeNode("leaver"));
    advanceClock(TTL + 1);

    await().atMost(WAIT).until(() -> Set.copyOf(gone).equals(Set.of("dead", "leaver")));
    assertTrue(goneThreads.stream().allMatch(t -> t.startsWith("wscluster-heartbeat-")),
        "told on " + goneThreads);
  }

  // ================================================================ the writer

  @Test
  void record_thousandsOfChangesOfManySessions_landInOrder() throws Exception {
    assertChangesLandInOrder(directory);
  }

  @Test
  void record_directoryCompletesLater_changesStillLandInOrderOneBatchAtATime() throws Exception {
    ExecutorService io = Executors.newSingleThreadExecutor(r -> new Thread(r, "fake-redis-io"));
    executors.add(io);
    ScriptedDirectory scripted = new ScriptedDirectory(directory).completeOn(io);

    assertChangesLandInOrder(scripted);

    assertEquals(1, scripted.maxConcurrentApplies(), "one batch in flight at a time");
  }

  private void assertChangesLandInOrder(Directory dir) throws Exception {
    ClusterPresence p = start("n1", dir);
    int n = 2_000;
    for (int i = 0; i < n; i++) {
      String s = "s-" + i;
      String u = "u-" + (i % 7);
      p.record(open(s, u));
      p.record(join(s, u, "room-a"));
      p.record(join(s, u, "room-b"));
      p.record(leave(s, u, "room-a"));
      if (i % 3 == 0) {
        p.record(user(s, "v-" + i, u, "room-b"));
        u = "v-" + i;
      }
      if (i % 2 == 1) {
        p.record(close(s, u, "room-b"));
      }
    }
    p.record(open("sentinel", null));
    await().atMost(WAIT).until(() -> "n1".equals(get(directory.nodeOf("sentinel"))));

    Set<String> roomB = new TreeSet<>();
    Map<String, Set<String>> users = new java.util.HashMap<>();
    for (int i = 0; i < n; i++) {
      users.computeIfAbsent("u-" + (i % 7), k -> new TreeSet<>());
      if (i % 2 == 1) {
        assertNull(get(directory.nodeOf("s-" + i)), "s-" + i + " closed");
        continue;
      }
      String u = i % 3 == 0 ? "v-" + i : "u-" + (i % 7);
      roomB.add("n1/s-" + i + "/" + u);
      users.computeIfAbsent(u, k -> new TreeSet<>()).add("n1/s-" + i + "/-");
      assertEquals("n1", get(directory.nodeOf("s-" + i)), "s-" + i);
    }
    assertEquals(roomB, members(directory.room("room-b")));
    assertEquals(Set.of(), members(directory.room("room-a")));
    for (Map.Entry<String, Set<String>> e : users.entrySet()) {
      assertEquals(e.getValue(), members(directory.user(e.getKey())), "user " + e.getKey());
    }
  }

  @Test
  void record_beforeStart_isWrittenWithTheFirstBatchAfterStart() throws Exception {
    ClusterPresence p = new ClusterPresence(directory, "n1", config(), gone::add, clock::get);
    started.add(p);
    p.record(open("early", "alice"));

    p.start();
    p.record(open("late", null));

    await().atMost(WAIT).until(() -> "n1".equals(get(directory.nodeOf("late"))));
    assertEquals("n1", get(directory.nodeOf("early")));
  }

  // ================================================================ stop

  @Test
  void stop_removesThisNodesLeaseAndEveryEntryAtOnce() throws Exception {
    ClusterPresence p = start("n1");
    p.record(open("p1", "alice"));
    p.record(join("p1", "alice", "lobby"));
    await().atMost(WAIT).until(() -> "n1".equals(get(directory.nodeOf("p1"))));

    p.stop(1_000);

    assertEquals(Map.of(), get(directory.leases()));
    assertNull(get(directory.nodeOf("p1")));
    assertEquals(Map.of(), Map.copyOf(store), "no key left in the store");
  }

  @Test
  void stop_isIdempotentAndStopsTheHeartbeatThread() throws Exception {
    ClusterPresence p = start("n1");
    assertTrue(heartbeatThreadAlive(), "the heartbeat thread runs");

    p.stop(1_000);
    p.stop(1_000);

    await().atMost(WAIT).until(() -> !heartbeatThreadAlive());
  }

  @Test
  void stop_neverStarted_isHarmless() {
    ClusterPresence p = new ClusterPresence(directory, "n1", config(), gone::add, clock::get);

    p.stop(1_000);
    p.record(open("after", null));

    assertEquals(Map.of(), Map.copyOf(store));
  }

  @Test
  void record_afterStop_isDropped() throws Exception {
    ClusterPresence p = start("n1");
    p.stop(1_000);

    p.record(open("after", null));
    Thread.sleep(100);

    assertEquals(Map.of(), Map.copyOf(store), "a stopped node writes nothing");
  }

  @Test
  void stop_directoryNeverAnswers_returnsWithinItsTimeout() throws Exception {
    ScriptedDirectory scripted = new ScriptedDirectory(directory);
    ClusterPresence p = start("n1", scripted);
    scripted.holdRemovalOf("n1");

    assertTimeoutPreemptively(Duration.ofSeconds(3), () -> p.stop(300));
  }

  /**
   * A directory write still in flight when stop() removes the node's entries lands after the
   * removal (Redis runs the batch on another connection than the removal's reads): the session
   * is then in the directory of a node that has no lease, which every other node counts as live
   * ("not seen yet") for ever.
   */
  @Test
  void stop_whileADirectoryWriteIsInFlight_leavesNoEntryBehind() throws Exception {
    ScriptedDirectory scripted = new ScriptedDirectory(directory);
    ClusterPresence p = start("n1", scripted);
    scripted.holdApplies();
    p.record(open("p1", "alice"));
    await().atMost(WAIT).until(() -> scripted.heldApplies() == 1);

    CompletableFuture<Void> stopped = CompletableFuture.runAsync(() -> p.stop(1_000));
    Thread.sleep(100); // stop is waiting for the write, or already removed the node
    scripted.releaseApplies();
    stopped.get(5, TimeUnit.SECONDS);

    ClusterPresence other = start("n2");
    assertEquals(Optional.empty(), get(other.queries().nodeOf("p1")),
        "a session of a stopped node is not present anywhere");
    assertNull(get(directory.nodeOf("p1")), "no entry of n1 is left in the directory");
  }

  // ================================================================ collisions

  @Test
  void collision_twoProcessesRenewOneNodeId_logAnErrorAndBothKeepWorking() throws Exception {
    String log;
    try (CapturedStderr err = new CapturedStderr()) {
      ClusterPresence one = start("twin");
      ClusterPresence two = start("twin");
      heartbeats(6);

      one.record(open("from-one", null));
      two.record(open("from-two", null));
      await().atMost(WAIT).until(() -> get(one.queries().nodeOf("from-two")).isPresent()
          && get(two.queries().nodeOf("from-one")).isPresent());
      log = err.text();
    }
    assertTrue(log.contains("ERROR io.wscluster.ClusterPresence - [twin] node id collision: "
        + "another process renews the lease of this node id; give each node its own "
        + "wscluster.node.name"), log);
    long lines = log.lines().filter(l -> l.contains("node id collision")).count();
    assertTrue(lines <= 2, "rate-limited: at most once per process within a minute, was "
        + lines + "\n" + log);
  }

  // ================================================================ helpers

  private static boolean heartbeatThreadAlive() {
    return Thread.getAllStackTraces().keySet().stream()
        .anyMatch(t -> t.getName().startsWith("wscluster-heartbeat-") && t.isAlive());
  }

  /**
   * A directory around another that the test steers: completes stages on another thread (as
   * Redisson does), holds removals of chosen nodes or every apply, fails queries.
   */
  static final class ScriptedDirectory implements Directory {
    private final Directory delegate;
    private final Set<String> holdRemovals = ConcurrentHashMap.newKeySet();
    private final List<String> removals = new CopyOnWriteArrayList<>();
    private final List<Runnable> heldApplies = new ArrayList<>();
    private boolean holdingApplies;
    private int appliesRunning;
    private int maxConcurrentApplies;
    private volatile RuntimeException queryFailure;
    private volatile java.util.concurrent.Executor completer;

    ScriptedDirectory(Directory delegate) {
      this.delegate = delegate;
    }

    ScriptedDirectory completeOn(java.util.concurrent.Executor executor) {
      this.completer = executor;
      return this;
    }

    void holdRemovalOf(String node) {
      holdRemovals.add(node);
    }

    List<String> removals() {
      return removals;
    }

    synchronized void holdApplies() {
      holdingApplies = true;
    }

    synchronized int heldApplies() {
      return heldApplies.size();
    }

    void releaseApplies() {
      List<Runnable> run;
      synchronized (this) {
        holdingApplies = false;
        run = new ArrayList<>(heldApplies);
        heldApplies.clear();
      }
      run.forEach(Runnable::run);
    }

    synchronized int maxConcurrentApplies() {
      return maxConcurrentApplies;
    }

    void failQueries(RuntimeException e) {
      queryFailure = e;
    }

    /** Redis unreachable: renewals and lease reads fail. */
    volatile boolean down;

    private <T> CompletionStage<T> later(CompletionStage<T> stage) {
      java.util.concurrent.Executor c = completer;
      if (c == null) {
        return stage;
      }
      CompletableFuture<T> out = new CompletableFuture<>();
      stage.whenComplete((v, e) -> c.execute(() -> {
        try {
          Thread.sleep(2); // a network round trip: the caller has attached its callbacks
        } catch (InterruptedException stopping) {
          Thread.currentThread().interrupt();
        }
        if (e != null) {
          out.completeExceptionally(e);
        } else {
          out.complete(v);
        }
      }));
      return out;
    }

    @Override
    public CompletionStage<String> renew(String node, String token, long ttl, long now) {
      return down ? CompletableFuture.failedFuture(new IllegalStateException("redis is down"))
          : later(delegate.renew(node, token, ttl, now));
    }

    @Override
    public CompletionStage<Map<String, Long>> leases() {
      return down ? CompletableFuture.failedFuture(new IllegalStateException("redis is down"))
          : later(delegate.leases());
    }

    @Override
    public CompletionStage<Void> removeNode(String node) {
      removals.add(node);
      if (holdRemovals.contains(node)) {
        return new CompletableFuture<>(); // never
      }
      return later(delegate.removeNode(node));
    }

    @Override
    public CompletionStage<Void> apply(String node, List<Change> changes) {
      CompletableFuture<Void> done = new CompletableFuture<>();
      List<Change> copy = List.copyOf(changes);
      Runnable run = () -> {
        synchronized (this) {
          appliesRunning++;
          maxConcurrentApplies = Math.max(maxConcurrentApplies, appliesRunning);
        }
        later(delegate.apply(node, copy)).whenComplete((v, e) -> {
          synchronized (this) {
            appliesRunning--;
          }
          if (e != null) {
            done.completeExceptionally(e);
          } else {
            done.complete(null);
          }
        });
      };
      synchronized (this) {
        if (holdingApplies) {
          heldApplies.add(run);
          return done;
        }
      }
      run.run();
      return done;
    }

    private <T> CompletionStage<T> query(CompletionStage<T> stage) {
      RuntimeException e = queryFailure;
      return e != null ? CompletableFuture.failedFuture(e) : later(stage);
    }

    @Override
    public CompletionStage<String> nodeOf(String session) {
      return query(delegate.nodeOf(session));
    }

    @Override
    public CompletionStage<List<Member>> room(String room) {
      return query(delegate.room(room));
    }

    @Override
    public CompletionStage<List<Member>> user(String user) {
      return query(delegate.user(user));
    }
  }
}
