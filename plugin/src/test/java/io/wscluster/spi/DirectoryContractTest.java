package io.wscluster.spi;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import io.wscluster.spi.Directory.Change;
import io.wscluster.spi.Directory.Change.Kind;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.UUID;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * What every {@link Directory} promises (its Javadoc and layout), run against each implementation
 * by a subclass. Each test works under a prefix of its own.
 *
 * <p>Changes are built the way {@link SessionRegistry} builds them: OPEN/JOIN/LEAVE carry the
 * session's user now, USER carries the new user, the previous one and the session's rooms, CLOSE
 * carries the user and the rooms at that moment.
 */
public abstract class DirectoryContractTest {
  private static final long TTL = 60_000;

  protected final String prefix = "dir-" + UUID.randomUUID().toString().substring(0, 8);
  protected Directory dir;

  /** A directory on the shared store/server, under {@code prefix}. */
  protected abstract Directory createDirectory(String prefix) throws Exception;

  /** Every key the implementation holds under {@code prefix + ":"}, for leak checks. */
  protected abstract Set<String> keysUnder(String prefix) throws Exception;

  @BeforeEach
  void createDirectory() throws Exception {
    dir = createDirectory(prefix);
  }

  // ================================================================ leases

  @Test
  void renew_firstTime_returnsNull() throws Exception {
    assertNull(get(dir.renew("n1", "token-1", TTL, now())));
  }

  @Test
  void renew_again_returnsOurOwnToken() throws Exception {
    get(dir.renew("n1", "token-1", TTL, now()));

    assertEquals("token-1", get(dir.renew("n1", "token-1", TTL, now())));
  }

  @Test
  void renew_byAnotherToken_returnsTheTokenThatHeldTheLease() throws Exception {
    get(dir.renew("n1", "token-1", TTL, now()));

    assertEquals("token-1", get(dir.renew("n1", "token-2", TTL, now())),
        "a token other than ours: another process presents our node id");
    assertEquals("token-2", get(dir.renew("n1", "token-1", TTL, now())),
        "and the other way round");
  }

  @Test
  void renew_afterTheLeaseExpired_returnsNull() throws Exception {
    long start = now();
    get(dir.renew("n1", "token-1", 100, start));
    Thread.sleep(250);

    assertNull(get(dir.renew("n1", "token-2", TTL, start + 250)),
        "an expired lease is no collision: the node is taken over after its death");
  }

  @Test
  void renew_otherNode_isIndependent() throws Exception {
    get(dir.renew("n1", "token-1", TTL, now()));

    assertNull(get(dir.renew("n2", "token-2", TTL, now())));
  }

  @Test
  void leases_none_isEmpty() throws Exception {
    assertEquals(Map.of(), get(dir.leases()));
  }

  @Test
  void leases_listEveryNodeWithItsExpiry() throws Exception {
    long now = now();
    get(dir.renew("n1", "token-1", TTL, now));
    get(dir.renew("n2", "token-2", 30_000, now + 5));

    assertEquals(Map.of("n1", now + TTL, "n2", now + 5 + 30_000), get(dir.leases()));
  }

  @Test
  void leases_afterRenewal_showTheNewExpiry() throws Exception {
    long now = now();
    get(dir.renew("n1", "token-1", TTL, now));
    get(dir.renew("n1", "token-1", TTL, now + 1_000));

    assertEquals(Map.of("n1", now + 1_000 + TTL), get(dir.leases()));
  }

  // ================================================================ apply: OPEN, JOIN, LEAVE

  @Test
  void apply_open_makesTheSessionFindableByIdAndUser() throws Exception {
    apply("n1", open("s1", "alice"));

    assertEquals("n1", get(dir.nodeOf("s1")));
    assertEquals(Set.of("n1/s1/-"), members(dir.user("alice")),
        "user sets list node and session (the user is the key)");
  }

  @Test
  void apply_openWithoutUser_isInNoUserSet() throws Exception {
    apply("n1", open("s1", null));

    assertEquals("n1", get(dir.nodeOf("s1")));
    assertEquals(Set.of(), keysUnder(prefix).stream().filter(k -> k.startsWith(prefix + ":user:"))
        .collect(Collectors.toSet()), "no user set was written");
  }

