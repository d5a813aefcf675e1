package io.wscluster.bench;

import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.BitSet;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.eclipse.jetty.websocket.api.Callback;
import org.eclipse.jetty.websocket.api.Session;
import org.eclipse.jetty.websocket.client.WebSocketClient;

/**
 * The "fanout" workload against running nodes' {@code /bench} endpoints: C clients connected
 * round-robin to the given URLs, client 0 (on the first URL) sends M JSON messages of about B
 * bytes at R per second; every client counts what it receives per message id. Prints one JSON
 * summary line: deliveries, duplicates, loss, latency percentiles and, when the node/Redis pids
 * are given, their CPU seconds per million deliveries (from /proc/&lt;pid&gt;/stat).
 *
 * <p>Run: {@code java -cp <test classpath> io.wscluster.bench.FanoutBench --urls
 * ws://127.0.0.1:8081/bench,ws://127.0.0.1:8082/bench --clients 300 --messages 20000 --rate 300
 * --bytes 200 [--pids 123,456]}
 */
public final class FanoutBench {
  private FanoutBench() {}

  /** One receiving client: what it saw, per message id. Public: Jetty invokes it reflectively. */
  public static final class Receiver implements Session.Listener.AutoDemanding {
    final BitSet seen;
    final AtomicLong received = new AtomicLong();
    final AtomicLong duplicates = new AtomicLong();
    final long[] latencyMicros;
    volatile Session session;

    Receiver(int messages) {
      seen = new BitSet(messages);
      latencyMicros = new long[messages];
    }

    @Override
    public void onWebSocketOpen(Session session) {
      this.session = session;
    }

    @Override
    public void onWebSocketError(Throwable cause) {
      // connections end when the run stops the client; loss is counted from what arrived
    }

    @Override
    public void onWebSocketText(String text) {
      long now = nowMicros();
      int id = (int) field(text, "\"id\":");
      long t = field(text, "\"t\":");
      synchronized (this) {
        if (seen.get(id)) {
          duplicates.incrementAndGet();
          return;
        }
        seen.set(id);
        latencyMicros[id] = now - t;
      }
      received.incrementAndGet();
    }
  }

  static long field(String text, String name) {
    int i = text.indexOf(name) + name.length();
    long v = 0;
    while (i < text.length() && Character.isDigit(text.charAt(i))) {
      v = v * 10 + (text.charAt(i++) - '0');
    }
    return v;
  }

  static long nowMicros() {
    java.time.Instant now = java.time.Instant.now();
    return now.getEpochSecond() * 1_000_000L + now.getNano() / 1000;
  }

  /** utime + stime of a process in clock ticks (100 per second on Linux). */
  static long cpuTicks(long pid) {
    try {
      String stat = Files.readString(Paths.get("/proc/" + pid + "/stat"));
      String[] f = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
      return Long.parseLong(f[11]) + Long.parseLong(f[12]);
    } catch (Exception e) {
      return 0;
    }
  }

  public static void main(String[] args) {
    try {
      run(args);
    } catch (Throwable t) {
      // the WebSocket client's threads would keep the JVM alive after a failure
      t.printStackTrace();
      System.exit(1);
    }
  }

