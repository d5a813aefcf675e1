package io.wscluster.bench;

import io.wscluster.it.Json;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.net.URI;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.locks.LockSupport;
import org.HdrHistogram.Histogram;

/**
 * One phase of the "fanout" workload against running nodes' {@code /bench} endpoints (see
 * bench/fanout.sh, which starts the nodes and merges the phases): C clients connected round-robin
 * to the given URLs; client 0 (on the first URL) publishes {@code {"id":n,"t":<epoch µs>,"p":"…"}}
 * texts of about B bytes, at R per second or, with {@code --rate max}, as fast as a window of W
 * messages not yet received by every client allows; every client records each id it receives.
 *
 * <p>First {@code --warmup} messages (default 2000: 7 s at 300/s, so that the nodes' JIT compilation is mostly over), then a pause until they have all arrived,
 * then the {@code --messages} measured ones. The warm-up counts for duplicates and loss, not for
 * latency, throughput or CPU. The measurement window starts when the first measured message is
 * due and ends when the last one reached every client (or nothing arrived for --idle-seconds,
 * default 10); a second later the duplicate and loss counts are taken.
 *
 * <p>The load generator is {@link NioWebSocketClients}: --threads (default 2) selector threads,
 * ids and send times parsed from the bytes, one bit per (client, id), one latency histogram per
 * thread. Its own CPU time and each of its threads' are reported so that a reader can see it was
 * not the bottleneck.
 *
 * <p>Disconnects: client connections the server closed or that failed during the phase (with
 * {@code --protocol socketio} also a socket.io "41" or Engine.IO "1" close); the clients never
 * reconnect, so a disconnected client loses the rest of the stream.
 *
 * <p>With {@code --outage-at S}: S seconds into the measured stream a thread runs
 * {@code --outage-kill} (bash -c; Redis dies), {@code --outage-seconds} later
 * {@code --outage-restart}, and takes the moment {@code --outage-redis} accepts a connection as
 * the restart; the report's {@code outage} holds what was sent while Redis was down, what was
 * lost before, during and after, and times from the restart (see {@link Outage#report}).
 *
 * <p>Prints one JSON line on stdout (the phase's figures) and one human line on stderr that
 * starts with "fanout "; exits 1 on any duplicate, loss or unexpected message, 2 on a bad command
 * line or a failure to connect.
 */
public final class FanoutBench {
  private FanoutBench() {}

  static final String USAGE = "options: --urls ws://h:p/bench,... [--phase cluster] "
      + "[--transport redis] [--clients 300] [--messages 20000] [--warmup 2000] "
      + "[--rate 300|max] [--window 100] [--bytes 200] [--threads 2] [--node-pids p,p,...] "
      + "[--redis-pid p[,p...]] [--idle-seconds 10] [--protocol ws|socketio] "
      + "[--outage-at S --outage-seconds D --outage-kill CMD --outage-restart CMD "
      + "--outage-redis host:port]";

  /** The command line, checked once. */
  static final class Options {
    List<URI> urls = List.of(URI.create("ws://127.0.0.1:8081/bench"));
    String phase = "cluster";
    String transport = "redis";
    int clients = 300;
    int messages = 20_000;
    int warmup = 2000;
    /** Messages per second; 0 for max. */
    int rate = 300;
    int window = 100;
    int bytes = 200;
    int threads = 2;
    /** "ws": the /bench protocol (plain text); "socketio": Engine.IO 4 / socket.io frames. */
    String protocol = "ws";
    long[] nodePids = new long[0];
    /** Redis server processes (several for a Redis Cluster): their CPU counts as the cluster's. */
    long[] redisPids = new long[0];
    int idleSeconds = 10;
    /** Seconds into the measured stream when Redis is killed; negative: no outage. */
    double outageAt = -1;
    double outageSeconds = 10;
    /** Shell commands (bash -c) that kill Redis at once and start it again. */
    String outageKill;
    String outageRestart;
    /** Where the restarted Redis listens: "restarted" is when it accepts a connection. */
    String outageRedis;

