package io.wscluster.redis;

import io.wscluster.spi.History;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import org.redisson.api.RScript;
import org.redisson.api.RedissonClient;
import org.redisson.client.codec.ByteArrayCodec;

/**
 * The {@link History} in Redis: one stream per history stream, {@code {<prefix>:<stream>}:h}
 * (the hash tag is the name of the stream's room channel, so both can share a Redis Cluster slot),
 * entries {@code v = <the message's frame>}; the hash {@code <prefix>:history} holds the
 * {@code epoch} and the {@code last} id given. Each publish is one Lua script (EVALSHA; the body
 * is sent again only when Redis answers NOSCRIPT): XADD of each message to each of its streams
 * under one explicit id, trimming by MAXLEN ~ and MINID ~, PEXPIRE of the stream to the max age,
 * then PUBLISH of the wrapped frames. Values travel as bytes ({@link ByteArrayCodec}).
 *
 * <p>One script touches keys of several slots: on Redis Cluster, messages to several rooms would
 * need one script per slot (not done: see docs/recovery.md).
 */
final class RedisHistory implements History {
  /** How long a publish's outcome is kept for a retry of the same publish. */
  static final long MARK_MILLIS = 60_000;

  /**
   * Lua: the epoch in the hash {@code KEYS[1]}, made from {@code candidate} and Redis's time when
   * missing.
   */
  private static final String EPOCH_OF = """
      local function epochOf(candidate)
        local epoch = redis.call('HGET', KEYS[1], 'epoch')
        if not epoch then
          local t = redis.call('TIME')
          epoch = candidate .. '-' .. t[1] .. t[2]
          redis.call('HSET', KEYS[1], 'epoch', epoch)
        end
        return epoch
      end
      """;

  static final String PUBLISH = EPOCH_OF + """
      local tok, maxlen, maxage = ARGV[1], ARGV[2], tonumber(ARGV[3])
      local epoch = epochOf(ARGV[4])
      local nch = tonumber(ARGV[5])
      local ids
      local mark = redis.call('GET', KEYS[2])
      if mark and string.sub(mark, 1, #tok + 1) == tok .. ' ' then
        ids = string.sub(mark, #tok + 2)
      else
        local t = redis.call('TIME')
        local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
        local lms, lseq = -1, 0
        local last = redis.call('HGET', KEYS[1], 'last')
        if last then
          local d = string.find(last, '-', 1, true)
          lms = tonumber(string.sub(last, 1, d - 1))
          lseq = tonumber(string.sub(last, d + 1))
        end
        local minid = string.format('%d-0', now - maxage)
        local out = {}
        local a = 6 + 2 * nch
        local nmsg = tonumber(ARGV[a])
        a = a + 1
        local k = 3
        for m = 1, nmsg do
          local n, value = tonumber(ARGV[a]), ARGV[a + 1]
          a = a + 2
          if now > lms then lms, lseq = now, 0 else lseq = lseq + 1 end
          local id = string.format('%d-%d', lms, lseq)
          for s = 1, n do
            local key = KEYS[k]
            k = k + 1
            if not pcall(redis.call, 'XADD', key, 'MAXLEN', '~', maxlen, id, 'v', value) then
              -- the stream has later ids than the lost 'last': it cannot cover any offset now
              redis.call('DEL', key)
              redis.call('XADD', key, 'MAXLEN', '~', maxlen, id, 'v', value)
            end
            redis.call('XTRIM', key, 'MINID', '~', minid)
            redis.call('PEXPIRE', key, maxage)
          end
          out[m] = id
        end
        redis.call('HSET', KEYS[1], 'last', string.format('%d-%d', lms, lseq))
        ids = table.concat(out, ' ')
        redis.call('SET', KEYS[2], tok .. ' ' .. ids, 'PX', ARGV[a])
      end
      local res = {epoch, ids}
      for c = 1, nch do
        res[c + 2] = redis.call('PUBLISH', ARGV[5 + c], '\\31' .. ids .. '\\n' .. ARGV[5 + nch + c])
      end
      return res
      """;

  static final String READ = """
      local function cmp(a, b)
        local da, db = string.find(a, '-', 1, true), string.find(b, '-', 1, true)
        local ma, mb = tonumber(string.sub(a, 1, da - 1)), tonumber(string.sub(b, 1, db - 1))
        if ma ~= mb then return ma < mb and -1 or 1 end
        local sa, sb = tonumber(string.sub(a, da + 1)), tonumber(string.sub(b, db + 1))
        if sa ~= sb then return sa < sb and -1 or 1 end
        return 0
      end
      local epoch = redis.call('HGET', KEYS[1], 'epoch')
      -- trimming removes the oldest entries only, so nothing after the offset is gone while the
      -- first entry is at or before it (XINFO's max-deleted-entry-id counts XDEL only in Redis 7.0)
      local first = redis.call('XRANGE', KEYS[2], '-', '+', 'COUNT', 1)[1]
      local covered = 0
      if first and cmp(first[1], ARGV[1]) <= 0 then covered = 1 end
      local res = {epoch, covered}
      local r = redis.call('XRANGE', KEYS[2], '(' .. ARGV[1], '+', 'COUNT', ARGV[2])
      for i = 1, #r do
        res[#res + 1] = r[i][1]
        res[#res + 1] = r[i][2][2]
      end
      return res
      """;

