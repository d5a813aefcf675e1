package io.wscluster.demo;

import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.wscluster.WsCluster;
import io.wscluster.micrometer.WsClusterMetrics;
import jakarta.servlet.annotation.WebServlet;
import jakarta.servlet.http.HttpServlet;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import java.io.IOException;
import java.nio.charset.StandardCharsets;

/**
 * {@code GET /metrics}: this node's wscluster meters in Prometheus's text format, through the
 * plugin's Micrometer binding ({@code wscluster_published_total{node="..."}} and the rest). The
 * registry is this webapp's own; it is bound to the running cluster at the first scrape, and again
 * if the plugin started a new node since. 503 while the plugin is not running in this webapp.
 */
@WebServlet(urlPatterns = "/metrics")
public final class MetricsServlet extends HttpServlet {
  private static final String CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

  private PrometheusMeterRegistry registry;
  private WsCluster bound;
  private WsClusterMetrics metrics;

  @Override
  public void init() {
    registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
  }

  @Override
  protected void doGet(HttpServletRequest request, HttpServletResponse response)
      throws IOException {
    response.setHeader("Cache-Control", "no-store");
    WsCluster cluster;
    try {
      cluster = WsCluster.of(getServletContext());
    } catch (IllegalStateException e) {
      response.setContentType("text/plain");
      response.setCharacterEncoding(StandardCharsets.UTF_8.name());
      response.setStatus(HttpServletResponse.SC_SERVICE_UNAVAILABLE);
      response.getWriter().write(e.getMessage() + "\n");
      return;
    }
    response.setContentType(CONTENT_TYPE);
    response.getWriter().write(scrape(cluster));
  }

  private synchronized String scrape(WsCluster cluster) {
    if (cluster != bound) {
      if (metrics != null) {
        metrics.close();
      }
      metrics = new WsClusterMetrics(cluster);
      metrics.bindTo(registry);
      bound = cluster;
    }
    return registry.scrape();
  }

  @Override
  public synchronized void destroy() {
    if (metrics != null) {
      metrics.close();
    }
    registry.close();
  }
}
