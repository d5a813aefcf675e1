package io.wscluster;

import java.util.Arrays;
import java.util.Collection;
import java.util.Collections;
import java.util.LinkedHashSet;
import java.util.Objects;
import java.util.Set;

/**
 * Who a message is for: every session, or the union of rooms, users and session ids, minus an
 * except set of session ids. Immutable; each method returns a new target.
 *
 * <pre>{@code
 * cluster.send(Target.rooms("lobby", "news").except(cluster.sessionId(me)), text);
 * cluster.send(Target.user("alice").andSessions(otherId), text);
 * }</pre>
 *
 * <p>A session matched several times (in two targeted rooms, or in a room and the targeted user)
 * receives the message once.
 */
public final class Target {
  static final int MAX_NAME_LENGTH = 256;
  /** The most names one set of a target may hold (rooms, users, sessions, except each). */
  public static final int MAX_NAMES = 4096;
  private static final Target ALL = new Target(true, Set.of(), Set.of(), Set.of(), Set.of());

  private final boolean all;
  private final Set<String> rooms;
  private final Set<String> users;
  private final Set<String> sessions;
  private final Set<String> except;

  private Target(boolean all, Set<String> rooms, Set<String> users, Set<String> sessions,
      Set<String> except) {
    this.all = all;
    this.rooms = rooms;
    this.users = users;
    this.sessions = sessions;
    this.except = except;
  }

  /** Every session of the webapp on every node. */
  public static Target all() {
    return ALL;
  }

  /** The sessions in any of these rooms. */
  public static Target rooms(String... rooms) {
    return new Target(false, names("room", Arrays.asList(rooms)), Set.of(), Set.of(), Set.of());
  }

  /** The sessions in any of these rooms. */
  public static Target rooms(Collection<String> rooms) {
    return new Target(false, names("room", rooms), Set.of(), Set.of(), Set.of());
  }

  /** The sessions in this room. */
  public static Target room(String room) {
    return rooms(room);
  }

  /** All sessions of these users. */
  public static Target users(String... users) {
    return new Target(false, Set.of(), names("user", Arrays.asList(users)), Set.of(), Set.of());
  }

  /** All sessions of this user. */
  public static Target user(String user) {
    return users(user);
  }

  /** These sessions, by the ids of {@link WsCluster#sessionId}. */
  public static Target sessions(String... sessionIds) {
    return new Target(false, Set.of(), Set.of(), names("session id", Arrays.asList(sessionIds)),
        Set.of());
  }

  /** This session, by the id of {@link WsCluster#sessionId}. */
  public static Target session(String sessionId) {
    return sessions(sessionId);
  }

  /** This target plus the sessions in these rooms. */
  public Target andRooms(String... more) {
    return new Target(all, union(rooms, names("room", Arrays.asList(more))), users, sessions, except);
  }

  /** This target plus all sessions of these users. */
  public Target andUsers(String... more) {
    return new Target(all, rooms, union(users, names("user", Arrays.asList(more))), sessions, except);
  }

  /** This target plus these sessions. */
  public Target andSessions(String... more) {
    return new Target(all, rooms, users, union(sessions, names("session id", Arrays.asList(more))),
        except);
  }

  /** This target minus these sessions (for example the sender's). */
  public Target except(String... sessionIds) {
    return new Target(all, rooms, users, sessions,
        union(except, names("session id", Arrays.asList(sessionIds))));
  }

  /** This target minus these sessions. */
  public Target except(Collection<String> sessionIds) {
    return new Target(all, rooms, users, sessions, union(except, names("session id", sessionIds)));
  }

  public boolean isAll() {
    return all;
  }

  public Set<String> rooms() {
    return rooms;
  }

  public Set<String> users() {
    return users;
  }

  public Set<String> sessions() {
    return sessions;
  }

  public Set<String> except() {
    return except;
  }

