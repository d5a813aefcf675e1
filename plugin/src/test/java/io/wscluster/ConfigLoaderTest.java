package io.wscluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.URI;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Merging the sources of a webapp: builder > web.xml context-param > system property > environment
 * > properties file; env names, placeholders, and what each source's errors say.
 */
class ConfigLoaderTest {
  private static final String MAX_FRAMES = WsClusterConfig.OUTBOX_MAX_FRAMES;

  @TempDir
  Path dir;

  private final Map<String, String> builder = new HashMap<>();
  private final Map<String, String> context = new HashMap<>();
  private final Map<String, String> sys = new HashMap<>();
  private final Map<String, String> env = new HashMap<>();

  private WsClusterConfig load() {
    return ConfigLoader.load(builder, context, sys, env, null);
  }

  private ConfigException loadFails() {
    return assertThrows(ConfigException.class, this::load);
  }

  private Path file(String content) throws Exception {
    return Files.writeString(Files.createTempFile(dir, "wscluster", ".properties"), content);
  }

  // ================================================================ sources and precedence

  @Test
  void load_noSourceSetsAnything_givesDefaults() {
    sys.put("java.version", "17"); // not ours: ignored
    context.put("org.eclipse.jetty.servlet.Default.dirAllowed", "false");
    env.put("PATH", "/usr/bin");

    WsClusterConfig c = load();

    assertEquals(1_000_000, c.outboxMaxFrames());
    assertEquals(URI.create("redis://127.0.0.1:6379"), c.redisAddress());
  }

  @Test
  void load_sameKeyInEverySource_takesBuilderThenContextThenSystemThenEnvThenFile()
      throws Exception {
    Path f = file(MAX_FRAMES + "=5\n");
    builder.put(MAX_FRAMES, "1");
    context.put(MAX_FRAMES, "2");
    sys.put(MAX_FRAMES, "3");
    env.put("WSCLUSTER_OUTBOX_MAX_FRAMES", "4");
    sys.put(WsClusterConfig.CONFIG_FILE, f.toString());

    assertEquals(1, load().outboxMaxFrames(), "builder");
    builder.remove(MAX_FRAMES);
    assertEquals(2, load().outboxMaxFrames(), "web.xml context-param");
    context.remove(MAX_FRAMES);
    assertEquals(3, load().outboxMaxFrames(), "system property");
    sys.remove(MAX_FRAMES);
    assertEquals(4, load().outboxMaxFrames(), "environment variable");
    env.clear();
    assertEquals(5, load().outboxMaxFrames(), "properties file");
  }

  @Test
  void load_differentKeysFromDifferentSources_areMerged() throws Exception {
    Path f = file(WsClusterConfig.DEDUP_WINDOW + "=128\n");
    env.put("WSCLUSTER_CONFIG_FILE", f.toString());
    env.put("WSCLUSTER_NODE_NAME", "from-env");
    sys.put(WsClusterConfig.CHANNEL_PREFIX, "from-sys");
    context.put(WsClusterConfig.OUTBOX_OVERFLOW, "drop-newest");
    builder.put(MAX_FRAMES, "9");

    WsClusterConfig c = load();

    assertEquals(128, c.dedupWindow());
    assertEquals("from-env", c.nodeName());
    assertEquals("from-sys", c.channelPrefix());
    assertEquals(WsClusterConfig.Overflow.DROP_NEWEST, c.outboxOverflow());
    assertEquals(9, c.outboxMaxFrames());
  }

  @Test
  void load_configFileLocation_isTakenFromTheHighestSourceThatNamesIt() throws Exception {
    Path low = file(MAX_FRAMES + "=7\n");
    Path high = file(MAX_FRAMES + "=8\n");
    env.put("WSCLUSTER_CONFIG_FILE", low.toString());
    context.put(WsClusterConfig.CONFIG_FILE, high.toString());

    assertEquals(8, load().outboxMaxFrames());
  }

