package io.wscluster.redis;

import io.wscluster.ConfigException;
import io.wscluster.WsClusterConfig;
import io.wscluster.WsClusterException;
import io.wscluster.spi.Directory;
import io.wscluster.spi.Transport;
import java.io.IOException;
import java.io.InputStream;
import java.net.URL;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import javax.net.ssl.SSLHandshakeException;
import org.redisson.Redisson;
import org.redisson.api.RTopic;
import org.redisson.api.RedissonClient;
import org.redisson.client.RedisAuthRequiredException;
import org.redisson.client.RedisException;
import org.redisson.client.RedisWrongPasswordException;
import org.redisson.client.codec.ByteArrayCodec;
import org.redisson.config.BaseConfig;
import org.redisson.config.BaseMasterSlaveServersConfig;
import org.redisson.config.Config;
import org.redisson.config.ConfigSupport;
import org.redisson.config.ConstantDelay;
import org.redisson.config.SingleServerConfig;
import org.redisson.config.SubscriptionMode;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Redis pub/sub through Redisson topics, frames as raw bytes ({@link ByteArrayCodec}: no Java
 * serialization, no Redisson default codec). Creates and owns its Redisson client.
 *
 * <p>Listeners run on Redisson's threads and only hand frames to the receiver.
 */
final class RedisTransport implements Transport {
  private static final Logger LOG = LoggerFactory.getLogger(RedisTransport.class);
  /**
   * Between reconnection attempts and between a command's retries: Redisson's defaults (a back-off
   * growing to 10 s, retries 1 to 2 s apart) would hold subscriptions and publishes back that long
   * after Redis returns.
   */
  static final Duration RECONNECT_DELAY = Duration.ofMillis(200);
  private final WsClusterConfig config;
  /** The raw text of keys set explicitly: {@link #fitYamlConfig} tells set from default. */
  private final Function<String, String> explicit;
  private final int extraSubscriptions;
  private final Map<String, RTopic> topics = new ConcurrentHashMap<>();
  /** Our listener ids per subscribed channel (Redisson's topic may have others' listeners). */
  private final Map<String, List<Integer>> listeners = new ConcurrentHashMap<>();
  private volatile RedissonClient redisson;
  /** Sharded pub/sub (SPUBLISH/SSUBSCRIBE), decided at start from wscluster.redis.pubsub. */
  private volatile boolean sharded;
  private Receiver receiver;

  /**
   * @param explicit the raw text of a key set explicitly, else null
   * @param extraSubscriptions test hook: register each listener this many more times
   */
  RedisTransport(WsClusterConfig config, Function<String, String> explicit,
      int extraSubscriptions) {
    this.config = config;
    this.explicit = explicit;
    this.extraSubscriptions = extraSubscriptions;
  }

  @Override
  public synchronized void start(Receiver receiver) throws Exception {
    if (redisson != null) {
      throw new IllegalStateException("already started");
    }
    this.receiver = receiver;
    Config c = redissonConfig(config, explicit);
    boolean shard = sharded(config.redisPubSub(), c, config);
    RedissonClient client;
    try {
      client = Redisson.create(c);
    } catch (RuntimeException e) {
      throw new WsClusterException("wscluster cannot connect to Redis at " + where(config)
          + ": " + reason(e), e);
    }
    if (shard) {
      try {
        requireRedis7(client);
      } catch (RuntimeException e) {
        client.shutdown(0, config.shutdownTimeout().toMillis() + 1000, TimeUnit.MILLISECONDS);
        throw e;
      }
    }
    sharded = shard;
    redisson = client;
    LOG.info("wscluster uses {} pub/sub on {}", shard ? "sharded (SPUBLISH/SSUBSCRIBE)"
        : "classic (PUBLISH/SUBSCRIBE)", where(config));
  }

