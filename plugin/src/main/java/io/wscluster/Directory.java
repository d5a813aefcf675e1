package io.wscluster;

import java.util.List;
import java.util.concurrent.CompletionStage;

/**
 * Where each node records its lease and its own sessions, and where every node looks up who is
 * connected where. Each node writes only its own entries; readers filter by the live nodes, so a
 * dead node's entries vanish from answers when its lease expires, before they are cleaned.
 *
 * <p>Layout (Redis; the in-memory implementation mirrors it), under the channel prefix p:
 * <pre>
 * p:nodes            sorted set  node id, scored by its lease expiry (epoch ms)
 * p:lease:{node}     string      the token of the process holding the lease (PX = ttl)
 * p:ses:{sid}        hash        node, user, r:{room} for each room: one session
 * p:room:{room}      set         node \u001f sid \u001f user, for each session in the room
 * p:user:{user}      set         node \u001f sid, for each session of the user
 * p:nses:{node}      set         sid, for each session of the node (to clean a dead node)
 * </pre>
 * Every query reads one key plus the live nodes: its cost is O(result), never O(cluster).
 * Names never contain control characters, so U+001F separates fields safely.
 *
 * <p>All methods are non-blocking and thread-safe.
 */
interface Directory {
  char SEP = '\u001f';

  /** A session as listed in a room or user set. */
  final class Member {
    final String node;
    final String session;
    final String user;

    Member(String node, String session, String user) {
      this.node = node;
      this.session = session;
      this.user = user;
    }

    /** The entry of a session in a room set: node, session and user (empty for none). */
    static String roomEntry(String node, String session, String user) {
      return node + SEP + session + SEP + (user == null ? "" : user);
    }

    /** The entry of a session in a user set: node and session. */
    static String userEntry(String node, String session) {
      return node + SEP + session;
    }

    /** The members of a room or user set; entries that are not ours are skipped. */
    static java.util.List<Member> parseAll(java.util.Collection<String> entries) {
      java.util.List<Member> out = new java.util.ArrayList<>(entries.size());
      for (String e : entries) {
        Member m = parse(e);
        if (m != null) {
          out.add(m);
        }
      }
      return out;
    }

    static Member parse(String s) {
      int a = s.indexOf(SEP);
      if (a < 0) {
        return null;
      }
      int b = s.indexOf(SEP, a + 1);
      if (b < 0) {
        return new Member(s.substring(0, a), s.substring(a + 1), null);
      }
      String user = s.substring(b + 1);
      return new Member(s.substring(0, a), s.substring(a + 1, b), user.isEmpty() ? null : user);
    }
  }

  /** One change of this node's own sessions, applied in order. */
  final class Change {
    enum Kind { OPEN, CLOSE, JOIN, LEAVE, USER }

    final Kind kind;
    final String session;
    /** OPEN/JOIN/LEAVE: the user now (may be null); USER: the new user. */
    final String user;
    /** JOIN/LEAVE: the room; USER: the previous user. */
    final String other;
    /** CLOSE and USER: the session's rooms at that moment. */
    final java.util.Set<String> rooms;

    Change(Kind kind, String session, String user, String other, java.util.Set<String> rooms) {
      this.kind = kind;
      this.session = session;
      this.user = user;
      this.other = other;
      this.rooms = rooms;
    }
  }

  /**
   * Renews a node's lease until now + ttl.
   *
   * @return the token that held the lease before (null if none or expired): a token other than
   *     ours means another process presents our node id
   */
  CompletionStage<String> renew(String node, String token, long ttlMillis, long nowMillis);

  /** Every node with a lease not yet removed, with its expiry (epoch ms): live or dead. */
  CompletionStage<java.util.Map<String, Long>> leases();

  /** Removes a node's lease and every entry of its sessions; idempotent. */
  CompletionStage<Void> removeNode(String node);

  /** Applies changes of {@code node}'s own sessions, in order. */
  CompletionStage<Void> apply(String node, List<Change> changes);

  /** The node of a session (maybe dead: filter), or null. */
  CompletionStage<String> nodeOf(String session);

  /** The members of a room (unfiltered). */
  CompletionStage<List<Member>> room(String room);

  /** The sessions of a user (unfiltered). */
  CompletionStage<List<Member>> user(String user);
}
