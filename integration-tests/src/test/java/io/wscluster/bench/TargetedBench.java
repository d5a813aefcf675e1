package io.wscluster.bench;

import java.net.URI;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicIntegerArray;
import java.util.concurrent.atomic.AtomicLong;
import org.eclipse.jetty.client.CompletableResponseListener;
import org.eclipse.jetty.client.ContentResponse;
import org.eclipse.jetty.client.HttpClient;
import org.eclipse.jetty.util.thread.QueuedThreadPool;
import org.eclipse.jetty.websocket.api.Callback;
import org.eclipse.jetty.websocket.api.Session;
import org.eclipse.jetty.websocket.client.WebSocketClient;

/**
 * The "targeted" workload against running nodes' {@code /chat/{room}} endpoints: send one message
 * to one session anywhere in the cluster and wait until the owner confirms the write.
 *
 * <p>N target chat clients connect round-robin to the given nodes ({@code /chat/bench?user=u<i>},
 * at most --connect-window connects in flight) and record their cluster session id from the
 * welcome frame. A driver chat client on the first node then issues requests to uniformly random
 * targets, at most --window in flight, in two modes, measured in the same invocation in
 * alternating blocks (--rounds, default 4: ours then fetchSockets, fetchSockets then ours, ...),
 * after an unmeasured warm-up (--warmup) of both:
 *
 * <ul>
 *   <li>{@code ours}: {@code {"op":"deliver","sessions":[sid],"text":k,"id":k}} and wait for the
 *       {@code receipt} (wscluster finds the owner in its directory and routes to its channel).
 *   <li>{@code fetchSockets}: the seed's approach (socket.io's {@code fetchSockets()} then find by
 *       id, then emit): ask EVERY node for its sessions ({@code GET /sessions} on all nodes in
 *       parallel, each answering its full local list as a JSON array), parse every answer, search
 *       them for sid, check it is on the node it was connected to, then send the same
 *       {@code deliver} and wait for the receipt. Latency is find + deliver.
 * </ul>
 *
 * <p>Throughput of a mode is its requests over the time its blocks took, with at most --window
 * (default 16) requests in flight. Latency is request sent to reply received, measured in this
 * process with {@link System#nanoTime}. Errors: {@code deliveryError}/{@code error} replies, a
 * receipt naming a failure, a session not found (or found on the wrong node), a failed listing, no
 * reply within --timeout. Every target counts the messages it receives per request id: a request
 * delivered more than once is a duplicate, a receipted request its target never received is lost,
 * a message arriving at a session that was not its target is misrouted.
 *
 * <p>Prints a short table, then one JSON summary line (the last line of stdout); exits 1 when
 * anything was lost, duplicated, misrouted or failed. The message ids are strings because the demo
 * protocol only accepts strings, booleans and arrays of strings.
 *
 * <p>Run (see bench/targeted.sh, which also starts the nodes): {@code java -cp <test classpath>
 * io.wscluster.bench.TargetedBench --urls
 * http://127.0.0.1:8081,http://127.0.0.1:8082,http://127.0.0.1:8083 --sessions 1000 --requests
 * 2000 --window 16}
 */
public final class TargetedBench {
  private TargetedBench() {}

  private static final String ROOM = "bench";

  /** One chat client: a target, or the driver. Public: Jetty invokes it reflectively. */
  public static final class Chat implements Session.Listener.AutoDemanding {
    final int index; // -1 for the driver
    final TargetedBench.State state;
    final CompletableFuture<String> welcome = new CompletableFuture<>();
    volatile Session session;

    Chat(int index, State state) {
      this.index = index;
      this.state = state;
    }

    @Override
    public void onWebSocketOpen(Session session) {
      this.session = session;
    }

    @Override
    public void onWebSocketText(String text) {
      if (text.startsWith("{\"type\":\"msg\"")) {
        state.onDelivery(index, text);
      } else if (text.startsWith("{\"type\":\"receipt\"")) {
        state.onReply(text, !text.contains("\"failed\":{}") ? "receipt names a failure" : null);
      } else if (text.startsWith("{\"type\":\"deliveryError\"")
          || text.startsWith("{\"type\":\"error\"")) {
        state.onReply(text, text);
      } else if (text.startsWith("{\"type\":\"welcome\"")) {
        welcome.complete(stringField(text, "\"session\":\""));
      }
    }

