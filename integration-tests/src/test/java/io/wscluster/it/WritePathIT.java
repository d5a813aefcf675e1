package io.wscluster.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.URI;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.eclipse.jetty.websocket.api.Callback;
import org.eclipse.jetty.websocket.api.Session;
import org.eclipse.jetty.websocket.client.ClientUpgradeRequest;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Both ways the plugin writes to sessions (Jetty's core session with shared payloads and batched
 * runs, the default; the Jakarta API, forced by the test hook) on 2 nodes: bursts of non-ASCII
 * text reach every client, with and without permessage-deflate, exactly once and in order. The
 * core path batches under a burst ({@code batchedFrames} counts the frames Jetty wrote together
 * with the next); the Jakarta path never does, which shows the hook switched the path.
 */
class WritePathIT {
  private static final int MESSAGES = 3_000;
  /** Messages the publisher keeps sent but not yet back: bursts, within the outbox (1024). */
  private static final int IN_FLIGHT = 300;
  private static final String TEXT = "é ✓ \uD83C\uDF89 ";

  /** Records the ids of /bench texts in arrival order. Public: Jetty invokes it reflectively. */
  public static final class Receiver implements Session.Listener.AutoDemanding {
    final List<Integer> ids = new ArrayList<>();
    final List<String> malformed = new ArrayList<>();
    volatile Session session;

    @Override
    public void onWebSocketOpen(Session session) {
      this.session = session;
    }

    @Override
    public void onWebSocketText(String text) {
      synchronized (this) {
        if (!text.startsWith(TEXT.repeat(10) + "#")) {
          malformed.add(text.length() > 80 ? text.substring(0, 80) : text);
          return;
        }
        ids.add(Integer.parseInt(text.substring(text.indexOf('#') + 1)));
      }
    }

    synchronized long probes() {
      return malformed.stream().filter("probe"::equals).count();
    }

    synchronized int count() {
      return ids.size();
    }
  }

  @ParameterizedTest(name = "{0} writes")
  @ValueSource(strings = {"core", "jakarta"})
  void burstOfNonAsciiText_everyClientOnceInOrder_withAndWithoutDeflate(String path)
      throws Exception {
    Map<String, Object> hooks = path.equals("jakarta")
        ? Map.of("io.wscluster.test.jakarta-writes", "on") : Map.of();
    try (Cluster cluster = Cluster.start("write-" + path, 2, Map.of(0, hooks, 1, hooks))) {
      List<Receiver> receivers = new ArrayList<>();
      for (int i = 0; i < 8; i++) {
        Receiver r = new Receiver();
        ClientUpgradeRequest upgrade = new ClientUpgradeRequest();
        if (i % 2 == 1) {
          upgrade.addExtensions("permessage-deflate");
        }
        URI uri = cluster.node(i % 2).wsUri("/bench");
        Session s = cluster.ws().connect(r, uri, upgrade).get(10, TimeUnit.SECONDS);
        if (i % 2 == 1) {
          assertEquals(List.of("permessage-deflate"), s.getUpgradeResponse().getExtensions()
              .stream().map(e -> e.getName()).toList(), "deflate negotiated");
        }
        receivers.add(r);
      }
      Receiver publisher = receivers.get(0);
      // every session is in the bench room on both nodes before the burst: a probe reaches all
      Settle.until("a probe reaches all 8 clients", Duration.ofSeconds(10), Duration.ofMillis(200),
          () -> {
            if (receivers.stream().allMatch(r -> r.probes() > 0)) {
              return true;
            }
            send(publisher, "probe");
            return false;
          });
      for (int id = 0; id < MESSAGES; id++) {
        if (id >= IN_FLIGHT && id % 50 == 0) {
          int need = id - IN_FLIGHT;
          Settle.until("own messages back (flow control)", Duration.ofSeconds(60),
              Duration.ofMillis(2), () -> publisher.count() >= need);
        }
        send(publisher, TEXT.repeat(10) + "#" + id);
      }
      Settle.until("every client has every message", Duration.ofSeconds(60),
          Duration.ofMillis(20), () -> receivers.stream().allMatch(r -> r.count() >= MESSAGES));
      Thread.sleep(300); // a late repeat would arrive now

      List<Integer> expected = new ArrayList<>();
      for (int id = 0; id < MESSAGES; id++) {
        expected.add(id);
      }
      for (int i = 0; i < receivers.size(); i++) {
        Receiver r = receivers.get(i);
        synchronized (r) {
          assertEquals(List.of(), r.malformed.stream().filter(t -> !t.equals("probe")).toList(),
              "client " + i + ": texts arrive intact");
          assertEquals(expected, r.ids, "client " + i + " (node " + (i % 2) + ", "
              + (i % 2 == 1 ? "deflate" : "plain") + "): each message once, in order");
        }
      }
      long batched = 0;
      for (JettyNode n : cluster.nodes()) {
        batched += n.stats().getOrDefault("batchedFrames", 0L);
      }
      if (path.equals("core")) {
        assertTrue(batched > 0, "a burst is written in batched runs: " + batched);
      } else {
        assertEquals(0, batched, "the Jakarta path writes one frame at a time");
      }
    }
  }

  private static void send(Receiver publisher, String text) throws Exception {
    Callback.Completable sent = new Callback.Completable();
    publisher.session.sendText(text, sent);
    sent.get(10, TimeUnit.SECONDS);
  }
}
