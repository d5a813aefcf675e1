package io.wscluster.redis;

import io.wscluster.spi.Directory;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeUnit;
import org.redisson.api.BatchOptions;
import org.redisson.api.RBatch;
import org.redisson.api.RedissonClient;
import org.redisson.client.codec.StringCodec;
import org.redisson.client.protocol.ScoredEntry;

/**
 * The {@link Directory} in Redis, through the Redisson client of the node's {@link
 * RedisTransport}. Keys and values are plain UTF-8 strings ({@link StringCodec}); no Java
 * serialization. Writes of one call go in one batch (one round trip).
 */
final class RedisDirectory implements Directory {
  private static final StringCodec CODEC = StringCodec.INSTANCE;

  private final RedissonClient redisson;
  private final String p;

  RedisDirectory(RedissonClient redisson, String prefix) {
    this.redisson = redisson;
    this.p = prefix + ":";
  }

  @Override
  public CompletionStage<String> renew(String node, String token, long ttlMillis, long nowMillis) {
    RBatch batch = redisson.createBatch(BatchOptions.defaults());
    var previous = batch.<String>getBucket(p + "lease:" + node, CODEC)
        .getAndSetAsync(token, ttlMillis, TimeUnit.MILLISECONDS);
    batch.<String>getScoredSortedSet(p + "nodes", CODEC).addAsync(nowMillis + ttlMillis, node);
    return batch.executeAsync().thenCompose(r -> previous);
  }

  @Override
  public CompletionStage<Map<String, Long>> leases() {
    return redisson.<String>getScoredSortedSet(p + "nodes", CODEC).entryRangeAsync(0, -1)
        .thenApply(entries -> {
          Map<String, Long> out = new HashMap<>();
          for (ScoredEntry<String> e : entries) {
            out.put(e.getValue(), e.getScore().longValue());
          }
          return out;
        });
  }

  @Override
  public CompletionStage<Void> removeNode(String node) {
    return redisson.<String>getSet(p + "nses:" + node, CODEC).readAllAsync()
        .thenCompose(sids -> {
          RBatch reads = redisson.createBatch(BatchOptions.defaults());
          Map<String, CompletionStage<Map<String, String>>> sessions = new HashMap<>();
          for (String sid : sids) {
            sessions.put(sid, reads.<String, String>getMap(p + "ses:" + sid, CODEC)
                .readAllMapAsync());
          }
          return reads.executeAsync().thenCompose(ignored -> {
            RBatch writes = redisson.createBatch(BatchOptions.defaults());
            for (Map.Entry<String, CompletionStage<Map<String, String>>> e : sessions.entrySet()) {
              Map<String, String> ses = e.getValue().toCompletableFuture().join();
              removeSession(writes, node, e.getKey(), ses);
            }
            writes.getSet(p + "nses:" + node, CODEC).deleteAsync();
            writes.getScoredSortedSet(p + "nodes", CODEC).removeAsync(node);
            writes.getBucket(p + "lease:" + node, CODEC).deleteAsync();
            return writes.executeAsync().thenApply(r -> (Void) null);
          });
        });
  }

  private void removeSession(RBatch batch, String node, String sid, Map<String, String> ses) {
    String user = ses.get("user");
    for (String field : ses.keySet()) {
      if (field.startsWith("r:")) {
        batch.getSet(p + "room:" + field.substring(2), CODEC)
            .removeAsync(Member.roomEntry(node, sid, user));
      }
    }
    if (user != null) {
      batch.getSet(p + "user:" + user, CODEC).removeAsync(Member.userEntry(node, sid));
    }
    batch.getMap(p + "ses:" + sid, CODEC).deleteAsync();
  }

  @Override
  public CompletionStage<Void> apply(String node, List<Change> changes) {
    RBatch batch = redisson.createBatch(BatchOptions.defaults());
    for (Change c : changes) {
      String ses = p + "ses:" + c.session;
      switch (c.kind) {
        case OPEN:
          batch.getSet(p + "nses:" + node, CODEC).addAsync(c.session);
          batch.getMap(ses, CODEC).fastPutAsync("node", node);
          if (c.user != null) {
            batch.getMap(ses, CODEC).fastPutAsync("user", c.user);
            batch.getSet(p + "user:" + c.user, CODEC).addAsync(Member.userEntry(node, c.session));
          }
          break;
        case CLOSE:
          for (String room : c.rooms) {
            batch.getSet(p + "room:" + room, CODEC)
                .removeAsync(Member.roomEntry(node, c.session, c.user));
          }
          if (c.user != null) {
            batch.getSet(p + "user:" + c.user, CODEC).removeAsync(Member.userEntry(node, c.session));
          }
          batch.getMap(ses, CODEC).deleteAsync();
          batch.getSet(p + "nses:" + node, CODEC).removeAsync(c.session);
          break;
        case JOIN:
          batch.getMap(ses, CODEC).fastPutAsync("r:" + c.other, "");
          batch.getSet(p + "room:" + c.other, CODEC)
              .addAsync(Member.roomEntry(node, c.session, c.user));
          break;
        case LEAVE:
          batch.getMap(ses, CODEC).fastRemoveAsync("r:" + c.other);
          batch.getSet(p + "room:" + c.other, CODEC)
              .removeAsync(Member.roomEntry(node, c.session, c.user));
          break;
        default: // USER
          if (c.other != null) {
            batch.getSet(p + "user:" + c.other, CODEC).removeAsync(Member.userEntry(node, c.session));
            batch.getMap(ses, CODEC).fastRemoveAsync("user");
          }
          if (c.user != null) {
            batch.getSet(p + "user:" + c.user, CODEC).addAsync(Member.userEntry(node, c.session));
            batch.getMap(ses, CODEC).fastPutAsync("user", c.user);
          }
          for (String room : c.rooms) {
            batch.getSet(p + "room:" + room, CODEC)
                .removeAsync(Member.roomEntry(node, c.session, c.other));
            batch.getSet(p + "room:" + room, CODEC)
                .addAsync(Member.roomEntry(node, c.session, c.user));
          }
          break;
      }
    }
    return batch.executeAsync().thenApply(r -> (Void) null);
  }

  @Override
  public CompletionStage<String> nodeOf(String session) {
    return redisson.<String, String>getMap(p + "ses:" + session, CODEC).getAsync("node");
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
    return redisson.<String>getSet(key, CODEC).readAllAsync().thenApply(Member::parseAll);
  }

}