  @Test
  void apply_join_listsTheSessionInTheRoomWithItsUser() throws Exception {
    apply("n1", open("s1", "alice"), join("s1", "alice", "lobby"),
        open("s2", null), join("s2", null, "lobby"));

    assertEquals(Set.of("n1/s1/alice", "n1/s2/-"), members(dir.room("lobby")));
  }

  @Test
  void apply_leave_removesTheSessionFromThatRoomOnly() throws Exception {
    apply("n1", open("s1", "alice"), join("s1", "alice", "lobby"), join("s1", "alice", "news"),
        open("s2", "bob"), join("s2", "bob", "lobby"));

    apply("n1", leave("s1", "alice", "lobby"));

    assertEquals(Set.of("n1/s2/bob"), members(dir.room("lobby")));
    assertEquals(Set.of("n1/s1/alice"), members(dir.room("news")));
    assertEquals("n1", get(dir.nodeOf("s1")), "leaving a room is not closing");
  }

  @Test
  void apply_leaveOfTheLastMember_leavesTheRoomEmpty() throws Exception {
    apply("n1", open("s1", null), join("s1", null, "lobby"), leave("s1", null, "lobby"));

    assertEquals(Set.of(), members(dir.room("lobby")));
  }

  // ================================================================ apply: USER

  @Test
  void apply_userSet_reKeysTheUserSetAndTheRoomMembers() throws Exception {
    apply("n1", open("s1", null), join("s1", null, "lobby"), join("s1", null, "news"));

    apply("n1", user("s1", "carol", null, "lobby", "news"));

    assertEquals(Set.of("n1/s1/-"), members(dir.user("carol")));
    assertEquals(Set.of("n1/s1/carol"), members(dir.room("lobby")), "no stale user-less member");
    assertEquals(Set.of("n1/s1/carol"), members(dir.room("news")));
  }

  @Test
  void apply_userChanged_movesTheSessionFromTheOldUserToTheNew() throws Exception {
    apply("n1", open("s1", "carol"), join("s1", "carol", "lobby"),
        open("s2", "carol"), join("s2", "carol", "lobby"));

    apply("n1", user("s1", "dave", "carol", "lobby"));

    assertEquals(Set.of("n1/s2/-"), members(dir.user("carol")), "carol keeps her other session");
    assertEquals(Set.of("n1/s1/-"), members(dir.user("dave")));
    assertEquals(Set.of("n1/s1/dave", "n1/s2/carol"), members(dir.room("lobby")));
  }

  @Test
  void apply_userCleared_removesTheSessionFromTheUserSetAndKeepsItInItsRooms() throws Exception {
    apply("n1", open("s1", "carol"), join("s1", "carol", "lobby"));

    apply("n1", user("s1", null, "carol", "lobby"));

    assertEquals(Set.of(), members(dir.user("carol")));
    assertEquals(Set.of("n1/s1/-"), members(dir.room("lobby")));
    assertEquals("n1", get(dir.nodeOf("s1")));
  }

  @Test
  void apply_joinAfterUserChange_carriesTheNewUser() throws Exception {
    apply("n1", open("s1", null), user("s1", "carol", null), join("s1", "carol", "news"));

    assertEquals(Set.of("n1/s1/carol"), members(dir.room("news")));
  }

  // ================================================================ apply: CLOSE

  @Test
  void apply_close_removesEveryEntryOfThatSessionOnly() throws Exception {
    apply("n1", open("s1", "alice"), join("s1", "alice", "lobby"), join("s1", "alice", "news"),
        open("s2", "alice"), join("s2", "alice", "lobby"));

    apply("n1", close("s1", "alice", "lobby", "news"));

    assertNull(get(dir.nodeOf("s1")));
    assertEquals("n1", get(dir.nodeOf("s2")));
    assertEquals(Set.of("n1/s2/alice"), members(dir.room("lobby")));
    assertEquals(Set.of(), members(dir.room("news")));
    assertEquals(Set.of("n1/s2/-"), members(dir.user("alice")));
  }