    @Override
    public void onWebSocketClose(int statusCode, String reason) {
      if (!state.stopping) {
        state.unexpectedCloses.incrementAndGet();
        welcome.completeExceptionally(new IllegalStateException("closed " + statusCode + " "
            + reason));
      }
    }

    @Override
    public void onWebSocketError(Throwable cause) {
      welcome.completeExceptionally(cause);
    }
  }

  /** Everything the clients' threads report into. */
  static final class State {
    final int[] targetOf;
    final long[] startNanos;
    final long[] latencyNanos;
    final long[] findNanos;
    final AtomicIntegerArray received;
    /** 0 pending, 1 done: a reply and a timeout may race to finish a request. */
    final AtomicIntegerArray finished;
    final boolean[] failed;
    final AtomicInteger misrouted = new AtomicInteger();
    final AtomicInteger unexpectedCloses = new AtomicInteger();
    final AtomicLong firstError = new AtomicLong(-1);
    volatile String firstErrorText;
    volatile boolean stopping;
    volatile Semaphore window;
    volatile java.util.concurrent.CountDownLatch done;

    State(int ids) {
      targetOf = new int[ids];
      Arrays.fill(targetOf, -1);
      startNanos = new long[ids];
      latencyNanos = new long[ids];
      findNanos = new long[ids];
      received = new AtomicIntegerArray(ids);
      finished = new AtomicIntegerArray(ids);
      failed = new boolean[ids];
    }

    void onDelivery(int client, String text) {
      int id = (int) digits(text, text.indexOf("\"text\":\"") + 8);
      if (id < 0 || id >= targetOf.length || targetOf[id] != client) {
        misrouted.incrementAndGet();
        return;
      }
      received.incrementAndGet(id);
    }

    void onReply(String text, String error) {
      int at = text.indexOf("\"id\":\"");
      if (at < 0) {
        // an error without id cannot be matched to a request; it shows as a timeout
        noteError(-1, error);
        return;
      }
      finish((int) digits(text, at + 6), error);
    }

    /** Completes request id once (reply, failure or timeout); frees its window slot. */
    void finish(int id, String error) {
      long now = System.nanoTime();
      if (id < 0 || id >= finished.length() || !finished.compareAndSet(id, 0, 1)) {
        return;
      }
      latencyNanos[id] = now - startNanos[id];
      if (error != null) {
        failed[id] = true;
        noteError(id, error);
      }
      window.release();
      done.countDown();
    }

    void noteError(int id, String error) {
      if (firstError.compareAndSet(-1, id)) {
        firstErrorText = error;
      }
    }
  }

  enum Mode { OURS, FETCH_SOCKETS }

  static long digits(String text, int i) {
    long v = 0;
    boolean any = false;
    while (i < text.length() && Character.isDigit(text.charAt(i))) {
      v = v * 10 + (text.charAt(i++) - '0');
      any = true;
    }
    return any ? v : -1;
  }

  static String stringField(String text, String name) {
    int i = text.indexOf(name);
    if (i < 0) {
      return null;
    }
    i += name.length();
    return text.substring(i, text.indexOf('"', i));
  }

  /** The strings of a JSON array of plain strings (what /sessions answers: ids need no escapes). */
  static List<String> parseStringArray(String json) {
    List<String> out = new ArrayList<>();
    int i = json.indexOf('[');
    while (true) {
      int open = json.indexOf('"', i + 1);
      if (open < 0) {
        return out;
      }
      int close = json.indexOf('"', open + 1);
      out.add(json.substring(open + 1, close));
      i = close;
    }
  }

  public static void main(String[] args) {
    try {
      System.exit(run(args));
    } catch (Throwable t) {
      // the WebSocket client's threads would keep the JVM alive after a failure
      t.printStackTrace();
      System.exit(2);
    }
  }

