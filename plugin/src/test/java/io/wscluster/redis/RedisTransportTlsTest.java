package io.wscluster.redis;

import io.wscluster.ConfigException;
import io.wscluster.WsClusterConfig;
import io.wscluster.WsClusterException;
import io.wscluster.spi.TransportContractTest;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.wscluster.spi.Transport;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The transport contract over TLS: a redis-server of this class's own that speaks TLS only and
 * wants a password, with a certificate from a throwaway CA. The transports trust that CA the way
 * the README says: config/redisson-tls.yaml, pointed at this server and the CA's truststore.
 */
class RedisTransportTlsTest extends TransportContractTest {
  private static final String PASSWORD = "Pa55-over-tls-m4";
  private static final AtomicInteger NODES = new AtomicInteger();

  @TempDir
  static Path dir;
  private static TestCertificates certs;
  private static TestRedis redis;
  private static Path yaml;

  @BeforeAll
  static void startRedis() throws Exception {
    certs = TestCertificates.create(dir);
    redis = TestRedis.startTls("the TLS tests", certs, "--requirepass", PASSWORD);
    yaml = dir.resolve("redisson-tls.yaml");
    Files.writeString(yaml, example(redis.address(), "file:" + certs.truststore,
        TestCertificates.TRUSTSTORE_PASSWORD));
  }

  @AfterAll
  static void stopRedis() throws InterruptedException {
    if (redis != null) {
      redis.close();
    }
  }

  /** config/redisson-tls.yaml with its address, truststore and truststore password replaced. */
  static String example(String address, String truststoreUrl, String truststorePassword)
      throws Exception {
    String text = Files.readString(Paths.get("..", "config", "redisson-tls.yaml"));
    String[][] replacements = {
        {"rediss://redis.internal:6380", address},
        {"file:/etc/myapp/redis-ca.p12", truststoreUrl},
        {"${REDIS_TRUSTSTORE_PASSWORD}", truststorePassword}};
    for (String[] r : replacements) {
      assertTrue(text.contains(r[0]), "config/redisson-tls.yaml no longer holds " + r[0]);
      text = text.replace(r[0], r[1]);
    }
    return text;
  }

  @Override
  protected Transport createTransport() {
    return TestRedis.transport(WsClusterConfig.builder()
        .set(WsClusterConfig.REDIS_CONFIG, yaml.toString())
        .set(WsClusterConfig.REDIS_PASSWORD, PASSWORD)
        .nodeName("tls-" + NODES.incrementAndGet())
        .set(WsClusterConfig.SHUTDOWN_TIMEOUT, "0s")
        .build(), 0);
  }

  private static WsClusterConfig addressOnly() {
    return WsClusterConfig.builder()
        .redisAddress(redis.address())
        .set(WsClusterConfig.REDIS_PASSWORD, PASSWORD)
        .nodeName("tls-address-only")
        .set(WsClusterConfig.REDIS_CONNECTIONS, "1")
        .set(WsClusterConfig.SHUTDOWN_TIMEOUT, "0s")
        .build();
  }

  // ================================================================ trust

  @Test
  void start_caNotTrusted_failsSayingHowToTrustIt() {
    RedisTransport t = TestRedis.transport(addressOnly(), 0);

    WsClusterException e = assertThrows(WsClusterException.class, () -> t.start(new Inbox()));

    assertTrue(e.getMessage().startsWith("wscluster cannot connect to Redis at "
        + redis.address() + ": the TLS handshake failed (PKIX path building failed"),
        e.getMessage());
    assertTrue(e.getMessage().endsWith("): the server's certificate must name the host of the "
        + "address and chain to a CA this JVM trusts (sslTruststore in a Redisson YAML file "
        + "named by wscluster.redis.config, or the JVM truststore javax.net.ssl.trustStore)"),
        e.getMessage());
    t.stop();
  }

  @Test
  void start_caInTheJvmTruststore_needsOnlyTheRedissAddress() throws Exception {
    String[] keys = {"javax.net.ssl.trustStore", "javax.net.ssl.trustStorePassword",
        "javax.net.ssl.trustStoreType"};
    String[] before = new String[keys.length];
    for (int i = 0; i < keys.length; i++) {
      before[i] = System.getProperty(keys[i]);
    }
    System.setProperty(keys[0], certs.truststore.toString());
    System.setProperty(keys[1], TestCertificates.TRUSTSTORE_PASSWORD);
    System.setProperty(keys[2], "PKCS12");
    RedisTransport t = TestRedis.transport(addressOnly(), 0);
    try {
      Inbox in = new Inbox();
      t.start(in);
      t.subscribe(channel).toCompletableFuture().get(10, TimeUnit.SECONDS);
      t.publish(channel, "over tls".getBytes(StandardCharsets.UTF_8)).toCompletableFuture()
          .get(10, TimeUnit.SECONDS);

      assertEquals("over tls", in.nextText(channel));
    } finally {
      t.stop();
      for (int i = 0; i < keys.length; i++) {
        if (before[i] == null) {
          System.clearProperty(keys[i]);
        } else {
          System.setProperty(keys[i], before[i]);
        }
      }
    }
  }

  // ================================================================ the truststore, checked at start

  @Test
  void redissonConfig_truststoreMissing_isRefusedNamingItAndTheYaml() throws Exception {
    Path missing = dir.resolve("no-such.p12");
    Path bad = Files.writeString(dir.resolve("missing-truststore.yaml"), example(redis.address(),
        "file:" + missing, TestCertificates.TRUSTSTORE_PASSWORD));
    WsClusterConfig c = WsClusterConfig.builder()
        .set(WsClusterConfig.REDIS_CONFIG, bad.toString()).build();

    ConfigException e = assertThrows(ConfigException.class,
        () -> TestRedis.redissonConfig(c));

    assertTrue(e.getMessage().startsWith("sslTruststore 'file:" + missing + "' in " + bad
        + " (wscluster.redis.config) cannot be loaded as a pkcs12 truststore with its "
        + "sslTruststorePassword: java.io.FileNotFoundException: "), e.getMessage());
  }

  @Test
  void redissonConfig_truststorePasswordWrong_isRefusedWithoutPrintingIt() throws Exception {
    String wrong = "Wr0ng-truststore-j8";
    Path bad = Files.writeString(dir.resolve("wrong-password.yaml"), example(redis.address(),
        "file:" + certs.truststore, wrong));
    WsClusterConfig c = WsClusterConfig.builder()
        .set(WsClusterConfig.REDIS_CONFIG, bad.toString()).build();

    ConfigException e = assertThrows(ConfigException.class,
        () -> TestRedis.redissonConfig(c));

    assertEquals("sslTruststore 'file:" + certs.truststore + "' in " + bad
        + " (wscluster.redis.config) cannot be loaded as a pkcs12 truststore with its "
        + "sslTruststorePassword: java.io.IOException: keystore password was incorrect",
        e.getMessage());
  }
}
