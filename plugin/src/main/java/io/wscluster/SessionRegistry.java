package io.wscluster;

import io.wscluster.spi.Directory;
import jakarta.websocket.Session;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashSet;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Function;

/**
 * This node's sessions, indexed by id, room and user, so a target resolves to its local sessions
 * without a scan (except {@link Target#all()}).
 *
 * <p>Thread-safe. Registration is idempotent and lazy: the container reports a session as opened
 * only after the endpoint's {@code onOpen} ran, so app calls made from {@code onOpen} register it
 * first. Membership changes of one session are serialized on that session's {@link LocalSession}.
 */
final class SessionRegistry {
  private final Map<Session, LocalSession> bySession = new ConcurrentHashMap<>();
  private final Map<String, LocalSession> byId = new ConcurrentHashMap<>();
  private final Map<String, Set<LocalSession>> byRoom = new ConcurrentHashMap<>();
  private final Map<String, Set<LocalSession>> byUser = new ConcurrentHashMap<>();
  private final String nodeId;
  private final Function<Session, Outbox> outboxes;
  private final java.util.function.Consumer<Directory.Change> changes;
  /** Told of each entry as it is made, before any other thread can see it. */
  private final java.util.function.Consumer<LocalSession> created;

  /**
   * @param changes told of every change of a session's presence (open, close, rooms, user), in
   *     order per session, under that session's lock: it must only enqueue
   */
  SessionRegistry(String nodeId, Function<Session, Outbox> outboxes,
      java.util.function.Consumer<Directory.Change> changes) {
    this(nodeId, outboxes, changes, ls -> { });
  }

  /**
   * @param created told of each entry as it is made, before it is registered (no target resolves
   *     to it yet): it must be quick and must not call back into the registry
   */
  SessionRegistry(String nodeId, Function<Session, Outbox> outboxes,
      java.util.function.Consumer<Directory.Change> changes,
      java.util.function.Consumer<LocalSession> created) {
    this.nodeId = nodeId;
    this.outboxes = outboxes;
    this.changes = changes;
    this.created = created;
  }

  SessionRegistry(String nodeId, Function<Session, Outbox> outboxes) {
    this(nodeId, outboxes, c -> { });
  }

  private void tell(Directory.Change.Kind kind, LocalSession ls, String user, String other,
      Set<String> rooms) {
    changes.accept(new Directory.Change(kind, ls.id, user, other, rooms));
  }

  /** The entry of a session, created on first sight; null if the session is already closed. */
  LocalSession register(Session session) {
    LocalSession existing = bySession.get(session);
    if (existing != null) {
      return existing;
    }
    if (!session.isOpen()) {
      return null;
    }
    LocalSession created = bySession.computeIfAbsent(session, s -> {
      LocalSession made = new LocalSession(s, clusterId(s), outboxes.apply(s));
      this.created.accept(made);
      return made;
    });
    synchronized (created) {
      if (!created.closed && byId.putIfAbsent(created.id, created) == null) {
        String user = created.user();
        if (user != null) {
          index(byUser, user, created);
        }
        tell(Directory.Change.Kind.OPEN, created, user, null, null);
      }
    }
    if (!session.isOpen()) {
      // closed while we registered; the close callback may have run before our put
      unregister(session);
      return null;
    }
    return created;
  }

  /**
   * Every registered session as the changes that record it from scratch (OPEN, then a JOIN per
   * room), for rewriting the directory after Redis lost it. A session changing meanwhile also
   * reports that change, which the directory applies after these.
   */
  java.util.List<Directory.Change> snapshot() {
    java.util.List<Directory.Change> out = new java.util.ArrayList<>();
    for (LocalSession ls : byId.values()) {
      String user = ls.user();
      out.add(new Directory.Change(Directory.Change.Kind.OPEN, ls.id, user, null, null));
      for (String room : ls.rooms) {
        out.add(new Directory.Change(Directory.Change.Kind.JOIN, ls.id, user, room, null));
      }
    }
    return out;
  }

  /** Forgets a session and clears its rooms; idempotent. */
  void unregister(Session session) {
    LocalSession ls = bySession.remove(session);
    if (ls == null) {
      return;
    }
    synchronized (ls) {
      ls.closed = true;
      byId.remove(ls.id, ls);
      for (String room : ls.rooms) {
        unindex(byRoom, room, ls);
      }
      String user = ls.user();
      tell(Directory.Change.Kind.CLOSE, ls, user, null, Set.copyOf(ls.rooms));
      ls.rooms.clear();
      if (user != null) {
        unindex(byUser, user, ls);
      }
      ls.outbox.close();
    }
  }

  /** The entry of a local session by its cluster id, or null. */
  LocalSession byId(String id) {
    return byId.get(id);
  }

  /** The registered entry, without registering. */
  LocalSession get(Session session) {
    return bySession.get(session);
  }

