package io.wscluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.wscluster.WsClusterConfig.Overflow;
import io.wscluster.WsClusterConfig.TransportType;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The one config object: defaults, one bad value per key with the exact message
 * {@code <key> value was set to '<value>' (<source>), must be <expectation>}, masking, unknown keys.
 */
class WsClusterConfigTest {

  @TempDir
  Path dir;

  // ================================================================ defaults

  @Test
  void build_nothingSet_givesTheDocumentedDefaults() {
    WsClusterConfig c = WsClusterConfig.builder().build();

    assertTrue(c.enabled());
    assertEquals(TransportType.REDIS, c.transport());
    assertEquals(URI.create("redis://127.0.0.1:6379"), c.redisAddress());
    assertEquals("", c.redisUsername());
    assertEquals("", c.redisPassword());
    assertNull(c.redisConfig());
    assertEquals(4, c.redisConnections());
    assertEquals("wscluster", c.channelPrefix());
    assertTrue(c.nodeName().matches("[A-Za-z0-9._-]{1,64}"), c.nodeName());
    assertEquals(1_000_000, c.outboxMaxFrames());
    assertEquals(4 << 20, c.outboxMaxBytes());
    assertEquals(Duration.ofSeconds(10), c.outboxStallTimeout());
    assertEquals(Duration.ZERO, c.writeDelay());
    assertEquals(Overflow.CLOSE, c.outboxOverflow());
    assertEquals(1_048_576, c.messageMaxBytes());
    assertEquals("", c.secret());
    assertEquals("", c.secretPrevious());
    assertEquals(8192, c.dedupWindow());
    assertEquals(Duration.ofMinutes(10), c.dedupOriginTtl());
    assertEquals(Duration.ofSeconds(5), c.shutdownTimeout());
    assertEquals(Duration.ofSeconds(1), c.nodeHeartbeat());
    assertEquals(Duration.ofSeconds(5), c.nodeTtl());
    assertEquals(Duration.ofSeconds(5), c.receiptTimeout());
  }

  @Test
  void keys_everyKey_hasADefaultAndADescription() {
    assertEquals(31, WsClusterConfig.KEYS.size());
    WsClusterConfig.KEYS.forEach((name, key) -> {
      assertTrue(name.startsWith("wscluster."), name);
      assertEquals(name, key.name());
      assertNotNull(key.defaultValue(), name);
      assertFalse(key.description().isBlank(), name + " has a description");
    });
  }

  @Test
  void keys_table_cannotBeChanged() {
    assertThrows(UnsupportedOperationException.class,
        () -> WsClusterConfig.KEYS.remove(WsClusterConfig.ENABLED));
  }

  @Test
  void keys_secret_isMarkedOnThePasswordAndTheSecretsOnly() {
    assertEquals(Set.of(WsClusterConfig.REDIS_PASSWORD, WsClusterConfig.SECRET,
        WsClusterConfig.SECRET_PREVIOUS), WsClusterConfig.KEYS.values().stream()
            .filter(WsClusterConfig.Key::secret).map(WsClusterConfig.Key::name)
            .collect(Collectors.toSet()));
  }

  /** A getter whose type differs from its key's row fails here rather than in a user's call. */
  @Test
  void getters_everyGetter_returnsTheTypeOfItsKey() throws Exception {
    WsClusterConfig c = WsClusterConfig.builder().build();
    for (Method m : WsClusterConfig.class.getDeclaredMethods()) {
      if (m.getParameterCount() == 0 && !Modifier.isStatic(m.getModifiers())
          && !Modifier.isPrivate(m.getModifiers()) && m.getReturnType() != void.class) {
        m.invoke(c);
      }
    }
  }

  // ================================================================ accepted values