  /**
   * Whether {@code mode} means sharded pub/sub for the Redisson configuration {@code c}: AUTO is
   * classic (see below). SHARDED on any other configuration is refused before
   * connecting (subscriptions on replicas are refused for either mode when the file is read).
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
    // auto is classic for now: after a slot move, Redisson 4.3.1 did not restore a sharded
    // subscription of a node's own channel, and the probe's resubscribe did not either
    boolean shard = mode == WsClusterConfig.PubSub.SHARDED;
    return shard;
  }

  /**
   * Sharded pub/sub needs Redis 7 on every master: SSUBSCRIBE is unknown before. Checked once at
   * start, on the masters Redisson knows then.
   */
  private void requireRedis7(RedissonClient client) {
    for (org.redisson.api.redisnode.RedisClusterMaster master
        : client.getRedisNodes(org.redisson.api.redisnode.RedisNodes.CLUSTER).getMasters()) {
      String version = master.info(org.redisson.api.redisnode.RedisNode.InfoSection.SERVER)
          .getOrDefault("redis_version", "0");
      if (!atLeast(version, 7, 0)) {
        throw new ConfigException(WsClusterConfig.REDIS_PUBSUB + " is sharded (set, or auto with "
            + "a cluster configuration), which needs Redis 7 or later, but "
            + master.getAddr() + " runs Redis " + version + ": upgrade Redis, or set "
            + WsClusterConfig.REDIS_PUBSUB + "=classic");
      }
    }
  }

  /**
   * Why Redisson could not connect, naming the keys that fix it. Never a password: Redisson masks
   * AUTH arguments in its exception messages, and none of ours holds one.
   */
  static String reason(RuntimeException e) {
    for (Throwable t = e; t != null; t = t.getCause()) {
      if (t instanceof RedisAuthRequiredException) {
        return "Redis requires a password (" + redisError(t) + "): set "
            + WsClusterConfig.REDIS_PASSWORD + ", and " + WsClusterConfig.REDIS_USERNAME
            + " for an ACL user";
      }
      if (t instanceof RedisWrongPasswordException || (t instanceof RedisException
          && String.valueOf(t.getMessage()).startsWith("ERR AUTH"))) {
        // ERR AUTH: a password was sent to a server that has none
        return "Redis refused the credentials (" + redisError(t) + "): check "
            + WsClusterConfig.REDIS_USERNAME + " and " + WsClusterConfig.REDIS_PASSWORD;
      }
      if (t instanceof SSLHandshakeException) {
        return "the TLS handshake failed (" + t.getMessage() + "): the server's certificate "
            + "must name the host of the address and chain to a CA this JVM trusts "
            + "(sslTruststore in a Redisson YAML file named by " + WsClusterConfig.REDIS_CONFIG
            + ", or the JVM truststore javax.net.ssl.trustStore)";
      }
    }
    return e.getMessage() + " (set " + WsClusterConfig.REDIS_ADDRESS + ", or "
        + WsClusterConfig.ENABLED + "=false to run single-node)";
  }

  /** The error text of Redis, without the channel and command details Redisson appends. */
  private static String redisError(Throwable t) {
    String message = t.getMessage();
    int details = message.indexOf(". channel: ");
    return details < 0 ? message : message.substring(0, details);
  }

  static String where(WsClusterConfig config) {
    return config.redisConfig() != null ? "the servers of " + config.redisConfig()
        : config.redisAddress().toString();
  }

