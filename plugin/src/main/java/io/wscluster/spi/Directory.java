package io.wscluster.spi;

import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Set;
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
 * <p>Another store need not copy this layout; it must answer the same queries with the same
 * meaning ({@code DirectoryContractTest} in the plugin's tests states them). {@link Member}'s
 * entry format is there for stores that keep sets of strings.
 *
 * <p>Threads: every method may be called from any thread, concurrently, and must not block: it
 * returns a stage that completes later, on any thread (the core moves the result to its own).
 * Failure: a stage that completes exceptionally; the core logs it and goes on (a lease is renewed
 * on the next heartbeat; a node whose lease went missing writes its sessions again), so a call
 * should fail rather than retry for long inside. Lifecycle: {@link Backend#directory} makes
 * it once its transport has started; it is used until the transport stops and holds nothing that
 * needs closing of its own (what it uses belongs to the backend).
 */
public interface Directory {
  /** Separates the fields of a room or user set entry. */
  char SEP = '\u001f';

  /** A session as listed in a room or user set. Immutable. */
  final class Member {
    public final String node;
    public final String session;
    /** The session's user, or null for none (always null in a user set's answer). */
    public final String user;

    public Member(String node, String session, String user) {
      this.node = node;
      this.session = session;
      this.user = user;
    }

    /** The entry of a session in a room set: node, session and user (empty for none). */
    public static String roomEntry(String node, String session, String user) {
      return node + SEP + session + SEP + (user == null ? "" : user);
    }

    /** The entry of a session in a user set: node and session. */
    public static String userEntry(String node, String session) {
      return node + SEP + session;
    }

    /** The members of a room or user set; entries that are not ours are skipped. */
    public static List<Member> parseAll(Collection<String> entries) {
      List<Member> out = new ArrayList<>(entries.size());
      for (String e : entries) {
        Member m = parse(e);
        if (m != null) {
          out.add(m);
        }
      }
      return out;
    }

    /** The member of one room or user set entry, or null if it is not one. */
    public static Member parse(String s) {
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

  /** One change of a node's own sessions, applied in order. Made by the core; immutable. */
  final class Change {
    /** What happened to the session. */
    public enum Kind { OPEN, CLOSE, JOIN, LEAVE, USER }

    public final Kind kind;
    public final String session;
    /** OPEN/JOIN/LEAVE/CLOSE: the user now (may be null); USER: the new user (may be null). */
    public final String user;
    /** JOIN/LEAVE: the room; USER: the previous user (may be null); else null. */
    public final String other;
    /** CLOSE and USER: the session's rooms at that moment; else null. */
    public final Set<String> rooms;

    public Change(Kind kind, String session, String user, String other, Set<String> rooms) {
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
  CompletionStage<Map<String, Long>> leases();

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
