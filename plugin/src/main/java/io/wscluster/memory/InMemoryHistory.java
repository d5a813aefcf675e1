package io.wscluster.memory;

import io.wscluster.ConfigException;
import io.wscluster.spi.History;
import io.wscluster.spi.Transport;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;
import java.util.function.LongSupplier;

/**
 * The memory backend's {@link History}: the same streams, ids, trimming and epoch as the Redis
 * one, in a store of JDK types shared like the bus (the context attribute
 * {@value #STORE_ATTRIBUTE}, else this class loader's), so unit tests run the core's recovery
 * path. Writing and publishing are one step under the store's lock, as the Redis script is one.
 * Trimming is exact (Redis's {@code ~} trims whole nodes, keeping a little more); streams do not
 * expire when idle.
 */
final class InMemoryHistory implements History {
  static final String STORE_ATTRIBUTE = "io.wscluster.memory.history";
  private static final ConcurrentMap<String, Object> DEFAULT_STORE = new ConcurrentHashMap<>();
  private static final String EPOCH = "epoch";
  private static final String LAST = "last";
  private static final String MARK = "mark:";
  private static final String STREAM = "stream:";

  private final ConcurrentMap<String, Object> store;
  private final Transport transport;
  private final String prefix;
  private final int maxLength;
  private final long maxAgeMillis;
  private final LongSupplier wallClock;

  InMemoryHistory(ConcurrentMap<String, Object> store, Transport transport, String prefix,
      int maxLength, long maxAgeMillis, LongSupplier wallClock) {
    this.store = store == null ? DEFAULT_STORE : store;
    this.transport = transport;
    this.prefix = prefix;
    this.maxLength = maxLength;
    this.maxAgeMillis = maxAgeMillis;
    this.wallClock = wallClock;
  }

  @SuppressWarnings("unchecked")
  static ConcurrentMap<String, Object> storeFrom(Object attribute) {
    if (attribute == null) {
      return null;
    }
    if (!(attribute instanceof ConcurrentMap)) {
      throw new ConfigException("ServletContext attribute " + STORE_ATTRIBUTE + " is a "
          + attribute.getClass().getName() + ", must be a java.util.concurrent.ConcurrentMap"
          + "<String, Object>");
    }
    return (ConcurrentMap<String, Object>) attribute;
  }

  @Override
  public CompletionStage<Published> publish(List<String> channels, List<byte[]> frames,
      List<Message> messages, String writer, String token) {
    List<Long> receivers = new ArrayList<>(channels.size());
    List<String> ids;
    String epoch;
    synchronized (store) {
      epoch = epochLocked();
      String mark = (String) store.get(key(MARK + writer));
      if (mark != null && mark.startsWith(token + " ")) {
        ids = List.of(mark.substring(token.length() + 1).split(" "));
      } else {
        ids = new ArrayList<>(messages.size());
        long now = wallClock.getAsLong();
        for (Message m : messages) {
          String id = nextId(now);
          for (String stream : m.streams()) {
            append(stream, id, m.value(), now);
          }
          ids.add(id);
        }
        store.put(key(MARK + writer), token + " " + String.join(" ", ids));
      }
      for (int i = 0; i < channels.size(); i++) {
        try {
          receivers.add(transport.publish(channels.get(i), History.wrap(ids, frames.get(i)))
              .toCompletableFuture().join());
        } catch (RuntimeException e) {
          return CompletableFuture.failedFuture(e);
        }
      }
    }
    return CompletableFuture.completedFuture(new Published(receivers, ids, epoch));
  }

  @Override
  public CompletionStage<Page> read(String stream, String after, int count) {
    synchronized (store) {
      String epoch = (String) store.get(key(EPOCH));
      @SuppressWarnings("unchecked")
      ArrayDeque<Object[]> entries = (ArrayDeque<Object[]>) store.get(key(STREAM + stream));
      if (entries == null) {
        return CompletableFuture.completedFuture(new Page(epoch, false, List.of()));
      }
      // as the Redis history decides: trimming removes the oldest entries only
      Object[] first = entries.peek();
      boolean covered = first != null && compare((String) first[0], after) <= 0;
      List<Entry> out = new ArrayList<>();
      for (Object[] e : entries) {
        if (out.size() == count) {
          break;
        }
        if (compare((String) e[0], after) > 0) {
          out.add(new Entry((String) e[0], (byte[]) e[1]));
        }
      }
      return CompletableFuture.completedFuture(new Page(epoch, covered, out));
    }
  }

  @Override
  public CompletionStage<String> epoch() {
    synchronized (store) {
      return CompletableFuture.completedFuture(epochLocked());
    }
  }

  /** Forgets everything, as a flushed Redis would: for tests. */
  static void flush(ConcurrentMap<String, Object> store) {
    synchronized (store == null ? DEFAULT_STORE : store) {
      (store == null ? DEFAULT_STORE : store).clear();
    }
  }

  private String epochLocked() {
    return (String) store.computeIfAbsent(key(EPOCH),
        k -> java.util.UUID.randomUUID().toString().replace("-", ""));
  }

  /** The next id after the last one given: ms of now, or the last ms with the next sequence. */
  private String nextId(long now) {
    long[] last = (long[]) store.computeIfAbsent(key(LAST), k -> new long[] {0, 0});
    if (now > last[0]) {
      last[0] = now;
      last[1] = 0;
    } else {
      last[1]++;
    }
    return last[0] + "-" + last[1];
  }

  @SuppressWarnings("unchecked")
  private void append(String stream, String id, byte[] value, long now) {
    ArrayDeque<Object[]> entries = (ArrayDeque<Object[]>) store.computeIfAbsent(
        key(STREAM + stream), k -> new ArrayDeque<Object[]>());
    entries.add(new Object[] {id, value, now});
    Object[] oldest;
    while ((oldest = entries.peek()) != null
        && (entries.size() > maxLength || now - (Long) oldest[2] > maxAgeMillis)) {
      entries.poll();
    }
  }

  private String key(String name) {
    return prefix + ":" + name;
  }

  /** Orders two stream ids {@code <ms>-<seq>} as Redis does. */
  static int compare(String a, String b) {
    int da = a.indexOf('-');
    int db = b.indexOf('-');
    int c = Long.compare(Long.parseLong(a.substring(0, da)), Long.parseLong(b.substring(0, db)));
    return c != 0 ? c : Long.compare(Long.parseLong(a.substring(da + 1)),
        Long.parseLong(b.substring(db + 1)));
  }
}
