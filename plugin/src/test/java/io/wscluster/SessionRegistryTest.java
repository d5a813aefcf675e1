package io.wscluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.Collection;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

/** This node's sessions by id, room and user; resolving a target to a set of them. */
class SessionRegistryTest {
  private static final String NODE = "node-a-12345678";

  private final Stats stats = new Stats();
  private final SessionRegistry registry = new SessionRegistry(NODE,
      s -> new Outbox(s, 16, WsClusterConfig.Overflow.CLOSE, stats, NODE));

  private final FakeSession a = new FakeSession();
  private final FakeSession b = new FakeSession();
  private final FakeSession c = FakeSession.withPrincipal("alice");
  private final FakeSession d = FakeSession.withPrincipal("bob");

  private LocalSession reg(FakeSession s) {
    return registry.register(s.session);
  }

  private Set<FakeSession> resolve(Target t) {
    Collection<LocalSession> out = registry.resolve(t);
    Set<FakeSession> fakes = new HashSet<>();
    for (LocalSession ls : out) {
      for (FakeSession f : List.of(a, b, c, d)) {
        if (f.session == ls.session) {
          fakes.add(f);
        }
      }
    }
    assertEquals(out.size(), fakes.size(), "each session resolved at most once: " + out);
    return fakes;
  }

  // ================================================================ registration

  @Test
  void register_openSession_createsAnEntryOnce() {
    LocalSession first = reg(a);
    LocalSession again = reg(a);

    assertSame(first, again);
    assertSame(first, registry.get(a.session));
    assertEquals(1, registry.size());
  }

  @Test
  void register_closedSession_returnsNullAndKeepsNothing() {
    a.markClosed();

    assertNull(reg(a));
    assertNull(registry.get(a.session));
    assertEquals(0, registry.size());
    assertEquals(Set.of(), resolve(Target.all()));
  }

  @Test
  void register_uuidSessionId_isUsedAsTheClusterId() {
    assertEquals(a.id, reg(a).id);
  }

  @Test
  void register_nonUuidSessionId_isPrefixedWithTheNodeId() {
    FakeSession jettyLike = new FakeSession("7", null);
    assertEquals(NODE + "/7", registry.register(jettyLike.session).id);
  }

  @Test
  void register_upperCaseUuid_isPrefixedBecauseItIsNotCanonical() {
    FakeSession upper = new FakeSession("123E4567-E89B-12D3-A456-426614174000", null);
    assertEquals(NODE + "/123E4567-E89B-12D3-A456-426614174000",
        registry.register(upper.session).id);
  }

  // ================================================================ resolving

  @Test
  void resolve_all_isEveryRegisteredSession() {
    reg(a);
    reg(b);
    reg(c);

    assertEquals(Set.of(a, b, c), resolve(Target.all()));
  }

  @Test
  void resolve_rooms_isTheUnionOfTheirMembers() {
    registry.join(reg(a), "lobby");
    registry.join(reg(b), "news");
    reg(c);

    assertEquals(Set.of(a), resolve(Target.room("lobby")));
    assertEquals(Set.of(a, b), resolve(Target.rooms("lobby", "news")));
    assertEquals(Set.of(), resolve(Target.room("empty")));
  }

  @Test
  void resolve_sessionInTwoTargetedRooms_isResolvedOnce() {
    LocalSession la = reg(a);
    registry.join(la, "lobby");
    registry.join(la, "news");

    assertEquals(1, registry.resolve(Target.rooms("lobby", "news")).size());
  }

  @Test
  void resolve_sessionInARoomAndTheTargetedUserAndById_isResolvedOnce() {
    LocalSession lc = reg(c);
    registry.join(lc, "lobby");

    Collection<LocalSession> out = registry.resolve(
        Target.room("lobby").andUsers("alice").andSessions(lc.id));

    assertEquals(List.of(lc), new ArrayList<>(out));
  }

  @Test
  void resolve_users_fromThePrincipal() {
    reg(c);
    reg(d);
    reg(a);

    assertEquals(Set.of(c), resolve(Target.user("alice")));
    assertEquals(Set.of(c, d), resolve(Target.users("alice", "bob")));
  }

  @Test
  void resolve_users_assignedUserReplacesThePrincipal() {
    LocalSession lc = reg(c);
    LocalSession la = reg(a);

    registry.setUser(lc, "carol");
    registry.setUser(la, "alice");

    assertEquals(Set.of(a), resolve(Target.user("alice")));
    assertEquals(Set.of(c), resolve(Target.user("carol")));
    assertEquals("carol", lc.user());
  }

  @Test
  void resolve_users_assigningNullGoesBackToThePrincipal() {
    LocalSession lc = reg(c);
    registry.setUser(lc, "carol");

    registry.setUser(lc, null);

    assertEquals("alice", lc.user());
    assertEquals(Set.of(c), resolve(Target.user("alice")));
    assertEquals(Set.of(), resolve(Target.user("carol")));
  }

  @Test
  void resolve_sessionIds_findTheirSessions() {
    LocalSession la = reg(a);
    LocalSession lb = reg(b);
    reg(c);

    assertEquals(Set.of(a, b), resolve(Target.sessions(la.id, lb.id, "elsewhere")));
  }

