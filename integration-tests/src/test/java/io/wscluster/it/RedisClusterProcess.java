package io.wscluster.it;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A Redis Cluster of private {@code redis-server} processes on free ports of 127.0.0.1: {@code masters} masters
 * sharing the 16,384 slots evenly, each with {@code replicasPerMaster} replicas, persistence off, every node in a
 * directory of its own ({@link RedisServer}). Built with the cluster commands themselves ({@code CLUSTER ADDSLOTS},
 * {@code MEET}, {@code REPLICATE}), as {@code redis-cli --cluster create} does, so it needs nothing but
 * {@code redis-server}; started once every node reports {@code cluster_state:ok} and every replica's link is up.
 *
 * <p>{@code cluster-node-timeout} is {@value #NODE_TIMEOUT_MILLIS} ms (Redis's default is 15 s): a killed master's
 * replica takes over about that long after the kill. The operations model what happens to a production cluster:
 * {@link #killMaster} (SIGKILL), {@link #hangMaster} (SIGSTOP),
 * {@link #dropSubscribers}, {@link #moveSlot} (a resharding step). {@link #close} stops exactly the processes
 * this started and deletes their directories. Not thread-safe, except {@link #command} and {@link #numsub}.
 */
final class RedisClusterProcess implements RedisTopology {

  private static final Logger LOG = LoggerFactory.getLogger(RedisClusterProcess.class);
  static final int SLOTS = 16_384;
  static final int NODE_TIMEOUT_MILLIS = 2_000;
  /** The Redisson example this cluster's nodes load, its addresses replaced by the masters'. */
  static final String EXAMPLE = "redisson-cluster.yaml";

  private final List<RedisServer> servers = new ArrayList<>();
  private final Map<RedisServer, String> ids = new java.util.HashMap<>();

  private RedisClusterProcess() {
  }

  /** Starts the processes and forms the cluster; on any failure stops what it started. */
  static RedisClusterProcess start(int masters, int replicasPerMaster) throws Exception {
    RedisClusterProcess cluster = new RedisClusterProcess();
    try {
      cluster.form(masters, replicasPerMaster);
      return cluster;
    } catch (Throwable t) {
      cluster.close();
      throw t;
    }
  }

  private void form(int masters, int replicasPerMaster) throws Exception {
    int count = masters * (1 + replicasPerMaster);
    for (int i = 0; i < count; i++) {
      RedisServer s = RedisServer.start(List.of("cluster-enabled yes", "cluster-config-file nodes.conf",
          "cluster-node-timeout " + NODE_TIMEOUT_MILLIS));
      servers.add(s);
      ids.put(s, text(s.command("CLUSTER", "MYID")));
    }
    for (int m = 0; m < masters; m++) {
      int from = m * SLOTS / masters;
      int to = (m + 1) * SLOTS / masters;
      Object[] args = new Object[2 + to - from];
      args[0] = "CLUSTER";
      args[1] = "ADDSLOTS";
      for (int slot = from; slot < to; slot++) {
        args[2 + slot - from] = Integer.toString(slot);
      }
      ok(servers.get(m).command(args));
    }
    for (int i = 1; i < count; i++) {
      ok(servers.get(0).command("CLUSTER", "MEET", "127.0.0.1", Integer.toString(servers.get(i).port())));
    }
    Settle.until("every node knows all " + count, Duration.ofSeconds(20), Duration.ofMillis(50), () -> {
      for (RedisServer s : servers) {
        String nodes = text(s.command("CLUSTER", "NODES"));
        if (nodes.lines().count() != count || nodes.contains("handshake") || nodes.contains("noaddr")) {
          return false;
        }
      }
      return true;
    });
    for (int i = masters; i < count; i++) {
      RedisServer master = servers.get((i - masters) % masters);
      ok(servers.get(i).command("CLUSTER", "REPLICATE", ids.get(master)));
    }
    Settle.until("cluster_state:ok on every node, every replica's link up", Duration.ofSeconds(30),
        Duration.ofMillis(50), () -> allOk() && replicasUp(masters));
    LOG.info("Redis Cluster up: masters {}, replicas {}", ports(servers.subList(0, masters)),
        ports(servers.subList(masters, count)));
  }

  private boolean replicasUp(int masters) throws IOException {
    for (RedisServer s : servers.subList(masters, servers.size())) {
      if (!text(s.command("INFO", "replication")).contains("master_link_status:up")) {
        return false;
      }
    }
    return true;
  }

  /** Whether every live node says {@code cluster_state:ok}. */
  boolean allOk() throws IOException {
    for (RedisServer s : live()) {
      if (!text(s.command("CLUSTER", "INFO")).contains("cluster_state:ok")) {
        return false;
      }
    }
    return true;
  }

  private static List<Integer> ports(List<RedisServer> list) {
    return list.stream().map(RedisServer::port).toList();
  }

  /** The processes still running. */
  List<RedisServer> live() {
    return servers.stream().filter(RedisServer::isAlive).toList();
  }

  /** The live masters, as the cluster sees them now. */
  List<RedisServer> masters() throws IOException {
    List<RedisServer> out = new ArrayList<>();
    for (RedisServer s : live()) {
      if (text(s.command("ROLE")).startsWith("master")) {
        out.add(s);
      }
    }
    return out;
  }

  /** {@code CLUSTER KEYSLOT}: the slot of a key or channel name. */
  int slotOf(String key) throws IOException {
    return ((Long) live().get(0).command("CLUSTER", "KEYSLOT", key)).intValue();
  }

  /** The master that owns {@code slot}, as a live node reports it ({@code CLUSTER SLOTS}). */
  RedisServer slotOwnerOf(int slot) throws IOException {
    for (RedisServer asked : live()) {
      Object reply = asked.command("CLUSTER", "SLOTS");
      if (!(reply instanceof List<?> ranges)) {
        continue;
      }
      for (Object o : ranges) {
        List<?> range = (List<?>) o;
        if ((Long) range.get(0) <= slot && slot <= (Long) range.get(1)) {
          int port = ((Long) ((List<?>) range.get(2)).get(1)).intValue();
          return byPort(port);
        }
      }
    }
    throw new IllegalStateException("no live node reports an owner of slot " + slot);
  }

  private RedisServer byPort(int port) {
    for (RedisServer s : servers) {
      if (s.port() == port) {
        return s;
      }
    }
    throw new IllegalStateException("port " + port + " is no node of this cluster");
  }

  /** SIGKILL of a master, as a crash; returns it. Its replica takes over after the node timeout. */
  /**
   * Pauses {@code master} (SIGSTOP: it keeps its connections and answers nothing, as a hung host), so that its
   * replica takes over after {@link #NODE_TIMEOUT_MILLIS}; {@link RedisServer#resume} brings it back, as a replica.
   */
  RedisServer hangMaster(RedisServer master) throws Exception {
    master.pause();
    LOG.info("Redis Cluster master {} paused (SIGSTOP)", master.hostPort());
    return master;
  }

  /**
   * Closes every pub/sub connection on every live master ({@code CLIENT KILL TYPE pubsub}), as Redis does to a
   * subscriber over its {@code client-output-buffer-limit pubsub}; Redis serves on throughout. Returns how many
   * connections were closed.
   */
  long dropSubscribers() throws IOException {
    long closed = 0;
    for (RedisServer s : live()) {
      Object reply = s.command("CLIENT", "KILL", "TYPE", "pubsub");
      closed += reply instanceof Long n ? n : 0;
    }
    LOG.info("{} pub/sub connections closed on the live nodes", closed);
    return closed;
  }

  RedisServer killMaster(RedisServer master) throws Exception {
    master.kill();
    LOG.info("Redis Cluster master {} killed (SIGKILL)", master.hostPort());
    return master;
  }

  /**
   * Waits until a live node other than {@code old} owns {@code slot} and every live node says
   * {@code cluster_state:ok}; returns when that was first seen (System.nanoTime), polling every 10 ms.
   */
  long awaitNewOwner(int slot, RedisServer old, Duration atMost) {
    return Settle.until("a new master for slot " + slot + " and cluster_state:ok", atMost, Duration.ofMillis(10),
        () -> {
          RedisServer owner = slotOwnerOf(slot);
          return owner != old && owner.isAlive() && allOk();
        });
  }

  /**
   * Moves {@code slot} to the master {@code to} while clients use it, as a resharding tool does: {@code to} imports
   * and the owner migrates it ({@code CLUSTER SETSLOT ... IMPORTING/MIGRATING}), the owner's keys of the slot are
   * {@code MIGRATE}d, then every master is told the new owner ({@code SETSLOT ... NODE}), the new owner first.
   */
  void moveSlot(int slot, RedisServer to) throws IOException {
    RedisServer from = slotOwnerOf(slot);
    if (from == to) {
      throw new IllegalArgumentException(to.hostPort() + " owns slot " + slot + " already");
    }
    String s = Integer.toString(slot);
    ok(to.command("CLUSTER", "SETSLOT", s, "IMPORTING", ids.get(from)));
    ok(from.command("CLUSTER", "SETSLOT", s, "MIGRATING", ids.get(to)));
    int moved = 0;
    while (true) {
      List<?> keys = (List<?>) from.command("CLUSTER", "GETKEYSINSLOT", s, "100");
      if (keys.isEmpty()) {
        break;
      }
      List<Object> migrate = new ArrayList<>(List.of("MIGRATE", "127.0.0.1", Integer.toString(to.port()), "", "0",
          "5000", "KEYS"));
      migrate.addAll(keys);
      ok(from.command(migrate.toArray()));
      moved += keys.size();
    }
    ok(to.command("CLUSTER", "SETSLOT", s, "NODE", ids.get(to)));
    ok(from.command("CLUSTER", "SETSLOT", s, "NODE", ids.get(to)));
    for (RedisServer m : masters()) {
      if (m != to && m != from) {
        ok(m.command("CLUSTER", "SETSLOT", s, "NODE", ids.get(to)));
      }
    }
    LOG.info("slot {} moved from {} to {} with {} keys", slot, from.hostPort(), to.hostPort(), moved);
  }

  /** The example {@value #EXAMPLE} with the addresses of the first three nodes (masters at the start). */
  @Override
  public Map<String, String> nodeParameters(Path dir) throws IOException {
    List<String> seeds = servers.subList(0, 3).stream().map(RedisServer::address).toList();
    return Map.of("wscluster.redis.config",
        RedissonExample.withAddresses(EXAMPLE, seeds, dir.resolve(EXAMPLE)).toString());
  }

  /**
   * Subscriptions of the channel over every live node: a classic subscription is counted by the node the client
   * subscribed on ({@code PUBSUB NUMSUB}), a sharded one by its slot's nodes ({@code PUBSUB SHARDNUMSUB}, Redis 7).
   */
  @Override
  public String subscribers(String channel) {
    StringBuilder out = new StringBuilder();
    for (RedisServer s : live()) {
      out.append('\n').append(s.hostPort()).append(": ");
      try {
        out.append("SHARDNUMSUB ").append(s.command("PUBSUB", "SHARDNUMSUB", channel)).append("; role ")
            .append(String.valueOf(s.command("ROLE")).lines().findFirst().orElse("")).append("; pubsub clients: ");
        for (String line : String.valueOf(s.command("CLIENT", "LIST", "TYPE", "pubsub")).split("\n")) {
          java.util.regex.Matcher m = java.util.regex.Pattern.compile("addr=(\\S+).*?ssub=(\\d+)").matcher(line);
          if (m.find()) {
            out.append(m.group(1)).append(" ssub=").append(m.group(2)).append(", ");
          }
        }
      } catch (IOException | RuntimeException e) {
        out.append(e);
      }
    }
    return out.toString();
  }

  @Override
  public long numsub(String channel) throws IOException {
    long total = 0;
    for (RedisServer s : live()) {
      total += s.numsub(channel);
      Object sharded = s.command("PUBSUB", "SHARDNUMSUB", channel);
      if (sharded instanceof List<?> reply) {
        total += (Long) reply.get(1);
      }
    }
    return total;
  }

  /** Sends a key command to the node serving its slot now, following {@code MOVED} and waiting out {@code ASK}. */
  @Override
  public Object command(Object... args) throws IOException {
    RedisServer target = slotOwnerOf(slotOf(String.valueOf(args[1])));
    for (int attempt = 0; attempt < 50; attempt++) {
      Object reply = target.command(args);
      if (!(reply instanceof RespConnection.RespError e)) {
        return reply;
      }
      String message = e.getMessage();
      if (message.startsWith("MOVED ")) {
        String hostPort = message.substring(message.lastIndexOf(' ') + 1);
        target = byPort(Integer.parseInt(hostPort.substring(hostPort.lastIndexOf(':') + 1)));
      } else if (message.startsWith("ASK ") || message.startsWith("TRYAGAIN") || message.startsWith("CLUSTERDOWN")) {
        sleep(20);
      } else {
        return reply;
      }
    }
    throw new IOException("no node served " + args[0] + " " + args[1] + " after 50 redirects");
  }

  private static void sleep(long millis) throws IOException {
    try {
      Thread.sleep(millis);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IOException("interrupted", e);
    }
  }

  static String text(Object reply) {
    if (reply instanceof byte[] b) {
      return new String(b, StandardCharsets.UTF_8);
    }
    if (reply instanceof List<?> list && !list.isEmpty()) {
      return text(list.get(0));
    }
    return String.valueOf(reply);
  }

  static void ok(Object reply) {
    if (reply instanceof RespConnection.RespError e) {
      throw new IllegalStateException("Redis answered: " + e.getMessage());
    }
  }

  /** Stops every process this started (the killed ones are gone already) and deletes their directories. */
  @Override
  public String toString() {
    return "Redis Cluster " + ports(servers);
  }

  @Override
  public void close() {
    for (RedisServer s : servers) {
      s.stop();
    }
  }
}