  @Test
  void apply_closeAfterUserChange_removesTheSessionUnderItsCurrentUser() throws Exception {
    apply("n1", open("s1", "carol"), join("s1", "carol", "lobby"),
        user("s1", "dave", "carol", "lobby"));

    apply("n1", close("s1", "dave", "lobby"));

    assertNull(get(dir.nodeOf("s1")));
    assertEquals(Set.of(), members(dir.user("carol")));
    assertEquals(Set.of(), members(dir.user("dave")));
    assertEquals(Set.of(), members(dir.room("lobby")));
  }

  @Test
  void apply_closeOfEverySession_leavesNoKeyButTheLease() throws Exception {
    get(dir.renew("n1", "token-1", TTL, now()));
    apply("n1", open("s1", "alice"), join("s1", "alice", "lobby"), user("s1", "bob", "alice",
        "lobby"), open("s2", null), join("s2", null, "news"));

    apply("n1", close("s1", "bob", "lobby"), close("s2", null, "news"));

    assertEquals(Set.of(prefix + ":nodes", prefix + ":lease:n1"), keysUnder(prefix));
  }

  @Test
  void apply_manyChangesInOneCall_areAppliedInOrder() throws Exception {
    apply("n1", open("s1", "alice"), join("s1", "alice", "lobby"), close("s1", "alice", "lobby"),
        open("s1", "bob"), join("s1", "bob", "news"), leave("s1", "bob", "news"),
        join("s1", "bob", "news"));

    assertEquals("n1", get(dir.nodeOf("s1")));
    assertEquals(Set.of(), members(dir.user("alice")));
    assertEquals(Set.of("n1/s1/-"), members(dir.user("bob")));
    assertEquals(Set.of(), members(dir.room("lobby")));
    assertEquals(Set.of("n1/s1/bob"), members(dir.room("news")));
  }

  @Test
  void apply_emptyList_changesNothing() throws Exception {
    get(dir.apply("n1", List.of()));

    assertEquals(Set.of(), keysUnder(prefix));
  }

  // ================================================================ queries

  @Test
  void nodeOf_unknownSession_isNull() throws Exception {
    assertNull(get(dir.nodeOf("nobody")));
  }

  @Test
  void roomAndUser_unknown_areEmpty() throws Exception {
    assertEquals(List.of(), get(dir.room("nowhere")));
    assertEquals(List.of(), get(dir.user("nobody")));
  }

  @Test
  void queries_sessionsOfTwoNodes_nameTheirNodes() throws Exception {
    apply("n1", open("s1", "alice"), join("s1", "alice", "lobby"));
    apply("n2", open("s2", "alice"), join("s2", "alice", "lobby"));

    assertEquals("n1", get(dir.nodeOf("s1")));
    assertEquals("n2", get(dir.nodeOf("s2")));
    assertEquals(Set.of("n1/s1/-", "n2/s2/-"), members(dir.user("alice")));
    assertEquals(Set.of("n1/s1/alice", "n2/s2/alice"), members(dir.room("lobby")));
  }

  @Test
  void namesWithSpacesAndUnicode_work() throws Exception {
    String node = "node é 1";
    String session = "sess 1 ✓ セッション";
    String user = "Zoë O'Brien 🎉";
    String room = "Ünïcødé room 房间:#1";
    get(dir.renew(node, "token 1", TTL, now()));

    apply(node, open(session, user), join(session, user, room));

    assertEquals(node, get(dir.nodeOf(session)));
    assertEquals(Set.of(node + "/" + session + "/-"), members(dir.user(user)));
    assertEquals(Set.of(node + "/" + session + "/" + user), members(dir.room(room)));
    assertEquals(Set.of(node), get(dir.leases()).keySet());

    get(dir.removeNode(node));

    assertNull(get(dir.nodeOf(session)));
    assertEquals(Set.of(), members(dir.room(room)));
    assertEquals(Set.of(), members(dir.user(user)));
    assertEquals(Set.of(), keysUnder(prefix));
  }

  @Test
  void prefixes_areIsolated() throws Exception {
    get(dir.renew("n1", "token-1", TTL, now()));
    apply("n1", open("s1", "alice"), join("s1", "alice", "lobby"));
    Directory other = createDirectory(prefix + "-other");

    assertNull(get(other.nodeOf("s1")));
    assertEquals(List.of(), get(other.room("lobby")));
    assertEquals(List.of(), get(other.user("alice")));
    assertEquals(Map.of(), get(other.leases()));
  }