  @Test
  void build_everyKeySetToAGoodValue_isAccepted() throws Exception {
    Path yaml = Files.writeString(dir.resolve("redisson.yaml"), "singleServerConfig: {}\n");
    WsClusterConfig c = WsClusterConfig.builder()
        .set(WsClusterConfig.ENABLED, " FALSE ")
        .set(WsClusterConfig.TRANSPORT, "Memory")
        .set(WsClusterConfig.REDIS_USERNAME, "app")
        .set(WsClusterConfig.REDIS_PASSWORD, "hunter2")
        .set(WsClusterConfig.REDIS_CONFIG, yaml.toString())
        .set(WsClusterConfig.REDIS_CONNECTIONS, "64")
        .set(WsClusterConfig.CHANNEL_PREFIX, "app:v2.chat_1-x")
        .set(WsClusterConfig.NODE_NAME, "node-1.eu_west")
        .set(WsClusterConfig.OUTBOX_MAX_FRAMES, "1000000")
        .set(WsClusterConfig.OUTBOX_OVERFLOW, "drop-oldest")
        .set(WsClusterConfig.OUTBOX_MAX_BYTES, "65536")
        .set(WsClusterConfig.OUTBOX_STALL_TIMEOUT, "100ms")
        .set(WsClusterConfig.WRITE_DELAY, "1s")
        .set(WsClusterConfig.MESSAGE_MAX_BYTES, String.valueOf(64 * 1024 * 1024))
        .set(WsClusterConfig.DEDUP_WINDOW, "64")
        .set(WsClusterConfig.DEDUP_ORIGIN_TTL, "1s")
        .set(WsClusterConfig.SHUTDOWN_TIMEOUT, "0s")
        .build();

    assertFalse(c.enabled());
    assertEquals(TransportType.MEMORY, c.transport());
    assertEquals("app", c.redisUsername());
    assertEquals("hunter2", c.redisPassword());
    assertEquals(yaml, c.redisConfig());
    assertEquals(64, c.redisConnections());
    assertEquals("app:v2.chat_1-x", c.channelPrefix());
    assertEquals("node-1.eu_west", c.nodeName());
    assertEquals(1_000_000, c.outboxMaxFrames());
    assertEquals(Overflow.DROP_OLDEST, c.outboxOverflow());
    assertEquals(64 * 1024 * 1024, c.messageMaxBytes());
    assertEquals(64, c.dedupWindow());
    assertEquals(Duration.ofSeconds(1), c.dedupOriginTtl());
    assertEquals(Duration.ZERO, c.shutdownTimeout());
  }

  @ParameterizedTest(name = "{0}")
  @CsvSource({"1500ms, PT1.5S", "30s, PT30S", "2m, PT2M", "1h, PT1H", "5M, PT5M", "' 7s ', PT7S"})
  void dedupOriginTtl_everyUnit_isAccepted(String value, Duration expected) {
    assertEquals(expected, WsClusterConfig.builder()
        .set(WsClusterConfig.DEDUP_ORIGIN_TTL, value).build().dedupOriginTtl());
  }

  @Test
  void dedupOriginTtl_upperBoundWrittenInHours_isAccepted() {
    assertEquals(Duration.ofDays(7), WsClusterConfig.builder()
        .set(WsClusterConfig.DEDUP_ORIGIN_TTL, "168h").build().dedupOriginTtl());
  }

  /** The expectation text says "from 1s to 7d": the upper bound it names must be writable. */
  @Test
  void dedupOriginTtl_sevenDaysWrittenAsTheMessageAdvertises_isAccepted() {
    assertEquals(Duration.ofDays(7), WsClusterConfig.builder()
        .set(WsClusterConfig.DEDUP_ORIGIN_TTL, "7d").build().dedupOriginTtl());
  }

  @Test
  void nodeHeartbeatAndTtl_lowerBounds_areAccepted() {
    WsClusterConfig c = WsClusterConfig.builder()
        .set(WsClusterConfig.NODE_HEARTBEAT, "50ms")
        .set(WsClusterConfig.NODE_TTL, "100ms")
        .build();

    assertEquals(Duration.ofMillis(50), c.nodeHeartbeat());
    assertEquals(Duration.ofMillis(100), c.nodeTtl());
  }

  @Test
  void nodeHeartbeatAndTtl_upperBounds_areAccepted() {
    WsClusterConfig c = WsClusterConfig.builder()
        .set(WsClusterConfig.NODE_HEARTBEAT, "1m")
        .set(WsClusterConfig.NODE_TTL, "10m")
        .build();

    assertEquals(Duration.ofMinutes(1), c.nodeHeartbeat());
    assertEquals(Duration.ofMinutes(10), c.nodeTtl());
  }

  @ParameterizedTest(name = "{0}")
  @CsvSource({"100ms, PT0.1S", "5m, PT5M", "300s, PT5M"})
  void receiptTimeout_withinBounds_isAccepted(String value, Duration expected) {
    assertEquals(expected, WsClusterConfig.builder()
        .set(WsClusterConfig.RECEIPT_TIMEOUT, value).build().receiptTimeout());
  }

