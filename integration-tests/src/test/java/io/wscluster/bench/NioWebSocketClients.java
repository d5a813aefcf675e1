package io.wscluster.bench;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.StandardSocketOptions;
import java.net.URI;
import java.nio.ByteBuffer;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.locks.LockSupport;

/**
 * Many WebSocket client connections served by a few selector threads: the benchmark's load
 * generator, written on NIO so that receiving costs little more than the read system calls (no
 * per-message objects, no executor hand-offs). Connection {@code i} goes to URL
 * {@code i % urls.size()} and is read by thread {@code i % threads}.
 *
 * <p>Threads: each I/O thread reads its connections and hands every text message to its own
 * {@link TextHandler}, so a handler is only ever called by one thread. {@link Connection#send} may
 * be called from any thread (the publisher's); it is serialized per connection with the pongs and
 * the close reply the I/O thread writes.
 */
final class NioWebSocketClients implements AutoCloseable {
  /** What an I/O thread does with each text message; valid only during the call. */
  interface TextHandler {
    void onText(int client, byte[] data, int offset, int length, long nowMicros, long nowNanos);
  }

  private static final int CONNECT_BATCH = 100;
  private final List<Connection> connections = new ArrayList<>();
  private final List<IoThread> threads = new ArrayList<>();
  private final MicroClock clock;
  private final AtomicInteger closedByServer = new AtomicInteger();
  private final AtomicReference<String> firstFailure = new AtomicReference<>();
  private volatile boolean stopping;
  private volatile long firstFailureNanos;

  private NioWebSocketClients(MicroClock clock) {
    this.clock = clock;
  }

  /**
   * Opens {@code clients} connections and starts the I/O threads, the i-th with
   * {@code handlers.get(i)}. Upgrades go in batches: the requests of a batch are all sent before
   * its responses are read, so that the servers work on them at the same time.
   *
   * @throws IOException a connection or upgrade failed; whatever was opened is closed
   */
  static NioWebSocketClients connect(List<URI> urls, int clients, List<TextHandler> handlers,
      MicroClock clock) throws IOException {
    NioWebSocketClients c = new NioWebSocketClients(clock);
    try {
      for (int t = 0; t < handlers.size(); t++) {
        c.threads.add(c.new IoThread(t, handlers.get(t)));
      }
      for (int first = 0; first < clients; first += CONNECT_BATCH) {
        int end = Math.min(clients, first + CONNECT_BATCH);
        for (int i = first; i < end; i++) {
          c.connections.add(c.new Connection(i, c.threads.get(i % c.threads.size()),
              urls.get(i % urls.size())));
        }
        for (int i = first; i < end; i++) {
          c.connections.get(i).finishUpgrade();
        }
      }
    } catch (IOException | RuntimeException e) {
      c.close();
      throw e;
    }
    c.threads.forEach(Thread::start);
    return c;
  }

  Connection connection(int index) {
    return connections.get(index);
  }

  List<? extends Thread> threads() {
    return threads;
  }

  /**
   * Connections the server closed (at the TCP or WebSocket level, or with a protocol close that
   * {@link #disconnected} reported), or that failed, while the clients were not stopping.
   */
  int disconnects() {
    return closedByServer.get();
  }

  /**
   * The server ended {@code client}'s session inside the WebSocket (a socket.io disconnect or an
   * Engine.IO close packet): counted as a disconnect, and the connection is closed.
   */
  void disconnected(int client, String why) {
    connections.get(client).end(why);
  }

  /** Why the first of {@link #disconnects} ended, or null. */
  String firstFailure() {
    return firstFailure.get();
  }

  /** When ({@link System#nanoTime}) the first of {@link #disconnects} ended, or 0. */
  long firstFailureNanos() {
    return firstFailureNanos;
  }

  /** Stops the I/O threads (waiting for them) and closes every connection. Idempotent. */
  @Override
  public void close() {
    stopping = true;
    for (IoThread t : threads) {
      t.selector.wakeup();
    }
    for (IoThread t : threads) {
      if (t.isAlive()) {
        try {
          t.join(10_000);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
        }
      }
      try {
        t.selector.close();
      } catch (IOException e) {
        // closing anyway
      }
    }
    for (Connection conn : connections) {
      try {
        conn.channel.close();
      } catch (IOException e) {
        // closing anyway
      }
    }
  }

  private void failed(Connection conn, String why) {
    if (!stopping) {
      closedByServer.incrementAndGet();
      if (firstFailure.compareAndSet(null, "client " + conn.index + ": " + why)) {
        firstFailureNanos = System.nanoTime();
      }
    }
  }

  /** One client connection. */
  final class Connection implements FrameDecoder.Listener {
    final int index;
    private final IoThread io;
    private final SocketChannel channel;
    private final FrameDecoder decoder = new FrameDecoder(16 * 1024);
    private final URI uri;
    private final WebSocketHandshake handshake;
    /** Frames to write; guarded by this. */
    private ByteBuffer out = ByteBuffer.allocate(1024);
    private boolean open = true;