    static Options parse(String[] args) {
      Options o = new Options();
      for (int i = 0; i < args.length; i++) {
        String name = args[i];
        if (i + 1 >= args.length) {
          throw new IllegalArgumentException("option " + name + " needs a value");
        }
        String value = args[++i];
        switch (name) {
          case "--urls":
            o.urls = Arrays.stream(value.split(",")).map(URI::create).toList();
            break;
          case "--phase": o.phase = value; break;
          case "--transport": o.transport = value; break;
          case "--clients": o.clients = positive(name, value); break;
          case "--messages": o.messages = positive(name, value); break;
          case "--warmup": o.warmup = integer(name, value, 0); break;
          case "--rate": o.rate = value.equals("max") ? 0 : positive(name, value); break;
          case "--window": o.window = positive(name, value); break;
          case "--bytes": o.bytes = positive(name, value); break;
          case "--threads": o.threads = positive(name, value); break;
          case "--protocol": o.protocol = value; break;
          case "--node-pids":
            o.nodePids = Arrays.stream(value.split(",")).mapToLong(Long::parseLong).toArray();
            break;
          case "--redis-pid":
            o.redisPids = Arrays.stream(value.split(",")).mapToLong(Long::parseLong).toArray();
            break;
          case "--idle-seconds": o.idleSeconds = positive(name, value); break;
          case "--outage-at": o.outageAt = seconds(name, value); break;
          case "--outage-seconds": o.outageSeconds = seconds(name, value); break;
          case "--outage-kill": o.outageKill = value; break;
          case "--outage-restart": o.outageRestart = value; break;
          case "--outage-redis": o.outageRedis = value; break;
          default:
            throw new IllegalArgumentException("unknown option " + name);
        }
      }
      if (o.outageAt >= 0 && (o.outageKill == null || o.outageRestart == null
          || o.outageRedis == null || o.rate == 0)) {
        throw new IllegalArgumentException("--outage-at needs --outage-kill, --outage-restart, "
            + "--outage-redis and a fixed --rate");
      }
      return o;
    }

    private static double seconds(String name, String value) {
      try {
        double v = Double.parseDouble(value);
        if (v >= 0) {
          return v;
        }
      } catch (NumberFormatException e) {
        // reported below
      }
      throw new IllegalArgumentException("option " + name + " was '" + value
          + "', must be a number of seconds, at least 0");
    }

    private static int positive(String name, String value) {
      return integer(name, value, 1);
    }

    private static int integer(String name, String value, int min) {
      try {
        int v = Integer.parseInt(value);
        if (v >= min) {
          return v;
        }
      } catch (NumberFormatException e) {
        // reported below
      }
      throw new IllegalArgumentException("option " + name + " was '" + value
          + "', must be an integer of at least " + min);
    }
  }

  public static void main(String[] args) {
    Options options;
    try {
      options = Options.parse(args);
    } catch (IllegalArgumentException e) {
      System.err.println("FanoutBench: " + e.getMessage() + "\n" + USAGE);
      System.exit(2);
      return;
    }
    try {
      System.exit(run(options));
    } catch (Throwable t) {
      t.printStackTrace();
      System.exit(2);
    }
  }

