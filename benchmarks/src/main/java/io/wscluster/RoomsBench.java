package io.wscluster;

import io.wscluster.spi.Backend;
import jakarta.websocket.RemoteEndpoint;
import jakarta.websocket.SendHandler;
import jakarta.websocket.SendResult;
import jakarta.websocket.Session;
import java.io.BufferedInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.lang.reflect.Proxy;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * What room channels save (bench/rooms.sh): N light nodes in this JVM (real {@link ClusterNode}s
 * on the Redis backend, sessions that count what is written to them) on one private Redis; R
 * rooms, each with members on K consecutive nodes; M messages, each from a random node to a
 * random room, at a fixed rate. Per message: Redis's bytes out ({@code INFO stats}
 * total_net_output_bytes, before and after) and the frames the nodes received (their
 * {@code framesReceived}), once with rooms on the broadcast channel (every node before room
 * channels) and once on the rooms' channels, in the same run. Prints a table on stderr and one JSON
 * line on stdout.
 */
public final class RoomsBench {
  private RoomsBench() {
  }

  public static void main(String[] args) throws Exception {
    Map<String, String> opt = options(args);
    String redis = opt.getOrDefault("--redis", "redis://127.0.0.1:6379");
    List<Integer> sizes = new ArrayList<>();
    for (String n : opt.getOrDefault("--nodes", "3,6,12").split(",")) {
      sizes.add(Integer.parseInt(n.trim()));
    }
    int rooms = Integer.parseInt(opt.getOrDefault("--rooms", "60"));
    int spread = Integer.parseInt(opt.getOrDefault("--spread", "2"));
    int perNode = Integer.parseInt(opt.getOrDefault("--sessions", "2"));
    int messages = Integer.parseInt(opt.getOrDefault("--messages", "2000"));
    int warmup = Integer.parseInt(opt.getOrDefault("--warmup", "500"));
    int rate = Integer.parseInt(opt.getOrDefault("--rate", "500"));
    int bytes = Integer.parseInt(opt.getOrDefault("--bytes", "200"));

    List<Map<String, Object>> results = new ArrayList<>();
    for (int n : sizes) {
      for (boolean roomChannels : new boolean[] {false, true}) {
        Map<String, Object> r = run(redis, n, roomChannels, rooms, Math.min(spread, n), perNode,
            warmup, messages, rate, bytes);
        results.add(r);
        System.err.printf(Locale.ROOT, "nodes %2d  %-14s redis bytes out/msg %8d  node inbound "
            + "frames/msg %5.2f  envelopes/msg %5.2f  syncs/msg %5.2f  delivered %d of %d%n", n,
            roomChannels ? "room channels" : "all (before)", r.get("redisBytesOutPerMessage"),
            r.get("inboundFramesPerMessage"), r.get("inboundEnvelopesPerMessage"),
            r.get("inboundSyncsPerMessage"), r.get("delivered"), r.get("expected"));
      }
    }
    StringBuilder json = new StringBuilder("{\"bench\":\"rooms\",\"rooms\":" + rooms
        + ",\"spread\":" + spread + ",\"sessionsPerNodeAndRoom\":" + perNode + ",\"messages\":"
        + messages + ",\"rate\":" + rate + ",\"bytes\":" + bytes + ",\"cpus\":"
        + Runtime.getRuntime().availableProcessors() + ",\"results\":[");
    for (int i = 0; i < results.size(); i++) {
      json.append(i == 0 ? "" : ",").append('{');
      int k = 0;
      for (Map.Entry<String, Object> e : results.get(i).entrySet()) {
        json.append(k++ == 0 ? "" : ",").append('"').append(e.getKey()).append("\":");
        json.append(e.getValue() instanceof String ? "\"" + e.getValue() + "\"" : e.getValue());
      }
      json.append('}');
    }
    System.out.println(json.append("]}"));
  }