  /**
   * Rebuilds a target from decoded parts; the sets are trusted to hold valid names
   * ({@link #isValidName}: the decoder checks them).
   */
  static Target of(boolean all, Set<String> rooms, Set<String> users, Set<String> sessions,
      Set<String> except) {
    if (all && rooms.isEmpty() && users.isEmpty() && sessions.isEmpty() && except.isEmpty()) {
      return ALL;
    }
    return new Target(all, rooms, users, sessions, except);
  }

  /**
   * Checks a room, user or session id: 1 to 256 characters, no control characters.
   *
   * @throws IllegalArgumentException naming what and why
   */
  static String checkName(String kind, String name) {
    if (isValidName(name)) {
      return name;
    }
    if (name == null) {
      throw new IllegalArgumentException(kind + " must not be null");
    }
    if (name.isEmpty() || name.length() > MAX_NAME_LENGTH) {
      throw new IllegalArgumentException(kind + " '" + abbreviate(name) + "' must be 1 to "
          + MAX_NAME_LENGTH + " characters long, was " + name.length());
    }
    for (int i = 0; i < name.length(); i++) {
      if (Character.isISOControl(name.charAt(i))) {
        throw new IllegalArgumentException(kind + " '" + abbreviate(name)
            + "' must not contain control characters (found U+"
            + String.format("%04X", (int) name.charAt(i)) + " at index " + i + ")");
      }
    }
    return name;
  }

  /** Whether {@link #checkName} accepts the name; for the decoder, which must not throw it. */
  static boolean isValidName(String name) {
    if (name == null || name.isEmpty() || name.length() > MAX_NAME_LENGTH) {
      return false;
    }
    for (int i = 0; i < name.length(); i++) {
      if (Character.isISOControl(name.charAt(i))) {
        return false;
      }
    }
    return true;
  }

  /** A name as it may appear in a message: short, control characters replaced (no log injection). */
  private static String abbreviate(String name) {
    String shown = name.length() <= 40 ? name : name.substring(0, 40) + "...";
    StringBuilder sb = new StringBuilder(shown.length());
    shown.chars().forEach(c -> sb.append(Character.isISOControl(c) ? '?' : (char) c));
    return sb.toString();
  }

  private static Set<String> names(String kind, Collection<String> names) {
    Objects.requireNonNull(names, kind + "s");
    Set<String> set = new LinkedHashSet<>();
    for (String name : names) {
      set.add(checkName(kind, name));
    }
    return Collections.unmodifiableSet(checkSize(kind, set));
  }

  private static Set<String> union(Set<String> a, Set<String> b) {
    if (b.isEmpty()) {
      return a;
    }
    if (a.isEmpty()) {
      return b;
    }
    Set<String> set = new LinkedHashSet<>(a);
    set.addAll(b);
    return Collections.unmodifiableSet(checkSize("name", set));
  }

  private static Set<String> checkSize(String kind, Set<String> set) {
    if (set.size() > MAX_NAMES) {
      throw new IllegalArgumentException("a target holds at most " + MAX_NAMES + " " + kind
          + "s per set, this one has " + set.size());
    }
    return set;
  }

  @Override
  public boolean equals(Object o) {
    if (!(o instanceof Target)) {
      return false;
    }
    Target t = (Target) o;
    return all == t.all && rooms.equals(t.rooms) && users.equals(t.users)
        && sessions.equals(t.sessions) && except.equals(t.except);
  }

  @Override
  public int hashCode() {
    return Objects.hash(all, rooms, users, sessions, except);
  }

  @Override
  public String toString() {
    StringBuilder sb = new StringBuilder("Target{");
    if (all) {
      sb.append("all ");
    }
    if (!rooms.isEmpty()) {
      sb.append("rooms=").append(rooms).append(' ');
    }
    if (!users.isEmpty()) {
      sb.append("users=").append(users).append(' ');
    }
    if (!sessions.isEmpty()) {
      sb.append("sessions=").append(sessions).append(' ');
    }
    if (!except.isEmpty()) {
      sb.append("except=").append(except).append(' ');
    }
    if (sb.charAt(sb.length() - 1) == ' ') {
      sb.setLength(sb.length() - 1);
    } else {
      sb.append("nobody");
    }
    return sb.append('}').toString();
  }
}
