package io.wscluster.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * The demo's {@code /metrics}: Prometheus scrapes each node's wscluster meters through the
 * plugin's Micrometer binding, which the demo WAR carries with Micrometer in its WEB-INF/lib.
 */
class MetricsIT {
  private final HttpClient http = HttpClient.newHttpClient();

  private HttpResponse<String> scrape(JettyNode node) throws Exception {
    return http.send(HttpRequest.newBuilder(node.httpUri("/metrics"))
        .timeout(Duration.ofSeconds(10)).build(), HttpResponse.BodyHandlers.ofString());
  }

  /** The value of the first sample of {@code name} in {@code text}; fails if there is none. */
  private static double sample(String text, String name) {
    Matcher m = Pattern.compile(
        "(?m)^" + Pattern.quote(name) + "\\{[^}]*node=\"[^\"]+\"[^}]*\\} (\\S+)$").matcher(text);
    assertTrue(m.find(), "no sample " + name + " in:\n" + text);
    return Double.parseDouble(m.group(1));
  }

  @Test
  void eachNodeServesItsMetricsInPrometheusFormat() throws Exception {
    try (Cluster cluster = Cluster.start("metrics", 2)) {
      TestClient a = cluster.chat(0, "lobby", "a");
      TestClient b = cluster.chat(1, "lobby", "b");
      a.say("metrics:1");
      b.awaitDelivery("metrics:1");

      HttpResponse<String> first = scrape(cluster.node(0));
      assertEquals(200, first.statusCode(), first.body());
      assertTrue(first.headers().firstValue("Content-Type").orElse("").startsWith("text/plain"),
          first.headers().toString());
      // n0 lists n1 live once its heartbeat read n1's lease (up to a heartbeat after n1 started)
      Settle.until("both nodes count the message and n0 sees n1", Duration.ofSeconds(10),
          Duration.ofMillis(200),
          () -> sample(scrape(cluster.node(0)).body(), "wscluster_published_total") >= 1
              && sample(scrape(cluster.node(1)).body(), "wscluster_envelopes_received_total") >= 1
              && sample(scrape(cluster.node(0)).body(), "wscluster_nodes_live") == 2);

      String n0 = scrape(cluster.node(0)).body();
      assertTrue(n0.contains("# HELP wscluster_published_total "), n0);
      assertTrue(n0.contains("# TYPE wscluster_published_total counter"), n0);
      assertEquals(2, sample(n0, "wscluster_nodes_live"), n0);
      assertEquals(1, sample(n0, "wscluster_joined"), n0);
      assertEquals(1, sample(n0, "wscluster_sessions"), n0);
      assertTrue(sample(n0, "wscluster_delivered_total") >= 1, n0);
      assertEquals(0, sample(n0, "wscluster_frames_lost_total"), n0);
      assertTrue(n0.contains("reason=\"auth_invalid\""), n0);
      assertTrue(sample(n0, "wscluster_outbox_size_bytes") >= 0, n0);
      assertTrue(sample(n0, "wscluster_outage_held_age_seconds") >= 0, n0);
      a.close();
      b.close();
    }
  }
}