  private static int run(String[] args) throws Exception {
    List<String> urls = List.of("http://127.0.0.1:8081", "http://127.0.0.1:8082",
        "http://127.0.0.1:8083");
    int sessions = 1000;
    int requests = 2000;
    int window = 16;
    int warmup = 200;
    int connectWindow = 500;
    int rounds = 4;
    int timeoutSeconds = 10;
    long seed = System.nanoTime();
    for (int i = 0; i < args.length; i++) {
      switch (args[i]) {
        case "--urls": urls = Arrays.asList(args[++i].split(",")); break;
        case "--sessions": sessions = Integer.parseInt(args[++i]); break;
        case "--requests": requests = Integer.parseInt(args[++i]); break;
        case "--window": window = Integer.parseInt(args[++i]); break;
        case "--warmup": warmup = Integer.parseInt(args[++i]); break;
        case "--connect-window": connectWindow = Integer.parseInt(args[++i]); break;
        case "--rounds": rounds = Integer.parseInt(args[++i]); break;
        case "--timeout": timeoutSeconds = Integer.parseInt(args[++i]); break;
        case "--seed": seed = Long.parseLong(args[++i]); break;
        default:
          System.err.println("unknown option " + args[i]
              + " (options: --urls --sessions --requests --window --warmup --connect-window"
              + " --rounds --timeout --seed)");
          return 2;
      }
    }
    int nodes = urls.size();
    long fdLimit = ProcFs.openFilesLimit();
    long fdNeeded = sessions + 200L;
    boolean fdLow = fdLimit >= 0 && fdLimit < fdNeeded;
    if (fdLow) {
      System.err.println("WARNING: open files limit " + fdLimit + " is below the " + fdNeeded
          + " this run needs (" + sessions + " sessions); raise it with ulimit -n");
    }

    // ids: [0, warmup) ours warm-up, [warmup, 2*warmup) fetchSockets warm-up, then the measured
    // ours requests, then the measured fetchSockets requests
    int ids = 2 * warmup + 2 * requests;
    State state = new State(ids);
    Random random = new Random(seed);

    QueuedThreadPool wsThreads = new QueuedThreadPool(64, 8);
    wsThreads.setName("bench-ws");
    HttpClient wsHttp = new HttpClient();
    wsHttp.setExecutor(wsThreads);
    wsHttp.setMaxConnectionsPerDestination(Math.max(64, 2 * connectWindow));
    wsHttp.setMaxRequestsQueuedPerDestination(Math.max(1024, sessions + 1));
    wsHttp.setConnectTimeout(15_000);
    wsHttp.setIdleTimeout(Duration.ofHours(1).toMillis());
    WebSocketClient client = new WebSocketClient(wsHttp);
    client.setIdleTimeout(Duration.ofHours(1)); // the default (30 s) would close idle targets
    client.setConnectTimeout(15_000);
    client.setStopTimeout(5_000);
    client.start();

    QueuedThreadPool httpThreads = new QueuedThreadPool(32, 4);
    httpThreads.setName("bench-http");
    HttpClient http = new HttpClient();
    http.setExecutor(httpThreads);
    http.setMaxConnectionsPerDestination(Math.max(64, 2 * window));
    http.setConnectTimeout(5_000);
    http.start();

    ScheduledExecutorService timer = Executors.newSingleThreadScheduledExecutor(r -> {
      Thread t = new Thread(r, "bench-timer");
      t.setDaemon(true);
      return t;
    });

    // connect the targets round-robin, in parallel; the driver last, on node 0
    long connectStart = System.nanoTime();
    Chat[] targets = new Chat[sessions];
    String[] sids = new String[sessions];
    int connectRetries = 0;
    List<Integer> todo = new ArrayList<>();
    for (int i = 0; i < sessions; i++) {
      todo.add(i);
    }
    for (int attempt = 0; !todo.isEmpty(); attempt++) {
      if (attempt == 3) {
        System.err.println(todo.size() + " sessions could not connect after 3 attempts");
        return 1;
      }
      // a sliding window of connects in flight: each ends with its welcome (or a failure)
      Semaphore inFlight = new Semaphore(connectWindow);
      for (int i : todo) {
        inFlight.acquire();
        targets[i] = new Chat(i, state);
        targets[i].welcome.whenComplete((sid, failure) -> inFlight.release());
        String ws = urls.get(i % nodes).replaceFirst("^http", "ws") + "/chat/" + ROOM
            + "?user=u" + i;
        client.connect(targets[i], URI.create(ws))
            .whenComplete((s, failure) -> {
              if (failure != null) {
                targets[i].welcome.completeExceptionally(failure);
              }
            });
      }
      List<Integer> failedNow = new ArrayList<>();
      for (int i : todo) {
        try {
          sids[i] = targets[i].welcome.get(30, TimeUnit.SECONDS);
        } catch (Exception e) {
          if (failedNow.isEmpty()) {
            System.err.println("connect of u" + i + " failed: " + e);
          }
          failedNow.add(i);
        }
      }
      connectRetries += attempt == 0 ? 0 : todo.size();
      todo = failedNow;
      if (!todo.isEmpty()) {
        Thread.sleep(1000);
      }
    }
    Chat driver = new Chat(-1, state);
    client.connect(driver, URI.create(urls.get(0).replaceFirst("^http", "ws") + "/chat/" + ROOM
        + "?user=driver"));
    driver.welcome.get(30, TimeUnit.SECONDS);
    double connectSeconds = (System.nanoTime() - connectStart) / 1e9;

    // sanity: each node lists exactly its share (+ the driver on node 0)
    long listed = 0;
    for (String url : urls) {
      listed += parseStringArray(http.GET(url + "/sessions").getContentAsString()).size();
    }
    if (listed != sessions + 1L) {
      System.err.println("WARNING: the nodes list " + listed + " sessions, expected "
          + (sessions + 1) + " (other clients on these nodes?)");
    }

    Runner runner = new Runner(state, driver, sids, urls, http, timer, random, window,
        timeoutSeconds, nodes);
    runner.run(Mode.OURS, 0, warmup);
    runner.run(Mode.FETCH_SOCKETS, warmup, warmup);
    // measured in alternating blocks (ours first, then fetchSockets first, ...) so that a drift in
    // background load, GC or JIT affects both modes alike
    double oursSeconds = 0;
    double fetchSeconds = 0;
    for (int r = 0; r < rounds; r++) {
      int from = (int) ((long) requests * r / rounds);
      int count = (int) ((long) requests * (r + 1) / rounds) - from;
      if (r % 2 == 0) {
        oursSeconds += runner.run(Mode.OURS, 2 * warmup + from, count);
        fetchSeconds += runner.run(Mode.FETCH_SOCKETS, 2 * warmup + requests + from, count);
      } else {
        fetchSeconds += runner.run(Mode.FETCH_SOCKETS, 2 * warmup + requests + from, count);
        oursSeconds += runner.run(Mode.OURS, 2 * warmup + from, count);
      }
    }

    // let the last deliveries land, then wait a little for late duplicates
    long idleSince = System.nanoTime();
    long last = -1;
    while (System.nanoTime() - idleSince < TimeUnit.SECONDS.toNanos(5)) {
      long missing = 0;
      long total = 0;
      for (int id = 0; id < ids; id++) {
        int n = state.received.get(id);
        total += n;
        if (!state.failed[id] && n == 0) {
          missing++;
        }
      }
      if (missing == 0) {
        break;
      }
      if (total != last) {
        last = total;
        idleSince = System.nanoTime();
      }
      Thread.sleep(50);
    }
    Thread.sleep(1000);

    long duplicates = 0;
    long lost = 0;
    for (int id = 0; id < ids; id++) {
      int n = state.received.get(id);
      duplicates += Math.max(0, n - 1);
      if (n == 0 && !state.failed[id]) {
        lost++;
      }
    }
    Summary ours = Summary.of(state, 2 * warmup, requests, oursSeconds, false);
    Summary fetch = Summary.of(state, 2 * warmup + requests, requests, fetchSeconds, true);
    String jdk = System.getProperty("java.version");
    int cores = Runtime.getRuntime().availableProcessors();

    System.out.println(String.format(Locale.ROOT, "targeted: %d sessions on %d nodes, window %d,"
        + " %d requests per mode in %d alternating blocks (after %d warm-up each), connected in"
        + " %.1f s", sessions, nodes, window, requests, rounds, warmup, connectSeconds));
    System.out.println(String.format(Locale.ROOT, "  %-13s %8s %7s %10s %8s %8s %8s %8s",
        "mode", "requests", "errors", "req/s", "p50 ms", "p90 ms", "p99 ms", "max ms"));
    for (Summary s : List.of(ours, fetch)) {
      System.out.println(String.format(Locale.ROOT,
          "  %-13s %8d %7d %10.0f %8.2f %8.2f %8.2f %8.2f",
          s == ours ? "ours" : "fetchSockets", s.requests, s.errors, s.throughput, s.p50, s.p90,
          s.p99, s.max));
    }
    System.out.println(String.format(Locale.ROOT, "  fetchSockets find step alone: p50 %.2f ms,"
        + " p99 %.2f ms; duplicates %d, lost %d, misrouted %d, unexpected closes %d", fetch.findP50,
        fetch.findP99, duplicates, lost, state.misrouted.get(), state.unexpectedCloses.get()));
    if (state.firstErrorText != null) {
      System.out.println("  first error (request " + state.firstError.get() + "): "
          + state.firstErrorText);
    }
    String summary = String.format(Locale.ROOT,
        "{\"workload\":\"targeted\",\"sessions\":%d,\"nodes\":%d,\"window\":%d,\"warmup\":%d,"
            + "\"rounds\":%d,"
            + "\"ours\":%s,\"fetchSockets\":%s,\"duplicates\":%d,\"lost\":%d,\"misrouted\":%d,"
            + "\"unexpectedCloses\":%d,\"connectSeconds\":%.1f,\"connectRetries\":%d,"
            + "\"seed\":%d,\"machine\":{\"cores\":%d,\"jdk\":\"%s\",\"openFilesLimit\":%d,"
            + "\"openFilesLimitTooLow\":%b}}",
        sessions, nodes, window, warmup, rounds, ours.json(), fetch.json(), duplicates, lost,
        state.misrouted.get(), state.unexpectedCloses.get(), connectSeconds, connectRetries, seed,
        cores, jdk, fdLimit, fdLow);
    System.out.println(summary);
    System.out.flush();

    state.stopping = true;
    Thread stopper = new Thread(() -> {
      try {
        client.stop();
        http.stop();
      } catch (Exception e) {
        // exiting anyway
      }
    }, "bench-stop");
    stopper.setDaemon(true);
    stopper.start();
    stopper.join(10_000);
    boolean ok = duplicates == 0 && lost == 0 && state.misrouted.get() == 0
        && ours.errors == 0 && fetch.errors == 0 && state.unexpectedCloses.get() == 0;
    return ok ? 0 : 1;
  }

