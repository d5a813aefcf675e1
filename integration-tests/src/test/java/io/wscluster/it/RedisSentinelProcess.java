package io.wscluster.it;

import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A Sentinel-managed Redis of private processes on free ports of 127.0.0.1: a master, a replica of it, and three
 * sentinels monitoring the master under the name the Redisson example gives ({@code masterName}) with a quorum of
 * 2, {@code down-after-milliseconds} {@value #DOWN_AFTER_MILLIS} and {@code failover-timeout}
 * {@value #FAILOVER_TIMEOUT_MILLIS} (Redis's defaults are 30 s and 3 min). {@link #killMaster} crashes the master;
 * {@link #awaitNewMaster} waits for the sentinels to report the promoted replica. {@link #close} stops exactly the
 * processes this started and deletes their directories. Not thread-safe, except {@link #command} and
 * {@link #numsub}.
 */
final class RedisSentinelProcess implements RedisTopology {

  private static final Logger LOG = LoggerFactory.getLogger(RedisSentinelProcess.class);
  static final int DOWN_AFTER_MILLIS = 1_000;
  static final int FAILOVER_TIMEOUT_MILLIS = 5_000;
  /** The Redisson example this group's nodes load, its sentinel addresses replaced by these. */
  static final String EXAMPLE = "redisson-sentinel.yaml";

  private final List<RedisServer> data = new ArrayList<>();
  private final List<RedisServer> sentinels = new ArrayList<>();
  private final String masterName;
  private volatile RedisServer master;

  private RedisSentinelProcess(String masterName) {
    this.masterName = masterName;
  }

  /** Starts the processes; on any failure stops what it started. */
  static RedisSentinelProcess start() throws Exception {
    String name = RedissonExample.setting(EXAMPLE, "masterName");
    if (name == null) {
      throw new IllegalStateException("config/" + EXAMPLE + " has no masterName");
    }
    RedisSentinelProcess group = new RedisSentinelProcess(name);
    try {
      group.form();
      return group;
    } catch (Throwable t) {
      group.close();
      throw t;
    }
  }

  private void form() throws Exception {
    master = RedisServer.start();
    data.add(master);
    RedisServer replica = RedisServer.start(List.of("replicaof 127.0.0.1 " + master.port()));
    data.add(replica);
    Settle.until("the replica's link to its master is up", Duration.ofSeconds(20), Duration.ofMillis(50),
        () -> RedisClusterProcess.text(replica.command("INFO", "replication")).contains("master_link_status:up"));
    for (int i = 0; i < 3; i++) {
      sentinels.add(RedisServer.startSentinel(List.of(
          "sentinel monitor " + masterName + " 127.0.0.1 " + master.port() + " 2",
          "sentinel down-after-milliseconds " + masterName + " " + DOWN_AFTER_MILLIS,
          "sentinel failover-timeout " + masterName + " " + FAILOVER_TIMEOUT_MILLIS,
          "sentinel parallel-syncs " + masterName + " 1")));
    }
    Settle.until("every sentinel knows the replica and the other sentinels", Duration.ofSeconds(30),
        Duration.ofMillis(100), () -> {
          for (RedisServer s : sentinels) {
            List<?> m = (List<?>) s.command("SENTINEL", "MASTER", masterName);
            Map<String, String> fields = fields(m);
            if (!"1".equals(fields.get("num-slaves")) || !"2".equals(fields.get("num-other-sentinels"))) {
              return false;
            }
          }
          return true;
        });
    LOG.info("Redis Sentinel up: master {}, replica {}, sentinels {}", master.port(), replica.port(),
        sentinels.stream().map(RedisServer::port).toList());
  }

  private static Map<String, String> fields(List<?> flat) {
    Map<String, String> out = new java.util.HashMap<>();
    for (int i = 0; i + 1 < flat.size(); i += 2) {
      out.put(RedisClusterProcess.text(flat.get(i)), RedisClusterProcess.text(flat.get(i + 1)));
    }
    return out;
  }

  /** The data node that is master now, as far as this harness knows. */
  RedisServer master() {
    return master;
  }

  /** SIGKILL of the master, as a crash; returns it. */
  RedisServer killMaster() throws Exception {
    RedisServer old = master;
    old.kill();
    LOG.info("Sentinel master {} killed (SIGKILL)", old.hostPort());
    return old;
  }

  /**
   * Waits until a sentinel reports another master than {@code old} ({@code SENTINEL GET-MASTER-ADDR-BY-NAME}) and
   * that server says it is a master; returns when that was first seen (System.nanoTime), polling every 10 ms. (The
   * sentinels close the clients of a server whose role they change: such a poll only counts as a miss.)
   */
  long awaitNewMaster(RedisServer old, Duration atMost) {
    return Settle.until("the sentinels' new master", atMost, Duration.ofMillis(10), () -> {
      try {
        return isNewMaster(old);
      } catch (IOException e) {
        return false;
      }
    });
  }

  private boolean isNewMaster(RedisServer old) throws IOException {
    for (RedisServer s : sentinels) {
      Object reply = s.command("SENTINEL", "GET-MASTER-ADDR-BY-NAME", masterName);
      if (reply instanceof List<?> addr && addr.size() == 2) {
        int port = Integer.parseInt(RedisClusterProcess.text(addr.get(1)));
        for (RedisServer d : data) {
          if (d.port() == port && d != old && d.isAlive()
              && RedisClusterProcess.text(d.command("ROLE")).equals("master")) {
            master = d;
            return true;
          }
        }
      }
    }
    return false;
  }

  /** The example {@value #EXAMPLE} with the three sentinels' addresses. */
  @Override
  public Map<String, String> nodeParameters(Path dir) throws IOException {
    List<String> addresses = sentinels.stream().map(RedisServer::address).toList();
    return Map.of("wscluster.redis.config",
        RedissonExample.withAddresses(EXAMPLE, addresses, dir.resolve(EXAMPLE)).toString());
  }

  /** Subscriptions of the channel on the live data nodes (the example subscribes on the master). */
  @Override
  public long numsub(String channel) throws IOException {
    long total = 0;
    for (RedisServer d : data) {
      if (d.isAlive()) {
        total += d.numsub(channel);
      }
    }
    return total;
  }

  /** On the master. */
  @Override
  public Object command(Object... args) throws IOException {
    return master.command(args);
  }

  @Override
  public String toString() {
    return "Redis Sentinel: data " + data + ", sentinels " + sentinels;
  }

  @Override
  public void close() {
    for (RedisServer s : sentinels) {
      s.stop();
    }
    for (RedisServer d : data) {
      d.stop();
    }
  }
}
