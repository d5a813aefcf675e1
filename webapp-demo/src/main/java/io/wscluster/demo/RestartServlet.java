package io.wscluster.demo;

import jakarta.servlet.annotation.WebServlet;
import jakarta.servlet.http.HttpServlet;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.function.Function;

/**
 * {@code POST /cluster/restart?node=NAME}: asks the demo launcher to restart one of its nodes (stop
 * it, wait a moment, start it again on the same port), so that the cluster view can show a node
 * leaving and coming back, and chat pages reconnecting. Only under the launcher, which puts its
 * hook into the context attribute {@link #HOOK_ATTRIBUTE}: a {@code Function<String, String>} from
 * node name to null (accepted: the restart runs on the launcher's thread) or why not. Elsewhere the
 * answer is 404.
 *
 * <p>The request must carry the header {@code X-Demo-Restart: 1}: an HTML form on another site
 * cannot set it, and a cross-origin script that sets it needs a CORS preflight this webapp never
 * answers. Answers are {@code {"ok":true}} or {@code {"error":"..."}}.
 */
@WebServlet(urlPatterns = "/cluster/restart")
public final class RestartServlet extends HttpServlet {
  /** Shared with the launcher, which knows nothing of this class: keep the two in step. */
  static final String HOOK_ATTRIBUTE = "io.wscluster.demo.restart";
  static final String HEADER = "X-Demo-Restart";

  @Override
  protected void doPost(HttpServletRequest request, HttpServletResponse response)
      throws IOException {
    response.setContentType("application/json");
    response.setCharacterEncoding(StandardCharsets.UTF_8.name());
    response.setHeader("Cache-Control", "no-store");
    Object hook = getServletContext().getAttribute(HOOK_ATTRIBUTE);
    String node = request.getParameter("node");
    if (!(hook instanceof Function)) {
      answer(response, HttpServletResponse.SC_NOT_FOUND,
          "restarting nodes needs the demo launcher (java -jar wscluster-demo.jar)");
    } else if (!"1".equals(request.getHeader(HEADER))) {
      answer(response, HttpServletResponse.SC_FORBIDDEN, "missing header " + HEADER + ": 1");
    } else if (node == null || node.isBlank()) {
      answer(response, HttpServletResponse.SC_BAD_REQUEST, "missing parameter node");
    } else {
      @SuppressWarnings("unchecked")
      String refused = ((Function<String, String>) hook).apply(node);
      if (refused == null) {
        response.getWriter().write("{\"ok\":true}");
      } else {
        answer(response, HttpServletResponse.SC_CONFLICT, refused);
      }
    }
  }

  private static void answer(HttpServletResponse response, int status, String error)
      throws IOException {
    response.setStatus(status);
    response.getWriter().write("{\"error\":" + Json.quote(error) + "}");
  }
}
