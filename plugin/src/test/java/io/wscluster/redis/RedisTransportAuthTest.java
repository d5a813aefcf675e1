package io.wscluster.redis;

import io.wscluster.CapturedStderr;
import io.wscluster.ConfigException;
import io.wscluster.WsClusterConfig;
import io.wscluster.WsClusterException;
import io.wscluster.spi.Directory;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.wscluster.spi.TransportContractTest.Inbox;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * wscluster.redis.username and wscluster.redis.password against redis-servers of this class's
 * own: one with {@code requirepass}, one with an ACL user limited to the channels and keys of one
 * prefix, and the default user off. A refused
 * login fails startup naming the keys, and the password shows in no message and no log line.
 */
class RedisTransportAuthTest {
  private static final String PASSWORD = "Pa55-requirepass-x7";
  private static final String ALICE_PASSWORD = "Pa55-alice-q3";

  private static TestRedis requirepass;
  private static TestRedis acl;

  @TempDir
  Path dir;

  @BeforeAll
  static void startRedis() throws Exception {
    requirepass = TestRedis.start("the Redis password tests", "--requirepass", PASSWORD);
    acl = TestRedis.start("the Redis ACL tests",
        // limited to the keys and channels of one prefix, as the README advises
        "--user", "alice", "on", ">" + ALICE_PASSWORD, "~auth:*", "&auth:*", "+@all",
        "--user", "default", "off");
  }

  @AfterAll
  static void stopRedis() throws InterruptedException {
    for (TestRedis redis : new TestRedis[] {requirepass, acl}) {
      if (redis != null) {
        redis.close();
      }
    }
  }

  private static WsClusterConfig.Builder config(TestRedis redis) {
    return WsClusterConfig.builder()
        .redisAddress(redis.address())
        .nodeName("auth")
        .set(WsClusterConfig.REDIS_CONNECTIONS, "1")
        .set(WsClusterConfig.SHUTDOWN_TIMEOUT, "0s");
  }

  /**
   * Starts a transport, subscribes and publishes: the frame comes back through Redis; and the
   * directory under the prefix "auth" takes a lease.
   */
  private static void assertRoundTrip(WsClusterConfig config) throws Exception {
    RedisTransport t = TestRedis.transport(config, 0);
    try {
      Inbox in = new Inbox();
      t.start(in);
      String channel = "auth:" + UUID.randomUUID();
      t.subscribe(channel).toCompletableFuture().get(10, TimeUnit.SECONDS);

      assertEquals(1L, t.publish(channel, "over auth".getBytes(StandardCharsets.UTF_8))
          .toCompletableFuture().get(10, TimeUnit.SECONDS));
      assertEquals("over auth", in.nextText(channel));
      Directory directory = t.directory("auth");
      directory.renew("auth-node", "token", 60_000, System.currentTimeMillis())
          .toCompletableFuture().get(10, TimeUnit.SECONDS);
      assertTrue(directory.leases().toCompletableFuture().get(10, TimeUnit.SECONDS)
          .containsKey("auth-node"));
    } finally {
      t.stop();
    }
  }

  /**
   * Starts a transport that must fail; returns its message after checking that neither the
   * message, its causes nor anything logged meanwhile contains {@code secret}.
   */
  private static String startFails(WsClusterConfig config, String secret) throws Exception {
    RedisTransport t = TestRedis.transport(config, 0);
    WsClusterException e;
    String log;
    try (CapturedStderr err = new CapturedStderr()) {
      e = assertThrows(WsClusterException.class, () -> t.start(new Inbox()));
      t.stop();
      log = err.text();
    }
    for (Throwable c = e; c != null; c = c.getCause()) {
      assertFalse(String.valueOf(c.getMessage()).contains(secret),
          "the password leaks in " + c);
    }
    assertFalse(log.contains(secret), "the password leaks in the log:\n" + log);
    return e.getMessage();
  }

  /** The message of a login that Redis refused. */
  private static String refused(TestRedis redis) {
    return "wscluster cannot connect to Redis at " + redis.address() + ": Redis refused the "
        + "credentials (WRONGPASS invalid username-password pair or user is disabled.): check "
        + "wscluster.redis.username and wscluster.redis.password";
  }

  // ================================================================ requirepass