  @Test
  void builder_typedSetters_setTheSameKeysAsSet() {
    WsClusterConfig c = WsClusterConfig.builder()
        .enabled(false)
        .transport(TransportType.MEMORY)
        .redisAddress("rediss://cache.example:6380")
        .channelPrefix("chat")
        .nodeName("n1")
        .build();

    assertFalse(c.enabled());
    assertEquals(TransportType.MEMORY, c.transport());
    assertEquals(URI.create("rediss://cache.example:6380"), c.redisAddress());
    assertEquals("chat", c.channelPrefix());
    assertEquals("n1", c.nodeName());
  }

  @Test
  void build_laterBuilderChanges_doNotAffectABuiltConfig() {
    WsClusterConfig.Builder b = WsClusterConfig.builder().nodeName("first");
    WsClusterConfig c = b.build();

    b.nodeName("second");

    assertEquals("first", c.nodeName());
    assertEquals("second", b.build().nodeName());
  }

  // ================================================================ one bad value per key

  @Test
  void enabled_notABoolean_isRefused() {
    assertRefused(WsClusterConfig.ENABLED, "yes", "true or false");
  }

  @Test
  void transport_notAName_isRefused() {
    assertRefused(WsClusterConfig.TRANSPORT, "redis/memory",
        "a backend's name: 1 to 64 characters from a-z 0-9 . _ -");
  }

  @Test
  void transport_anyName_isTakenInLowerCase_theBackendIsLookedUpAtStart() {
    WsClusterConfig c = WsClusterConfig.builder().transport("Kafka").build();

    assertEquals("kafka", c.transportName());
    assertThrows(IllegalArgumentException.class, c::transport, "not a built-in backend");
  }

  @Test
  void redisAddress_wrongScheme_isRefused() {
    assertRefused(WsClusterConfig.REDIS_ADDRESS, "http://127.0.0.1:6379",
        "a URL redis://host:port or rediss://host:port (scheme 'http' is not redis or rediss)");
  }

  @Test
  void redisAddress_noHost_isRefused() {
    assertRefused(WsClusterConfig.REDIS_ADDRESS, "redis://:6379",
        "a URL redis://host:port or rediss://host:port (no host)");
  }

  @ParameterizedTest(name = "{0}")
  @ValueSource(strings = {"redis://127.0.0.1:0", "redis://127.0.0.1:65536"})
  void redisAddress_portOutOfRange_isRefused(String address) {
    assertRefused(WsClusterConfig.REDIS_ADDRESS, address,
        "a URL redis://host:port or rediss://host:port (port out of range)");
  }

  @Test
  void redisAddress_notAUri_isRefused() {
    assertRefused(WsClusterConfig.REDIS_ADDRESS, "redis://bad host:6379",
        "a URL redis://host:port or rediss://host:port");
  }

  @Test
  void redisUsername_controlCharacter_isRefused() {
    assertRefused(WsClusterConfig.REDIS_USERNAME, "ad\u0007min", "ad\\u0007min",
        "at most 1024 characters without control characters");
  }

  @Test
  void redisUsername_longerThan1024_isRefused() {
    assertRefused(WsClusterConfig.REDIS_USERNAME, "u".repeat(1025),
        "at most 1024 characters without control characters");
  }

  @Test
  void redisPassword_controlCharacter_isRefusedWithThePasswordMasked() {
    ConfigException e = assertThrows(ConfigException.class, () -> WsClusterConfig.builder()
        .set(WsClusterConfig.REDIS_PASSWORD, "hun\u0000ter2").build());

    assertEquals("wscluster.redis.password value was set to '****' (builder), must be at most "
        + "1024 characters without control characters", e.getMessage());
  }

  @Test
  void redisConfig_noSuchFile_isRefused() {
    String missing = dir.resolve("missing.yaml").toString();
    assertRefused(WsClusterConfig.REDIS_CONFIG, missing, "the path of a readable file");
  }

  @Test
  void redisConfig_aDirectory_isRefused() {
    assertRefused(WsClusterConfig.REDIS_CONFIG, dir.toString(), "the path of a readable file");
  }

  @ParameterizedTest(name = "{0}")
  @ValueSource(strings = {"0", "65", "-1", "four", "4.0", "99999999999"})
  void redisConnections_outOfRangeOrNotAnInteger_isRefused(String value) {
    assertRefused(WsClusterConfig.REDIS_CONNECTIONS, value, "an integer from 1 to 64");
  }