  static Config redissonConfig(WsClusterConfig config,
      Function<String, String> explicit) throws IOException {
    if (!config.redisUsername().isEmpty() && config.redisPassword().isEmpty()) {
      // Redisson would send no AUTH at all: the client would silently be the default user
      throw new ConfigException(WsClusterConfig.REDIS_USERNAME + " is set to '"
          + config.redisUsername() + "' but "
          + WsClusterConfig.REDIS_PASSWORD + " is empty: Redis authenticates a user by name and "
          + "password (any password for a nopass user)");
    }
    Config c;
    if (config.redisConfig() != null) {
      c = readYaml(config.redisConfig());
      // top-level ones only: Redisson itself warns about the deprecated per-server ones
      if ((c.getUsername() != null || c.getPassword() != null)
          && !(config.redisUsername().isEmpty() && config.redisPassword().isEmpty())) {
        throw new ConfigException(config.redisConfig() + " (" + WsClusterConfig.REDIS_CONFIG
            + ") sets a Redis username or password, and so do " + WsClusterConfig.REDIS_USERNAME
            + " or " + WsClusterConfig.REDIS_PASSWORD + ": keep one of them");
      }
      checkTruststore(c, config.redisConfig());
      fitYamlConfig(c, config, explicit);
    } else {
      c = new Config();
      c.useSingleServer()
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
          .setReconnectionDelay(new ConstantDelay(RECONNECT_DELAY))
          // a command waiting for a connection is tried again at the same pace (default: 1 to
          // 2 s), so a publish issued during an outage goes out as soon as Redis is back
          .setRetryDelay(new ConstantDelay(RECONNECT_DELAY))
          .setClientName("wscluster-" + config.nodeName());
      c.setThreads(2);
      c.setNettyThreads(4);
    }
    // Config-level credentials (Redisson 4 deprecates the per-server ones): Redisson sends them
    // to every data node (to a sentinel only if it asks for a password and the YAML file gives
    // it no sentinelPassword) and masks AUTH arguments in its logs and exception messages.
    if (!config.redisUsername().isEmpty()) {
      c.setUsername(config.redisUsername());
    }
    if (!config.redisPassword().isEmpty()) {
      c.setPassword(config.redisPassword());
    }
    // envelopes are bytes of our own codec; nothing else is ever written through this client
    c.setCodec(ByteArrayCodec.INSTANCE);
    return c;
  }

  /**
   * Redisson makes every object that the file names by class ({@code codec: !<...>}) while reading
   * it. The plugin ships without the libraries of Redisson features it never uses (Kryo, the
   * default codec's, among them), so such a class can fail to link: say so, instead of failing the
   * deployment with a bare NoClassDefFoundError.
   */
  private static Config readYaml(Path yaml) throws IOException {
    try {
      return Config.fromYAML(yaml.toFile());
    } catch (LinkageError e) {
      throw new ConfigException(yaml + " (" + WsClusterConfig.REDIS_CONFIG + ") names a class "
          + "that needs a library the webapp does not have (" + e.getMessage() + "); wscluster "
          + "sets the codec itself, so leave 'codec' out of the file");
    }
  }

  /**
   * A Redisson YAML file's servers get what our own single-server config has unless the file sets
   * it: the constant {@link #RECONNECT_DELAY} between reconnections and between a command's
   * retries (a file that sets one keeps it, with a warning), and, when {@link
   * WsClusterConfig#REDIS_CONNECTIONS} is set explicitly, that many connections in the (master)
   * pool, which the file must then leave out. Works for every topology through Redisson's
   * public {@link ConfigSupport#getConfig}.
   */
  private static void fitYamlConfig(Config c, WsClusterConfig config,
      Function<String, String> explicit) throws IOException {
    Path yaml = config.redisConfig();
    Set<String> set = RedissonYamlKeys.serverSettings(yaml);
    String connections = explicit.apply(WsClusterConfig.REDIS_CONNECTIONS);
    boolean single = c.isSingleConfig();
    String pool = single ? "connectionPoolSize" : "masterConnectionPoolSize";
    if (connections != null && set.contains(pool)) {
      throw new ConfigException(WsClusterConfig.REDIS_CONNECTIONS + " value was set to '"
          + connections.trim() + "', and " + yaml + " (" + WsClusterConfig.REDIS_CONFIG
          + ") sets " + pool + " too: set the pool size in one of them only");
    }
    BaseConfig<?> servers;
    try {
      servers = ConfigSupport.getConfig(c);
    } catch (IllegalArgumentException e) {
      throw new ConfigException(yaml + " (" + WsClusterConfig.REDIS_CONFIG + ") is not a "
          + "usable Redisson config: " + e.getMessage());
    }
    checkSubscriptionMode(servers, yaml);
    if (set.contains("reconnectionDelay")) {
      warnKept(yaml, "reconnectionDelay");
    } else {
      servers.setReconnectionDelay(new ConstantDelay(RECONNECT_DELAY));
    }
    if (set.contains("retryDelay")) {
      warnKept(yaml, "retryDelay");
    } else {
      servers.setRetryDelay(new ConstantDelay(RECONNECT_DELAY));
    }
    if (connections == null) {
      return;
    }
    String idle = single ? "connectionMinimumIdleSize" : "masterConnectionMinimumIdleSize";
    int n = config.redisConnections();
    int idleSize = single ? ((SingleServerConfig) servers).getConnectionMinimumIdleSize()
        : ((BaseMasterSlaveServersConfig<?>) servers).getMasterConnectionMinimumIdleSize();
    if (set.contains(idle) && idleSize > n) {
      throw new ConfigException(WsClusterConfig.REDIS_CONNECTIONS + " value was set to '"
          + connections.trim() + "', below " + idle + " " + idleSize + " in " + yaml + " ("
          + WsClusterConfig.REDIS_CONFIG + "): must be at least " + idleSize);
    }
    if (single) {
      SingleServerConfig s = (SingleServerConfig) servers;
      s.setConnectionPoolSize(n).setConnectionMinimumIdleSize(Math.min(idleSize, n));
    } else {
      BaseMasterSlaveServersConfig<?> m = (BaseMasterSlaveServersConfig<?>) servers;
      m.setMasterConnectionPoolSize(n).setMasterConnectionMinimumIdleSize(Math.min(idleSize, n));
    }
  }