  static int run(Options o) throws Exception {
    long fdLimit = ProcFs.openFilesLimit();
    if (fdLimit >= 0 && fdLimit < o.clients + 100L) {
      System.err.println("WARNING: open files limit " + fdLimit + " is below the "
          + (o.clients + 100) + " that " + o.clients + " clients need; raise it with ulimit -n");
    }
    int ids = o.warmup + o.messages;
    MicroClock clock = new MicroClock();
    FanoutRecorder recorder = new FanoutRecorder(o.clients, ids, o.warmup);
    if (o.outageAt >= 0) {
      recorder.trackTimes(o.urls.size());
    }
    List<NioWebSocketClients.TextHandler> handlers = new ArrayList<>();
    boolean socketIo = o.protocol.equals("socketio");
    AtomicReference<NioWebSocketClients> ref = new AtomicReference<>();
    java.util.concurrent.atomic.AtomicInteger joined = new java.util.concurrent.atomic.AtomicInteger();
    for (int t = 0; t < o.threads; t++) {
      NioWebSocketClients.TextHandler h = recorder.newWorker()::onText;
      handlers.add(!socketIo ? h : (client, data, off, len, micros, nanos) -> {
        // Engine.IO 4: "0{...}" open -> join the namespace ("40"); "2" ping -> "3" pong;
        // "40{...}" joined; "42[...]" an event, recorded like a /bench text; "41" the server
        // ended the socket.io session, "1" the Engine.IO session: both a disconnect
        if (len >= 2 && data[off] == '4' && data[off + 1] == '2') {
          h.onText(client, data, off, len, micros, nanos);
          return;
        }
        if ((len == 1 && data[off] == '1') || (len >= 2 && data[off] == '4' && data[off + 1] == '1')) {
          NioWebSocketClients c = ref.get();
          if (c != null) {
            c.disconnected(client, "the server sent \""
                + new String(data, off, Math.min(len, 40), java.nio.charset.StandardCharsets.UTF_8)
                + "\" (socket.io disconnect)");
          }
          return;
        }
        String reply = data[off] == '0' ? "40" : len == 1 && data[off] == '2' ? "3" : null;
        if (len >= 2 && data[off] == '4' && data[off + 1] == '0') {
          joined.incrementAndGet();
        }
        if (reply != null) {
          NioWebSocketClients c;
          while ((c = ref.get()) == null) {
            Thread.onSpinWait();
          }
          byte[] b = reply.getBytes(java.nio.charset.StandardCharsets.US_ASCII);
          try {
            c.connection(client).send(FrameDecoder.OP_TEXT, b, 0, b.length);
          } catch (java.io.IOException e) {
            // counted as an unexpected close by the clients
          }
        }
      });
    }
    long connectStart = System.nanoTime();
    NioWebSocketClients clients = NioWebSocketClients.connect(o.urls, o.clients, handlers, clock);
    ref.set(clients);
    double connectSeconds = (System.nanoTime() - connectStart) / 1e9;
    Thread.sleep(1000); // every node has registered its sessions in the room by now
    for (int i = 0; socketIo && joined.get() < o.clients && i < 200; i++) {
      Thread.sleep(100);
    }

    AtomicReference<Thread> publisherThread = new AtomicReference<>();
    ExecutorService publisherExecutor = Executors.newSingleThreadExecutor(r -> {
      Thread t = new Thread(r, "fanout-publisher");
      t.setDaemon(true);
      publisherThread.set(t);
      return t;
    });
    Publisher publisher = new Publisher(clients.connection(0), clock, recorder, o);
    List<Thread> generatorThreads = new ArrayList<>(clients.threads());
    // start the executor's thread now, so that it is measured from the window's start
    publisherExecutor.submit(() -> { }).get();
    generatorThreads.add(publisherThread.get());
    if (o.rate == 0) {
      recorder.waiter(publisherThread.get()); // the window opens as messages complete
    }

    Future<?> warm = publisherExecutor.submit(() -> publisher.send(0, o.warmup));
    boolean warmComplete = awaitCompleted(recorder, o.warmup, o.idleSeconds);
    if (!warmComplete) {
      // something was lost: a full window would never open again, and the run has failed anyway
      publisher.stop = true;
    }
    warm.get();

    Snapshot before = Snapshot.take(o, generatorThreads);
    Future<?> measured = publisherExecutor.submit(() -> publisher.send(o.warmup, ids));
    Outage outage = null;
    Thread outageThread = null;
    if (o.outageAt >= 0) {
      outage = new Outage(o, before.nanos);
      outageThread = new Thread(outage, "fanout-outage");
      outageThread.setDaemon(true);
      outageThread.start();
    }
    boolean complete = awaitCompleted(recorder, ids, o.idleSeconds);
    if (outageThread != null) {
      outageThread.join(); // a stream shorter than the outage waits for the restart
    }
    Snapshot after = Snapshot.take(o, generatorThreads);
    long lastDelivery = recorder.lastDeliveryNanos();
    Thread.sleep(1000); // late duplicates would arrive now
    publisher.stop = true;
    measured.cancel(true);
    publisherExecutor.shutdownNow();
    publisherExecutor.awaitTermination(5, TimeUnit.SECONDS);
    double[] peakRss = Arrays.stream(o.nodePids).mapToDouble(ProcFs::peakRssMib).toArray();
    List<Object> nodeCounters = nodeCounters(o.urls);
    clients.close(); // joins the I/O threads: their state is safe to read from here on

    Map<String, Object> report = report(o, recorder, before, after, lastDelivery, peakRss,
        clients, publisher, connectSeconds, warmComplete && complete);
    if (outage != null) {
      outage.firstDisconnectNanos = clients.firstFailureNanos();
      report.put("outage", outage.report(recorder, publisher, o));
      if (outage.failure != null) {
        @SuppressWarnings("unchecked")
        List<String> problems = (List<String>) report.get("problems");
        problems.add("outage: " + outage.failure);
      }
    }
    report.put("nodeCounters", nodeCounters);
    System.out.println(Json.write(report));
    System.out.flush();
    System.err.println(humanLine(report));
    boolean ok = recorder.duplicates() == 0 && recorder.lost() == 0 && recorder.unexpected() == 0;
    return ok ? 0 : 1;
  }