  private static Map<String, Object> run(String redis, int n, boolean roomChannels, int rooms,
      int spread, int perNode, int warmup, int messages, int rate, int bytes) throws Exception {
    String prefix = "bench-rooms-" + UUID.randomUUID().toString().substring(0, 8);
    List<ClusterNode> nodes = new ArrayList<>();
    List<Backend> backends = new ArrayList<>();
    AtomicLong written = new AtomicLong();
    try {
      for (int i = 0; i < n; i++) {
        WsClusterConfig config = WsClusterConfig.builder().redisAddress(redis)
            .nodeName("n" + i).channelPrefix(prefix).build();
        Backend backend = Backends.create(config, key -> null, null, 0);
        backends.add(backend);
        ClusterNode node = new ClusterNode(config, backend.transport(),
            NodeParts.DEFAULT.roomChannels(roomChannels), System::nanoTime,
            t -> backend.directory(), backend.publishCountsReceivers());
        node.start();
        nodes.add(node);
      }
      // room j: perNode sessions on each of the nodes j, j+1, ..., j+spread-1 (mod n)
      int sessionId = 0;
      for (int j = 0; j < rooms; j++) {
        for (int k = 0; k < spread; k++) {
          ClusterNode node = nodes.get((j + k) % n);
          for (int s = 0; s < perNode; s++) {
            Session session = countingSession("s" + sessionId++, written);
            node.onSessionOpened(session);
            node.join(session, "room" + j);
          }
        }
      }
      int members = spread * perNode;
      for (int j = 0; j < rooms; j++) {
        String room = "room" + j;
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (nodes.get(0).presence().sessionsInRoom(room).toCompletableFuture()
            .get(10, TimeUnit.SECONDS).size() < members) {
          if (System.nanoTime() > deadline) {
            throw new IllegalStateException("the directory never listed " + room);
          }
          Thread.sleep(10);
        }
      }
      String payload = "x".repeat(bytes);
      Random random = new Random(42);
      send(nodes, rooms, warmup, rate, payload, random, written, (long) warmup * members);
      Thread.sleep(1500); // the warm-up's syncs, then a quiet moment
      long outBefore = redisOutputBytes(redis);
      long framesBefore = sum(nodes, "framesReceived");
      long envelopesBefore = sum(nodes, "envelopesReceived");
      long syncsBefore = sum(nodes, "syncsReceived");
      long writtenBefore = written.get();
      long t0 = System.nanoTime();
      send(nodes, rooms, messages, rate, payload, random, written,
          writtenBefore + (long) messages * members);
      long millis = (System.nanoTime() - t0) / 1_000_000;
      long out = redisOutputBytes(redis) - outBefore;
      long frames = sum(nodes, "framesReceived") - framesBefore;
      long envelopes = sum(nodes, "envelopesReceived") - envelopesBefore;
      long syncs = sum(nodes, "syncsReceived") - syncsBefore;
      Map<String, Object> r = new LinkedHashMap<>();
      r.put("nodes", n);
      r.put("mode", roomChannels ? "rooms" : "all");
      r.put("redisBytesOutPerMessage", Math.round(out / (double) messages));
      r.put("inboundFramesPerMessage", round2(frames / (double) messages));
      r.put("inboundEnvelopesPerMessage", round2(envelopes / (double) messages));
      r.put("inboundSyncsPerMessage", round2(syncs / (double) messages));
      r.put("delivered", written.get() - writtenBefore);
      r.put("expected", (long) messages * members);
      r.put("millis", millis);
      r.put("outageHeld", sum(nodes, "outageHeld"));
      return r;
    } finally {
      nodes.forEach(ClusterNode::stop);
    }
  }

