package io.wscluster.example.guice;

import com.google.inject.Singleton;
import io.wscluster.Target;
import io.wscluster.WsCluster;
import jakarta.inject.Inject;
import jakarta.servlet.http.HttpServlet;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * {@code /announce}, served through guice-servlet: POST a text to send it to the chat room on
 * every node (204 once published; 503 with the reason if it could not be); GET answers this
 * node's id.
 */
@Singleton
public class AnnounceServlet extends HttpServlet {
  private final WsCluster cluster;

  @Inject
  AnnounceServlet(WsCluster cluster) {
    this.cluster = cluster;
  }

  @Override
  protected void doGet(HttpServletRequest req, HttpServletResponse resp) throws IOException {
    resp.setContentType("text/plain;charset=utf-8");
    resp.getWriter().print(cluster.nodeId());
  }

  @Override
  protected void doPost(HttpServletRequest req, HttpServletResponse resp) throws IOException {
    String text = new String(req.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    try {
      cluster.send(Target.room(FieldChatEndpoint.ROOM), text).toCompletableFuture()
          .get(5, TimeUnit.SECONDS);
      resp.setStatus(HttpServletResponse.SC_NO_CONTENT);
    } catch (ExecutionException | TimeoutException e) {
      resp.sendError(HttpServletResponse.SC_SERVICE_UNAVAILABLE,
          "not published: " + (e.getCause() != null ? e.getCause().getMessage() : e));
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      resp.sendError(HttpServletResponse.SC_SERVICE_UNAVAILABLE, "interrupted");
    }
  }
}