  /** The wscluster counters that locate a loss or a copy, as they are at the end of a run. */
  private static final List<String> NODE_COUNTERS = List.of("published", "framesPublished",
      "framesReceived", "envelopesReceived", "ownEchoes", "duplicates", "tooOld", "rejected",
      "dispatchFailed", "delivered", "sendFailed", "batchedFrames", "overflowDropped",
      "overflowClosed", "outageHeld", "outageReplayed", "probesMissed", "resubscribes",
      "chainGaps", "chainRecovered", "framesLost", "framesResent");

  /**
   * Per node (in the order of {@code urls}), the counters above from the demo's {@code /status}
   * (same host and port as the node's {@code /bench}); null for a node that did not answer, or
   * that is not a wscluster demo node (the peer).
   */
  private static List<Object> nodeCounters(List<URI> urls) {
    java.net.http.HttpClient http = java.net.http.HttpClient.newHttpClient();
    List<Object> out = new ArrayList<>();
    for (URI ws : urls) {
      Object counters = null;
      try {
        URI status = new URI("http", null, ws.getHost(), ws.getPort(), "/status", null, null);
        java.net.http.HttpResponse<String> r = http.send(java.net.http.HttpRequest.newBuilder(status)
            .timeout(java.time.Duration.ofSeconds(5)).build(),
            java.net.http.HttpResponse.BodyHandlers.ofString());
        if (r.statusCode() == 200 && Json.object(r.body()).get("stats") instanceof Map<?, ?> stats) {
          Map<String, Object> picked = new LinkedHashMap<>();
          for (String name : NODE_COUNTERS) {
            picked.put(name, stats.get(name));
          }
          counters = picked;
        }
      } catch (Exception | LinkageError e) {
        counters = null; // a report without them is still a report
      }
      out.add(counters);
    }
    return out;
  }

  /**
   * Waits until {@code target} messages have reached every client, or until nothing arrived for
   * {@code idleSeconds}; returns whether the target was reached.
   */
  private static boolean awaitCompleted(FanoutRecorder recorder, long target, int idleSeconds)
      throws InterruptedException {
    long last = -1;
    long idleSince = System.nanoTime();
    while (recorder.completedMessages() < target) {
      long delivered = recorder.delivered();
      if (delivered != last) {
        last = delivered;
        idleSince = System.nanoTime();
      } else if (System.nanoTime() - idleSince > TimeUnit.SECONDS.toNanos(idleSeconds)) {
        return false;
      }
      Thread.sleep(5);
    }
    return true;
  }

  /** Client 0's sender: builds each message in one reusable array and writes it. */
  static final class Publisher {
    private final NioWebSocketClients.Connection connection;
    private final MicroClock clock;
    private final FanoutRecorder recorder;
    private final int rate;
    private final int window;
    private final int bytes;
    private final byte[] buffer;
    volatile boolean stop;
    volatile String failure;

    Publisher(NioWebSocketClients.Connection connection, MicroClock clock,
        FanoutRecorder recorder, Options o) {
      this.connection = connection;
      this.clock = clock;
      this.recorder = recorder;
      this.rate = o.rate;
      this.window = o.window;
      this.bytes = o.bytes;
      this.buffer = new byte[o.bytes + 64];
      this.socketIo = o.protocol.equals("socketio");
      this.sentNanos = o.outageAt >= 0 ? new long[o.warmup + o.messages] : null;
    }

    private final boolean socketIo;
    /** With an outage: per id, when it was written ({@link System#nanoTime}), 0 if never. */
    final long[] sentNanos;

