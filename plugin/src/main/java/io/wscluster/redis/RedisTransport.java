package io.wscluster.redis;

import io.wscluster.ConfigException;
import io.wscluster.WsClusterConfig;
import io.wscluster.WsClusterException;
import io.wscluster.spi.Directory;
import io.wscluster.spi.Transport;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import org.redisson.Redisson;
import org.redisson.api.RTopic;
import org.redisson.api.RedissonClient;
import org.redisson.client.codec.ByteArrayCodec;
import org.redisson.config.Config;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Redis pub/sub through Redisson topics, frames as raw bytes ({@link ByteArrayCodec}: no Java
 * serialization, no Redisson default codec). Creates and owns its Redisson client.
 *
 * <p>Listeners run on Redisson's threads and only hand frames to the receiver. Sharded
 * subscriptions are not Redisson's topics but {@link ShardedSubscriber}'s, which follow their
 * slots; sharded publishes go through Redisson's sharded topics.
 */
final class RedisTransport implements Transport {
  private static final Logger LOG = LoggerFactory.getLogger(RedisTransport.class);
  private final WsClusterConfig config;
  /** The raw text of keys set explicitly: {@link #fitYamlConfig} tells set from default. */
  private final Function<String, String> explicit;
  private final int extraSubscriptions;
  private final ThreadFactory threads;
  private final Map<String, RTopic> topics = new ConcurrentHashMap<>();
  /** Our listener ids per subscribed channel (Redisson's topic may have others' listeners). */
  private final Map<String, List<Integer>> listeners = new ConcurrentHashMap<>();
  private volatile RedissonClient redisson;
  /** Sharded pub/sub (SPUBLISH/SSUBSCRIBE), decided at start from wscluster.redis.pubsub. */
  private volatile boolean sharded;
  private Receiver receiver;
  /** With sharded pub/sub: the subscriptions; else null. */
  private volatile ShardedSubscriber shards;
  /** Whether quiet sharded channels are probed (see {@link ShardedSubscriber}). */
  private volatile boolean shardProbes = true;

  /**
   * @param explicit the raw text of a key set explicitly, else null
   * @param extraSubscriptions test hook: register each listener this many more times
   * @param threads makes the thread of the sharded subscriptions; null (a test hook) subscribes
   *     sharded channels through Redisson's sharded topics, which do not follow a slot move
   */
  RedisTransport(WsClusterConfig config, Function<String, String> explicit,
      int extraSubscriptions, ThreadFactory threads) {
    this.config = config;
    this.explicit = explicit;
    this.extraSubscriptions = extraSubscriptions;
    this.threads = threads;
  }

  @Override
  public synchronized void start(Receiver receiver) throws Exception {
    if (redisson != null) {
      throw new IllegalStateException("already started");
    }
    this.receiver = receiver;
    Config c = RedisConfigs.redissonConfig(config, explicit);
    boolean shard = sharded(config.redisPubSub(), c, config);
    RedissonClient client;
    try {
      client = Redisson.create(c);
    } catch (RuntimeException e) {
      throw new WsClusterException("wscluster cannot connect to Redis at "
          + RedisConfigs.where(config)
          + ": " + RedisConfigs.reason(e), e);
    }
    if (shard) {
      try {
        shard = redis7Everywhere(client, config.redisPubSub());
      } catch (RuntimeException e) {
        client.shutdown(0, config.shutdownTimeout().toMillis() + 1000, TimeUnit.MILLISECONDS);
        throw e;
      }
    }
    sharded = shard;
    if (shard && threads != null) {
      shards = new ShardedSubscriber(((Redisson) client).getCommandExecutor()
          .getConnectionManager(), receiver, extraSubscriptions, shardProbes, threads);
    }
    redisson = client;
    LOG.info("wscluster uses {} pub/sub on {}", shard ? "sharded (SPUBLISH/SSUBSCRIBE)"
        : "classic (PUBLISH/SUBSCRIBE)", RedisConfigs.where(config));
  }

  /**
   * Whether {@code mode} means sharded pub/sub for the Redisson configuration {@code c}: AUTO is
   * sharded for a cluster configuration (if every master runs Redis 7, checked once connected).
   * SHARDED on any other configuration is refused before connecting (subscriptions on replicas
   * are refused for either mode when the file is read).
   */
  static boolean sharded(WsClusterConfig.PubSub mode, Config c, WsClusterConfig config) {
    boolean cluster = c.isClusterConfig();
    if (mode == WsClusterConfig.PubSub.SHARDED && !cluster) {
      throw new ConfigException(WsClusterConfig.REDIS_PUBSUB + " value was set to 'sharded', "
          + "must be used with a Redis Cluster, but " + (config.redisConfig() == null
              ? WsClusterConfig.REDIS_ADDRESS + " names a single server"
              : config.redisConfig() + " (" + WsClusterConfig.REDIS_CONFIG
                  + ") is not a clusterServersConfig")
          + ": set it to auto or classic");
    }
    return mode == WsClusterConfig.PubSub.SHARDED
        || mode == WsClusterConfig.PubSub.AUTO && cluster;
  }