  @ParameterizedTest(name = "''{0}''")
  @ValueSource(strings = {"my app", "", "chat/room", "a{b}"})
  void channelPrefix_badCharactersOrEmpty_isRefused(String value) {
    assertRefused(WsClusterConfig.CHANNEL_PREFIX, value,
        "1 to 64 characters from A-Z a-z 0-9 . _ : -");
  }

  @Test
  void channelPrefix_longerThan64_isRefused() {
    assertRefused(WsClusterConfig.CHANNEL_PREFIX, "p".repeat(65),
        "1 to 64 characters from A-Z a-z 0-9 . _ : -");
  }

  @ParameterizedTest(name = "''{0}''")
  @ValueSource(strings = {"node/1", "node:1", "", "nöde"})
  void nodeName_badCharactersOrEmpty_isRefused(String value) {
    assertRefused(WsClusterConfig.NODE_NAME, value, "1 to 64 characters from A-Z a-z 0-9 . _ -");
  }

  @ParameterizedTest(name = "{0}")
  @ValueSource(strings = {"-5", "0", "1000001", "lots"})
  void outboxMaxFrames_notAPositiveIntegerInRange_isRefused(String value) {
    assertRefused(WsClusterConfig.OUTBOX_MAX_FRAMES, value, "a positive integer up to 1000000");
  }

  @Test
  void outboxOverflow_unknownPolicy_isRefused() {
    assertRefused(WsClusterConfig.OUTBOX_OVERFLOW, "block",
        "one of close drop-newest drop-oldest");
  }

  @Test
  void outboxOverflow_enumNameWithUnderscore_isRefused() {
    // the documented spelling is drop-newest; DROP_NEWEST is the Java name only
    assertRefused(WsClusterConfig.OUTBOX_OVERFLOW, "drop_newest",
        "one of close drop-newest drop-oldest");
  }

  @ParameterizedTest(name = "{0}")
  @ValueSource(strings = {"0", "-1", "67108865", "1MB"})
  void messageMaxBytes_notAPositiveIntegerUpTo64MiB_isRefused(String value) {
    assertRefused(WsClusterConfig.MESSAGE_MAX_BYTES, value, "a positive integer up to 67108864");
  }

  @ParameterizedTest(name = "{0}")
  @ValueSource(strings = {"100", "0", "32", "1048640", "8k"})
  void dedupWindow_notAMultipleOf64InRange_isRefused(String value) {
    assertRefused(WsClusterConfig.DEDUP_WINDOW, value, "a multiple of 64 from 64 to 1048576");
  }

  @ParameterizedTest(name = "{0}")
  @ValueSource(strings = {"500ms", "0s", "169h", "10", "ten minutes", "-5m"})
  void dedupOriginTtl_outOfRangeOrNotADuration_isRefused(String value) {
    assertRefused(WsClusterConfig.DEDUP_ORIGIN_TTL, value,
        "a duration from 1s to 7d such as 10m");
  }

  @ParameterizedTest(name = "{0}")
  @ValueSource(strings = {"6m", "301s", "5", "1h"})
  void shutdownTimeout_outOfRangeOrNotADuration_isRefused(String value) {
    assertRefused(WsClusterConfig.SHUTDOWN_TIMEOUT, value, "a duration from 0s to 5m such as 5s");
  }

  @ParameterizedTest(name = "{0}")
  @ValueSource(strings = {"49ms", "0s", "61s", "2m", "1", "1.5s", "-1s"})
  void nodeHeartbeat_outOfRangeOrNotADuration_isRefused(String value) {
    assertRefused(WsClusterConfig.NODE_HEARTBEAT, value, "a duration from 50ms to 1m such as 1s");
  }

  @ParameterizedTest(name = "{0}")
  @ValueSource(strings = {"99ms", "0s", "11m", "601s", "1h", "5", "five seconds"})
  void nodeTtl_outOfRangeOrNotADuration_isRefused(String value) {
    assertRefused(WsClusterConfig.NODE_TTL, value, "a duration from 100ms to 10m such as 5s");
  }

  @ParameterizedTest(name = "{0}")
  @ValueSource(strings = {"99ms", "0s", "6m", "301s", "1h", "5", "0.5s"})
  void receiptTimeout_outOfRangeOrNotADuration_isRefused(String value) {
    assertRefused(WsClusterConfig.RECEIPT_TIMEOUT, value,
        "a duration from 100ms to 5m such as 5s");
  }