    /** Sends ids [from, to): on schedule at the rate, or within the window (rate max). */
    void send(int from, int to) {
      long start = System.nanoTime();
      for (int id = from; id < to && !stop; id++) {
        if (rate > 0) {
          long due = start + (long) ((id - from) * (1e9 / rate));
          for (long wait; (wait = due - System.nanoTime()) > 0 && !stop; ) {
            LockSupport.parkNanos(wait);
          }
        } else {
          // in flight: sent and not yet received by every client (ids complete about in order)
          while (id - recorder.completedMessages() >= window && !stop) {
            LockSupport.parkNanos(1_000_000);
          }
        }
        int length;
        if (socketIo) {
          int p = put(buffer, 0, "42[\"m\",");
          p = message(buffer, p, id, clock.nowMicros(), bytes);
          length = put(buffer, p, "]");
        } else {
          length = message(buffer, 0, id, clock.nowMicros(), bytes);
        }
        try {
          if (sentNanos != null) {
            sentNanos[id] = System.nanoTime();
          }
          connection.send(FrameDecoder.OP_TEXT, buffer, 0, length);
        } catch (java.io.IOException e) {
          failure = "publishing id " + id + ": " + e;
          return;
        }
      }
    }
  }

  /**
   * Writes {@code {"id":id,"t":micros,"p":"xx…"}} into {@code out}, padded to {@code bytes} in all
   * when the fields leave room; returns its length.
   */
  static int message(byte[] out, int id, long micros, int bytes) {
    return message(out, 0, id, micros, bytes);
  }

  /** As {@link #message(byte[], int, long, int)}, written from {@code at}; returns where it ends. */
  static int message(byte[] out, int at, int id, long micros, int bytes) {
    int p = put(out, at, "{\"id\":");
    p = putDigits(out, p, id);
    p = put(out, p, ",\"t\":");
    p = putDigits(out, p, micros);
    p = put(out, p, ",\"p\":\"");
    int pad = Math.max(0, bytes - p - 2);
    Arrays.fill(out, p, p + pad, (byte) 'x');
    p += pad;
    return put(out, p, "\"}");
  }

  private static int put(byte[] out, int at, String ascii) {
    for (int i = 0; i < ascii.length(); i++) {
      out[at + i] = (byte) ascii.charAt(i);
    }
    return at + ascii.length();
  }

  private static int putDigits(byte[] out, int at, long v) {
    int n = 1;
    for (long x = v; x >= 10; x /= 10) {
      n++;
    }
    for (int i = at + n - 1; i >= at; i--) {
      out[i] = (byte) ('0' + v % 10);
      v /= 10;
    }
    return at + n;
  }

  /** CPU times at one instant: the servers', this process's and its threads', the machine's. */
  static final class Snapshot {
    long nanos;
    long[] nodeTicks;
    long[] redisTicks;
    long selfCpuNanos;
    long[] threadCpuNanos;
    long[] machine;

    static Snapshot take(Options o, List<Thread> threads) {
      Snapshot s = new Snapshot();
      s.nanos = System.nanoTime();
      s.nodeTicks = Arrays.stream(o.nodePids).map(ProcFs::cpuTicks).toArray();
      s.redisTicks = Arrays.stream(o.redisPids).map(ProcFs::cpuTicks).toArray();
      s.selfCpuNanos = ((com.sun.management.OperatingSystemMXBean)
          ManagementFactory.getOperatingSystemMXBean()).getProcessCpuTime();
      ThreadMXBean mx = ManagementFactory.getThreadMXBean();
      s.threadCpuNanos = threads.stream().mapToLong(t -> mx.getThreadCpuTime(t.getId())).toArray();
      s.machine = ProcFs.machineTicks();
      return s;
    }
  }

