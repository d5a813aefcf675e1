package io.wscluster.demo;

import io.wscluster.WsCluster;
import jakarta.servlet.annotation.WebServlet;
import jakarta.servlet.http.HttpServlet;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.TreeMap;

/**
 * {@code GET /status}: {@code {"node":"<nodeId>","stats":{"<name>":<count>,...},"health":{...}}},
 * counters sorted by name, health as {@code Health.toString()} writes it. 503 with
 * {@code {"error":"..."}} while the plugin is not running in this webapp.
 */
@WebServlet(urlPatterns = "/status")
public final class StatusServlet extends HttpServlet {

  @Override
  protected void doGet(HttpServletRequest request, HttpServletResponse response)
      throws IOException {
    response.setContentType("application/json");
    response.setCharacterEncoding(StandardCharsets.UTF_8.name());
    response.setHeader("Cache-Control", "no-store");
    WsCluster cluster;
    try {
      cluster = WsCluster.of(getServletContext());
    } catch (IllegalStateException e) {
      response.setStatus(HttpServletResponse.SC_SERVICE_UNAVAILABLE);
      response.getWriter().write("{\"error\":" + Json.quote(e.getMessage()) + "}");
      return;
    }
    StringBuilder json = new StringBuilder("{\"node\":");
    Json.appendQuoted(json, cluster.nodeId()).append(",\"stats\":{");
    String separator = "";
    for (Map.Entry<String, Long> counter : new TreeMap<>(cluster.stats()).entrySet()) {
      json.append(separator);
      Json.appendQuoted(json, counter.getKey()).append(':').append(counter.getValue());
      separator = ",";
    }
    json.append("},\"health\":").append(cluster.health()).append('}');
    response.getWriter().write(json.toString());
  }
}