  @Test
  void configFile_controlCharacter_isRefused() {
    assertRefused(WsClusterConfig.CONFIG_FILE, "conf\u0001.properties", "conf\\u0001.properties",
        "at most 1024 characters without control characters");
  }

  @Test
  void error_valueAsGiven_isShownUntrimmed() {
    assertRefused(WsClusterConfig.REDIS_CONNECTIONS, " 0 ", "an integer from 1 to 64");
  }

  // ================================================================ cross-key rules

  @Test
  void build_redisAddressAndRedisConfigBothSet_isRefused() throws Exception {
    Path yaml = Files.writeString(dir.resolve("redisson.yaml"), "singleServerConfig: {}\n");

    ConfigException e = assertThrows(ConfigException.class, () -> WsClusterConfig.builder()
        .redisAddress("redis://127.0.0.1:6379")
        .set(WsClusterConfig.REDIS_CONFIG, yaml.toString())
        .build());

    assertEquals("wscluster.redis.address and wscluster.redis.config are both set (builder, "
        + "builder): set the address inside the Redisson YAML file, or remove "
        + "wscluster.redis.config", e.getMessage());
  }

  @Test
  void build_redisConfigAlone_replacesTheAddress() throws Exception {
    Path yaml = Files.writeString(dir.resolve("redisson.yaml"), "singleServerConfig: {}\n");

    WsClusterConfig c = WsClusterConfig.builder()
        .set(WsClusterConfig.REDIS_CONFIG, yaml.toString()).build();

    assertEquals(yaml, c.redisConfig());
    assertTrue(c.toString().contains("wscluster.redis.address=(from wscluster.redis.config)"),
        c.toString());
  }

  @Test
  void nodeTtl_lessThanTwiceTheHeartbeat_isRefused() {
    ConfigException e = assertThrows(ConfigException.class, () -> WsClusterConfig.builder()
        .set(WsClusterConfig.NODE_HEARTBEAT, "2s")
        .set(WsClusterConfig.NODE_TTL, "3999ms")
        .build());

    assertEquals("wscluster.node.ttl value was set to '3999ms' (builder), must be at least twice "
        + "wscluster.node.heartbeat (2000ms), or a node would expire between two renewals",
        e.getMessage());
  }

  @Test
  void nodeTtl_exactlyTwiceTheHeartbeat_isAccepted() {
    WsClusterConfig c = WsClusterConfig.builder()
        .set(WsClusterConfig.NODE_HEARTBEAT, "2s")
        .set(WsClusterConfig.NODE_TTL, "4000ms")
        .build();

    assertEquals(Duration.ofSeconds(2), c.nodeHeartbeat());
    assertEquals(Duration.ofSeconds(4), c.nodeTtl());
  }

  /**
   * Raising the heartbeat alone past half the default ttl is refused on the ttl, which was not
   * set: the message says the ttl has its default and names the heartbeat it conflicts with.
   */
  @Test
  void nodeHeartbeat_aboveHalfTheDefaultTtl_isRefusedOnTheTtl() {
    ConfigException e = assertThrows(ConfigException.class, () -> WsClusterConfig.builder()
        .set(WsClusterConfig.NODE_HEARTBEAT, "3s").build());

    assertEquals("wscluster.node.ttl has its default value '5s', must be at least twice "
        + "wscluster.node.heartbeat (3000ms), or a node would expire between two renewals",
        e.getMessage());
  }

  @Test
  void redisConfig_pathWithANulCharacter_isRefusedLikeAMissingFile() {
    ConfigException e = assertThrows(ConfigException.class, () -> WsClusterConfig.builder()
        .set(WsClusterConfig.REDIS_CONFIG, "/etc/redisson\u0000.yaml").build());

    assertEquals("wscluster.redis.config value was set to '/etc/redisson\\u0000.yaml' (builder), "
        + "must be the path of a readable file", e.getMessage());
  }

  // ================================================================ one bad value for every key

  /**
   * One value per key of {@link WsClusterConfig#KEYS} that the builder refuses, as the message
   * shows it and with the expectation it names. A key added to KEYS fails
   * {@link #badValueCases_coverEveryKey} until it gets a row here.
   */
  private static final Map<String, BadValue> BAD_VALUES = new LinkedHashMap<>();
  private static final String SECRET_RULE = "32 to 1024 characters without control characters, "
      + "the same on every node (make one with: openssl rand -base64 32), or empty for none";

