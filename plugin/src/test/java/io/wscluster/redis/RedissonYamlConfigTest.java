package io.wscluster.redis;

import io.wscluster.CapturedStderr;
import io.wscluster.ConfigException;
import io.wscluster.WsClusterConfig;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.redisson.config.BaseConfig;
import org.redisson.config.BaseMasterSlaveServersConfig;
import org.redisson.config.Config;
import org.redisson.config.ConfigSupport;
import org.redisson.config.ConstantDelay;
import org.redisson.config.SentinelServersConfig;
import org.redisson.config.SingleServerConfig;

/**
 * What wscluster makes of a Redisson YAML file ({@code wscluster.redis.config}): the constant
 * reconnection and retry delays unless the file sets them, and {@code wscluster.redis.connections}
 * in the (master) pool unless the file sizes that pool itself. No Redis needed.
 */
class RedissonYamlConfigTest {
  private static final String SINGLE = "singleServerConfig:\n  address: \"redis://127.0.0.1:6390\"\n";
  private static final String CLUSTER = "clusterServersConfig:\n  nodeAddresses:\n"
      + "    - \"redis://127.0.0.1:7000\"\n    - \"redis://127.0.0.1:7001\"\n";
  private static final String SENTINEL = "sentinelServersConfig:\n  masterName: \"mymaster\"\n"
      + "  sentinelAddresses:\n    - \"redis://127.0.0.1:26379\"\n";
  private static final String REPLICATED = "replicatedServersConfig:\n  nodeAddresses:\n"
      + "    - \"redis://127.0.0.1:6390\"\n    - \"redis://127.0.0.1:6391\"\n";

  @TempDir
  Path dir;

  private Path yaml(String text) throws Exception {
    Path file = Files.createTempFile(dir, "redisson", ".yaml");
    Files.writeString(file, text);
    return file;
  }

  private BaseConfig<?> servers(String yaml, String... keyValues) throws Exception {
    WsClusterConfig.Builder b = WsClusterConfig.builder()
        .set(WsClusterConfig.REDIS_CONFIG, yaml(yaml).toString());
    for (int i = 0; i < keyValues.length; i += 2) {
      b.set(keyValues[i], keyValues[i + 1]);
    }
    Config c = TestRedis.redissonConfig(b.build());
    return ConfigSupport.getConfig(c);
  }

  private static void assertConstant200ms(BaseConfig<?> servers) {
    for (var delay : java.util.List.of(servers.getReconnectionDelay(), servers.getRetryDelay())) {
      assertInstanceOf(ConstantDelay.class, delay);
      assertEquals(Duration.ofMillis(200), delay.calcDelay(1));
      assertEquals(Duration.ofMillis(200), delay.calcDelay(20));
    }
  }

  // ================================================================ classes named in the file

  private static WsClusterConfig naming(Path yaml) {
    return WsClusterConfig.builder().set(WsClusterConfig.REDIS_CONFIG, yaml.toString()).build();
  }

  @Test
  void redissonConfig_yamlNamingTheKryoCodec_failsNamingTheKeyAndTheMissingLibrary() throws Exception {
    Path file = yaml(SINGLE + "codec: !<org.redisson.codec.Kryo5Codec> {}\n");

    ConfigException e = assertThrows(ConfigException.class,
        () -> TestRedis.redissonConfig(naming(file)));

    assertEquals(file + " (wscluster.redis.config) names a class that needs a library the webapp "
        + "does not have (com/esotericsoftware/kryo/util/Pool); wscluster sets the codec itself, so "
        + "leave 'codec' out of the file", e.getMessage());
  }

  @Test
  void redissonConfig_yamlNamingACodecOfRedisson_loadsAndTheCodecIsReplaced() throws Exception {
    Path file = yaml(SINGLE + "codec: !<org.redisson.client.codec.StringCodec> {}\n");

    Config c = TestRedis.redissonConfig(naming(file));

    assertInstanceOf(org.redisson.client.codec.ByteArrayCodec.class, c.getCodec());
  }

  // ================================================================ delays

  @Test
  void redissonConfig_yamlSingleServer_getsTheConstantDelays() throws Exception {
    assertConstant200ms(servers(SINGLE));
  }

  @Test
  void redissonConfig_yamlCluster_getsTheConstantDelays() throws Exception {
    assertConstant200ms(servers(CLUSTER));
  }

  @Test
  void redissonConfig_yamlSentinel_getsTheConstantDelays() throws Exception {
    assertConstant200ms(servers(SENTINEL));
  }