  @Test
  void start_requirepassAndTheRightPassword_roundTrips() throws Exception {
    assertRoundTrip(config(requirepass).set(WsClusterConfig.REDIS_PASSWORD, PASSWORD).build());
  }

  @Test
  void start_requirepassAndAWrongPassword_failsNamingTheKeysWithoutThePassword()
      throws Exception {
    String wrong = "Wr0ng-pass-z9";
    String message = startFails(
        config(requirepass).set(WsClusterConfig.REDIS_PASSWORD, wrong).build(), wrong);

    assertEquals(refused(requirepass), message);
  }

  @Test
  void start_requirepassAndNoPassword_failsSayingWhichKeyToSet() throws Exception {
    String message = startFails(config(requirepass).build(), PASSWORD);

    assertEquals("wscluster cannot connect to Redis at " + requirepass.address()
        + ": Redis requires a password (NOAUTH Authentication required.): set "
        + "wscluster.redis.password, and wscluster.redis.username for an ACL user", message);
  }

  // ================================================================ ACL user

  @Test
  void start_aclUserAndItsPassword_roundTrips() throws Exception {
    assertRoundTrip(config(acl)
        .set(WsClusterConfig.REDIS_USERNAME, "alice")
        .set(WsClusterConfig.REDIS_PASSWORD, ALICE_PASSWORD)
        .build());
  }

  @ParameterizedTest(name = "user ''{0}''")
  @CsvSource({
      "alice,   Wr0ng-alice-k2", // a wrong password
      "mallory, " + ALICE_PASSWORD, // an unknown user
      "'',      " + ALICE_PASSWORD}) // no user: the default user, which is off
  void start_aclLoginRefused_failsNamingTheKeysWithoutThePassword(String user, String password)
      throws Exception {
    String message = startFails(config(acl)
        .set(WsClusterConfig.REDIS_USERNAME, user)
        .set(WsClusterConfig.REDIS_PASSWORD, password)
        .build(), password);

    assertEquals(refused(acl), message);
  }

  // ================================================================ refused before connecting

  @Test
  void start_usernameWithoutPassword_isRefusedBeforeConnecting() {
    RedisTransport t = TestRedis.transport(config(acl)
        .set(WsClusterConfig.REDIS_USERNAME, "alice").build(), 0);

    ConfigException e = assertThrows(ConfigException.class, () -> t.start(new Inbox()));

    assertEquals("wscluster.redis.username is set to 'alice' but wscluster.redis.password is "
        + "empty: Redis authenticates a user by name and password (any password for a nopass "
        + "user)", e.getMessage());
  }

  /** A config naming a Redisson YAML file for the ACL server, {@code topLevel} lines first. */
  private WsClusterConfig.Builder withYaml(String topLevel) throws Exception {
    Path yaml = Files.writeString(dir.resolve("redisson.yaml"),
        topLevel + "singleServerConfig:\n  address: \"" + acl.address() + "\"\n");
    return WsClusterConfig.builder().set(WsClusterConfig.REDIS_CONFIG, yaml.toString());
  }

  @Test
  void redissonConfig_passwordInTheYamlAndInTheKey_isRefused() throws Exception {
    WsClusterConfig c = withYaml("password: \"from-yaml\"\n")
        .set(WsClusterConfig.REDIS_PASSWORD, "from-key").build();

    ConfigException e = assertThrows(ConfigException.class,
        () -> TestRedis.redissonConfig(c));

    assertEquals(dir.resolve("redisson.yaml") + " (wscluster.redis.config) sets a Redis username "
        + "or password, and so do wscluster.redis.username or wscluster.redis.password: keep one "
        + "of them", e.getMessage());
  }

  @Test
  void redissonConfig_credentialsFromTheKeys_applyToTheServersOfTheYaml() throws Exception {
    WsClusterConfig c = withYaml("")
        .set(WsClusterConfig.REDIS_USERNAME, "alice")
        .set(WsClusterConfig.REDIS_PASSWORD, ALICE_PASSWORD)
        .build();

    assertRoundTrip(c);
    org.redisson.config.Config redisson = TestRedis.redissonConfig(c);
    assertEquals("alice", redisson.getUsername(), "Redisson 4's Config-level credentials");
    assertEquals(ALICE_PASSWORD, redisson.getPassword());
  }
}
