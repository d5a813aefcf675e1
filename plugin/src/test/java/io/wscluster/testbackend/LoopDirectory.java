package io.wscluster.testbackend;

import io.wscluster.spi.Directory;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;

/**
 * The simplest directory that keeps the contract: sessions in one map under one lock, queries by
 * scanning it. Another layout than Redis's, on purpose.
 */
final class LoopDirectory implements Directory {
  static final LoopDirectory SHARED = new LoopDirectory();

  private static final class Ses {
    final String node;
    String user;
    final Set<String> rooms = new HashSet<>();

    Ses(String node, String user) {
      this.node = node;
      this.user = user;
    }
  }

  private final Map<String, String> tokens = new HashMap<>();
  private final Map<String, Long> expiries = new HashMap<>();
  private final Map<String, Ses> sessions = new HashMap<>();

  @Override
  public synchronized CompletionStage<String> renew(String node, String token, long ttlMillis,
      long nowMillis) {
    Long expiry = expiries.put(node, nowMillis + ttlMillis);
    String before = tokens.put(node, token);
    return CompletableFuture.completedFuture(expiry == null || expiry <= nowMillis ? null : before);
  }

  @Override
  public synchronized CompletionStage<Map<String, Long>> leases() {
    return CompletableFuture.completedFuture(Map.copyOf(expiries));
  }

  @Override
  public synchronized CompletionStage<Void> removeNode(String node) {
    sessions.values().removeIf(s -> s.node.equals(node));
    expiries.remove(node);
    tokens.remove(node);
    return CompletableFuture.completedFuture(null);
  }

  @Override
  public synchronized CompletionStage<Void> apply(String node, List<Change> changes) {
    for (Change c : changes) {
      Ses s = sessions.get(c.session);
      switch (c.kind) {
        case OPEN -> sessions.put(c.session, new Ses(node, c.user));
        case CLOSE -> sessions.remove(c.session);
        case JOIN -> {
          if (s != null) {
            s.rooms.add(c.other);
          }
        }
        case LEAVE -> {
          if (s != null) {
            s.rooms.remove(c.other);
          }
        }
        case USER -> {
          if (s != null) {
            s.user = c.user;
          }
        }
        default -> throw new IllegalArgumentException("unknown change " + c.kind);
      }
    }
    return CompletableFuture.completedFuture(null);
  }

  @Override
  public synchronized CompletionStage<String> nodeOf(String session) {
    Ses s = sessions.get(session);
    return CompletableFuture.completedFuture(s == null ? null : s.node);
  }

  @Override
  public synchronized CompletionStage<List<Member>> room(String room) {
    return CompletableFuture.completedFuture(sessions.entrySet().stream()
        .filter(e -> e.getValue().rooms.contains(room))
        .map(e -> new Member(e.getValue().node, e.getKey(), e.getValue().user)).toList());
  }

  @Override
  public synchronized CompletionStage<List<Member>> user(String user) {
    return CompletableFuture.completedFuture(sessions.entrySet().stream()
        .filter(e -> user.equals(e.getValue().user))
        .map(e -> new Member(e.getValue().node, e.getKey(), null)).toList());
  }
}