    /** Connects (blocking) and sends the upgrade request. */
    private Connection(int index, IoThread io, URI uri) throws IOException {
      this.index = index;
      this.io = io;
      this.uri = uri;
      this.handshake = new WebSocketHandshake(uri);
      this.channel = SocketChannel.open();
      try {
        channel.setOption(StandardSocketOptions.TCP_NODELAY, true);
        channel.connect(new InetSocketAddress(uri.getHost(), uri.getPort()));
        ByteBuffer request = ByteBuffer.wrap(handshake.request());
        while (request.hasRemaining()) {
          channel.write(request);
        }
      } catch (IOException | RuntimeException e) {
        channel.close();
        throw e;
      }
    }

    /**
     * Reads the upgrade response (blocking) and registers with the I/O thread's selector; frames
     * after the response stay in the decoder for the I/O thread.
     */
    private void finishUpgrade() throws IOException {
      ByteBuffer in = decoder.buffer();
      int head;
      while ((head = WebSocketHandshake.headLength(in.array(), in.position())) < 0) {
        if (channel.read(in) < 0) {
          throw new IOException("connection to " + uri + " closed during the upgrade");
        }
        in = decoder.buffer();
      }
      handshake.check(new String(in.array(), 0, head, StandardCharsets.US_ASCII));
      int rest = in.position() - head;
      System.arraycopy(in.array(), head, in.array(), 0, rest);
      in.position(rest);
      channel.configureBlocking(false);
      channel.register(io.selector, SelectionKey.OP_READ, this);
    }

    /**
     * Writes one whole frame (masked), waiting while the socket's send buffer is full. Throws when
     * the connection is closed.
     */
    synchronized void send(int opcode, byte[] payload, int offset, int length) throws IOException {
      if (!open) {
        throw new IOException("client " + index + " is closed");
      }
      if (out.capacity() < length + FrameEncoder.MAX_HEADER_BYTES) {
        out = ByteBuffer.allocate(length + FrameEncoder.MAX_HEADER_BYTES);
      }
      out.clear();
      FrameEncoder.write(out, opcode, payload, offset, length);
      out.flip();
      while (out.hasRemaining()) {
        if (channel.write(out) == 0) {
          LockSupport.parkNanos(20_000);
        }
      }
    }

    /** Called by the I/O thread when the channel is readable. */
    private void onReadable(long nowMicros, long nowNanos) {
      try {
        int n = channel.read(decoder.buffer());
        if (n < 0) {
          end("closed by the server without a close frame");
          return;
        }
        io.nowMicros = nowMicros;
        io.nowNanos = nowNanos;
        decoder.process(this);
      } catch (IOException e) {
        end(e.toString());
      }
    }

    @Override
    public void onText(byte[] data, int offset, int length) {
      io.handler.onText(index, data, offset, length, io.nowMicros, io.nowNanos);
    }

    @Override
    public void onPing(byte[] data, int offset, int length) {
      try {
        send(FrameDecoder.OP_PONG, data, offset, length);
      } catch (IOException e) {
        end("pong failed: " + e);
      }
    }

    @Override
    public void onClose(int code) {
      byte[] status = {(byte) (code >>> 8), (byte) code};
      try {
        send(FrameDecoder.OP_CLOSE, status, 0, code == 1005 ? 0 : 2);
      } catch (IOException e) {
        // ending anyway
      }
      end("closed by the server with status " + code);
    }

    private void end(String why) {
      synchronized (this) {
        if (!open) {
          return;
        }
        open = false;
      }
      failed(this, why);
      try {
        channel.close();
      } catch (IOException e) {
        // closed
      }
    }
  }

  /** One selector and the connections registered with it. */
  private final class IoThread extends Thread {
    final Selector selector;
    final TextHandler handler;
    /** The read time of the bytes being processed; confined to this thread. */
    long nowMicros;
    long nowNanos;

    IoThread(int index, TextHandler handler) throws IOException {
      super("fanout-io-" + index);
      setDaemon(true);
      this.selector = Selector.open();
      this.handler = handler;
    }

    @Override
    public void run() {
      try {
        // frames that arrived with an upgrade response
        for (SelectionKey key : selector.keys()) {
          Connection conn = (Connection) key.attachment();
          long now = System.nanoTime();
          conn.onReadable(clock.micros(now), now);
        }
        while (!stopping) {
          selector.select(key -> {
            long now = System.nanoTime();
            ((Connection) key.attachment()).onReadable(clock.micros(now), now);
          }, 1000);
        }
      } catch (IOException | RuntimeException e) {
        if (!stopping) {
          if (firstFailure.compareAndSet(null, getName() + " failed: " + e)) {
            firstFailureNanos = System.nanoTime();
          }
          closedByServer.incrementAndGet();
        }
      }
    }
  }
}
