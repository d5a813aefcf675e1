package io.wscluster.bench;

import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.net.InetSocketAddress;
import java.net.StandardSocketOptions;
import java.nio.ByteBuffer;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.util.Locale;
import java.util.concurrent.locks.LockSupport;

/**
 * The machine's floor for the fan-out workload: the CPU one delivery costs when a server does
 * nothing but write a ready-made WebSocket text frame of the workload's size to a loopback TCP
 * socket (one {@code write} per delivery, as every server must when messages to one client are
 * not bunched), at the workload's pace: R messages per second, each written to all C sockets,
 * read by 2 selector threads as a load generator would. No Jetty, no Redis, no wscluster. A
 * server's CPU per delivery divided by this is how far it is from what the machine allows.
 *
 * <p>Prints one JSON line. Run: {@code java -cp integration-tests/target/test-classes
 * io.wscluster.bench.LoopbackFloor [--clients 300] [--rate 300] [--bytes 200] [--seconds 10]}
 */
public final class LoopbackFloor {
  private LoopbackFloor() {}

  public static void main(String[] args) throws Exception {
    int clients = 300;
    int rate = 300;
    int bytes = 200;
    int seconds = 10;
    for (int i = 0; i < args.length; i++) {
      switch (args[i]) {
        case "--clients": clients = Integer.parseInt(args[++i]); break;
        case "--rate": rate = Integer.parseInt(args[++i]); break;
        case "--bytes": bytes = Integer.parseInt(args[++i]); break;
        case "--seconds": seconds = Integer.parseInt(args[++i]); break;
        default:
          System.err.println("unknown option " + args[i]);
          System.exit(2);
      }
    }
    System.out.println(run(clients, rate, bytes, seconds));
  }

  /** Measures; returns the JSON line. */
  static String run(int clients, int rate, int bytes, int seconds) throws Exception {
    ThreadMXBean threads = ManagementFactory.getThreadMXBean();
    // a server-to-client text frame: FIN + opcode 1, 16-bit length when over 125 bytes, unmasked
    ByteBuffer frame = ByteBuffer.allocateDirect(bytes + 4);
    frame.put((byte) 0x81);
    if (bytes <= 125) {
      frame.put((byte) bytes);
    } else {
      frame.put((byte) 126).putShort((short) bytes);
    }
    while (frame.hasRemaining()) {
      frame.put((byte) 'x');
    }
    frame.flip();
    int frameBytes = frame.remaining();

    SocketChannel[] servers = new SocketChannel[clients];
    Selector[] selectors = {Selector.open(), Selector.open()};
    try (ServerSocketChannel listener = ServerSocketChannel.open()) {
      listener.bind(new InetSocketAddress("127.0.0.1", 0));
      for (int c = 0; c < clients; c++) {
        SocketChannel client = SocketChannel.open(listener.getLocalAddress());
        client.configureBlocking(false);
        client.register(selectors[c % 2], SelectionKey.OP_READ);
        servers[c] = listener.accept();
        servers[c].setOption(StandardSocketOptions.TCP_NODELAY, true); // as Jetty's connectors
      }
    }
    long[] readerCpu = new long[2];
    long[] received = new long[2];
    Thread[] readers = new Thread[2];
    for (int t = 0; t < 2; t++) {
      int me = t;
      readers[t] = new Thread(() -> {
        ByteBuffer in = ByteBuffer.allocateDirect(1 << 16);
        try {
          while (!Thread.currentThread().isInterrupted()) {
            selectors[me].select(100);
            for (SelectionKey k : selectors[me].selectedKeys()) {
              in.clear();
              int n = ((SocketChannel) k.channel()).read(in);
              if (n > 0) {
                received[me] += n;
              }
            }
            selectors[me].selectedKeys().clear();
          }
        } catch (Exception e) {
          // closed at the end
        }
        readerCpu[me] = threads.getCurrentThreadCpuTime();
      }, "floor-reader-" + t);
      readers[t].start();
    }

    long messages = (long) rate * seconds;
    long start = System.nanoTime();
    long cpuBefore = threads.getCurrentThreadCpuTime();
    for (long m = 0; m < messages; m++) {
      long due = start + m * 1_000_000_000L / rate;
      long wait;
      while ((wait = due - System.nanoTime()) > 0) {
        LockSupport.parkNanos(wait);
      }
      for (SocketChannel s : servers) {
        ByteBuffer b = frame.duplicate();
        while (b.hasRemaining()) {
          s.write(b);
        }
      }
    }
    long writerCpu = threads.getCurrentThreadCpuTime() - cpuBefore;
    long wall = System.nanoTime() - start;
    long writes = messages * clients;
    long deadline = System.nanoTime() + 5_000_000_000L;
    while (received[0] + received[1] < writes * frameBytes && System.nanoTime() < deadline) {
      Thread.sleep(20);
    }
    for (Thread r : readers) {
      r.interrupt();
      r.join();
    }
    for (SocketChannel s : servers) {
      s.close();
    }
    for (Selector s : selectors) {
      s.close();
    }
    return String.format(Locale.ROOT, "{\"workload\":\"loopback-floor\",\"clients\":%d,\"rate\":%d,"
            + "\"bytes\":%d,\"writes\":%d,\"wallSeconds\":%.1f,"
            + "\"writerCpuMicrosPerWrite\":%.2f,\"readerCpuMicrosPerWrite\":%.2f,"
            + "\"machine\":{\"cores\":%d,\"jdk\":\"%s\"}}",
        clients, rate, bytes, writes, wall / 1e9, writerCpu / 1e3 / writes,
        (readerCpu[0] + readerCpu[1]) / 1e3 / writes,
        Runtime.getRuntime().availableProcessors(), System.getProperty("java.version"));
  }
}
