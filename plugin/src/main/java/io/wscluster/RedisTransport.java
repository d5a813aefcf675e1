package io.wscluster;

import io.wscluster.spi.Transport;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import org.redisson.Redisson;
import org.redisson.api.RTopic;
import org.redisson.api.RedissonClient;
import org.redisson.client.codec.ByteArrayCodec;
import org.redisson.config.Config;
import org.redisson.config.ConstantDelay;
import org.redisson.config.SingleServerConfig;

/**
 * Redis pub/sub through Redisson topics, frames as raw bytes ({@link ByteArrayCodec}: no Java
 * serialization, no Redisson default codec). Creates and owns its Redisson client.
 *
 * <p>Listeners run on Redisson's threads and only hand frames to the receiver.
 */
final class RedisTransport implements Transport {
  private final WsClusterConfig config;
  private final int extraSubscriptions;
  private final Map<String, RTopic> topics = new ConcurrentHashMap<>();
  /** Our listener ids per subscribed channel (Redisson's topic may have others' listeners). */
  private final Map<String, List<Integer>> listeners = new ConcurrentHashMap<>();
  private volatile RedissonClient redisson;
  private Receiver receiver;

  /** @param extraSubscriptions test hook: register each listener this many more times */
  RedisTransport(WsClusterConfig config, int extraSubscriptions) {
    this.config = config;
    this.extraSubscriptions = extraSubscriptions;
  }

  @Override
  public synchronized void start(Receiver receiver) throws Exception {
    if (redisson != null) {
      throw new IllegalStateException("already started");
    }
    this.receiver = receiver;
    Config c = redissonConfig(config);
    try {
      redisson = Redisson.create(c);
    } catch (RuntimeException e) {
      throw new WsClusterException("wscluster cannot connect to Redis at " + where(config)
          + ": " + e.getMessage() + " (set " + WsClusterConfig.REDIS_ADDRESS + ", or "
          + WsClusterConfig.ENABLED + "=false to run single-node)", e);
    }
  }

  static String where(WsClusterConfig config) {
    return config.redisConfig() != null ? "the servers of " + config.redisConfig()
        : config.redisAddress().toString();
  }

  static Config redissonConfig(WsClusterConfig config) throws java.io.IOException {
    Config c;
    if (config.redisConfig() != null) {
      c = Config.fromYAML(config.redisConfig().toFile());
    } else {
      c = new Config();
      SingleServerConfig single = c.useSingleServer()
          .setAddress(config.redisAddress().toString())
          .setConnectionPoolSize(config.redisConnections())
          .setConnectionMinimumIdleSize(1)
          .setSubscriptionConnectionPoolSize(1)
          .setSubscriptionConnectionMinimumIdleSize(1)
          .setSubscriptionsPerConnection(50)
          .setTimeout(5000)
          .setConnectTimeout(5000)
          .setRetryAttempts(2)
          // Redisson's default reconnection backoff grows to 10 s; subscriptions come back only
          // after it, and until then nothing reaches this node: reconnect every 200 ms instead.
          // (Not a shorter ping interval: under load a late PONG makes Redisson drop a
          // subscription connection that Redis still counts, and frames Redis sent on it are
          // lost although PUBLISH reported them received.)
          .setReconnectionDelay(new ConstantDelay(Duration.ofMillis(200)))
          // a command waiting for a connection is tried again at the same pace (default: 1 to
          // 2 s), so a publish issued during an outage goes out as soon as Redis is back
          .setRetryDelay(new ConstantDelay(Duration.ofMillis(200)))
          .setClientName("wscluster-" + config.nodeName());
      if (!config.redisUsername().isEmpty()) {
        single.setUsername(config.redisUsername());
      }
      if (!config.redisPassword().isEmpty()) {
        single.setPassword(config.redisPassword());
      }
      c.setThreads(2);
      c.setNettyThreads(4);
    }
    // envelopes are bytes of our own codec; nothing else is ever written through this client
    c.setCodec(ByteArrayCodec.INSTANCE);
    return c;
  }

  /**
   * Subscribes, or subscribes again: a second call for a channel first drops the channel's
   * listeners (so Redisson unsubscribes it) and then adds them anew, which re-establishes a
   * subscription Redis stopped serving without Redisson noticing.
   */
  @Override
  public synchronized CompletionStage<Void> subscribe(String channel) {
    RedissonClient client = redisson;
    if (client == null) {
      return CompletableFuture.failedFuture(new IllegalStateException("not started"));
    }
    RTopic topic = topic(channel);
    CompletionStage<Void> dropped = CompletableFuture.completedFuture(null);
    List<Integer> old = listeners.remove(channel);
    if (old != null) {
      dropped = topic.removeListenerAsync(old.toArray(new Integer[0]));
    }
    Receiver r = receiver;
    List<Integer> ids = java.util.Collections.synchronizedList(new ArrayList<>());
    listeners.put(channel, ids);
    return dropped.thenCompose(v -> {
      CompletableFuture<Void> all = CompletableFuture.completedFuture(null);
      for (int i = 0; i <= extraSubscriptions; i++) {
        CompletableFuture<Void> one = topic.addListenerAsync(byte[].class,
            (ch, frame) -> r.onFrame(ch.toString(), frame))
            .toCompletableFuture()
            .thenAccept(ids::add);
        all = all.thenCombine(one, (a, b) -> null);
      }
      return all;
    });
  }

  @Override
  public CompletionStage<Long> publish(String channel, byte[] frame) {
    RedissonClient client = redisson;
    if (client == null) {
      return CompletableFuture.failedFuture(new IllegalStateException("not started"));
    }
    try {
      return topic(channel).publishAsync(frame);
    } catch (RuntimeException e) {
      return CompletableFuture.failedFuture(e);
    }
  }

  /** The directory in this transport's Redis; valid while the transport runs. */
  Directory directory(String prefix) {
    RedissonClient client = redisson;
    if (client == null) {
      throw new IllegalStateException("not started");
    }
    return new RedisDirectory(client, prefix);
  }

  private RTopic topic(String channel) {
    return topic(redisson, channel);
  }

  private RTopic topic(RedissonClient client, String channel) {
    return topics.computeIfAbsent(channel, ch -> client.getTopic(ch, ByteArrayCodec.INSTANCE));
  }

  @Override
  public synchronized void stop() {
    RedissonClient client = redisson;
    if (client == null) {
      return;
    }
    redisson = null;
    listeners.forEach((channel, ids) -> {
      try {
        topic(client, channel).removeListener(ids.toArray(new Integer[0]));
      } catch (RuntimeException e) {
        // the client shuts down next, which drops every subscription anyway
      }
    });
    listeners.clear();
    topics.clear();
    client.shutdown(0, config.shutdownTimeout().toMillis() + 1000, TimeUnit.MILLISECONDS);
  }
}
