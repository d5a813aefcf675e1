package io.wscluster.demo;

import io.wscluster.WsCluster;
import jakarta.servlet.ServletContext;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * One node's status as JSON, built from the plugin's metrics and health API: what {@code GET
 * /status} answers and what the cluster view's feed carries every second.
 *
 * <pre>
 * {"node":ID,"url":U,"transport":"redis"|"memory","time":EPOCH_MS,"chatSessions":N,
 *  "stats":{"name":count,...},"health":{...},"liveNodes":[ID,...]}
 * </pre>
 *
 * {@code url} only when {@code demo.url} is set; {@code liveNodes} (the nodes holding a lease, from
 * the cluster directory) only in the feed. Counters are sorted by name; {@code health} is {@code
 * Health.toString()}. Pure: callers pass what they have read.
 */
final class NodeStatus {

  private NodeStatus() {}

  static String json(WsCluster cluster, ServletContext context, DemoSettings settings,
      Collection<String> liveNodes) {
    StringBuilder json = new StringBuilder(1024).append("{\"node\":");
    Json.appendQuoted(json, cluster.nodeId());
    if (settings.url() != null) {
      Json.appendQuoted(json.append(",\"url\":"), settings.url());
    }
    Json.appendQuoted(json.append(",\"transport\":"), transport(context));
    json.append(",\"time\":").append(System.currentTimeMillis());
    json.append(",\"chatSessions\":").append(SessionsServlet.local(context).size());
    json.append(",\"stats\":{");
    String separator = "";
    for (Map.Entry<String, Long> counter : new TreeMap<>(cluster.stats()).entrySet()) {
      json.append(separator);
      Json.appendQuoted(json, counter.getKey()).append(':').append(counter.getValue());
      separator = ",";
    }
    json.append("},\"health\":").append(cluster.health());
    if (liveNodes != null) {
      List<String> sorted = new ArrayList<>(liveNodes);
      sorted.sort(null);
      Json.appendArray(json.append(",\"liveNodes\":"), sorted);
    }
    return json.append('}').toString();
  }

  /**
   * The transport the plugin was configured with, from the same sources in the same order
   * (context-param, system property, environment); the plugin's default is redis.
   */
  private static String transport(ServletContext context) {
    String value = context.getInitParameter("wscluster.transport");
    if (value == null) {
      value = System.getProperty("wscluster.transport");
    }
    if (value == null) {
      value = System.getenv("WSCLUSTER_TRANSPORT");
    }
    return value == null || value.isBlank() ? "redis" : value.trim();
  }
}