  /** Sends {@code count} messages at {@code rate}/s, then waits until {@code until} writes. */
  private static void send(List<ClusterNode> nodes, int rooms, int count, int rate,
      String payload, Random random, AtomicLong written, long until) throws Exception {
    long start = System.nanoTime();
    long every = TimeUnit.SECONDS.toNanos(1) / rate;
    for (int i = 0; i < count; i++) {
      long due = start + i * every;
      long wait = due - System.nanoTime();
      if (wait > 0) {
        TimeUnit.NANOSECONDS.sleep(wait);
      }
      nodes.get(random.nextInt(nodes.size()))
          .send(Target.room("room" + random.nextInt(rooms)), payload);
    }
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
    while (written.get() < until && System.nanoTime() < deadline) {
      Thread.sleep(5);
    }
  }

  private static long sum(List<ClusterNode> nodes, String stat) {
    long total = 0;
    for (ClusterNode n : nodes) {
      total += n.stats().getOrDefault(stat, 0L);
    }
    return total;
  }

  private static double round2(double v) {
    return Math.round(v * 100) / 100.0;
  }

  /** An open session whose every write succeeds at once and is counted. */
  private static Session countingSession(String id, AtomicLong written) {
    RemoteEndpoint.Async remote = (RemoteEndpoint.Async) Proxy.newProxyInstance(
        RoomsBench.class.getClassLoader(), new Class<?>[] {RemoteEndpoint.Async.class},
        (proxy, method, args) -> {
          if (method.getName().startsWith("send") && args != null
              && args[args.length - 1] instanceof SendHandler) {
            written.incrementAndGet();
            ((SendHandler) args[args.length - 1]).onResult(new SendResult());
          }
          return null;
        });
    return (Session) Proxy.newProxyInstance(RoomsBench.class.getClassLoader(),
        new Class<?>[] {Session.class}, (proxy, method, args) -> {
          switch (method.getName()) {
            case "getId": return id;
            case "isOpen": return true;
            case "getAsyncRemote": return remote;
            case "getUserProperties": return new java.util.HashMap<String, Object>();
            case "hashCode": return System.identityHashCode(proxy);
            case "equals": return proxy == args[0];
            case "toString": return "Session[" + id + "]";
            default: return null;
          }
        });
  }

  /** Redis's total_net_output_bytes (INFO stats), over a plain socket. */
  static long redisOutputBytes(String address) throws IOException {
    String hostPort = address.substring(address.indexOf("://") + 3);
    String host = hostPort.substring(0, hostPort.lastIndexOf(':'));
    int port = Integer.parseInt(hostPort.substring(hostPort.lastIndexOf(':') + 1));
    try (Socket s = new Socket(host, port)) {
      OutputStream out = s.getOutputStream();
      out.write("INFO stats\r\n".getBytes(StandardCharsets.US_ASCII));
      out.flush();
      InputStream in = new BufferedInputStream(s.getInputStream());
      String header = line(in);
      if (!header.startsWith("$")) {
        throw new IOException("unexpected reply to INFO: " + header);
      }
      byte[] body = in.readNBytes(Integer.parseInt(header.substring(1)));
      for (String l : new String(body, StandardCharsets.UTF_8).split("\r\n")) {
        if (l.startsWith("total_net_output_bytes:")) {
          return Long.parseLong(l.substring(l.indexOf(':') + 1).trim());
        }
      }
      throw new IOException("INFO stats has no total_net_output_bytes");
    }
  }

  private static String line(InputStream in) throws IOException {
    StringBuilder b = new StringBuilder();
    int c;
    while ((c = in.read()) != '\r') {
      if (c < 0) {
        throw new IOException("connection closed");
      }
      b.append((char) c);
    }
    in.read();
    return b.toString();
  }

  private static Map<String, String> options(String[] args) {
    Map<String, String> out = new LinkedHashMap<>();
    for (int i = 0; i + 1 < args.length; i += 2) {
      if (!args[i].startsWith("--")) {
        throw new IllegalArgumentException("expected an option, got " + args[i]);
      }
      out.put(args[i], args[i + 1]);
    }
    return out;
  }
}
