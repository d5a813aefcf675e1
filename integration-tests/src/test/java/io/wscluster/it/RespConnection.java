package io.wscluster.it;

import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.ByteArrayOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * A minimal, binary-safe RESP2 connection over a plain socket. The tests use it instead of Redisson so that the
 * test JVM creates no {@code redisson-*} threads of its own (the redeploy test counts those).
 *
 * <p>Replies: simple string → {@link String}, error → {@link RespError} (returned, not thrown, by {@link #read()};
 * thrown by {@link #command}), integer → {@link Long}, bulk string → {@code byte[]} (or {@code null}), array →
 * {@code List<Object>} (or {@code null}).
 *
 * <p>Not thread-safe: one caller at a time (the subscriber uses it from its single reader thread after SUBSCRIBE).
 */
final class RespConnection implements AutoCloseable {

  /** A Redis error reply. */
  static final class RespError extends RuntimeException {
    RespError(String message) {
      super(message);
    }
  }

  private final Socket socket;
  private final InputStream in;
  private final OutputStream out;

  RespConnection(String host, int port, int connectTimeoutMillis) throws IOException {
    socket = new Socket();
    socket.setTcpNoDelay(true);
    socket.connect(new InetSocketAddress(host, port), connectTimeoutMillis);
    in = new BufferedInputStream(socket.getInputStream(), 64 * 1024);
    out = new BufferedOutputStream(socket.getOutputStream(), 64 * 1024);
  }

  /** Sets the read timeout in milliseconds (0 = infinite). */
  void setReadTimeout(int millis) throws IOException {
    socket.setSoTimeout(millis);
  }

  /** Sends one command; each argument is a {@code String} (UTF-8) or a {@code byte[]} (sent verbatim). */
  void send(Object... args) throws IOException {
    out.write(('*' + Integer.toString(args.length) + "\r\n").getBytes(StandardCharsets.US_ASCII));
    for (Object arg : args) {
      byte[] bytes;
      if (arg instanceof byte[] b) {
        bytes = b;
      } else if (arg instanceof String s) {
        bytes = s.getBytes(StandardCharsets.UTF_8);
      } else if (arg instanceof Number n) {
        bytes = n.toString().getBytes(StandardCharsets.US_ASCII);
      } else {
        throw new IllegalArgumentException("RESP argument must be String, byte[] or Number: " + arg);
      }
      out.write(('$' + Integer.toString(bytes.length) + "\r\n").getBytes(StandardCharsets.US_ASCII));
      out.write(bytes);
      out.write('\r');
      out.write('\n');
    }
    out.flush();
  }

  /** Sends a command and reads its reply; an error reply is thrown as {@link RespError}. */
  Object command(Object... args) throws IOException {
    send(args);
    Object reply = read();
    if (reply instanceof RespError e) {
      throw new RespError(e.getMessage() + " (command " + String.valueOf(args[0]) + ")");
    }
    return reply;
  }

  /** Reads one reply. */
  Object read() throws IOException {
    int type = in.read();
    if (type < 0) {
      throw new EOFException("Redis closed the connection");
    }
    String line = readLine();
    switch (type) {
      case '+':
        return line;
      case '-':
        return new RespError(line);
      case ':':
        return Long.parseLong(line);
      case '$': {
        int len = Integer.parseInt(line);
        if (len < 0) {
          return null;
        }
        byte[] data = in.readNBytes(len);
        if (data.length != len) {
          throw new EOFException("short bulk string");
        }
        expectCrlf();
        return data;
      }
      case '*': {
        int n = Integer.parseInt(line);
        if (n < 0) {
          return null;
        }
        List<Object> items = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
          items.add(read());
        }
        return items;
      }
      default:
        throw new IOException("unexpected RESP type byte '" + (char) type + "' followed by " + line);
    }
  }

  private String readLine() throws IOException {
    ByteArrayOutputStream buf = new ByteArrayOutputStream(32);
    while (true) {
      int b = in.read();
      if (b < 0) {
        throw new EOFException("Redis closed the connection");
      }
      if (b == '\r') {
        int lf = in.read();
        if (lf != '\n') {
          throw new IOException("expected LF after CR");
        }
        return buf.toString(StandardCharsets.UTF_8);
      }
      buf.write(b);
    }
  }

  private void expectCrlf() throws IOException {
    if (in.read() != '\r' || in.read() != '\n') {
      throw new IOException("expected CRLF after bulk string");
    }
  }

  /** Renders a reply for messages: bulk strings as UTF-8 text. */
  static String render(Object reply) {
    if (reply instanceof byte[] b) {
      return new String(b, StandardCharsets.UTF_8);
    }
    if (reply instanceof List<?> list) {
      List<String> parts = new ArrayList<>();
      for (Object o : list) {
        parts.add(render(o));
      }
      return parts.toString();
    }
    return String.valueOf(reply);
  }

  @Override
  public void close() {
    try {
      socket.close();
    } catch (IOException ignored) {
      // closing
    }
  }
}