  private static Map<String, Object> report(Options o, FanoutRecorder recorder, Snapshot before,
      Snapshot after, long lastDelivery, double[] peakRss, NioWebSocketClients clients,
      Publisher publisher, double connectSeconds, boolean complete) {
    long measuredDeliveries = recorder.measuredDelivered();
    double windowSeconds = (after.nanos - before.nanos) / 1e9;
    double measuredSeconds = lastDelivery - before.nanos > 0
        ? (lastDelivery - before.nanos) / 1e9 : windowSeconds;
    Double nodeCpu = cpuSeconds(before.nodeTicks, after.nodeTicks);
    boolean redis = o.redisPids.length > 0;
    Double redisCpu = redis ? cpuSeconds(before.redisTicks, after.redisTicks) : null;
    // null when a process could not be read (it died): no CPU figure rather than a wrong one
    Double serverCpu = nodeCpu == null || (redis && redisCpu == null) ? null
        : nodeCpu + (redisCpu == null ? 0 : redisCpu);
    int cores = Runtime.getRuntime().availableProcessors();
    double selfCpu = (after.selfCpuNanos - before.selfCpuNanos) / 1e9;

    Map<String, Object> generator = new LinkedHashMap<>();
    generator.put("cpuSeconds", round(selfCpu, 2));
    generator.put("cores", round(selfCpu / windowSeconds, 3));
    generator.put("machineShare", round(selfCpu / windowSeconds / cores, 3));
    generator.put("cpuSecondsPerMillionDeliveries",
        measuredDeliveries == 0 ? null : round(selfCpu / (measuredDeliveries / 1e6), 3));
    Map<String, Object> threadShares = new LinkedHashMap<>();
    String busiest = null;
    double busiestShare = -1;
    List<String> names = new ArrayList<>();
    clients.threads().forEach(t -> names.add(t.getName()));
    names.add("fanout-publisher");
    for (int i = 0; i < names.size(); i++) {
      double share = (after.threadCpuNanos[i] - before.threadCpuNanos[i]) / 1e9 / windowSeconds;
      threadShares.put(names.get(i), round(share, 3));
      if (share > busiestShare) {
        busiestShare = share;
        busiest = names.get(i);
      }
    }
    generator.put("busiestThread", busiest);
    generator.put("busiestThreadShare", round(busiestShare, 3));
    generator.put("threadShares", threadShares);

    Histogram latency = recorder.latency();
    Map<String, Object> latencyMs = new LinkedHashMap<>();
    latencyMs.put("p50", round(latency.getValueAtPercentile(50) / 1000.0, 3));
    latencyMs.put("p90", round(latency.getValueAtPercentile(90) / 1000.0, 3));
    latencyMs.put("p99", round(latency.getValueAtPercentile(99) / 1000.0, 3));
    latencyMs.put("p999", round(latency.getValueAtPercentile(99.9) / 1000.0, 3));
    latencyMs.put("max", round(latency.getMaxValue() / 1000.0, 3));

    Map<String, Object> r = new LinkedHashMap<>();
    r.put("phase", o.phase);
    r.put("nodes", o.urls.size());
    r.put("transport", o.transport);
    r.put("clients", o.clients);
    r.put("messages", o.messages);
    r.put("warmup", o.warmup);
    r.put("rate", o.rate == 0 ? "max" : o.rate);
    r.put("window", o.rate == 0 ? o.window : null);
    r.put("bytes", o.bytes);
    r.put("threads", o.threads);
    r.put("expected", recorder.expected());
    r.put("delivered", recorder.delivered());
    r.put("duplicates", recorder.duplicates());
    r.put("lost", recorder.lost());
    r.put("unexpected", recorder.unexpected());
    r.put("protocol", o.protocol);
    r.put("disconnects", clients.disconnects());
    r.put("complete", complete);
    r.put("measuredDeliveries", measuredDeliveries);
    r.put("measuredSeconds", round(measuredSeconds, 2));
    r.put("deliveriesPerSec", round(measuredDeliveries / measuredSeconds, 0));
    r.put("latencyMs", latencyMs);
    r.put("serverCpuSeconds", serverCpu == null ? null : round(serverCpu, 2));
    r.put("nodeCpuSeconds", nodeCpu == null ? null : round(nodeCpu, 2));
    r.put("redisCpuSeconds", redisCpu == null ? null : round(redisCpu, 2));
    r.put("serverCpuSecondsPerMillionDeliveries", serverCpu == null || measuredDeliveries == 0
        ? null : round(serverCpu / (measuredDeliveries / 1e6), 3));
    r.put("peakRssMib", Arrays.stream(peakRss).mapToObj(v -> v < 0 ? null : round(v, 0)).toList());
    r.put("loadGenerator", generator);
    if (before.machine != null && after.machine != null) {
      double busy = (after.machine[0] - before.machine[0]) / ProcFs.TICKS_PER_SECOND;
      double total = (after.machine[1] - before.machine[1]) / ProcFs.TICKS_PER_SECOND;
      r.put("machineBusyShare", round(busy / total, 3));
      // everything else that ran meanwhile: other users of this machine, the kernel's own work
      r.put("otherCpuSeconds", serverCpu == null ? null
          : round(Math.max(0, busy - serverCpu - selfCpu), 2));
    }
    r.put("cpuWindowSeconds", round(windowSeconds, 2));
    r.put("connectSeconds", round(connectSeconds, 2));
    List<String> problems = new ArrayList<>();
    recorder.duplicateList().forEach(d -> problems.add("duplicate: " + d));
    recorder.lostList().forEach(l -> problems.add("lost: " + l));
    if (clients.firstFailure() != null) {
      problems.add("connection: " + clients.firstFailure());
    }
    if (publisher.failure != null) {
      problems.add("publisher: " + publisher.failure);
    }
    if (!complete) {
      problems.add("incomplete: nothing arrived for " + o.idleSeconds + " s, the run stopped");
    }
    r.put("problems", problems);
    r.put("machine", ProcFs.machine());
    return r;
  }

