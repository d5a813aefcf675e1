package io.wscluster;

import jakarta.servlet.http.HttpServlet;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import java.io.IOException;
import java.nio.charset.StandardCharsets;

/**
 * {@code GET <wscluster.health.path>}: the node's {@link Health} as JSON, 200 when
 * {@link Health#ok()}, else 503 (for load balancers and probes); 503 with an error while the
 * plugin is not running. Added by {@link WsClusterInitializer} only when the key is set.
 */
final class HealthServlet extends HttpServlet {
  private static final long serialVersionUID = 1L;

  @Override
  protected void doGet(HttpServletRequest request, HttpServletResponse response)
      throws IOException {
    response.setContentType("application/json");
    response.setCharacterEncoding(StandardCharsets.UTF_8.name());
    response.setHeader("Cache-Control", "no-store");
    Object cluster = getServletContext().getAttribute(WsCluster.CONTEXT_ATTRIBUTE);
    if (!(cluster instanceof WsCluster)) {
      response.setStatus(HttpServletResponse.SC_SERVICE_UNAVAILABLE);
      response.getWriter().write("{\"ok\":false,\"running\":false}");
      return;
    }
    WsCluster c = (WsCluster) cluster;
    Health h = c.health();
    response.setStatus(h.ok() ? HttpServletResponse.SC_OK
        : HttpServletResponse.SC_SERVICE_UNAVAILABLE);
    response.getWriter().write(h.toString());
  }
}
