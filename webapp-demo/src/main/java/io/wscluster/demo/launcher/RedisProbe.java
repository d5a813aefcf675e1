package io.wscluster.demo.launcher;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.URI;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import javax.net.ssl.SSLSocketFactory;

/**
 * Asks a Redis server whether it is there: TCP connect, {@code PING}, one reply line, all within
 * a short timeout. Used once, before the nodes start, to decide whether to fall back to the
 * in-memory transport. Blocks the calling thread for at most about twice the timeout.
 */
final class RedisProbe {

  private RedisProbe() {}

  /**
   * Probes {@code address} ({@code redis://host:port} or {@code rediss://host:port}).
   *
   * @return null when a Redis server answered (a PONG, or an authentication error: the plugin will
   *     authenticate with its own settings), else why not, for the banner
   */
  static String problem(String address, Duration timeout) {
    URI uri;
    try {
      uri = new URI(address);
    } catch (URISyntaxException e) {
      return "'" + address + "' is not a URL";
    }
    if (uri.getHost() == null) {
      return "'" + address + "' names no host";
    }
    int port = uri.getPort() > 0 ? uri.getPort() : 6379;
    boolean tls = "rediss".equalsIgnoreCase(uri.getScheme());
    int millis = (int) Math.max(1, timeout.toMillis());
    try (Socket plain = new Socket()) {
      plain.connect(new InetSocketAddress(uri.getHost(), port), millis);
      plain.setSoTimeout(millis);
      Socket socket = tls
          ? ((SSLSocketFactory) SSLSocketFactory.getDefault())
              .createSocket(plain, uri.getHost(), port, true)
          : plain;
      try {
        OutputStream out = socket.getOutputStream();
        out.write("*1\r\n$4\r\nPING\r\n".getBytes(StandardCharsets.US_ASCII));
        out.flush();
        String reply = readLine(socket.getInputStream(), 256);
        if (reply.startsWith("+PONG") || reply.startsWith("-NOAUTH")
            || reply.startsWith("-WRONGPASS") || reply.contains("AUTH")) {
          return null;
        }
        return "unexpected reply to PING from " + uri.getHost() + ":" + port + ": '" + reply + "'";
      } finally {
        if (socket != plain) {
          socket.close();
        }
      }
    } catch (IOException e) {
      return "no Redis answered at " + uri.getHost() + ":" + port + " within " + millis + " ms ("
          + e.getClass().getSimpleName() + (e.getMessage() == null ? "" : ": " + e.getMessage())
          + ")";
    }
  }

  /** One line up to CRLF, at most {@code max} bytes (a non-Redis server may send anything). */
  private static String readLine(InputStream in, int max) throws IOException {
    StringBuilder sb = new StringBuilder();
    while (sb.length() < max) {
      int b = in.read();
      if (b < 0 || b == '\n') {
        break;
      }
      if (b != '\r') {
        sb.append((char) b);
      }
    }
    return sb.toString();
  }
}