  /** Issues the requests of one mode with a bounded window. */
  static final class Runner {
    final State state;
    final Chat driver;
    final String[] sids;
    final List<String> urls;
    final HttpClient http;
    final ScheduledExecutorService timer;
    final Random random;
    final int window;
    final int timeoutSeconds;
    final int nodes;

    Runner(State state, Chat driver, String[] sids, List<String> urls, HttpClient http,
        ScheduledExecutorService timer, Random random, int window, int timeoutSeconds, int nodes) {
      this.state = state;
      this.driver = driver;
      this.sids = sids;
      this.urls = urls;
      this.http = http;
      this.timer = timer;
      this.random = random;
      this.window = window;
      this.timeoutSeconds = timeoutSeconds;
      this.nodes = nodes;
    }

    /** Runs ids [first, first + count) in mode; returns seconds from first send to last reply. */
    double run(Mode mode, int first, int count) throws InterruptedException {
      if (count == 0) {
        return 0;
      }
      state.window = new Semaphore(window);
      state.done = new java.util.concurrent.CountDownLatch(count);
      long start = System.nanoTime();
      for (int id = first; id < first + count; id++) {
        state.window.acquire();
        int target = random.nextInt(sids.length);
        state.targetOf[id] = target;
        int k = id;
        timer.schedule(() -> state.finish(k, "no reply within " + timeoutSeconds + " s"),
            timeoutSeconds, TimeUnit.SECONDS);
        state.startNanos[id] = System.nanoTime();
        if (mode == Mode.OURS) {
          deliver(id, sids[target]);
        } else {
          fetchSocketsThenDeliver(id, target);
        }
      }
      state.done.await();
      return (System.nanoTime() - start) / 1e9;
    }