  @Test
  void redissonConfig_yamlReplicated_getsTheConstantDelays() throws Exception {
    assertConstant200ms(servers(REPLICATED));
  }

  @Test
  void redissonConfig_configExamples_getTheConstantDelays() throws Exception {
    Path examples = Path.of(System.getProperty("user.dir")).getParent().resolve("config");
    for (String name : new String[] {"redisson-single.yaml", "redisson-cluster.yaml",
        "redisson-sentinel.yaml"}) {
      Config c = TestRedis.redissonConfig(WsClusterConfig.builder()
          .set(WsClusterConfig.REDIS_CONFIG, examples.resolve(name).toString()).build());
      assertConstant200ms(ConfigSupport.getConfig(c));
    }
  }

  @Test
  void redissonConfig_yamlSetsReconnectionDelay_keptWithAWarning() throws Exception {
    BaseConfig<?> servers;
    try (CapturedStderr err = new CapturedStderr()) {
      servers = servers(SINGLE
          + "  reconnectionDelay: !<org.redisson.config.ConstantDelay> {delay: PT2S}\n");
      String log = err.text();
      assertTrue(log.contains("WARN") && log.contains("sets reconnectionDelay: keeping it instead "
          + "of wscluster's constant 200 ms; resume after a Redis outage may then take longer"), log);
      assertFalse(log.contains("retryDelay"), log);
    }
    assertEquals(Duration.ofSeconds(2), servers.getReconnectionDelay().calcDelay(1));
    assertEquals(Duration.ofMillis(200), servers.getRetryDelay().calcDelay(1));
  }

  @Test
  void redissonConfig_yamlSetsRetryDelay_keptWithAWarning() throws Exception {
    BaseConfig<?> servers;
    try (CapturedStderr err = new CapturedStderr()) {
      servers = servers(CLUSTER + "  retryDelay: !<org.redisson.config.EqualJitterDelay> "
          + "{baseDelay: PT1S, maxDelay: PT2S}\n");
      String log = err.text();
      assertTrue(log.contains("WARN") && log.contains("sets retryDelay: keeping it"), log);
      assertFalse(log.contains("reconnectionDelay"), log);
    }
    assertFalse(servers.getRetryDelay() instanceof ConstantDelay);
    assertEquals(Duration.ofMillis(200), servers.getReconnectionDelay().calcDelay(1));
  }

  @Test
  void redissonConfig_yamlSentinel_asksTheSentinelsEveryQuarterSecond() throws Exception {
    assertEquals(250, ((SentinelServersConfig) servers(SENTINEL)).getScanInterval());
  }

  /** The servers of {@code yaml}, which sets scanInterval: the start warns that it is kept. */
  private BaseConfig<?> scanIntervalKeptWithAWarning(String yaml) throws Exception {
    try (CapturedStderr err = new CapturedStderr()) {
      BaseConfig<?> servers = servers(yaml);
      String log = err.text();
      assertTrue(log.contains("WARN") && log.contains("sets scanInterval: keeping it instead of "
          + "wscluster's constant 250 ms"), log);
      return servers;
    }
  }

  @Test
  void redissonConfig_yamlSentinelSetsScanInterval_keptWithAWarning() throws Exception {
    assertEquals(2000, ((SentinelServersConfig) scanIntervalKeptWithAWarning(
        SENTINEL + "  scanInterval: 2000\n")).getScanInterval());
  }

  @Test
  void redissonConfig_yamlCluster_readsTheTopologyEveryQuarterSecond() throws Exception {
    assertEquals(250, ((org.redisson.config.ClusterServersConfig) servers(CLUSTER))
        .getScanInterval());
  }

  @Test
  void redissonConfig_yamlClusterSetsScanInterval_keptWithAWarning() throws Exception {
    assertEquals(1000, ((org.redisson.config.ClusterServersConfig) scanIntervalKeptWithAWarning(
        CLUSTER + "  scanInterval: 1000\n")).getScanInterval());
  }

  // ================================================================ wscluster.redis.connections

  @Test
  void redissonConfig_connectionsSet_sizesTheSingleServerPool() throws Exception {
    SingleServerConfig s = (SingleServerConfig) servers(SINGLE,
        WsClusterConfig.REDIS_CONNECTIONS, "3");
    assertEquals(3, s.getConnectionPoolSize());
    assertEquals(3, s.getConnectionMinimumIdleSize()); // Redisson's 24 would exceed the pool
  }