  /**
   * Sharded pub/sub needs Redis 7 on every master: SSUBSCRIBE is unknown before. Checked once at
   * start, on the masters Redisson knows then. An older master fails the start when sharded was
   * set, and makes {@code auto} classic.
   *
   * @return whether to use sharded pub/sub
   */
  private static boolean redis7Everywhere(RedissonClient client, WsClusterConfig.PubSub mode) {
    for (org.redisson.api.redisnode.RedisClusterMaster master
        : client.getRedisNodes(org.redisson.api.redisnode.RedisNodes.CLUSTER).getMasters()) {
      String version = master.info(org.redisson.api.redisnode.RedisNode.InfoSection.SERVER)
          .getOrDefault("redis_version", "0");
      if (atLeast(version, 7, 0)) {
        continue;
      }
      if (mode == WsClusterConfig.PubSub.AUTO) {
        LOG.info("{} is auto and {} runs Redis {}, before sharded pub/sub (7.0): using classic",
            WsClusterConfig.REDIS_PUBSUB, master.getAddr(), version);
        return false;
      }
      throw new ConfigException(WsClusterConfig.REDIS_PUBSUB + " is sharded, which needs Redis 7 "
          + "or later, but " + master.getAddr() + " runs Redis " + version + ": upgrade Redis, "
          + "or set " + WsClusterConfig.REDIS_PUBSUB + "=classic");
    }
    return true;
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
    ShardedSubscriber sharded = shards;
    if (sharded != null) {
      return sharded.subscribe(channel);
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
  public synchronized CompletionStage<Void> unsubscribe(String channel) {
    RedissonClient client = redisson;
    ShardedSubscriber sharded = shards;
    if (client != null && sharded != null) {
      return sharded.unsubscribe(channel);
    }
    List<Integer> ids = listeners.remove(channel);
    if (client == null || ids == null) {
      return CompletableFuture.completedFuture(null);
    }
    // removing our last listener makes Redisson (S)UNSUBSCRIBE the channel; the topic object is
    // kept for publishing and subscribing again
    return topic(channel).removeListenerAsync(ids.toArray(new Integer[0]));
  }

  /** Test hook, before {@link #start}: quiet sharded channels are not probed (a control). */
  RedisTransport withoutShardProbes() {
    shardProbes = false;
    return this;
  }

  /** The sharded subscriptions; null unless started with sharded pub/sub. For tests. */
  ShardedSubscriber shards() {
    return shards;
  }

  /** Whether this transport uses sharded pub/sub; meaningful once started. */
  boolean sharded() {
    return sharded;
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

  /**
   * The message history in this transport's Redis; valid while the transport runs. None on Redis
   * Cluster: one history write spans the slots of several streams, which a cluster refuses
   * (CROSSSLOT), and a refused write would hold every frame.
   */
  io.wscluster.spi.History history(String prefix, int maxLength, long maxAgeMillis) {
    RedissonClient client = redisson;
    if (client == null) {
      throw new IllegalStateException("not started");
    }
    if (client.getConfig().isClusterConfig()) {
      LOG.warn("the message history is not available on Redis Cluster yet: clients that resume "
          + "are told nothing was recovered (set {}=false to silence this)",
          WsClusterConfig.HISTORY_ENABLED);
      return null;
    }
    String version = serverVersion(client);
    if (!atLeast(version, 6, 2)) {
      LOG.warn("the message history needs Redis 6.2 or later (XTRIM MINID, exclusive XRANGE), but "
          + "the server runs Redis {}: clients that resume are told nothing was recovered (set {}=false "
          + "to silence this)", version, WsClusterConfig.HISTORY_ENABLED);
      return null;
    }
    return new RedisHistory(client, prefix, maxLength, maxAgeMillis);
  }

  /** The master's {@code redis_version}, "0" when it cannot be read. Blocks: startup only. */
  private static String serverVersion(RedissonClient client) {
    try {
      String info = client.getScript(org.redisson.client.codec.StringCodec.INSTANCE).eval(
          org.redisson.api.RScript.Mode.READ_WRITE, "return redis.call('INFO', 'server')",
          org.redisson.api.RScript.ReturnType.VALUE);
      for (String line : info.split("\r?\n")) {
        if (line.startsWith("redis_version:")) {
          return line.substring("redis_version:".length()).trim();
        }
      }
    } catch (RuntimeException e) {
      LOG.debug("could not read the Redis version", e);
    }
    return "0";
  }

  /** Whether {@code version} ("7.0.15") is at least major.minor; unreadable ones are not. */
  static boolean atLeast(String version, int major, int minor) {
    String[] parts = version.split("\\.");
    try {
      int ma = Integer.parseInt(parts[0]);
      int mi = parts.length > 1 ? Integer.parseInt(parts[1]) : 0;
      return ma > major || ma == major && mi >= minor;
    } catch (NumberFormatException e) {
      return false;
    }
  }

  private RTopic topic(String channel) {
    return topic(redisson, channel);
  }

  private RTopic topic(RedissonClient client, String channel) {
    // a sharded topic's SPUBLISH goes to the master of the channel's slot and answers with the
    // subscribers there: with Redisson's default subscriptionMode (MASTER) that is all of them
    return topics.computeIfAbsent(channel, ch -> sharded
        ? client.getShardedTopic(ch, ByteArrayCodec.INSTANCE)
        : client.getTopic(ch, ByteArrayCodec.INSTANCE));
  }

  /** For log lines: "Redis at" the address, or the YAML file. */
  @Override
  public String toString() {
    return "Redis at " + RedisConfigs.where(config);
  }

  @Override
  public synchronized void stop() {
    RedissonClient client = redisson;
    if (client == null) {
      return;
    }
    redisson = null;
    ShardedSubscriber sharded = shards;
    shards = null;
    if (sharded != null) {
      sharded.stop();
    }
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
