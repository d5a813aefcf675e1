package io.wscluster.bench;

import java.io.IOException;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.SecureRandom;
import java.util.Base64;
import java.util.Locale;

/**
 * The client side of the RFC 6455 opening handshake, without extensions or subprotocols: the
 * upgrade request and the check of the server's 101 answer. Shared by the hand-written clients
 * (the NIO load generator, the ITs' blocking raw client); holds no socket.
 */
public final class WebSocketHandshake {
  private static final String ACCEPT_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
  private static final SecureRandom RANDOM = new SecureRandom();

  private final URI uri;
  private final String key;

  /** A handshake for {@code uri} (ws://host:port/path?query) with a fresh random key. */
  public WebSocketHandshake(URI uri) {
    byte[] nonce = new byte[16];
    RANDOM.nextBytes(nonce);
    this.uri = uri;
    this.key = Base64.getEncoder().encodeToString(nonce);
  }

  /** The HTTP/1.1 upgrade request, ASCII. */
  public byte[] request() {
    String request = "GET " + uri.getRawPath()
        + (uri.getRawQuery() != null ? "?" + uri.getRawQuery() : "") + " HTTP/1.1\r\n"
        + "Host: " + uri.getHost() + ":" + uri.getPort() + "\r\n"
        + "Upgrade: websocket\r\n"
        + "Connection: Upgrade\r\n"
        + "Sec-WebSocket-Key: " + key + "\r\n"
        + "Sec-WebSocket-Version: 13\r\n"
        + "\r\n";
    return request.getBytes(StandardCharsets.US_ASCII);
  }

  /**
   * Checks the response head (status line and headers, up to the blank line): 101 and the
   * Sec-WebSocket-Accept that this key requires.
   *
   * @throws IOException naming the URI and quoting the response when either is wrong
   */
  public void check(String responseHead) throws IOException {
    if (!responseHead.startsWith("HTTP/1.1 101")) {
      throw new IOException("upgrade of " + uri + " refused: " + responseHead);
    }
    String expected = accept(key);
    if (!responseHead.toLowerCase(Locale.ROOT)
        .contains("sec-websocket-accept: " + expected.toLowerCase(Locale.ROOT))) {
      throw new IOException("wrong Sec-WebSocket-Accept from " + uri + " (expected " + expected
          + "): " + responseHead);
    }
  }

  /**
   * The length of the response head in {@code data[0, length)}, the blank line included, or -1
   * when it has not all arrived. Bytes after it are the server's first frames.
   */
  public static int headLength(byte[] data, int length) {
    for (int i = 3; i < length; i++) {
      if (data[i] == '\n' && data[i - 1] == '\r' && data[i - 2] == '\n' && data[i - 3] == '\r') {
        return i + 1;
      }
    }
    return -1;
  }

  private static String accept(String key) {
    try {
      byte[] sha1 = MessageDigest.getInstance("SHA-1")
          .digest((key + ACCEPT_GUID).getBytes(StandardCharsets.US_ASCII));
      return Base64.getEncoder().encodeToString(sha1);
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("every Java platform has SHA-1", e);
    }
  }
}