  @Test
  void redissonConfig_connectionsSet_sizesTheMasterPool() throws Exception {
    for (String yaml : new String[] {CLUSTER, SENTINEL, REPLICATED}) {
      BaseMasterSlaveServersConfig<?> m = (BaseMasterSlaveServersConfig<?>) servers(yaml,
          WsClusterConfig.REDIS_CONNECTIONS, "5");
      assertEquals(5, m.getMasterConnectionPoolSize(), yaml);
      assertEquals(5, m.getMasterConnectionMinimumIdleSize(), yaml);
    }
  }

  @Test
  void redissonConfig_connectionsNotSet_theYamlPoolIsKept() throws Exception {
    SingleServerConfig s = (SingleServerConfig) servers(SINGLE
        + "  connectionPoolSize: 7\n  connectionMinimumIdleSize: 2\n");
    assertEquals(7, s.getConnectionPoolSize());
    assertEquals(2, s.getConnectionMinimumIdleSize());
  }

  @Test
  void redissonConfig_connectionsAndYamlPoolSize_refusedNamingBoth() throws Exception {
    Path file = yaml(SINGLE + "  connectionPoolSize: 8\n  connectionMinimumIdleSize: 1\n");
    WsClusterConfig c = WsClusterConfig.builder()
        .set(WsClusterConfig.REDIS_CONFIG, file.toString())
        .set(WsClusterConfig.REDIS_CONNECTIONS, "4")
        .build();
    ConfigException e = assertThrows(ConfigException.class,
        () -> TestRedis.redissonConfig(c));
    assertEquals("wscluster.redis.connections value was set to '4', and " + file
        + " (wscluster.redis.config) sets connectionPoolSize too: set the pool size in one of "
        + "them only", e.getMessage());
  }

  @Test
  void redissonConfig_connectionsAndYamlMasterPoolSize_refusedNamingBoth() throws Exception {
    Path file = yaml(CLUSTER + "  masterConnectionPoolSize: 8\n"
        + "  masterConnectionMinimumIdleSize: 1\n");
    WsClusterConfig c = WsClusterConfig.builder()
        .set(WsClusterConfig.REDIS_CONFIG, file.toString())
        .set(WsClusterConfig.REDIS_CONNECTIONS, "2")
        .build();
    ConfigException e = assertThrows(ConfigException.class,
        () -> TestRedis.redissonConfig(c));
    assertEquals("wscluster.redis.connections value was set to '2', and " + file
        + " (wscluster.redis.config) sets masterConnectionPoolSize too: set the pool size in one "
        + "of them only", e.getMessage());
  }

  @Test
  void redissonConfig_connectionsBelowTheYamlMinimumIdle_refused() throws Exception {
    Path file = yaml(SINGLE + "  connectionMinimumIdleSize: 6\n");
    WsClusterConfig c = WsClusterConfig.builder()
        .set(WsClusterConfig.REDIS_CONFIG, file.toString())
        .set(WsClusterConfig.REDIS_CONNECTIONS, "4")
        .build();
    ConfigException e = assertThrows(ConfigException.class,
        () -> TestRedis.redissonConfig(c));
    assertEquals("wscluster.redis.connections value was set to '4', below "
        + "connectionMinimumIdleSize 6 in " + file + " (wscluster.redis.config): must be at "
        + "least 6", e.getMessage());
  }

  // ================================================================ subscriptions

  @Test
  void redissonConfig_subscriptionsOnReplicas_refusedNamingTheSetting() throws Exception {
    for (String topology : java.util.List.of(CLUSTER, SENTINEL)) {
      Path file = yaml(topology + "  subscriptionMode: \"SLAVE\"\n");
      WsClusterConfig c = WsClusterConfig.builder()
          .set(WsClusterConfig.REDIS_CONFIG, file.toString())
          .build();
      ConfigException e = assertThrows(ConfigException.class,
          () -> TestRedis.redissonConfig(c));
      assertEquals("subscriptionMode value was set to 'SLAVE' in " + file
          + " (wscluster.redis.config), must be MASTER: a PUBLISH counts only the subscribers "
          + "of the master it runs on, and wscluster counts a message as sent when that number "
          + "reaches every node", e.getMessage());
    }
  }

  @Test
  void redissonConfig_subscriptionModeMasterOrUnset_accepted() throws Exception {
    servers(CLUSTER + "  subscriptionMode: \"MASTER\"\n");
    servers(SENTINEL);
  }
}