  @Test
  void load_noFileNamed_readsWsclusterPropertiesFromTheClassLoader() throws Exception {
    Files.writeString(dir.resolve("wscluster.properties"), MAX_FRAMES + "=11\n");
    try (URLClassLoader cl = new URLClassLoader(new URL[] {dir.toUri().toURL()}, null)) {
      assertEquals(11, ConfigLoader.load(builder, context, sys, env, cl).outboxMaxFrames());
    }
  }

  @Test
  void load_fileNamed_ignoresTheClasspathFile() throws Exception {
    Files.writeString(dir.resolve("wscluster.properties"), MAX_FRAMES + "=11\n");
    Path named = file(MAX_FRAMES + "=12\n");
    sys.put(WsClusterConfig.CONFIG_FILE, named.toString());
    try (URLClassLoader cl = new URLClassLoader(new URL[] {dir.toUri().toURL()}, null)) {
      assertEquals(12, ConfigLoader.load(builder, context, sys, env, cl).outboxMaxFrames());
    }
  }

  // ================================================================ the webapp's own channel prefix

  private String prefixAt(String contextPath) {
    return ConfigLoader.load(builder, context, sys, env, null, contextPath).channelPrefix();
  }

  @Test
  void load_inAWebappThatSetsNoPrefix_takesOneFromItsContextPath() {
    assertEquals("wscluster", prefixAt(""), "root context");
    assertEquals("wscluster", prefixAt("/"), "root context");
    assertEquals("wscluster-chat", prefixAt("/chat"));
    assertEquals("wscluster-shop.chat", prefixAt("/shop/chat"));
    assertEquals("wscluster-Chat_v2-x", prefixAt("/Chat_v2-x"));
    assertEquals("wscluster", prefixAt(null), "outside a webapp");
  }

  @Test
  void load_contextPathBeyondTheMapping_keepsWhatFitsAndEndsInItsChecksum() {
    assertEquals("wscluster-a_b-38bbc83b", prefixAt("/a.b"), "'.' stands for '/'");
    assertEquals("wscluster-chat_room-14549f41", prefixAt("/chat room"));
    assertEquals("wscluster-_-fd3c3bb3", prefixAt("/\u00e4"));
    String longest = "wscluster-" + "x".repeat(54);
    assertEquals(longest, prefixAt("/" + "x".repeat(54)), "64 characters: fits");
    assertEquals("wscluster-" + "x".repeat(45) + "-17528768", prefixAt("/" + "x".repeat(60)));
  }

  /**
   * Different apps never share a channel or key: their prefixes differ, and none followed by ':'
   * begins another followed by ':' (every channel and key is the prefix, ':', then more), even
   * for paths named like the root app's keys (/room: the root app's room "nodes" is the key
   * wscluster:room:nodes, which a prefix wscluster:room would have taken for its node list).
   */
  @Test
  void load_differentContextPaths_giveDisjointPrefixes() {
    java.util.List<String> paths = java.util.List.of("", "/room", "/node", "/all", "/a", "/a/b",
        "/a.b", "/a_b", "/a-b", "/a//b", "/a/b/", "/A");
    java.util.List<String> prefixes = paths.stream().map(this::prefixAt).toList();
    for (int i = 0; i < prefixes.size(); i++) {
      for (int j = 0; j < prefixes.size(); j++) {
        if (i != j) {
          assertFalse((prefixes.get(j) + ":").startsWith(prefixes.get(i) + ":"),
              paths.get(i) + " -> " + prefixes.get(i) + ", " + paths.get(j) + " -> "
              + prefixes.get(j));
        }
      }
    }
  }

