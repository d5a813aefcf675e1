package io.wscluster.testbackend;

import io.wscluster.spi.Transport;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.TimeUnit;

/**
 * Channels to subscribed transports, in one class loader; each transport delivers on a thread of
 * its own, in publish order. Publish completes with 0: it does not count receivers.
 */
final class LoopTransport implements Transport {
  private static final Map<String, List<LoopTransport>> BUS = new ConcurrentHashMap<>();

  private final ThreadFactory threads;
  private volatile ExecutorService delivery;
  private volatile Receiver receiver;

  LoopTransport(ThreadFactory threads) {
    this.threads = threads;
  }

  @Override
  public synchronized void start(Receiver receiver) {
    this.receiver = receiver;
    delivery = Executors.newSingleThreadExecutor(threads);
  }

  @Override
  public CompletionStage<Void> subscribe(String channel) {
    List<LoopTransport> subscribers =
        BUS.computeIfAbsent(channel, c -> new CopyOnWriteArrayList<>());
    if (!subscribers.contains(this)) {
      subscribers.add(this);
    }
    return CompletableFuture.completedFuture(null);
  }

  @Override
  public CompletionStage<Void> unsubscribe(String channel) {
    List<LoopTransport> subscribers = BUS.get(channel);
    if (subscribers != null) {
      subscribers.remove(this);
    }
    return CompletableFuture.completedFuture(null);
  }

  @Override
  public CompletionStage<Long> publish(String channel, byte[] frame) {
    if (delivery == null) {
      return CompletableFuture.failedFuture(new IllegalStateException("not running"));
    }
    for (LoopTransport t : BUS.getOrDefault(channel, List.of())) {
      ExecutorService d = t.delivery;
      if (d != null && !d.isShutdown()) {
        d.execute(() -> t.receiver.onFrame(channel, frame));
      }
    }
    return CompletableFuture.completedFuture(0L);
  }

  @Override
  public synchronized void stop() throws InterruptedException {
    BUS.values().forEach(subscribers -> subscribers.remove(this));
    ExecutorService d = delivery;
    delivery = null;
    if (d != null) {
      d.shutdown();
      d.awaitTermination(5, TimeUnit.SECONDS);
    }
  }
}
