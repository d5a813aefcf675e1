package io.wscluster.it;

import io.wscluster.bench.WebSocketHandshake;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.URI;
import java.nio.charset.StandardCharsets;

/**
 * A WebSocket client written on a plain socket (RFC 6455, no extensions), which reads only when the test calls
 * {@link #read}: a client that stops reading, so that the server's writes to it back up. The receive buffer is set
 * before connecting, so the kernel holds little for it.
 *
 * <p>Not thread-safe: one thread reads at a time.
 */
final class RawWebSocket implements AutoCloseable {

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
    WebSocketHandshake handshake = new WebSocketHandshake(uri);
    out.write(handshake.request());
    out.flush();
    handshake.check(readHeaders());
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