  @Test
  void load_prefixSetInAnySource_winsOverTheContextPath() throws Exception {
    String key = WsClusterConfig.CHANNEL_PREFIX;
    env.put("WSCLUSTER_CONFIG_FILE", file(key + "=from-file\n").toString());
    assertEquals("from-file", prefixAt("/chat"), "properties file");
    env.put("WSCLUSTER_CHANNEL_PREFIX", "from-env");
    assertEquals("from-env", prefixAt("/chat"), "environment variable");
    sys.put(key, "from-sys");
    assertEquals("from-sys", prefixAt("/chat"), "system property");
    context.put(key, "wscluster");
    assertEquals("wscluster", prefixAt("/chat"), "web.xml context-param: the old default");
    builder.put(key, "from-builder");
    assertEquals("from-builder", prefixAt("/chat"), "builder");
  }

  @Test
  void load_derivedPrefix_isLoggedAndNotCountedAsSet() {
    WsClusterConfig c = ConfigLoader.load(builder, context, sys, env, null, "/chat");

    assertTrue(c.toString().contains(WsClusterConfig.CHANNEL_PREFIX + "=wscluster-chat"),
        c.toString());
    assertFalse(c.explicitValues().containsKey(WsClusterConfig.CHANNEL_PREFIX));
  }

  // ================================================================ each source names itself in errors

  @Test
  void error_fromBuilder_namesTheBuilder() {
    builder.put(MAX_FRAMES, "x");
    assertEquals(MAX_FRAMES + " value was set to 'x' (builder), must be a positive integer up to "
        + "1000000", loadFails().getMessage());
  }

  @Test
  void error_fromContextParam_namesWebXml() {
    context.put(MAX_FRAMES, "x");
    assertEquals(MAX_FRAMES + " value was set to 'x' (web.xml context-param), must be a positive "
        + "integer up to 1000000", loadFails().getMessage());
  }

  @Test
  void error_fromSystemProperty_namesTheSystemProperty() {
    sys.put(MAX_FRAMES, "x");
    assertEquals(MAX_FRAMES + " value was set to 'x' (system property), must be a positive "
        + "integer up to 1000000", loadFails().getMessage());
  }

  @Test
  void error_fromEnvironment_namesTheVariable() {
    env.put("WSCLUSTER_OUTBOX_MAX_FRAMES", "x");
    assertEquals(MAX_FRAMES + " value was set to 'x' (environment variable "
        + "WSCLUSTER_OUTBOX_MAX_FRAMES), must be a positive integer up to 1000000",
        loadFails().getMessage());
  }

  @Test
  void error_fromPropertiesFile_namesTheFile() throws Exception {
    Path f = file(MAX_FRAMES + "=x\n");
    sys.put(WsClusterConfig.CONFIG_FILE, f.toString());
    assertEquals(MAX_FRAMES + " value was set to 'x' (file " + f + "), must be a positive "
        + "integer up to 1000000", loadFails().getMessage());
  }

  @Test
  void error_fromClasspathFile_namesTheClasspathFile() throws Exception {
    Files.writeString(dir.resolve("wscluster.properties"), MAX_FRAMES + "=x\n");
    try (URLClassLoader cl = new URLClassLoader(new URL[] {dir.toUri().toURL()}, null)) {
      ConfigException e = assertThrows(ConfigException.class,
          () -> ConfigLoader.load(builder, context, sys, env, cl));
      assertEquals(MAX_FRAMES + " value was set to 'x' (classpath wscluster.properties), must be "
          + "a positive integer up to 1000000", e.getMessage());
    }
  }

  @Test
  void error_overriddenBadValueInALowerSource_isNotChecked() throws Exception {
    // the lower source's bad value is shadowed: only the effective value is validated
    env.put("WSCLUSTER_OUTBOX_MAX_FRAMES", "x");
    sys.put(MAX_FRAMES, "10");
    assertEquals(10, load().outboxMaxFrames());
  }

  // ================================================================ environment names

