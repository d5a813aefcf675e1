package io.wscluster.demo.launcher;

import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import org.junit.jupiter.api.Test;

class RedisProbeTest {
  private static final Duration TIMEOUT = Duration.ofMillis(500);

  /** A one-shot fake server: reads the PING, answers {@code reply} (null: says nothing). */
  private static String probeAgainst(String reply) throws Exception {
    try (ServerSocket server = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      Thread fake = new Thread(() -> {
        try (Socket s = server.accept()) {
          InputStream in = s.getInputStream();
          in.read(new byte[64]);
          if (reply != null) {
            OutputStream out = s.getOutputStream();
            out.write(reply.getBytes(StandardCharsets.US_ASCII));
            out.flush();
          }
          Thread.sleep(TIMEOUT.toMillis() * 2);
        } catch (IOException | InterruptedException e) {
          // the probe has its answer or gave up
        }
      }, "wscluster-fake-redis-0");
      fake.setDaemon(true);
      fake.start();
      return RedisProbe.problem("redis://127.0.0.1:" + server.getLocalPort(), TIMEOUT);
    }
  }

  @Test
  void problem_pong_isNone() throws Exception {
    assertNull(probeAgainst("+PONG\r\n"));
  }

  @Test
  void problem_authenticationRequired_isNone() throws Exception {
    assertNull(probeAgainst("-NOAUTH Authentication required.\r\n"));
  }

  @Test
  void problem_otherReply_isReported() throws Exception {
    String problem = probeAgainst("HTTP/1.1 400 Bad Request\r\n");
    assertTrue(problem.startsWith("unexpected reply to PING"), problem);
  }

  @Test
  void problem_silentServer_timesOut() throws Exception {
    String problem = probeAgainst(null);
    assertTrue(problem.contains("SocketTimeoutException"), problem);
  }

  @Test
  void problem_nothingListening_isReported() throws Exception {
    int port;
    try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      port = s.getLocalPort();
    }
    String problem = RedisProbe.problem("redis://127.0.0.1:" + port, TIMEOUT);
    assertTrue(problem.startsWith("no Redis answered at 127.0.0.1:" + port), problem);
  }
}
