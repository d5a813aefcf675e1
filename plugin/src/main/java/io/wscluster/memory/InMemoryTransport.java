package io.wscluster.memory;

import io.wscluster.ConfigException;
import io.wscluster.spi.Transport;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.TimeUnit;
import java.util.function.BiConsumer;

/**
 * Several nodes in one JVM, connected by a bus: channel name to subscribers. The bus holds JDK
 * types only, so nodes of different webapps (each with its own copy of these classes) can share
 * one bus handed to them as the ServletContext attribute {@value #BUS_ATTRIBUTE}.
 *
 * <p>Each transport delivers on its own thread, in publish order, like a Redis subscription.
 */
final class InMemoryTransport implements Transport {
  static final String BUS_ATTRIBUTE = "io.wscluster.memory.bus";

  /** The bus of nodes that were handed none: shared by this class loader only. */
  private static final ConcurrentMap<String, List<BiConsumer<String, byte[]>>> DEFAULT_BUS =
      new ConcurrentHashMap<>();

  private final ConcurrentMap<String, List<BiConsumer<String, byte[]>>> bus;
  private final int extraSubscriptions;
  private final ThreadFactory threads;
  private final List<Map.Entry<String, BiConsumer<String, byte[]>>> mine = new ArrayList<>();
  private ExecutorService delivery;
  private Receiver receiver;
  private volatile boolean running;

  /**
   * @param bus the bus to join, or null for this class loader's default bus
   * @param extraSubscriptions test hook: register each subscription this many more times
   * @param threads makes the delivery thread
   */
  InMemoryTransport(ConcurrentMap<String, List<BiConsumer<String, byte[]>>> bus,
      int extraSubscriptions, ThreadFactory threads) {
    this.bus = bus == null ? DEFAULT_BUS : bus;
    this.extraSubscriptions = extraSubscriptions;
    this.threads = threads;
  }

  @SuppressWarnings("unchecked")
  static ConcurrentMap<String, List<BiConsumer<String, byte[]>>> busFrom(Object attribute) {
    if (attribute == null) {
      return null;
    }
    if (!(attribute instanceof ConcurrentMap)) {
      throw new ConfigException("ServletContext attribute " + BUS_ATTRIBUTE + " is a "
          + attribute.getClass().getName() + ", must be a java.util.concurrent.ConcurrentMap"
          + "<String, java.util.List<java.util.function.BiConsumer<String, byte[]>>>");
    }
    return (ConcurrentMap<String, List<BiConsumer<String, byte[]>>>) attribute;
  }

  @Override
  public synchronized void start(Receiver receiver) {
    if (delivery != null) {
      throw new IllegalStateException("already started");
    }
    this.receiver = receiver;
    this.delivery = Executors.newSingleThreadExecutor(threads);
    this.running = true;
  }

  @Override
  public synchronized CompletionStage<Void> subscribe(String channel) {
    if (delivery == null) {
      return CompletableFuture.failedFuture(new IllegalStateException("not started"));
    }
    // subscribing again replaces this transport's subscription of the channel
    drop(channel);
    ExecutorService executor = delivery;
    Receiver r = receiver;
    BiConsumer<String, byte[]> subscriber = (ch, frame) -> executor.execute(() -> r.onFrame(ch, frame));
    for (int i = 0; i <= extraSubscriptions; i++) {
      bus.computeIfAbsent(channel, k -> new CopyOnWriteArrayList<>()).add(subscriber);
      mine.add(Map.entry(channel, subscriber));
    }
    return CompletableFuture.completedFuture(null);
  }

  @Override
  public synchronized CompletionStage<Void> unsubscribe(String channel) {
    drop(channel);
    return CompletableFuture.completedFuture(null);
  }

  /** Removes this transport's subscribers of {@code channel} from the bus. */
  private void drop(String channel) {
    mine.removeIf(e -> {
      if (!e.getKey().equals(channel)) {
        return false;
      }
      List<BiConsumer<String, byte[]>> subscribers = bus.get(channel);
      if (subscribers != null) {
        subscribers.remove(e.getValue());
      }
      return true;
    });
  }

  @Override
  public CompletionStage<Long> publish(String channel, byte[] frame) {
    if (!running) {
      return CompletableFuture.failedFuture(new IllegalStateException("transport not running"));
    }
    long receivers = 0;
    List<BiConsumer<String, byte[]>> subscribers = bus.get(channel);
    if (subscribers != null) {
      for (BiConsumer<String, byte[]> s : subscribers) {
        try {
          s.accept(channel, frame);
          receivers++;
        } catch (RejectedExecutionException stopping) {
          // that node is stopping; like Redis, a gone subscriber just does not count
        }
      }
    }
    return CompletableFuture.completedFuture(receivers);
  }

  @Override
  public synchronized void stop() throws InterruptedException {
    running = false;
    for (Map.Entry<String, BiConsumer<String, byte[]>> e : mine) {
      List<BiConsumer<String, byte[]>> subscribers = bus.get(e.getKey());
      if (subscribers != null) {
        subscribers.remove(e.getValue());
      }
    }
    mine.clear();
    if (delivery != null) {
      delivery.shutdown();
      delivery.awaitTermination(5, TimeUnit.SECONDS);
      delivery.shutdownNow();
    }
  }
}