  @Test
  void envOf_key_isUpperCaseWithUnderscores() {
    assertEquals("WSCLUSTER_REDIS_ADDRESS", ConfigLoader.envOf(WsClusterConfig.REDIS_ADDRESS));
    assertEquals("WSCLUSTER_OUTBOX_MAX_FRAMES", ConfigLoader.envOf(MAX_FRAMES));
    assertEquals("WSCLUSTER_DEDUP_ORIGIN_TTL", ConfigLoader.envOf(WsClusterConfig.DEDUP_ORIGIN_TTL));
  }

  @Test
  void keyOfEnv_everyKeysEnvName_mapsBackToTheKey() {
    for (String key : WsClusterConfig.KEYS.keySet()) {
      assertEquals(key, ConfigLoader.keyOfEnv(ConfigLoader.envOf(key)));
    }
  }

  @Test
  void load_redisAddressFromEnvironment_isUsed() {
    env.put("WSCLUSTER_REDIS_ADDRESS", "redis://cache.internal:6380");
    assertEquals(URI.create("redis://cache.internal:6380"), load().redisAddress());
  }

  @Test
  void load_unknownEnvVarNearAKey_isRefusedWithASuggestion() {
    env.put("WSCLUSTER_REDIS_ADRESS", "redis://cache:6379");

    String message = loadFails().getMessage();

    assertTrue(message.startsWith("Unknown environment variable WSCLUSTER_REDIS_ADRESS"), message);
    assertTrue(message.contains("Did you mean WSCLUSTER_REDIS_ADDRESS?"), message);
  }

  @Test
  void load_unknownEnvVarFarFromEveryKey_isRefusedSayingWhatTheyMustName() {
    env.put("WSCLUSTER_HOME", "/opt/wscluster");

    String message = loadFails().getMessage();

    assertTrue(message.startsWith("Unknown environment variable WSCLUSTER_HOME"), message);
    assertTrue(message.contains("Variables starting with WSCLUSTER_ must name a wscluster key."),
        message);
  }

  @Test
  void load_unknownContextParam_isRefusedWithASuggestion() {
    context.put("wscluster.redis.adress", "redis://cache:6379");
    assertEquals("Unknown configuration key 'wscluster.redis.adress' (web.xml context-param). "
        + "Did you mean 'wscluster.redis.address'?", loadFails().getMessage());
  }

  @Test
  void load_unknownSystemProperty_isRefusedWithASuggestion() {
    sys.put("wscluster.outbox.maxframes", "5");
    assertEquals("Unknown configuration key 'wscluster.outbox.maxframes' (system property). "
        + "Did you mean 'wscluster.outbox.max-frames'?", loadFails().getMessage());
  }

  // ================================================================ placeholders

  @Test
  void load_placeholder_isResolvedFromEnvironment() {
    builder.put(WsClusterConfig.REDIS_ADDRESS, "redis://${REDIS_HOST}:${REDIS_PORT}");
    env.put("REDIS_HOST", "cache.internal");
    env.put("REDIS_PORT", "6380");

    assertEquals(URI.create("redis://cache.internal:6380"), load().redisAddress());
  }

  @Test
  void load_placeholder_prefersASystemPropertyOverTheEnvironment() {
    context.put(WsClusterConfig.REDIS_PASSWORD, "${REDIS_SECRET}");
    sys.put("REDIS_SECRET", "from-sys");
    env.put("REDIS_SECRET", "from-env");

    assertEquals("from-sys", load().redisPassword());
  }

  @Test
  void load_placeholderInPropertiesFile_isResolved() throws Exception {
    Path f = file(WsClusterConfig.NODE_NAME + "=web-${POD}\n");
    sys.put(WsClusterConfig.CONFIG_FILE, f.toString());
    env.put("POD", "7");

    assertEquals("web-7", load().nodeName());
  }

  @Test
  void load_placeholderValueWithRegexSpecials_isInsertedLiterally() {
    builder.put(WsClusterConfig.REDIS_PASSWORD, "${PW}");
    env.put("PW", "a$1\\b");

    assertEquals("a$1\\b", load().redisPassword());
  }