    /** The seed's find: every node's full list, in parallel; then search them all for the sid. */
    private void fetchSocketsThenDeliver(int id, int target) {
      String sid = sids[target];
      @SuppressWarnings("unchecked")
      CompletableFuture<ContentResponse>[] lists = new CompletableFuture[nodes];
      for (int n = 0; n < nodes; n++) {
        lists[n] = new CompletableResponseListener(
            http.newRequest(urls.get(n) + "/sessions").timeout(timeoutSeconds, TimeUnit.SECONDS),
            64 << 20).send();
      }
      CompletableFuture.allOf(lists).whenComplete((ok, failure) -> {
        if (failure != null) {
          state.finish(id, "GET /sessions failed: " + failure);
          return;
        }
        int owner = -1;
        for (int n = 0; n < nodes; n++) {
          ContentResponse response = lists[n].join();
          if (response.getStatus() != 200) {
            state.finish(id, "GET /sessions on " + urls.get(n) + ": " + response.getStatus());
            return;
          }
          // like fetchSockets(): materialize every node's sessions, then find the one wanted
          List<String> local = parseStringArray(response.getContentAsString());
          if (local.contains(sid)) {
            owner = n;
          }
        }
        state.findNanos[id] = System.nanoTime() - state.startNanos[id];
        if (owner != target % nodes) {
          state.finish(id, "session " + sid + " found on node " + owner + ", expected "
              + target % nodes);
          return;
        }
        deliver(id, sid);
      });
    }

