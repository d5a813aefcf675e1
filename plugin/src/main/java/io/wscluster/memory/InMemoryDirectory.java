package io.wscluster.memory;

import io.wscluster.ConfigException;
import io.wscluster.spi.Directory;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;

/**
 * The directory of nodes in one JVM: the Redis layout of {@link Directory} in JDK maps (key to
 * field to value; sets have empty values), so nodes of different webapps can share one store
 * handed to them as the ServletContext attribute {@value #STORE_ATTRIBUTE}. Operations lock the
 * whole store: it serves tests and demos, not load.
 */
final class InMemoryDirectory implements Directory {
  static final String STORE_ATTRIBUTE = "io.wscluster.memory.directory";

  /** The store of nodes that were handed none: shared by this class loader only. */
  private static final ConcurrentMap<String, ConcurrentMap<String, String>> DEFAULT_STORE =
      new ConcurrentHashMap<>();

  private final ConcurrentMap<String, ConcurrentMap<String, String>> store;
  private final String p;

  InMemoryDirectory(ConcurrentMap<String, ConcurrentMap<String, String>> store, String prefix) {
    this.store = store == null ? DEFAULT_STORE : store;
    this.p = prefix + ":";
  }

  @SuppressWarnings("unchecked")
  static ConcurrentMap<String, ConcurrentMap<String, String>> storeFrom(Object attribute) {
    if (attribute == null) {
      return null;
    }
    if (!(attribute instanceof ConcurrentMap)) {
      throw new ConfigException("ServletContext attribute " + STORE_ATTRIBUTE + " is a "
          + attribute.getClass().getName() + ", must be a java.util.concurrent.ConcurrentMap"
          + "<String, java.util.concurrent.ConcurrentMap<String, String>>");
    }
    return (ConcurrentMap<String, ConcurrentMap<String, String>>) attribute;
  }

  private ConcurrentMap<String, String> key(String key) {
    return store.computeIfAbsent(key, k -> new ConcurrentHashMap<>());
  }

  private void removeField(String key, String field) {
    Map<String, String> m = store.get(key);
    if (m != null) {
      m.remove(field);
      if (m.isEmpty()) {
        store.remove(key);
      }
    }
  }

  @Override
  public CompletionStage<String> renew(String node, String token, long ttlMillis, long nowMillis) {
    synchronized (store) {
      Map<String, String> lease = key(p + "lease:" + node);
      String before = lease.get("token");
      String expires = lease.get("expires");
      if (expires != null && Long.parseLong(expires) <= nowMillis) {
        before = null;
      }
      lease.put("token", token);
      lease.put("expires", Long.toString(nowMillis + ttlMillis));
      key(p + "nodes").put(node, Long.toString(nowMillis + ttlMillis));
      return CompletableFuture.completedFuture(before);
    }
  }

  @Override
  public CompletionStage<Map<String, Long>> leases() {
    Map<String, Long> out = new java.util.HashMap<>();
    Map<String, String> nodes = store.get(p + "nodes");
    if (nodes != null) {
      nodes.forEach((node, expiry) -> out.put(node, Long.parseLong(expiry)));
    }
    return CompletableFuture.completedFuture(out);
  }

  @Override
  public CompletionStage<Void> removeNode(String node) {
    synchronized (store) {
      Map<String, String> sessions = store.remove(p + "nses:" + node);
      if (sessions != null) {
        for (String sid : sessions.keySet()) {
          removeSession(node, sid);
        }
      }
      removeField(p + "nodes", node);
      store.remove(p + "lease:" + node);
      return CompletableFuture.completedFuture(null);
    }
  }

  private void removeSession(String node, String sid) {
    Map<String, String> ses = store.remove(p + "ses:" + sid);
    if (ses == null) {
      return;
    }
    String user = ses.get("user");
    for (String field : ses.keySet()) {
      if (field.startsWith("r:")) {
        removeField(p + "room:" + field.substring(2), Member.roomEntry(node, sid, user));
      }
    }
    if (user != null) {
      removeField(p + "user:" + user, Member.userEntry(node, sid));
    }
  }

  @Override
  public CompletionStage<Void> apply(String node, List<Change> changes) {
    synchronized (store) {
      for (Change c : changes) {
        switch (c.kind) {
          case OPEN:
            key(p + "nses:" + node).put(c.session, "");
            Map<String, String> ses = key(p + "ses:" + c.session);
            ses.put("node", node);
            if (c.user != null) {
              ses.put("user", c.user);
              key(p + "user:" + c.user).put(Member.userEntry(node, c.session), "");
            }
            break;
          case CLOSE:
            removeSession(node, c.session);
            removeField(p + "nses:" + node, c.session);
            break;
          case JOIN:
            key(p + "ses:" + c.session).put("r:" + c.other, "");
            key(p + "room:" + c.other).put(Member.roomEntry(node, c.session, c.user), "");
            break;
          case LEAVE:
            removeField(p + "ses:" + c.session, "r:" + c.other);
            removeField(p + "room:" + c.other, Member.roomEntry(node, c.session, c.user));
            break;
          default: // USER: re-key the user set and the session's room memberships
            if (c.other != null) {
              removeField(p + "user:" + c.other, Member.userEntry(node, c.session));
              removeField(p + "ses:" + c.session, "user");
            }
            if (c.user != null) {
              key(p + "user:" + c.user).put(Member.userEntry(node, c.session), "");
              key(p + "ses:" + c.session).put("user", c.user);
            }
            for (String room : c.rooms) {
              removeField(p + "room:" + room, Member.roomEntry(node, c.session, c.other));
              key(p + "room:" + room).put(Member.roomEntry(node, c.session, c.user), "");
            }
            break;
        }
      }
      return CompletableFuture.completedFuture(null);
    }
  }

  @Override
  public CompletionStage<String> nodeOf(String session) {
    Map<String, String> ses = store.get(p + "ses:" + session);
    return CompletableFuture.completedFuture(ses == null ? null : ses.get("node"));
  }

  @Override
  public CompletionStage<List<Member>> room(String room) {
    return members(p + "room:" + room);
  }

  @Override
  public CompletionStage<List<Member>> user(String user) {
    return members(p + "user:" + user);
  }

  private CompletionStage<List<Member>> members(String key) {
    Map<String, String> set = store.get(key);
    return CompletableFuture.completedFuture(
        set == null ? List.of() : Member.parseAll(List.copyOf(set.keySet())));
  }

}