  @Test
  void load_placeholderWithDefault_takesTheDefaultWhenUnset() {
    context.put(WsClusterConfig.REDIS_ADDRESS, "${REDIS_URL:-redis://127.0.0.1:6390}");

    assertEquals(URI.create("redis://127.0.0.1:6390"), load().redisAddress());
  }

  @Test
  void load_placeholderWithDefault_prefersTheEnvironment() {
    context.put(WsClusterConfig.REDIS_ADDRESS, "${REDIS_URL:-redis://127.0.0.1:6390}");
    env.put("REDIS_URL", "redis://cache.internal:6380");

    assertEquals(URI.create("redis://cache.internal:6380"), load().redisAddress());
  }

  @Test
  void load_placeholderWithEmptyDefault_givesEmpty() {
    context.put(WsClusterConfig.REDIS_PASSWORD, "${REDIS_SECRET:-}");

    assertEquals("", load().redisPassword());
  }

  @Test
  void load_resolvedValue_isCheckedLikeAnyOther() {
    builder.put(MAX_FRAMES, "${FRAMES}");
    env.put("FRAMES", "-5");

    assertEquals(MAX_FRAMES + " value was set to '-5' (builder), must be a positive integer up to "
        + "1000000", loadFails().getMessage());
  }

  @Test
  void load_unsetPlaceholder_isRefusedNamingIt() {
    builder.put(WsClusterConfig.REDIS_ADDRESS, "redis://${REDIS_HOST}:6379");

    assertEquals("wscluster.redis.address value was set to 'redis://${REDIS_HOST}:6379' "
        + "(builder), must reference a defined system property or environment variable: "
        + "${REDIS_HOST} is not set", loadFails().getMessage());
  }

  @Test
  void load_unsetPlaceholderInThePassword_doesNotPrintThePassword() {
    context.put(WsClusterConfig.REDIS_PASSWORD, "Secret${SUFFIX}");

    String message = loadFails().getMessage();

    assertTrue(message.startsWith("wscluster.redis.password value was set to '****' (web.xml "
        + "context-param), must reference a defined"), message);
    assertFalse(message.contains("Secret"), "the password leaks: " + message);
  }

  @Test
  void load_secretsFromEnvironmentPlaceholders_areResolved() {
    context.put(WsClusterConfig.SECRET, "${WS_SECRET}");
    context.put(WsClusterConfig.SECRET_PREVIOUS, "${WS_SECRET_OLD}");
    env.put("WS_SECRET", "0123456789abcdef0123456789abcdef");
    env.put("WS_SECRET_OLD", "fedcba9876543210fedcba9876543210");

    WsClusterConfig c = load();

    assertEquals("0123456789abcdef0123456789abcdef", c.secret());
    assertEquals("fedcba9876543210fedcba9876543210", c.secretPrevious());
  }

  @Test
  void load_unsetPlaceholderInTheSecret_doesNotPrintTheSecret() {
    context.put(WsClusterConfig.SECRET, "Hidden-0123456789abcdef${SUFFIX}");

    String message = loadFails().getMessage();

    assertEquals("wscluster.secret value was set to '****' (web.xml context-param), must "
        + "reference a defined system property or environment variable: ${SUFFIX} is not set",
        message);
  }

  @Test
  void load_secretFromAnEnvironmentVariableTooShort_isRefusedWithoutPrintingIt() {
    env.put("WSCLUSTER_SECRET", "Hidden-123");

    String message = loadFails().getMessage();

    assertTrue(message.startsWith("wscluster.secret value was set to '****' (environment "
        + "variable WSCLUSTER_SECRET), must be 32 to 1024 characters"), message);
    assertFalse(message.contains("Hidden"), "the secret leaks: " + message);
  }

