package io.wscluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;

/** Who a message is for: names, union and except, immutability, equality. */
class TargetTest {

  // ================================================================ name validation

  @Test
  void room_null_isRefused() {
    assertRefused(() -> Target.room(null), "room must not be null");
  }

  @Test
  void user_null_isRefused() {
    assertRefused(() -> Target.user(null), "user must not be null");
  }

  @Test
  void session_null_isRefused() {
    assertRefused(() -> Target.session(null), "session id must not be null");
  }

  @Test
  void room_empty_isRefused() {
    assertRefused(() -> Target.room(""), "room '' must be 1 to 256 characters long, was 0");
  }

  @Test
  void user_empty_isRefused() {
    assertRefused(() -> Target.users("alice", ""), "user '' must be 1 to 256 characters long, was 0");
  }

  @Test
  void room_of256Characters_isAccepted() {
    assertEquals(Set.of("r".repeat(256)), Target.room("r".repeat(256)).rooms());
  }

  @Test
  void room_of257Characters_isRefusedAndAbbreviated() {
    assertRefused(() -> Target.room("r".repeat(257)),
        "room '" + "r".repeat(40) + "...' must be 1 to 256 characters long, was 257");
  }

  @Test
  void session_withNewline_isRefusedNamingTheCharacterAndIndex() {
    assertRefused(() -> Target.session("abc\ndef"),
        "session id 'abc?def' must not contain control characters (found U+000A at index 3)");
  }

  @Test
  void room_withNul_isRefused() {
    assertRefused(() -> Target.room("\u0000"),
        "room '?' must not contain control characters (found U+0000 at index 0)");
  }

  @Test
  void user_withDel_isRefused() {
    assertRefused(() -> Target.user("bob\u007f"),
        "user 'bob?' must not contain control characters (found U+007F at index 3)");
  }

  @Test
  void room_withC1Control_isRefused() {
    assertRefused(() -> Target.room("a\u0085"),
        "room 'a?' must not contain control characters (found U+0085 at index 1)");
  }

  @Test
  void names_unicodeAndSpaces_areAccepted() {
    Target t = Target.rooms("chat room", "房间", "🎉", "Zoë's");
    assertEquals(List.of("chat room", "房间", "🎉", "Zoë's"), List.copyOf(t.rooms()));
  }

  @Test
  void andRooms_badName_isRefused() {
    assertRefused(() -> Target.all().andRooms("ok", ""),
        "room '' must be 1 to 256 characters long, was 0");
  }

  @Test
  void andUsers_badName_isRefused() {
    assertRefused(() -> Target.room("a").andUsers("\t"),
        "user '?' must not contain control characters (found U+0009 at index 0)");
  }

  @Test
  void andSessions_badName_isRefused() {
    assertRefused(() -> Target.room("a").andSessions((String) null),
        "session id must not be null");
  }

  @Test
  void except_badName_isRefused() {
    assertRefused(() -> Target.all().except(""),
        "session id '' must be 1 to 256 characters long, was 0");
    assertRefused(() -> Target.all().except(List.of("ok", "x".repeat(300))),
        "session id '" + "x".repeat(40) + "...' must be 1 to 256 characters long, was 300");
  }

  @Test
  void rooms_nullCollection_isRefusedNamingIt() {
    NullPointerException e = assertThrows(NullPointerException.class,
        () -> Target.rooms((List<String>) null));
    assertEquals("rooms", e.getMessage());
  }

  @Test
  void checkName_validName_returnsIt() {
    assertEquals("lobby", Target.checkName("room", "lobby"));
  }

  // ================================================================ union and except

  @Test
  void all_isAllWithNoSets() {
    Target t = Target.all();
    assertTrue(t.isAll());
    assertTrue(t.rooms().isEmpty() && t.users().isEmpty() && t.sessions().isEmpty()
        && t.except().isEmpty());
    assertSame(Target.all(), Target.all());
  }

  @Test
  void factories_fillOnlyTheirOwnSet() {
    assertEquals(Set.of("a", "b"), Target.rooms("a", "b").rooms());
    assertEquals(Set.of("a"), Target.rooms(List.of("a")).rooms());
    assertEquals(Set.of("u"), Target.user("u").users());
    assertEquals(Set.of("s"), Target.session("s").sessions());
    Target r = Target.room("a");
    assertFalse(r.isAll());
    assertTrue(r.users().isEmpty() && r.sessions().isEmpty() && r.except().isEmpty());
  }

