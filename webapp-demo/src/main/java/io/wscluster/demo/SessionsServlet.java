package io.wscluster.demo;

import jakarta.servlet.ServletContext;
import jakarta.servlet.annotation.WebServlet;
import jakarta.servlet.http.HttpServlet;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * {@code GET /sessions}: the cluster session ids of the {@code /chat} sessions open on THIS node,
 * as a JSON array (unsorted). Only this node's: it does not consult the cluster directory.
 *
 * <p>It exists for the targeted-send benchmark's baseline, the "ask every node for its sessions,
 * then find the one you want" approach (socket.io's {@code fetchSockets()}): the benchmark asks
 * every node and searches the answers. Its cost grows with the sessions a node holds; use
 * {@code WsCluster.presence()} to find one session.
 *
 * <p>{@link ChatEndpoint} adds a session's id once it has joined (just before its welcome) and
 * removes it when the session closes; the set is a ServletContext attribute, one per deployment.
 */
@WebServlet(urlPatterns = "/sessions")
public final class SessionsServlet extends HttpServlet {
  private static final String ATTRIBUTE = SessionsServlet.class.getName() + ".local";

  /** This deployment's set of open chat session ids (thread-safe), created on first use. */
  @SuppressWarnings("unchecked")
  static Set<String> local(ServletContext context) {
    Object set = context.getAttribute(ATTRIBUTE);
    if (set == null) {
      synchronized (SessionsServlet.class) {
        set = context.getAttribute(ATTRIBUTE);
        if (set == null) {
          set = ConcurrentHashMap.newKeySet();
          context.setAttribute(ATTRIBUTE, set);
        }
      }
    }
    return (Set<String>) set;
  }

  @Override
  protected void doGet(HttpServletRequest request, HttpServletResponse response)
      throws IOException {
    Set<String> ids = local(getServletContext());
    StringBuilder json = new StringBuilder(16 + 40 * ids.size());
    Json.appendArray(json, ids);
    byte[] body = json.toString().getBytes(StandardCharsets.UTF_8);
    response.setContentType("application/json");
    response.setCharacterEncoding(StandardCharsets.UTF_8.name());
    response.setHeader("Cache-Control", "no-store");
    response.setContentLength(body.length);
    response.getOutputStream().write(body);
  }
}
