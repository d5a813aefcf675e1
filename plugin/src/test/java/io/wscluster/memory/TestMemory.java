package io.wscluster.memory;

import io.wscluster.spi.Directory;
import io.wscluster.spi.Transport;
import java.util.List;
import java.util.concurrent.ConcurrentMap;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BiConsumer;

/** The in-memory backend's parts, for tests of the core that wire nodes by hand. */
public final class TestMemory {
  private static final AtomicInteger THREADS = new AtomicInteger();
  private static final ThreadFactory DELIVERY = r -> {
    Thread t = new Thread(r, "wscluster-memory-" + THREADS.getAndIncrement());
    t.setDaemon(true);
    return t;
  };

  private TestMemory() {
  }

  /**
   * A transport on {@code bus} (null: this class loader's default bus).
   *
   * @param extraSubscriptions register each subscription this many more times
   */
  public static Transport transport(ConcurrentMap<String, List<BiConsumer<String, byte[]>>> bus,
      int extraSubscriptions) {
    return new InMemoryTransport(bus, extraSubscriptions, DELIVERY);
  }

  /**
   * A history on {@code store} (null: this class loader's default store) that publishes through
   * {@code transport}, one of {@link #transport}'s.
   */
  public static io.wscluster.spi.History history(ConcurrentMap<String, Object> store,
      Transport transport, String prefix, int maxLength, long maxAgeMillis) {
    return new InMemoryHistory(store, transport, prefix, maxLength, maxAgeMillis,
        System::currentTimeMillis);
  }

  /** Forgets every stream and the epoch of {@code store}, as a flushed Redis would. */
  public static void flushHistory(ConcurrentMap<String, Object> store) {
    InMemoryHistory.flush(store);
  }

  /** A directory on {@code store} (null: this class loader's default store). */
  public static Directory directory(ConcurrentMap<String, ConcurrentMap<String, String>> store,
      String prefix) {
    return new InMemoryDirectory(store, prefix);
  }
}