  /**
   * The outage: {@code --outage-at} seconds after the measured stream started, runs the kill
   * command (Redis dies at once: kill -9), waits {@code --outage-seconds} from the kill, runs the
   * restart command, and takes "restarted" as the moment the new Redis accepts a TCP connection.
   */
  static final class Outage implements Runnable {
    private final Options o;
    private final long streamStart;
    volatile long killNanos;
    volatile long restartNanos;
    volatile String failure;
    /** When the first client connection ended ({@link NioWebSocketClients#firstFailureNanos}). */
    long firstDisconnectNanos;

    Outage(Options o, long streamStart) {
      this.o = o;
      this.streamStart = streamStart;
    }

    @Override
    public void run() {
      try {
        sleepUntil(streamStart + (long) (o.outageAt * 1e9));
        shell(o.outageKill);
        killNanos = System.nanoTime(); // kill -9 has taken effect when the command returns
        sleepUntil(killNanos + (long) (o.outageSeconds * 1e9));
        shell(o.outageRestart);
        String[] hostPort = o.outageRedis.split(":");
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (true) {
          try (java.net.Socket s = new java.net.Socket()) {
            s.connect(new java.net.InetSocketAddress(hostPort[0], Integer.parseInt(hostPort[1])), 1000);
            restartNanos = System.nanoTime();
            return;
          } catch (java.io.IOException e) {
            if (System.nanoTime() > deadline) {
              throw new java.io.IOException("Redis at " + o.outageRedis + " not back after 30 s", e);
            }
            Thread.sleep(2);
          }
        }
      } catch (Exception e) {
        failure = e.toString();
      }
    }

    private static void sleepUntil(long nanos) throws InterruptedException {
      for (long wait; (wait = nanos - System.nanoTime()) > 0; ) {
        TimeUnit.NANOSECONDS.sleep(wait);
      }
    }

    private static void shell(String command) throws Exception {
      Process p = new ProcessBuilder("bash", "-c", command)
          .redirectOutput(ProcessBuilder.Redirect.DISCARD)
          .redirectError(ProcessBuilder.Redirect.INHERIT).start();
      if (!p.waitFor(30, TimeUnit.SECONDS) || p.exitValue() != 0) {
        p.destroyForcibly();
        throw new java.io.IOException("'" + command + "' failed");
      }
    }

