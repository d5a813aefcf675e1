package io.wscluster.it;

import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.util.Base64;

/**
 * A WebSocket client written on a plain socket (RFC 6455, no extensions), which reads only when the test calls
 * {@link #read}: a client that stops reading, so that the server's writes to it back up. The receive buffer is set
 * before connecting, so the kernel holds little for it.
 *
 * <p>Not thread-safe: one thread reads at a time.
 */
final class RawWebSocket implements AutoCloseable {

  private static final String ACCEPT_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
  private static final int OP_CONTINUATION = 0;
  static final int OP_TEXT = 1;
  static final int OP_BINARY = 2;
  static final int OP_CLOSE = 8;

  /** One whole message (continuations joined); for a close, {@link #closeCode} and {@link #text} the reason. */
  record Message(int opcode, byte[] payload) {

    String text() {
      if (opcode == OP_CLOSE) {
        return payload.length > 2 ? new String(payload, 2, payload.length - 2, StandardCharsets.UTF_8) : "";
      }
      return new String(payload, StandardCharsets.UTF_8);
    }

    int closeCode() {
      return payload.length >= 2 ? ((payload[0] & 0xff) << 8) | (payload[1] & 0xff) : 1005;
    }
  }

  private final Socket socket;
  private final DataInputStream in;
  private final OutputStream out;

  private RawWebSocket(Socket socket) throws IOException {
    this.socket = socket;
    // unbuffered: nothing is read from the socket beyond what the test asks for
    this.in = new DataInputStream(socket.getInputStream());
    this.out = socket.getOutputStream();
  }

  /**
   * Connects to {@code pathAndQuery} on the node with a receive buffer of {@code receiveBufferBytes}, sends the
   * upgrade request, and reads the 101 response (checking Sec-WebSocket-Accept); nothing more is read.
   */
  static RawWebSocket open(WsNode node, String pathAndQuery, int receiveBufferBytes) throws IOException {
    URI uri = node.wsUri(pathAndQuery);
    Socket socket = new Socket();
    try {
      socket.setReceiveBufferSize(receiveBufferBytes);
      socket.setSoTimeout(20_000);
      socket.connect(new InetSocketAddress(uri.getHost(), uri.getPort()), 5_000);
      RawWebSocket ws = new RawWebSocket(socket);
      ws.handshake(uri);
      return ws;
    } catch (IOException | RuntimeException e) {
      socket.close();
      throw e;
    }
  }

  private void handshake(URI uri) throws IOException {
    byte[] nonce = new byte[16];
    new SecureRandom().nextBytes(nonce);
    String key = Base64.getEncoder().encodeToString(nonce);
    String request = "GET " + uri.getRawPath() + (uri.getRawQuery() != null ? "?" + uri.getRawQuery() : "")
        + " HTTP/1.1\r\n"
        + "Host: " + uri.getHost() + ":" + uri.getPort() + "\r\n"
        + "Upgrade: websocket\r\n"
        + "Connection: Upgrade\r\n"
        + "Sec-WebSocket-Key: " + key + "\r\n"
        + "Sec-WebSocket-Version: 13\r\n"
        + "\r\n";
    out.write(request.getBytes(StandardCharsets.US_ASCII));
    out.flush();
    String response = readHeaders();
    if (!response.startsWith("HTTP/1.1 101")) {
      throw new IOException("upgrade of " + uri + " refused: " + response);
    }
    String expected = accept(key);
    if (!response.toLowerCase().contains("sec-websocket-accept: " + expected.toLowerCase())) {
      throw new IOException("wrong Sec-WebSocket-Accept (expected " + expected + "): " + response);
    }
  }

  private static String accept(String key) {
    try {
      byte[] sha1 = MessageDigest.getInstance("SHA-1")
          .digest((key + ACCEPT_GUID).getBytes(StandardCharsets.US_ASCII));
      return Base64.getEncoder().encodeToString(sha1);
    } catch (java.security.NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  /** Reads the response head byte by byte, up to and including the blank line. */
  private String readHeaders() throws IOException {
    ByteArrayOutputStream head = new ByteArrayOutputStream();
    int matched = 0;
    byte[] end = {'\r', '\n', '\r', '\n'};
    while (matched < end.length) {
      int b = in.read();
      if (b < 0) {
        throw new EOFException("connection closed during the upgrade response: " + head);
      }
      head.write(b);
      matched = b == end[matched] ? matched + 1 : (b == '\r' ? 1 : 0);
    }
    return head.toString(StandardCharsets.US_ASCII);
  }

  /** Reads the next whole message (server frames are unmasked); blocks up to the socket timeout. */
  Message read() throws IOException {
    ByteArrayOutputStream payload = new ByteArrayOutputStream();
    int opcode = -1;
    while (true) {
      int b0 = in.readUnsignedByte();
      int b1 = in.readUnsignedByte();
      boolean fin = (b0 & 0x80) != 0;
      int op = b0 & 0x0f;
      long length = b1 & 0x7f;
      if (length == 126) {
        length = in.readUnsignedShort();
      } else if (length == 127) {
        length = in.readLong();
      }
      if ((b1 & 0x80) != 0) {
        throw new IOException("the server sent a masked frame");
      }
      byte[] data = new byte[Math.toIntExact(length)];
      in.readFully(data);
      if (op >= OP_CLOSE) {
        if (op == OP_CLOSE) {
          return new Message(op, data);
        }
        continue; // ping/pong: not ours to answer in a client that does not read
      }
      if (op != OP_CONTINUATION) {
        opcode = op;
      }
      payload.write(data);
      if (fin) {
        return new Message(opcode, payload.toByteArray());
      }
    }
  }

  @Override
  public void close() {
    try {
      socket.close();
    } catch (IOException ignored) {
      // best effort
    }
  }
}