    private void deliver(int id, String sid) {
      String frame = "{\"op\":\"deliver\",\"sessions\":[\"" + sid + "\"],\"text\":\"" + id
          + "\",\"id\":\"" + id + "\"}";
      // Jetty queues concurrent whole-message sends; a failure here fails the request
      driver.session.sendText(frame, Callback.from(() -> { }, failure ->
          state.finish(id, "send failed: " + failure)));
    }
  }

  /** Latency percentiles and throughput of one mode's measured requests. */
  static final class Summary {
    int requests;
    int errors;
    double throughput;
    double p50;
    double p90;
    double p99;
    double max;
    double findP50;
    double findP99;
    boolean withFind;

    static Summary of(State state, int first, int count, double seconds, boolean withFind) {
      Summary s = new Summary();
      s.requests = count;
      s.withFind = withFind;
      long[] lat = new long[count];
      long[] find = new long[count];
      int n = 0;
      int f = 0;
      for (int id = first; id < first + count; id++) {
        if (state.failed[id]) {
          s.errors++;
        } else {
          lat[n++] = state.latencyNanos[id];
          find[f++] = state.findNanos[id];
        }
      }
      Arrays.sort(lat, 0, n);
      Arrays.sort(find, 0, f);
      s.throughput = seconds == 0 ? 0 : count / seconds;
      s.p50 = pct(lat, n, 50);
      s.p90 = pct(lat, n, 90);
      s.p99 = pct(lat, n, 99);
      s.max = n == 0 ? 0 : lat[n - 1] / 1e6;
      s.findP50 = pct(find, f, 50);
      s.findP99 = pct(find, f, 99);
      return s;
    }

    String json() {
      String base = String.format(Locale.ROOT, "{\"requests\":%d,\"errors\":%d,"
          + "\"throughput\":%.1f,\"p50Ms\":%.3f,\"p90Ms\":%.3f,\"p99Ms\":%.3f,\"maxMs\":%.3f",
          requests, errors, throughput, p50, p90, p99, max);
      if (withFind) {
        base += String.format(Locale.ROOT, ",\"findP50Ms\":%.3f,\"findP99Ms\":%.3f", findP50,
            findP99);
      }
      return base + "}";
    }
  }

  private static double pct(long[] sorted, int n, double p) {
    if (n == 0) {
      return 0;
    }
    int i = (int) Math.min(n - 1, Math.ceil(p / 100.0 * n) - 1);
    return sorted[Math.max(0, i)] / 1e6;
  }
}