    /**
     * After the run: what was sent while Redis was down, what of it and of the rest was lost, and
     * the times from the restart (ms): {@code heldFlowingMs} until a message sent during the outage
     * first reached a client of another node than the publisher's; {@code allDeliveredMs} until
     * every message sent before the restart had reached every client (null: some never did);
     * {@code newMessagesWholeMs} until the first message sent after the restart had reached every
     * client (null: none did).
     */
    Map<String, Object> report(FanoutRecorder recorder, Publisher publisher, Options o) {
      Map<String, Object> r = new LinkedHashMap<>();
      r.put("atSeconds", o.outageAt);
      r.put("downSeconds", o.outageSeconds);
      long kill = killNanos;
      long restart = restartNanos;
      if (kill == 0 || restart == 0) {
        r.put("failure", failure == null ? "the outage did not happen (stream too short?)" : failure);
        return r;
      }
      r.put("restartAfterKillMs", round((restart - kill) / 1e6, 1));
      int ids = o.warmup + o.messages;
      long[] sent = publisher.sentNanos;
      int firstOut = o.warmup;
      while (firstOut < ids && sent[firstOut] != 0 && sent[firstOut] - kill < 0) {
        firstOut++;
      }
      int firstAfter = firstOut;
      while (firstAfter < ids && sent[firstAfter] != 0 && sent[firstAfter] - restart < 0) {
        firstAfter++;
      }
      r.put("sentDuringOutage", firstAfter - firstOut);
      r.put("firstIdDuringOutage", firstOut);
      r.put("lostBefore", recorder.missing(o.warmup, firstOut));
      r.put("lostDuring", recorder.missing(firstOut, firstAfter));
      r.put("lostAfter", recorder.missing(firstAfter, ids));
      r.put("heldFlowingMs", sinceRestart(earliest(recorder::firstRemoteNanos, firstOut, firstAfter)));
      long all = restart;
      for (int id = o.warmup; id < firstAfter && all != 0; id++) {
        long t = recorder.completedNanos(id);
        all = t == 0 ? 0 : t - all > 0 ? t : all;
      }
      r.put("allDeliveredMs", sinceRestart(all));
      r.put("newMessagesWholeMs", sinceRestart(earliest(recorder::completedNanos, firstAfter, ids)));
      r.put("firstDisconnectMs", sinceRestart(firstDisconnectNanos));
      return r;
    }

    /** Milliseconds from the restart to {@code nanos} ({@link System#nanoTime}); null for 0. */
    private Number sinceRestart(long nanos) {
      return nanos == 0 ? null : round((nanos - restartNanos) / 1e6, 1);
    }

    /** The earliest non-zero time of ids [from, to), or 0. */
    private static long earliest(java.util.function.IntToLongFunction time, int from, int to) {
      long earliest = 0;
      for (int id = from; id < to; id++) {
        long t = time.applyAsLong(id);
        if (t != 0 && (earliest == 0 || t - earliest < 0)) {
          earliest = t;
        }
      }
      return earliest;
    }
  }

  /** The CPU seconds between two tick readings of the same processes; null if one is missing. */
  private static Double cpuSeconds(long[] before, long[] after) {
    double sum = 0;
    for (int i = 0; i < before.length; i++) {
      if (before[i] < 0 || after[i] < 0) {
        return null;
      }
      sum += (after[i] - before[i]) / ProcFs.TICKS_PER_SECOND;
    }
    return sum;
  }

  private static String humanLine(Map<String, Object> r) {
    @SuppressWarnings("unchecked")
    Map<String, Object> lat = (Map<String, Object>) r.get("latencyMs");
    @SuppressWarnings("unchecked")
    Map<String, Object> gen = (Map<String, Object>) r.get("loadGenerator");
    return String.format(Locale.ROOT, "fanout %s: %d of %d delivered, %d duplicates, %d lost,"
        + " %s disconnects; %s deliveries/s; p50 %s ms, p99 %s ms; server %s CPU-s per 1M deliveries;"
        + " generator %s cores, busiest thread %s of wall", r.get("phase"), r.get("delivered"),
        r.get("expected"), r.get("duplicates"), r.get("lost"), r.get("disconnects"),
        r.get("deliveriesPerSec"),
        lat.get("p50"), lat.get("p99"), r.get("serverCpuSecondsPerMillionDeliveries"),
        gen.get("cores"), gen.get("busiestThreadShare"));
  }

  /**
   * {@code v} to {@code digits} decimals (a whole number for 0); null for NaN and infinities
   * (JSON has neither).
   */
  static Number round(double v, int digits) {
    if (Double.isNaN(v) || Double.isInfinite(v)) {
      return null;
    }
    if (digits == 0) {
      return Math.round(v);
    }
    double scale = Math.pow(10, digits);
    return Math.round(v * scale) / scale;
  }
}