  /**
   * The entry of a session the application names, created on first sight.
   *
   * @throws IllegalArgumentException the session is closed
   */
  LocalSession require(Session session) {
    java.util.Objects.requireNonNull(session, "session");
    LocalSession ls = register(session);
    if (ls == null) {
      throw new IllegalArgumentException("session " + session.getId() + " is closed");
    }
    return ls;
  }

  /** The rooms of a session (a snapshot); none for a session not registered. */
  Set<String> roomsOf(Session session) {
    LocalSession ls = bySession.get(session);
    return ls == null ? Set.of() : Set.copyOf(ls.rooms);
  }

  /** The user of a session; null for none or a session not registered. */
  String userOf(Session session) {
    LocalSession ls = bySession.get(session);
    return ls == null ? null : ls.user();
  }

  void join(LocalSession ls, String room) {
    synchronized (ls) {
      if (!ls.closed && ls.rooms.add(room)) {
        index(byRoom, room, ls);
        tell(Directory.Change.Kind.JOIN, ls, ls.user(), room, null);
      }
    }
  }

  void leave(LocalSession ls, String room) {
    synchronized (ls) {
      if (ls.rooms.remove(room)) {
        unindex(byRoom, room, ls);
        if (!ls.closed) {
          tell(Directory.Change.Kind.LEAVE, ls, ls.user(), room, null);
        }
      }
    }
  }

  void setUser(LocalSession ls, String user) {
    synchronized (ls) {
      String before = ls.user();
      ls.assignedUser = user;
      String after = ls.user();
      if (ls.closed || java.util.Objects.equals(before, after)) {
        return;
      }
      if (before != null) {
        unindex(byUser, before, ls);
      }
      if (after != null) {
        index(byUser, after, ls);
      }
      tell(Directory.Change.Kind.USER, ls, after, before, Set.copyOf(ls.rooms));
    }
  }

  int size() {
    return bySession.size();
  }

  /** Whether {@code room} has members on this node now. */
  boolean hasMembers(String room) {
    return byRoom.containsKey(room);
  }

  /** The rooms with members on this node now (a snapshot). */
  java.util.List<String> rooms() {
    return new ArrayList<>(byRoom.keySet());
  }

  Collection<LocalSession> all() {
    return new ArrayList<>(bySession.values());
  }

  /**
   * The local sessions a target matches, each once. A session that is in two targeted rooms, or in
   * a room and the targeted user, appears once: this is where overlapping targets are made safe.
   * For everyone or one room (nothing excepted) the result is a read-only live view, no copy: a
   * session joining or leaving meanwhile may or may not be in it. Callers iterate it once.
   */
  Collection<LocalSession> resolve(Target target) {
    if (target.except().isEmpty()) {
      // the common cases, without a copy: a live, weakly consistent view to iterate once
      if (target.isAll()) {
        return java.util.Collections.unmodifiableCollection(bySession.values());
      }
      if (target.rooms().size() == 1 && target.users().isEmpty() && target.sessions().isEmpty()) {
        Set<LocalSession> members = byRoom.get(target.rooms().iterator().next());
        return members == null ? Set.of() : java.util.Collections.unmodifiableSet(members);
      }
    }
    Set<LocalSession> out;
    if (target.isAll()) {
      out = new LinkedHashSet<>(bySession.values());
    } else {
      out = new LinkedHashSet<>();
      for (String room : target.rooms()) {
        addAll(out, byRoom.get(room));
      }
      for (String user : target.users()) {
        addAll(out, byUser.get(user));
      }
      for (String id : target.sessions()) {
        LocalSession ls = byId.get(id);
        if (ls != null) {
          out.add(ls);
        }
      }
    }
    if (!target.except().isEmpty() && !out.isEmpty()) {
      out.removeIf(ls -> target.except().contains(ls.id));
    }
    return out;
  }

  private static void addAll(Set<LocalSession> out, Set<LocalSession> members) {
    if (members != null) {
      out.addAll(members);
    }
  }

  private static void index(Map<String, Set<LocalSession>> map, String key, LocalSession ls) {
    // add inside compute: a concurrent unindex may drop an emptied set from the map
    map.compute(key, (k, set) -> {
      Set<LocalSession> s = set == null ? ConcurrentHashMap.newKeySet() : set;
      s.add(ls);
      return s;
    });
  }

  private static void unindex(Map<String, Set<LocalSession>> map, String key, LocalSession ls) {
    map.computeIfPresent(key, (k, set) -> {
      set.remove(ls);
      return set.isEmpty() ? null : set;
    });
  }

  /**
   * A cluster-wide id: the container's id when it is a UUID (Jetty's are), else this node's id
   * plus the container's id, so ids of two nodes never collide.
   */
  private String clusterId(Session session) {
    String id = session.getId();
    try {
      if (id != null && id.length() == 36 && UUID.fromString(id).toString().equals(id)) {
        return id;
      }
    } catch (IllegalArgumentException notAUuid) {
      // fall through
    }
    return nodeId + "/" + id;
  }
}