  static final String EPOCH = EPOCH_OF + """
      return {epochOf(ARGV[1])}
      """;

  private final String publishSha = sha1(PUBLISH);
  private final String readSha = sha1(READ);
  private final String epochSha = sha1(EPOCH);
  private final RScript script;
  private final String prefix;
  private final String meta;
  private final byte[] maxLength;
  private final byte[] maxAgeMillis;
  /**
   * The epoch made when the history has none: this random part and Redis's time, so a history
   * lost and made again, even by this node, has another one.
   */
  private final byte[] epochCandidate = bytes(UUID.randomUUID().toString().replace("-", ""));

  RedisHistory(RedissonClient client, String prefix, int maxLength, long maxAgeMillis) {
    this.script = client.getScript(ByteArrayCodec.INSTANCE);
    this.prefix = prefix;
    this.meta = prefix + ":history";
    this.maxLength = bytes(Integer.toString(maxLength));
    this.maxAgeMillis = bytes(Long.toString(maxAgeMillis));
  }

  /** The Redis key of a history stream. */
  static String streamKey(String prefix, String stream) {
    return "{" + prefix + ":" + stream + "}:h";
  }

  @Override
  public CompletionStage<Published> publish(List<String> channels, List<byte[]> frames,
      List<Message> messages, String writer, String token) {
    List<Object> keys = new ArrayList<>();
    keys.add(meta);
    keys.add(prefix + ":history:w:" + writer);
    List<Object> args = new ArrayList<>();
    args.add(bytes(token));
    args.add(maxLength);
    args.add(maxAgeMillis);
    args.add(epochCandidate);
    args.add(bytes(Integer.toString(channels.size())));
    for (String c : channels) {
      args.add(bytes(c));
    }
    args.addAll(frames);
    args.add(bytes(Integer.toString(messages.size())));
    for (Message m : messages) {
      args.add(bytes(Integer.toString(m.streams().size())));
      args.add(m.value());
      for (String s : m.streams()) {
        keys.add(streamKey(prefix, s));
      }
    }
    args.add(bytes(Long.toString(MARK_MILLIS)));
    return run(PUBLISH, publishSha, keys, args).thenApply(r -> {
      List<Long> receivers = new ArrayList<>(channels.size());
      for (int i = 2; i < r.size(); i++) {
        receivers.add((Long) r.get(i));
      }
      String ids = text(r.get(1));
      return new Published(receivers, ids.isEmpty() ? List.of() : List.of(ids.split(" ")),
          text(r.get(0)));
    });
  }

  @Override
  public CompletionStage<Page> read(String stream, String after, int count) {
    return run(READ, readSha, List.of(meta, streamKey(prefix, stream)),
        List.of(bytes(after), bytes(Integer.toString(count)))).thenApply(r -> {
          List<Entry> entries = new ArrayList<>((r.size() - 2) / 2);
          for (int i = 2; i + 1 < r.size(); i += 2) {
            entries.add(new Entry(text(r.get(i)), (byte[]) r.get(i + 1)));
          }
          return new Page(r.get(0) == null ? null : text(r.get(0)),
              Long.valueOf(1).equals(r.get(1)), entries);
        });
  }

  @Override
  public CompletionStage<String> epoch() {
    return run(EPOCH, epochSha, List.of(meta), List.of(epochCandidate))
        .thenApply(r -> text(r.get(0)));
  }

  /** EVALSHA, and EVAL (which caches the body again) when Redis does not know the script. */
  private CompletableFuture<List<Object>> run(String body, String sha, List<Object> keys,
      List<Object> args) {
    Object[] values = args.toArray();
    CompletableFuture<List<Object>> first;
    try {
      first = script.<List<Object>>evalShaAsync(RScript.Mode.READ_WRITE, sha,
          RScript.ReturnType.LIST, keys, values).toCompletableFuture();
    } catch (RuntimeException e) {
      return CompletableFuture.failedFuture(e);
    }
    return first.handle((r, e) -> e == null ? CompletableFuture.completedFuture(r)
        : noScript(e)
            ? script.<List<Object>>evalAsync(RScript.Mode.READ_WRITE, body,
                RScript.ReturnType.LIST, keys, values).toCompletableFuture()
            : CompletableFuture.<List<Object>>failedFuture(e))
        .thenCompose(f -> f);
  }

  static String sha1(String body) {
    try {
      return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-1")
          .digest(body.getBytes(StandardCharsets.UTF_8)));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  private static boolean noScript(Throwable e) {
    for (Throwable t = e; t != null; t = t.getCause()) {
      if (String.valueOf(t.getMessage()).contains("NOSCRIPT")) {
        return true;
      }
    }
    return false;
  }

  private static byte[] bytes(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }

  private static String text(Object o) {
    return o instanceof byte[] b ? new String(b, StandardCharsets.UTF_8) : String.valueOf(o);
  }
}
