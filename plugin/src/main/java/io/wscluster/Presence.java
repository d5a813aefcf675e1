package io.wscluster;

import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletionStage;

/**
 * Who is connected where, cluster-wide. Answers come from the directory each node keeps in Redis
 * for its own sessions, not from asking the nodes, so each query costs O(its result), whatever
 * the cluster holds. Entries of a node that died vanish from answers when its lease expires
 * ({@code wscluster.node.ttl}); a node that stops gracefully removes them at once.
 *
 * <p>Every method is non-blocking; a stage fails with {@link WsClusterException} when Redis
 * cannot answer.
 */
public interface Presence {

  /** The id of the live node the session is connected to, or empty. */
  CompletionStage<Optional<String>> nodeOf(String sessionId);

  /** Ids of the sessions in a room, on every live node. */
  CompletionStage<Set<String>> sessionsInRoom(String room);

  /** Users with at least one session in a room (sessions without a user are not counted). */
  CompletionStage<Set<String>> usersInRoom(String room);

  /** Ids of a user's sessions, on every live node. */
  CompletionStage<Set<String>> sessionsOfUser(String user);

  /** Ids of the live nodes. */
  CompletionStage<Set<String>> nodes();
}
