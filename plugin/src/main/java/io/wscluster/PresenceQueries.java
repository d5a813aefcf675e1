package io.wscluster;

import io.wscluster.spi.Directory;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.Executor;
import java.util.function.LongSupplier;
import java.util.function.Predicate;

/**
 * Presence queries over the directory, each filtered by which nodes are live: an entry of a node
 * whose lease expired is no answer, even before it is cleaned. Every query reads one key plus the
 * live nodes; failures of the directory reach the caller as {@link WsClusterException}, and the
 * stages complete on the callback executor, never on a transport thread. Thread-safe.
 */
final class PresenceQueries implements Presence {
  private final Directory directory;
  private final Predicate<String> isLive;
  private final Executor callbacks;
  private final LongSupplier clock;

  /** @param clock wall clock in epoch milliseconds, as the leases' expiries */
  PresenceQueries(Directory directory, Predicate<String> isLive, Executor callbacks,
      LongSupplier clock) {
    this.directory = directory;
    this.isLive = isLive;
    this.callbacks = callbacks;
    this.clock = clock;
  }

  /** Where the sessions of a sessions/users target are: live node to session ids. */
  CompletionStage<Map<String, Set<String>>> owners(Target target) {
    List<CompletableFuture<List<Directory.Member>>> lookups = new ArrayList<>();
    for (String sid : target.sessions()) {
      lookups.add(directory.nodeOf(sid).toCompletableFuture().thenApply(node ->
          node == null ? List.of() : List.of(new Directory.Member(node, sid, null))));
    }
    for (String user : target.users()) {
      lookups.add(directory.user(user).toCompletableFuture());
    }
    return CompletableFuture.allOf(lookups.toArray(new CompletableFuture<?>[0])).thenApply(v -> {
      Map<String, Set<String>> out = new HashMap<>();
      for (CompletableFuture<List<Directory.Member>> f : lookups) {
        for (Directory.Member m : f.join()) {
          if (isLive.test(m.node) && !target.except().contains(m.session)) {
            out.computeIfAbsent(m.node, k -> new LinkedHashSet<>()).add(m.session);
          }
        }
      }
      return out;
    });
  }

  @Override
  public CompletionStage<Optional<String>> nodeOf(String sessionId) {
    Target.checkName("session id", sessionId);
    return wrap(directory.nodeOf(sessionId).thenApply(node ->
        node != null && isLive.test(node) ? Optional.of(node) : Optional.<String>empty()));
  }

  @Override
  public CompletionStage<Set<String>> sessionsInRoom(String room) {
    Target.checkName("room", room);
    return wrap(directory.room(room).thenApply(members -> collect(members, false)));
  }

  @Override
  public CompletionStage<Set<String>> usersInRoom(String room) {
    Target.checkName("room", room);
    return wrap(directory.room(room).thenApply(members -> collect(members, true)));
  }

  /** How many live nodes have members in {@code room}. */
  CompletionStage<Integer> roomNodes(String room) {
    return wrap(directory.room(room).thenApply(members -> {
      Set<String> nodes = new java.util.HashSet<>();
      for (Directory.Member m : members) {
        if (isLive.test(m.node)) {
          nodes.add(m.node);
        }
      }
      return nodes.size();
    }));
  }

  @Override
  public CompletionStage<Set<String>> sessionsOfUser(String user) {
    Target.checkName("user", user);
    return wrap(directory.user(user).thenApply(members -> collect(members, false)));
  }

  @Override
  public CompletionStage<Set<String>> nodes() {
    return wrap(directory.leases().thenApply(fresh -> {
      long now = clock.getAsLong();
      Set<String> live = new TreeSet<>();
      fresh.forEach((node, expiry) -> {
        if (expiry > now) {
          live.add(node);
        }
      });
      return live;
    }));
  }

  private Set<String> collect(List<Directory.Member> members, boolean users) {
    Set<String> out = new TreeSet<>();
    for (Directory.Member m : members) {
      if (isLive.test(m.node)) {
        if (!users) {
          out.add(m.session);
        } else if (m.user != null) {
          out.add(m.user);
        }
      }
    }
    return out;
  }

  /**
   * Failures of the directory reach the caller as WsClusterException naming the cause; the stage
   * completes on the callback executor, never on a Redisson thread.
   */
  private <T> CompletionStage<T> wrap(CompletionStage<T> stage) {
    return stage.handleAsync((value, error) -> {
      if (error != null) {
        Throwable cause = error instanceof CompletionException
            && error.getCause() != null ? error.getCause() : error;
        throw new WsClusterException("wscluster presence query failed: " + cause, cause);
      }
      return value;
    }, callbacks);
  }
}
