package io.wscluster.redis;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.security.cert.CertificateFactory;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;

/**
 * A throwaway CA and a server certificate it signed for {@code 127.0.0.1} and {@code localhost},
 * valid for two days, made by {@code openssl} into a test's temporary directory; plus a PKCS12
 * truststore holding the CA, as a user would hand it to Redisson. Skips the test class (an
 * assumption) when openssl is not on PATH.
 */
final class TestCertificates {
  static final String TRUSTSTORE_PASSWORD = "test-truststore";

  final Path caCert;
  final Path serverCert;
  final Path serverKey;
  final Path truststore;

  private TestCertificates(Path dir) {
    this.caCert = dir.resolve("ca.crt");
    this.serverCert = dir.resolve("server.crt");
    this.serverKey = dir.resolve("server.key");
    this.truststore = dir.resolve("truststore.p12");
  }

  static TestCertificates create(Path dir) throws Exception {
    String openssl = TestRedis.findOnPath("openssl");
    Assumptions.assumeTrue(openssl != null,
        "openssl is not on PATH: install it to make the test certificates for the TLS tests");
    TestCertificates certs = new TestCertificates(dir);
    Path caKey = dir.resolve("ca.key");
    Path request = dir.resolve("server.csr");
    Path extensions = Files.writeString(dir.resolve("server.ext"),
        "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n");
    // EC keys: generated in milliseconds, and both Redis and the JDK accept them
    run(dir, openssl, "req", "-x509", "-newkey", "ec", "-pkeyopt",
        "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", caKey.toString(),
        "-out", certs.caCert.toString(), "-subj", "/CN=wscluster-test-ca", "-days", "2",
        "-addext", "basicConstraints=critical,CA:TRUE",
        "-addext", "keyUsage=critical,keyCertSign");
    run(dir, openssl, "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
        "-nodes", "-keyout", certs.serverKey.toString(), "-out", request.toString(),
        "-subj", "/CN=localhost");
    run(dir, openssl, "x509", "-req", "-in", request.toString(), "-CA", certs.caCert.toString(),
        "-CAkey", caKey.toString(), "-CAcreateserial", "-days", "2",
        "-extfile", extensions.toString(), "-out", certs.serverCert.toString());

    KeyStore trust = KeyStore.getInstance("PKCS12");
    trust.load(null, null);
    try (InputStream in = Files.newInputStream(certs.caCert)) {
      trust.setCertificateEntry("wscluster-test-ca",
          CertificateFactory.getInstance("X.509").generateCertificate(in));
    }
    try (OutputStream out = Files.newOutputStream(certs.truststore)) {
      trust.store(out, TRUSTSTORE_PASSWORD.toCharArray());
    }
    return certs;
  }

  private static void run(Path dir, String... command) throws IOException, InterruptedException {
    Path output = dir.resolve("openssl.out");
    Process p = new ProcessBuilder(List.of(command))
        .directory(dir.toFile())
        .redirectErrorStream(true)
        .redirectOutput(output.toFile())
        .start();
    if (!p.waitFor(30, TimeUnit.SECONDS)) {
      p.destroyForcibly();
      throw new IllegalStateException(String.join(" ", command) + " did not finish in 30 s");
    }
    if (p.exitValue() != 0) {
      throw new IllegalStateException(String.join(" ", command) + " exited with "
          + p.exitValue() + ":\n" + Files.readString(output, StandardCharsets.UTF_8));
    }
  }
}