  @Test
  void resolve_except_removesThoseSessionsFromAnyMatch() {
    LocalSession la = reg(a);
    LocalSession lb = reg(b);
    LocalSession lc = reg(c);
    registry.join(la, "lobby");
    registry.join(lb, "lobby");

    assertEquals(Set.of(b, c), resolve(Target.all().except(la.id)));
    assertEquals(Set.of(b), resolve(Target.room("lobby").except(la.id)));
    assertEquals(Set.of(), resolve(Target.room("lobby").except(la.id, lb.id)));
    assertEquals(Set.of(), resolve(Target.session(lc.id).except(lc.id)), "except wins");
  }

  @Test
  void resolve_roomUserAndSessionTogether_isTheirUnionMinusExcept() {
    LocalSession la = reg(a);
    LocalSession lb = reg(b);
    reg(c);
    LocalSession ld = reg(d);
    registry.join(la, "lobby");

    assertEquals(Set.of(a, b, c), resolve(
        Target.room("lobby").andUsers("alice").andSessions(lb.id, ld.id).except(ld.id)));
  }

  // ================================================================ membership

  @Test
  void join_twiceAndLeave_isIdempotent() {
    LocalSession la = reg(a);
    registry.join(la, "lobby");
    registry.join(la, "lobby");

    assertEquals(Set.of("lobby"), la.rooms);
    registry.leave(la, "lobby");
    registry.leave(la, "lobby");

    assertEquals(Set.of(), la.rooms);
    assertEquals(Set.of(), resolve(Target.room("lobby")));
  }

  @Test
  void unregister_clearsRoomsAndEveryIndex() {
    LocalSession lc = reg(c);
    registry.join(lc, "lobby");
    registry.join(lc, "news");
    String id = lc.id;

    registry.unregister(c.session);

    assertEquals(Set.of(), lc.rooms);
    assertTrue(lc.closed);
    assertNull(registry.get(c.session));
    assertEquals(0, registry.size());
    assertEquals(Set.of(), resolve(Target.rooms("lobby", "news")));
    assertEquals(Set.of(), resolve(Target.user("alice")));
    assertEquals(Set.of(), resolve(Target.session(id)));
    assertEquals(Set.of(), resolve(Target.all()));
  }

  @Test
  void unregister_assignedUser_isUnindexed() {
    LocalSession la = reg(a);
    registry.setUser(la, "zed");

    registry.unregister(a.session);

    assertEquals(Set.of(), resolve(Target.user("zed")));
  }

  @Test
  void unregister_closesTheOutbox() {
    LocalSession la = reg(a);

    registry.unregister(a.session);
    la.outbox.offer("late");

    assertEquals(0, a.receivedCount());
  }

  @Test
  void unregister_twiceOrUnknown_isHarmless() {
    reg(a);
    registry.unregister(a.session);
    registry.unregister(a.session);
    registry.unregister(b.session);
    assertEquals(0, registry.size());
  }

  @Test
  void join_afterUnregister_isIgnored() {
    LocalSession la = reg(a);
    registry.unregister(a.session);

    registry.join(la, "lobby");
    registry.setUser(la, "ghost");

    assertEquals(Set.of(), resolve(Target.room("lobby")));
    assertEquals(Set.of(), resolve(Target.user("ghost")));
  }

  @Test
  void unregister_emptiedRoom_isForgotten() {
    LocalSession la = reg(a);
    LocalSession lb = reg(b);
    registry.join(la, "lobby");
    registry.join(lb, "lobby");

    registry.unregister(a.session);

    assertEquals(Set.of(b), resolve(Target.room("lobby")));
    registry.unregister(b.session);
    assertEquals(Set.of(), resolve(Target.room("lobby")));
  }

  // ================================================================ concurrency

  @Test
  void joinLeaveAndUnregister_concurrently_leaveNoStaleIndexEntry() throws Exception {
    ExecutorService pool = Executors.newFixedThreadPool(4);
    try {
      for (int round = 0; round < 200; round++) {
        FakeSession s = new FakeSession();
        LocalSession ls = registry.register(s.session);
        CountDownLatch go = new CountDownLatch(1);
        List<Future<?>> tasks = new ArrayList<>();
        for (int t = 0; t < 3; t++) {
          String room = "room-" + t;
          tasks.add(pool.submit(() -> {
            go.await();
            for (int i = 0; i < 20; i++) {
              registry.join(ls, room);
              registry.join(ls, "shared");
              registry.leave(ls, room);
            }
            registry.join(ls, room);
            return null;
          }));
        }
        tasks.add(pool.submit(() -> {
          go.await();
          registry.unregister(s.session);
          return null;
        }));
        go.countDown();
        for (Future<?> f : tasks) {
          f.get(10, TimeUnit.SECONDS);
        }
        registry.unregister(s.session);
        Set<String> stale = registry.resolve(Target.rooms("room-0", "room-1", "room-2", "shared"))
            .stream().map(x -> x.id).collect(Collectors.toSet());
        assertEquals(Set.of(), stale, "round " + round);
      }
    } finally {
      pool.shutdownNow();
    }
  }
}