  // ================================================================ removeNode

  @Test
  void removeNode_removesItsLeaseAndEveryEntryOfItsSessionsButNoOtherNodes() throws Exception {
    long now = now();
    get(dir.renew("n1", "token-1", TTL, now));
    get(dir.renew("n2", "token-2", TTL, now));
    apply("n1", open("a1", "alice"), join("a1", "alice", "lobby"), join("a1", "alice", "news"),
        open("a2", null), join("a2", null, "lobby"), user("a2", "bob", null, "lobby"));
    apply("n2", open("b1", "alice"), join("b1", "alice", "lobby"),
        open("b2", "bob"));

    get(dir.removeNode("n1"));

    assertEquals(Map.of("n2", now + TTL), get(dir.leases()));
    assertNull(get(dir.nodeOf("a1")));
    assertNull(get(dir.nodeOf("a2")));
    assertEquals("n2", get(dir.nodeOf("b1")));
    assertEquals(Set.of("n2/b1/alice"), members(dir.room("lobby")));
    assertEquals(Set.of(), members(dir.room("news")));
    assertEquals(Set.of("n2/b1/-"), members(dir.user("alice")));
    assertEquals(Set.of("n2/b2/-"), members(dir.user("bob")));
    assertNull(get(dir.renew("n1", "token-1", TTL, now)), "its lease is gone");
  }

  @Test
  void removeNode_lastNode_leavesNoKeyUnderThePrefix() throws Exception {
    get(dir.renew("n1", "token-1", TTL, now()));
    apply("n1", open("a1", "alice"), join("a1", "alice", "lobby"), open("a2", null));

    get(dir.removeNode("n1"));

    assertEquals(Set.of(), keysUnder(prefix));
  }

  @Test
  void removeNode_twice_isHarmless() throws Exception {
    get(dir.renew("n1", "token-1", TTL, now()));
    get(dir.renew("n2", "token-2", TTL, now()));
    apply("n1", open("a1", "alice"));
    apply("n2", open("b1", "alice"));

    get(dir.removeNode("n1"));
    get(dir.removeNode("n1"));

    assertEquals(Set.of("n2"), get(dir.leases()).keySet());
    assertEquals(Set.of("n2/b1/-"), members(dir.user("alice")));
  }

  @Test
  void removeNode_unknownNode_isHarmless() throws Exception {
    get(dir.renew("n1", "token-1", TTL, now()));

    get(dir.removeNode("never-seen"));

    assertEquals(Set.of("n1"), get(dir.leases()).keySet());
  }

  @Test
  void removeNode_withoutLease_stillRemovesItsSessions() throws Exception {
    apply("n1", open("a1", "alice"), join("a1", "alice", "lobby"));

    get(dir.removeNode("n1"));

    assertNull(get(dir.nodeOf("a1")));
    assertEquals(Set.of(), keysUnder(prefix));
  }

  // ================================================================ helpers

  public static <T> T get(CompletionStage<T> stage) throws Exception {
    return stage.toCompletableFuture().get(10, TimeUnit.SECONDS);
  }

  private static long now() {
    return System.currentTimeMillis();
  }

  private void apply(String node, Change... changes) throws Exception {
    get(dir.apply(node, List.of(changes)));
  }

  /** Members as "node/session/user", "-" for no user; order-free. */
  public static Set<String> members(CompletionStage<List<Directory.Member>> stage)
      throws Exception {
    return get(stage).stream().map(m -> m.node + "/" + m.session + "/"
        + (m.user == null ? "-" : m.user)).collect(Collectors.toCollection(TreeSet::new));
  }

  public static Change open(String session, String user) {
    return new Change(Kind.OPEN, session, user, null, null);
  }

  public static Change join(String session, String user, String room) {
    return new Change(Kind.JOIN, session, user, room, null);
  }

  public static Change leave(String session, String user, String room) {
    return new Change(Kind.LEAVE, session, user, room, null);
  }

  public static Change user(String session, String user, String previous, String... rooms) {
    return new Change(Kind.USER, session, user, previous, Set.of(rooms));
  }

  public static Change close(String session, String user, String... rooms) {
    return new Change(Kind.CLOSE, session, user, null, Set.of(rooms));
  }
}
