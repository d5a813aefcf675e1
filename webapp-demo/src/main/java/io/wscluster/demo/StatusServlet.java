package io.wscluster.demo;

import io.wscluster.WsCluster;
import jakarta.servlet.annotation.WebServlet;
import jakarta.servlet.http.HttpServlet;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import java.io.IOException;
import java.nio.charset.StandardCharsets;

/**
 * {@code GET /status}: this node's status as {@link NodeStatus} writes it ({@code node}, {@code
 * stats}, {@code health}, ...). 503 with {@code {"error":"..."}} while the plugin is not running in
 * this webapp.
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
    response.getWriter().write(NodeStatus.json(cluster, getServletContext(),
        DemoEndpoints.settings(getServletContext()), null));
  }
}
