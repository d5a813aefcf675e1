package io.wscluster.redis;

import io.wscluster.ConfigException;
import io.wscluster.WsClusterConfig;
import java.io.IOException;
import java.io.InputStream;
import java.net.URL;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.time.Duration;
import java.util.Set;
import java.util.function.Function;
import javax.net.ssl.SSLHandshakeException;
import org.redisson.client.RedisAuthRequiredException;
import org.redisson.client.RedisException;
import org.redisson.client.RedisWrongPasswordException;
import org.redisson.client.codec.ByteArrayCodec;
import org.redisson.config.BaseConfig;
import org.redisson.config.BaseMasterSlaveServersConfig;
import org.redisson.config.ClusterServersConfig;
import org.redisson.config.Config;
import org.redisson.config.ConfigSupport;
import org.redisson.config.ConstantDelay;
import org.redisson.config.SentinelServersConfig;
import org.redisson.config.SingleServerConfig;
import org.redisson.config.SubscriptionMode;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The Redisson configuration a node runs with, from the {@code wscluster.redis.*} keys or a
 * Redisson YAML file fitted to what the protocol needs, and the words for why Redis could not be
 * reached. Startup only: called once by {@link RedisTransport#start}, on the deploying thread.
 */
final class RedisConfigs {
  private static final Logger LOG = LoggerFactory.getLogger(RedisConfigs.class);
  /**
   * Between reconnection attempts and between a command's retries: Redisson's defaults (a back-off
   * growing to 10 s, retries 1 to 2 s apart) would hold subscriptions and publishes back that long
   * after Redis returns.
   */
  static final Duration RECONNECT_DELAY = Duration.ofMillis(200);
  /**
   * How often a node asks a sentinel for the master, or reads a Redis Cluster's topology, unless
   * the YAML file sets {@code scanInterval}: a failover or a slot move is followed only then.
   */
  static final Duration TOPOLOGY_SCAN = Duration.ofMillis(250);

  private RedisConfigs() {
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
   * retries, on Sentinel and Cluster a {@link #TOPOLOGY_SCAN} {@code scanInterval} (a file that
   * sets one keeps it, with a warning), and, when {@link
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
    BaseConfig<?> servers = serversOf(c, yaml);
    checkSubscriptionMode(servers, yaml);
    oursUnlessSet(set, yaml, "reconnectionDelay", RECONNECT_DELAY,
        () -> servers.setReconnectionDelay(new ConstantDelay(RECONNECT_DELAY)));
    oursUnlessSet(set, yaml, "retryDelay", RECONNECT_DELAY,
        () -> servers.setRetryDelay(new ConstantDelay(RECONNECT_DELAY)));
    // Redisson learns of a new master only when it next asks a sentinel (default: every second)
    // or reads the cluster's topology (every 5 s); until every node has followed, what the
    // others publish reaches fewer nodes than are live, or fails, and is held
    int scan = (int) TOPOLOGY_SCAN.toMillis();
    Runnable setScan = servers instanceof SentinelServersConfig sentinel
        ? () -> sentinel.setScanInterval(scan)
        : servers instanceof ClusterServersConfig cluster
            ? () -> cluster.setScanInterval(scan) : null;
    if (setScan != null) {
      oursUnlessSet(set, yaml, "scanInterval", TOPOLOGY_SCAN, setScan);
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

  private static BaseConfig<?> serversOf(Config c, Path yaml) {
    try {
      return ConfigSupport.getConfig(c);
    } catch (IllegalArgumentException e) {
      throw new ConfigException(yaml + " (" + WsClusterConfig.REDIS_CONFIG + ") is not a "
          + "usable Redisson config: " + e.getMessage());
    }
  }

  /** Applies wscluster's value of {@code setting} unless the file sets it: then warns it is kept. */
  private static void oursUnlessSet(Set<String> set, Path yaml, String setting, Duration ours,
      Runnable apply) {
    if (set.contains(setting)) {
      warnKept(yaml, setting, ours);
    } else {
      apply.run();
    }
  }

  private static void warnKept(Path yaml, String setting, Duration ours) {
    LOG.warn("{} ({}) sets {}: keeping it instead of wscluster's constant {} ms; resume after a "
        + "Redis outage may then take longer", yaml, WsClusterConfig.REDIS_CONFIG, setting,
        ours.toMillis());
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
}
