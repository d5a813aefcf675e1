package io.wscluster.it;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A raw RESP connection that {@code PSUBSCRIBE}s to a pattern and records every message (channel + payload bytes,
 * verbatim) so that tests can publish captured frames again. One reader thread, named {@code it-capture-<port>}
 * (deliberately not {@code wscluster-*} / {@code redisson-*}).
 */
final class RedisCapture implements AutoCloseable {

  /** One message as Redis delivered it. */
  record Captured(String channel, byte[] payload) {
  }

  private static final Logger LOG = LoggerFactory.getLogger(RedisCapture.class);

  private final RespConnection connection;
  private final List<Captured> messages = new ArrayList<>();
  private final Thread reader;
  private volatile boolean closed;

  private RedisCapture(RespConnection connection, int port) {
    this.connection = connection;
    this.reader = new Thread(this::readLoop, "it-capture-" + port);
    this.reader.setDaemon(true);
  }

  static RedisCapture open(int port, String pattern) throws IOException {
    RespConnection c = new RespConnection("127.0.0.1", port, 2_000);
    try {
      c.setReadTimeout(10_000);
      c.send("PSUBSCRIBE", pattern);
      Object confirmation = c.read();
      if (!(confirmation instanceof List<?> l) || !"psubscribe".equals(RespConnection.render(l.get(0)))) {
        throw new IOException("unexpected PSUBSCRIBE reply " + RespConnection.render(confirmation));
      }
      c.setReadTimeout(0);
    } catch (IOException | RuntimeException e) {
      c.close();
      throw e;
    }
    RedisCapture capture = new RedisCapture(c, port);
    capture.reader.start();
    return capture;
  }

  private void readLoop() {
    try {
      while (!closed) {
        Object reply = connection.read();
        if (reply instanceof List<?> l && l.size() == 4 && "pmessage".equals(RespConnection.render(l.get(0)))) {
          String channel = new String((byte[]) l.get(2), StandardCharsets.UTF_8);
          synchronized (messages) {
            messages.add(new Captured(channel, (byte[]) l.get(3)));
          }
        } else {
          LOG.warn("capture ignored a reply: {}", RespConnection.render(reply));
        }
      }
    } catch (IOException e) {
      if (!closed) {
        LOG.warn("capture connection failed", e);
      }
    }
  }

  /** A snapshot of everything captured so far, in arrival order. */
  List<Captured> messages() {
    synchronized (messages) {
      return List.copyOf(messages);
    }
  }

  int size() {
    synchronized (messages) {
      return messages.size();
    }
  }

  /** Closes the connection (Redis drops the subscription) and waits for the reader thread. */
  @Override
  public void close() {
    closed = true;
    connection.close();
    try {
      reader.join(5_000);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