  static {
    bad(WsClusterConfig.ENABLED, "yes", "true or false");
    bad(WsClusterConfig.TRANSPORT, "redis/memory",
        "a backend's name: 1 to 64 characters from a-z 0-9 . _ -");
    bad(WsClusterConfig.REDIS_ADDRESS, "http://127.0.0.1:6379",
        "a URL redis://host:port or rediss://host:port (scheme 'http' is not redis or rediss)");
    // user name and password are free-form: only length and control characters are refused
    BAD_VALUES.put(WsClusterConfig.REDIS_USERNAME, new BadValue("ad\u0007min", "ad\\u0007min",
        "at most 1024 characters without control characters"));
    BAD_VALUES.put(WsClusterConfig.REDIS_PASSWORD, new BadValue("hun\u0000ter2", "****",
        "at most 1024 characters without control characters"));
    bad(WsClusterConfig.REDIS_CONFIG, "no-such-dir/redisson.yaml", "the path of a readable file");
    bad(WsClusterConfig.REDIS_CONNECTIONS, "65", "an integer from 1 to 64");
    bad(WsClusterConfig.REDIS_PUBSUB, "shards", "one of auto classic sharded");
    bad(WsClusterConfig.CHANNEL_PREFIX, "chat/room", "1 to 64 characters from A-Z a-z 0-9 . _ : -");
    bad(WsClusterConfig.NODE_NAME, "node:1", "1 to 64 characters from A-Z a-z 0-9 . _ -");
    bad(WsClusterConfig.OUTBOX_MAX_FRAMES, "0", "a positive integer up to 1000000");
    bad(WsClusterConfig.OUTBOX_OVERFLOW, "block", "one of close drop-newest drop-oldest");
    bad(WsClusterConfig.OUTBOX_MAX_BYTES, "65535", "an integer from 65536 to 1073741824");
    bad(WsClusterConfig.OUTBOX_STALL_TIMEOUT, "99ms", "a duration from 100ms to 10m such as 10s");
    bad(WsClusterConfig.WRITE_DELAY, "2s", "a duration from 0ms to 1s such as 2ms");
    bad(WsClusterConfig.MESSAGE_MAX_BYTES, "67108865", "a positive integer up to 67108864");
    // secrets: too short, shown masked
    BAD_VALUES.put(WsClusterConfig.SECRET, new BadValue("s".repeat(31), "****", SECRET_RULE));
    BAD_VALUES.put(WsClusterConfig.SECRET_PREVIOUS, new BadValue("short", "****", SECRET_RULE));
    bad(WsClusterConfig.DEDUP_WINDOW, "100", "a multiple of 64 from 64 to 1048576");
    bad(WsClusterConfig.DEDUP_ORIGIN_TTL, "500ms", "a duration from 1s to 7d such as 10m");
    bad(WsClusterConfig.SHUTDOWN_TIMEOUT, "6m", "a duration from 0s to 5m such as 5s");
    bad(WsClusterConfig.NODE_HEARTBEAT, "10ms", "a duration from 50ms to 1m such as 1s");
    bad(WsClusterConfig.NODE_TTL, "11m", "a duration from 100ms to 10m such as 5s");
    bad(WsClusterConfig.RECEIPT_TIMEOUT, "50ms", "a duration from 100ms to 5m such as 5s");
    // the builder takes any file name (the loader opens it: ConfigLoaderTest refuses a missing
    // one); what the builder refuses is the free-form text rule
    bad(WsClusterConfig.OUTAGE_BUFFER, "0", "an integer from 1 to 10000000");
    bad(WsClusterConfig.HEALTH_PATH, "health",
        "empty, or a path such as /wscluster/health: / then up to 200 of A-Z a-z 0-9 . _ ~ - /");
    bad(WsClusterConfig.OUTAGE_BUFFER_BYTES, "1000", "an integer from 1048576 to 2147483647");
    bad(WsClusterConfig.HISTORY_ENABLED, "maybe", "true or false");
    bad(WsClusterConfig.HISTORY_MAX_LENGTH, "0", "an integer from 1 to 10000000");
    bad(WsClusterConfig.HISTORY_MAX_AGE, "500ms", "a duration from 1s to 7d such as 2m");
    BAD_VALUES.put(WsClusterConfig.CONFIG_FILE, new BadValue("conf\u0001.properties",
        "conf\\u0001.properties", "at most 1024 characters without control characters"));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("badValueCases")
  void badValueCases_eachKey_isRefused(String key, BadValue bad) {
    assertRefused(key, bad.value(), bad.shown(), bad.expectation());
  }

  @Test
  void badValueCases_coverEveryKey() {
    assertEquals(WsClusterConfig.KEYS.keySet(), BAD_VALUES.keySet(),
        "every key of WsClusterConfig.KEYS needs one row in BAD_VALUES");
  }

  static Stream<Arguments> badValueCases() {
    return BAD_VALUES.entrySet().stream().map(e -> Arguments.of(e.getKey(), e.getValue()));
  }

  /** A refused value, how the error message shows it (masked for secrets), and its expectation. */
  record BadValue(String value, String shown, String expectation) {}

  private static void bad(String key, String value, String expectation) {
    BAD_VALUES.put(key, new BadValue(value, value, expectation));
  }

  // ================================================================ secrets

  @Test
  void toString_password_isMasked() {
    WsClusterConfig c = WsClusterConfig.builder()
        .set(WsClusterConfig.REDIS_PASSWORD, "hunter2").build();

    assertTrue(c.toString().contains("wscluster.redis.password=****"), c.toString());
    assertFalse(c.toString().contains("hunter2"), c.toString());
  }

  @Test
  void secret_exactly32Characters_isAccepted() {
    String secret = "0123456789abcdef0123456789abcdef";

    WsClusterConfig c = WsClusterConfig.builder().set(WsClusterConfig.SECRET, secret)
        .set(WsClusterConfig.SECRET_PREVIOUS, "é".repeat(32)).build();

    assertEquals(secret, c.secret());
    assertEquals("é".repeat(32), c.secretPrevious());
  }

  /** Every node trims the same way: a space a properties file kept cannot split the cluster. */
  @Test
  void secret_surroundingSpaces_areTrimmed() {
    String secret = "0123456789abcdef0123456789abcdef";

    assertEquals(secret, WsClusterConfig.builder()
        .set(WsClusterConfig.SECRET, "  " + secret + " ").build().secret());
  }

  @ParameterizedTest(name = "{0}")
  @ValueSource(strings = {WsClusterConfig.SECRET, WsClusterConfig.SECRET_PREVIOUS})
  void secret_tooShortOrControlCharacterOrTooLong_isRefusedWithoutPrintingIt(String key) {
    String hidden = "Hidden-0123456789";
    for (String value : new String[] {hidden, hidden + "\u0000" + hidden + hidden,
        hidden.repeat(61)}) {
      ConfigException e = assertThrows(ConfigException.class, () -> WsClusterConfig.builder()
          .set(WsClusterConfig.SECRET, "0123456789abcdef0123456789abcdef")
          .set(key, value).build());

      assertEquals(key + " value was set to '****' (builder), must be " + SECRET_RULE,
          e.getMessage());
    }
  }

  @Test
  void secretPrevious_withoutSecret_isRefused() {
    ConfigException e = assertThrows(ConfigException.class, () -> WsClusterConfig.builder()
        .set(WsClusterConfig.SECRET_PREVIOUS, "0123456789abcdef0123456789abcdef").build());

    assertEquals("wscluster.secret.previous is set (builder) but wscluster.secret is not: a node "
        + "signs with wscluster.secret and only verifies with wscluster.secret.previous while the "
        + "secret changes; set both", e.getMessage());
  }

  @Test
  void toString_secrets_areMasked() {
    String secret = "0123456789abcdef0123456789abcdef";
    String previous = "fedcba9876543210fedcba9876543210";

    String shown = WsClusterConfig.builder().set(WsClusterConfig.SECRET, secret)
        .set(WsClusterConfig.SECRET_PREVIOUS, previous).build().toString();

    assertTrue(shown.contains("wscluster.secret=****, wscluster.secret.previous=****,"), shown);
    assertFalse(shown.contains(secret) || shown.contains(previous), shown);
  }

  @Test
  void toString_noSecret_showsEmpty() {
    assertTrue(WsClusterConfig.builder().build().toString()
        .contains("wscluster.secret=, wscluster.secret.previous=,"));
  }

  @Test
  void toString_noPassword_showsEmpty() {
    assertTrue(WsClusterConfig.builder().build().toString()
        .contains("wscluster.redis.password=,"));
  }

  @Test
  void toString_listsEveryKeyButTheConfigFile() {
    String shown = WsClusterConfig.builder().build().toString();
    for (String key : WsClusterConfig.KEYS.keySet()) {
      if (!key.equals(WsClusterConfig.CONFIG_FILE)) {
        assertTrue(shown.contains(key + "="), key + " in " + shown);
      }
    }
  }

  /**
   * Credentials belong in the username/password keys; an address carrying them is refused and the
   * error must not print the password, however the password is written.
   */
  @ParameterizedTest(name = "{0}")
  @CsvSource(delimiter = '|', value = {
      "redis://app:Secret@127.0.0.1:6379   | Secret",
      "rediss://app:Secret@cache.example:6380 | Secret",
      "redis://:Secret@127.0.0.1:6379      | Secret",
      "redis://app:Xy9@Secret@127.0.0.1:6379 | Secret",
      "redis://app:Xy9/Secret@127.0.0.1:6379 | Secret"})
  void redisAddress_withCredentials_isRefusedWithoutPrintingThePassword(String address,
      String secret) {
    ConfigException e = assertThrows(ConfigException.class,
        () -> WsClusterConfig.builder().redisAddress(address).build());

    assertTrue(e.getMessage().startsWith("wscluster.redis.address value was set to '"),
        e.getMessage());
    assertFalse(e.getMessage().contains(secret), "the password leaks: " + e.getMessage());
    assertTrue(e.getMessage().contains("(builder), must be a URL redis://host:port or "
        + "rediss://host:port"), e.getMessage());
  }

  @Test
  void redisAddress_withCredentials_namesTheKeysToUseInstead() {
    ConfigException e = assertThrows(ConfigException.class, () -> WsClusterConfig.builder()
        .redisAddress("redis://app:Secret@127.0.0.1:6379").build());

    assertEquals("wscluster.redis.address value was set to 'redis://****@127.0.0.1:6379' "
        + "(builder), must be a URL redis://host:port or rediss://host:port without credentials "
        + "(use wscluster.redis.username and wscluster.redis.password)", e.getMessage());
  }

  // ================================================================ unknown keys

  @Test
  void set_nearTypoOfAKey_isRefusedWithASuggestion() {
    ConfigException e = assertThrows(ConfigException.class,
        () -> WsClusterConfig.builder().set("wscluster.redis.adress", "redis://h:1"));

    assertEquals("Unknown configuration key 'wscluster.redis.adress' (builder). Did you mean "
        + "'wscluster.redis.address'?", e.getMessage());
  }

  @Test
  void set_keyInTheWrongCase_suggestsTheKey() {
    ConfigException e = assertThrows(ConfigException.class,
        () -> WsClusterConfig.builder().set("WSCLUSTER.OUTBOX.MAX-FRAMES", "5"));

    assertTrue(e.getMessage().endsWith("Did you mean 'wscluster.outbox.max-frames'?"),
        e.getMessage());
  }

  @Test
  void set_unrelatedKey_isRefusedWithTheListOfKeys() {
    ConfigException e = assertThrows(ConfigException.class,
        () -> WsClusterConfig.builder().set("wscluster.colour", "blue"));

    assertTrue(e.getMessage().startsWith("Unknown configuration key 'wscluster.colour' (builder)."
        + " Known keys: wscluster.enabled, wscluster.transport, "), e.getMessage());
    assertTrue(e.getMessage().endsWith(", wscluster.config.file."), e.getMessage());
  }

  @Test
  void set_nullValue_isRefusedNamingTheKey() {
    NullPointerException e = assertThrows(NullPointerException.class,
        () -> WsClusterConfig.builder().set(WsClusterConfig.ENABLED, null));
    assertEquals("value of wscluster.enabled", e.getMessage());
  }

  // ================================================================ helpers

  /** Builds with one bad value and checks the message names key, value, source and expectation. */
  private static void assertRefused(String key, String value, String expectation) {
    assertRefused(key, value, value, expectation);
  }

  /**
   * As {@link #assertRefused(String, String, String)}, for a value shown as {@code shown}: masked,
   * or with control characters written as \\uXXXX.
   */
  private static void assertRefused(String key, String value, String shown, String expectation) {
    ConfigException e = assertThrows(ConfigException.class,
        () -> WsClusterConfig.builder().set(key, value).build());
    assertEquals(key + " value was set to '" + shown + "' (builder), must be " + expectation,
        e.getMessage());
  }
}