  @Test
  void and_methods_accumulateAUnion() {
    Target t = Target.room("lobby").andRooms("news", "lobby").andUsers("alice").andUsers("bob")
        .andSessions("s1").andSessions("s2", "s1");

    assertEquals(List.of("lobby", "news"), List.copyOf(t.rooms()));
    assertEquals(List.of("alice", "bob"), List.copyOf(t.users()));
    assertEquals(List.of("s1", "s2"), List.copyOf(t.sessions()));
    assertFalse(t.isAll());
  }

  @Test
  void except_accumulatesAndKeepsTheRest() {
    Target t = Target.rooms("lobby").except("s1").except(List.of("s2", "s1"));

    assertEquals(List.of("s1", "s2"), List.copyOf(t.except()));
    assertEquals(Set.of("lobby"), t.rooms());
  }

  @Test
  void all_withAddedRoomsOrExcept_staysAll() {
    Target t = Target.all().andRooms("lobby").except("s1");
    assertTrue(t.isAll());
    assertEquals(Set.of("lobby"), t.rooms());
    assertEquals(Set.of("s1"), t.except());
  }

  @Test
  void and_withNothingMore_keepsTheSameSets() {
    Target t = Target.room("a");
    assertEquals(t, t.andRooms());
    assertEquals(t, t.except(new String[0]));
  }

  @Test
  void of_allWithEmptySets_isTheSharedAll() {
    assertSame(Target.all(), Target.of(true, Set.of(), Set.of(), Set.of(), Set.of()));
    assertFalse(Target.of(false, Set.of(), Set.of(), Set.of(), Set.of()).isAll());
  }

  // ================================================================ immutability

  @Test
  void sets_areUnmodifiable() {
    Target t = Target.room("a").andUsers("u").andSessions("s").except("x");
    assertThrows(UnsupportedOperationException.class, () -> t.rooms().add("b"));
    assertThrows(UnsupportedOperationException.class, () -> t.users().clear());
    assertThrows(UnsupportedOperationException.class, () -> t.sessions().remove("s"));
    assertThrows(UnsupportedOperationException.class, () -> t.except().add("y"));
    assertThrows(UnsupportedOperationException.class, () -> Target.all().rooms().add("b"));
  }

  @Test
  void and_methods_leaveTheOriginalUnchanged() {
    Target base = Target.room("a");

    Target more = base.andRooms("b").andUsers("u").andSessions("s").except("x");

    assertEquals(Target.room("a"), base);
    assertNotEquals(base, more);
    Target all = Target.all();
    all.andRooms("z").except("y");
    assertEquals(Set.of(), Target.all().rooms());
    assertEquals(Set.of(), Target.all().except());
  }

  @Test
  void rooms_laterChangesToTheCallersCollection_doNotLeakIn() {
    List<String> names = new ArrayList<>(List.of("a"));
    String[] array = {"x"};
    Target fromList = Target.rooms(names);
    Target fromArray = Target.rooms(array);

    names.add("b");
    array[0] = "y";

    assertEquals(Set.of("a"), fromList.rooms());
    assertEquals(Set.of("x"), fromArray.rooms());
  }

  // ================================================================ equality

  @Test
  void equals_sameSetsInAnyOrder_areEqualWithEqualHashCodes() {
    Target a = Target.rooms("x", "y").andUsers("u").except("s");
    Target b = Target.rooms("y").andRooms("x").andUsers("u").except("s");
    assertEquals(a, b);
    assertEquals(a.hashCode(), b.hashCode());
  }

  @Test
  void equals_differentKindOfNameOrAllFlag_areNotEqual() {
    assertNotEquals(Target.room("x"), Target.user("x"));
    assertNotEquals(Target.user("x"), Target.session("x"));
    assertNotEquals(Target.all(), Target.all().except("x"));
    assertNotEquals(Target.all().andRooms("x"), Target.room("x"));
    assertNotEquals(Target.room("x"), Target.room("x").except("s"));
    assertNotEquals(Target.room("x"), null);
    assertNotEquals(Target.room("x"), "x");
  }

  @Test
  void toString_showsOnlyTheSetsInUse() {
    assertEquals("Target{all}", Target.all().toString());
    assertEquals("Target{rooms=[a, b] users=[u] sessions=[s] except=[x]}",
        Target.rooms("a", "b").andUsers("u").andSessions("s").except("x").toString());
    assertEquals("Target{all except=[x]}", Target.all().except("x").toString());
  }

  private static void assertRefused(Executable call, String message) {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, call);
    assertEquals(message, e.getMessage());
  }
}