  @Test
  void load_unsetPlaceholderInAnAddressWithCredentials_doesNotPrintThePassword() {
    env.put("WSCLUSTER_REDIS_ADDRESS", "redis://app:Secret@${REDIS_HOST}:6379");

    String message = loadFails().getMessage();

    assertTrue(message.startsWith("wscluster.redis.address value was set to '"), message);
    assertFalse(message.contains("Secret"), "the password leaks: " + message);
  }

  // ================================================================ the properties file

  @Test
  void load_configFileMissing_isRefusedNamingKeyValueAndSource() {
    String missing = dir.resolve("nope.properties").toString();
    sys.put(WsClusterConfig.CONFIG_FILE, missing);

    assertEquals("wscluster.config.file value was set to '" + missing + "' (system property), "
        + "must be the path of a readable properties file (no such file)",
        loadFails().getMessage());
  }

  @Test
  void load_configFileWithANulCharacter_isRefusedLikeAMissingFile() {
    sys.put(WsClusterConfig.CONFIG_FILE, "/etc/wscluster\u0000.properties");

    assertEquals("wscluster.config.file value was set to '/etc/wscluster\\u0000.properties' "
        + "(system property), must be the path of a readable properties file (no such file)",
        loadFails().getMessage());
  }

  @Test
  void load_configFileMissing_mentionsNoSuchFile() {
    String missing = dir.resolve("nope.properties").toString();
    builder.put(WsClusterConfig.CONFIG_FILE, missing);

    String message = loadFails().getMessage();

    assertTrue(message.startsWith("wscluster.config.file value was set to '" + missing + "'"),
        message);
    assertTrue(message.endsWith("must be the path of a readable properties file (no such file)"),
        message);
  }

  @Test
  void load_fileWithAKeyOutsideWscluster_isRefused() throws Exception {
    Path f = file("redis.address=redis://h:1\n");
    sys.put(WsClusterConfig.CONFIG_FILE, f.toString());

    assertEquals("Unknown configuration key 'redis.address' (file " + f + "): only wscluster.* "
        + "keys belong in it", loadFails().getMessage());
  }

  @Test
  void load_fileWithAMisspelledKey_isRefusedWithASuggestion() throws Exception {
    Path f = file("wscluster.redis.adress=redis://h:1\n");
    sys.put(WsClusterConfig.CONFIG_FILE, f.toString());

    assertEquals("Unknown configuration key 'wscluster.redis.adress' (file " + f + "). Did you "
        + "mean 'wscluster.redis.address'?", loadFails().getMessage());
  }

  @Test
  void load_fileNamingAnotherFile_isRefused() throws Exception {
    Path f = file(WsClusterConfig.CONFIG_FILE + "=/etc/other.properties\n");
    sys.put(WsClusterConfig.CONFIG_FILE, f.toString());

    assertEquals("wscluster.config.file cannot be set inside file " + f,
        loadFails().getMessage());
  }

  @Test
  void load_fileIsReadAsUtf8() throws Exception {
    Path f = file(WsClusterConfig.REDIS_USERNAME + "=zoë\n");
    sys.put(WsClusterConfig.CONFIG_FILE, f.toString());

    assertEquals("zoë", load().redisUsername());
  }

  // ================================================================ cross-source rules

  @Test
  void load_addressAndConfigFromDifferentSources_isRefusedNamingBothSources() throws Exception {
    Path yaml = Files.writeString(dir.resolve("redisson.yaml"), "singleServerConfig: {}\n");
    env.put("WSCLUSTER_REDIS_ADDRESS", "redis://cache:6379");
    context.put(WsClusterConfig.REDIS_CONFIG, yaml.toString());

    assertEquals("wscluster.redis.address and wscluster.redis.config are both set (environment "
        + "variable WSCLUSTER_REDIS_ADDRESS, web.xml context-param): set the address inside the "
        + "Redisson YAML file, or remove wscluster.redis.config", loadFails().getMessage());
  }
}