  private static void run(String[] args) throws Exception {
    List<String> urls = List.of("ws://127.0.0.1:8081/bench");
    int clients = 300;
    int messages = 20_000;
    int rate = 300;
    int bytes = 200;
    long[] pids = new long[0];
    for (int i = 0; i < args.length; i++) {
      switch (args[i]) {
        case "--urls": urls = Arrays.asList(args[++i].split(",")); break;
        case "--clients": clients = Integer.parseInt(args[++i]); break;
        case "--messages": messages = Integer.parseInt(args[++i]); break;
        case "--rate": rate = Integer.parseInt(args[++i]); break;
        case "--bytes": bytes = Integer.parseInt(args[++i]); break;
        case "--pids":
          pids = Arrays.stream(args[++i].split(",")).mapToLong(Long::parseLong).toArray();
          break;
        default:
          System.err.println("unknown option " + args[i]);
          System.exit(2);
      }
    }
    WebSocketClient client = new WebSocketClient();
    client.setMaxTextMessageSize(1 << 20);
    client.start();
    List<Receiver> receivers = new ArrayList<>();
    for (int c = 0; c < clients; c++) {
      Receiver r = new Receiver(messages);
      client.connect(r, URI.create(urls.get(c % urls.size()))).get(10, TimeUnit.SECONDS);
      receivers.add(r);
    }
    Thread.sleep(500); // let every node register its sessions' room membership
    String pad = "x".repeat(Math.max(0, bytes - 40));
    long[] cpuBefore = Arrays.stream(pids).map(FanoutBench::cpuTicks).toArray();
    long selfBefore = cpuTicks(ProcessHandle.current().pid());
    long start = System.nanoTime();
    Session publisher = receivers.get(0).session;
    for (int id = 0; id < messages; id++) {
      long due = start + (long) (id * (1e9 / rate));
      long wait = due - System.nanoTime();
      if (wait > 0) {
        TimeUnit.NANOSECONDS.sleep(wait);
      }
      String text = "{\"id\":" + id + ",\"t\":" + nowMicros() + ",\"p\":\"" + pad + "\"}";
      Callback.Completable sent = new Callback.Completable();
      publisher.sendText(text, sent);
      sent.get(10, TimeUnit.SECONDS);
    }
    long sendNanos = System.nanoTime() - start;
    long expected = (long) messages * clients;
    long lastTotal = -1;
    long idleSince = System.nanoTime();
    while (true) {
      long total = receivers.stream().mapToLong(r -> r.received.get()).sum();
      if (total >= expected) {
        break;
      }
      if (total != lastTotal) {
        lastTotal = total;
        idleSince = System.nanoTime();
      } else if (System.nanoTime() - idleSince > TimeUnit.SECONDS.toNanos(10)) {
        break;
      }
      Thread.sleep(50);
    }
    Thread.sleep(1000); // late duplicates would arrive now
    long elapsedNanos = System.nanoTime() - start;
    long[] cpuAfter = Arrays.stream(pids).map(FanoutBench::cpuTicks).toArray();
    long selfTicks = cpuTicks(ProcessHandle.current().pid()) - selfBefore;
    long delivered = 0;
    long duplicates = 0;
    long[] all = new long[(int) Math.min(expected, Integer.MAX_VALUE - 8)];
    int n = 0;
    for (Receiver r : receivers) {
      synchronized (r) {
        delivered += r.received.get();
        duplicates += r.duplicates.get();
        for (int id = r.seen.nextSetBit(0); id >= 0; id = r.seen.nextSetBit(id + 1)) {
          all[n++] = r.latencyMicros[id];
        }
      }
    }
    Arrays.sort(all, 0, n);
    long serverTicks = 0;
    for (int i = 0; i < pids.length; i++) {
      serverTicks += cpuAfter[i] - cpuBefore[i];
    }
    double serverCpuSeconds = serverTicks / 100.0;
    String summary = String.format(Locale.ROOT,
        "{\"workload\":\"fanout\",\"nodes\":%d,\"clients\":%d,\"messages\":%d,\"rate\":%d,"
            + "\"bytes\":%d,\"expected\":%d,\"delivered\":%d,\"duplicates\":%d,\"lost\":%d,"
            + "\"deliveriesPerSec\":%.0f,\"sendSeconds\":%.2f,"
            + "\"latencyMs\":{\"p50\":%.2f,\"p90\":%.2f,\"p99\":%.2f,\"p999\":%.2f,\"max\":%.2f},"
            + "\"serverCpuSeconds\":%.2f,\"serverCpuSecondsPerMillionDeliveries\":%.2f,"
            + "\"loadGeneratorCpuSeconds\":%.2f,\"machine\":{\"cores\":%d,\"jdk\":\"%s\"}}",
        urls.size(), clients, messages, rate, bytes, expected, delivered, duplicates,
        expected - delivered, delivered / (elapsedNanos / 1e9), sendNanos / 1e9,
        pct(all, n, 50), pct(all, n, 90), pct(all, n, 99), pct(all, n, 99.9),
        n == 0 ? 0 : all[n - 1] / 1000.0, serverCpuSeconds,
        delivered == 0 ? 0 : serverCpuSeconds / (delivered / 1e6), selfTicks / 100.0,
        Runtime.getRuntime().availableProcessors(), System.getProperty("java.version"));
    System.out.println(summary);
    client.stop();
    System.exit(duplicates == 0 && delivered == expected ? 0 : 1);
  }

  private static double pct(long[] sorted, int n, double p) {
    if (n == 0) {
      return 0;
    }
    int i = (int) Math.min(n - 1, Math.ceil(p / 100.0 * n) - 1);
    return sorted[Math.max(0, i)] / 1000.0;
  }
}
