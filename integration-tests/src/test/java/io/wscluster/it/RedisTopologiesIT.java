package io.wscluster.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.wscluster.it.TestClient.Deliver;
import io.wscluster.it.TestClient.Outcome;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;

/**
 * The plugin on a Redis Cluster and on a Sentinel-managed Redis, configured by the {@code config/} examples with only
 * the addresses replaced: the nodes start, and the directory (hashes, sets and a sorted set under the channel
 * prefix, spread over the cluster's slots; each write batch and each node's cleanup touches several slots) answers
 * presence queries, routes targeted sends and receipts, and is cleaned when a node stops.
 */
class RedisTopologiesIT {

  @Test
  void redisCluster_directoryPresenceTargetedSendsAndCleanup() throws Exception {
    try (Cluster cluster = Cluster.start("topo-cluster", RedisClusterProcess.start(3, 1), 3, Map.of(),
        FailoverStream.nodeParameters(3))) {
      directory(cluster);
    }
  }

  @Test
  void redisSentinel_directoryPresenceTargetedSendsAndCleanup() throws Exception {
    try (Cluster cluster = Cluster.start("topo-sentinel", RedisSentinelProcess.start(), 3, Map.of(),
        FailoverStream.nodeParameters(3))) {
      directory(cluster);
    }
  }

  private static void directory(Cluster cluster) throws Exception {
    TestClient alice = cluster.chat(0, "lobby", "alice");
    TestClient bob = cluster.chat(1, "lobby", "bob");
    TestClient carol = cluster.chat(2, "garden", "carol");
    List<String> lobby = List.of(alice.sessionId(), bob.sessionId());
    for (TestClient from : List.of(alice, bob, carol)) {
      PresenceIT.expect(from, "room", "lobby", lobby);
      PresenceIT.expect(from, "roomUsers", "lobby", List.of("alice", "bob"));
      PresenceIT.expect(from, "user", "carol", List.of(carol.sessionId()));
      PresenceIT.expect(from, "node", bob.sessionId(), List.of(bob.nodeId()));
    }
    carol.join("lobby");
    PresenceIT.expect(alice, "room", "lobby", List.of(alice.sessionId(), bob.sessionId(), carol.sessionId()));

    // routed by the directory to the owner's node channel; a receipt back on the origin's
    carol.dm("alice", "to-alice");
    alice.awaitDelivery("to-alice");
    Outcome o = carol.deliver(Deliver.text("to-bob").users("bob"));
    assertTrue(o.isReceipt(), "deliver to bob on another node: " + o);
    assertEquals(Set.of(bob.sessionId()), o.delivered(), o.toString());
    bob.awaitDelivery("to-bob");

    // a graceful stop removes the node's lease and every entry of its sessions
    cluster.node(1).stop();
    PresenceIT.expect(alice, "room", "lobby", List.of(alice.sessionId(), carol.sessionId()));
    PresenceIT.expect(alice, "user", "bob", List.of());
    PresenceIT.expect(carol, "nodes", null, List.of(alice.nodeId(), carol.nodeId()));
  }
}