  /**
   * Refuses subscriptions on replicas: a {@code PUBLISH} reports the subscribers of the server it
   * ran on (the master; on a Redis Cluster, the channel's slot owner), and a node counts a frame as
   * sent when that number reaches every live node. With subscriptions on replicas every frame would
   * be held for the shortfall time and then given up on.
   */
  private static void checkSubscriptionMode(BaseConfig<?> servers, Path yaml) {
    if (servers instanceof BaseMasterSlaveServersConfig<?> m
        && m.getSubscriptionMode() != SubscriptionMode.MASTER) {
      throw new ConfigException("subscriptionMode value was set to '" + m.getSubscriptionMode()
          + "' in " + yaml + " (" + WsClusterConfig.REDIS_CONFIG + "), must be MASTER: a PUBLISH "
          + "counts only the subscribers of the master it runs on, and wscluster counts a "
          + "message as sent when that number reaches every node");
    }
  }

  private static void warnKept(Path yaml, String setting) {
    LOG.warn("{} ({}) sets {}: keeping it instead of wscluster's constant {} ms; resume after a "
        + "Redis outage may then take longer", yaml, WsClusterConfig.REDIS_CONFIG, setting,
        RECONNECT_DELAY.toMillis());
  }

  /**
   * Loads the truststore that a Redisson YAML file names, as Redisson will for each connection:
   * a wrong path or password then fails startup in words instead of as a closed channel.
   */
  private static void checkTruststore(Config c, Path yaml) {
    URL truststore = c.getSslTruststore();
    if (truststore == null) {
      return;
    }
    String type = c.getSslKeystoreType() != null ? c.getSslKeystoreType()
        : KeyStore.getDefaultType();
    String password = c.getSslTruststorePassword();
    try (InputStream in = truststore.openStream()) {
      KeyStore.getInstance(type).load(in, password == null ? null : password.toCharArray());
    } catch (IOException | GeneralSecurityException e) {
      throw new ConfigException("sslTruststore '" + truststore + "' in " + yaml + " ("
          + WsClusterConfig.REDIS_CONFIG + ") cannot be loaded as a " + type + " truststore "
          + "with its sslTruststorePassword: " + e);
    }
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
  public synchronized CompletionStage<Void> unsubscribe(String channel) {
    RedissonClient client = redisson;
    List<Integer> ids = listeners.remove(channel);
    if (client == null || ids == null) {
      return CompletableFuture.completedFuture(null);
    }
    // removing our last listener makes Redisson (S)UNSUBSCRIBE the channel; the topic object is
    // kept for publishing and subscribing again
    return topic(channel).removeListenerAsync(ids.toArray(new Integer[0]));
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
    return "Redis at " + where(config);
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
