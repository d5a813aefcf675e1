package io.wscluster.demo;

import io.wscluster.Target;
import io.wscluster.WsCluster;
import jakarta.servlet.ServletContext;
import jakarta.websocket.CloseReason;
import jakarta.websocket.Endpoint;
import jakarta.websocket.EndpointConfig;
import jakarta.websocket.Session;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@code /bench}: every text frame a client sends is broadcast verbatim, cluster-wide, to every
 * session connected here, the sender included, exactly once. Nothing else: no welcome, no acks,
 * no envelope around the text. The load benchmark depends on exactly this behaviour.
 *
 * <p>Threads: the container calls {@link #onOpen} and the message handler, never concurrently for
 * one session; {@code send} does not block.
 */
public final class BenchEndpoint extends Endpoint {
  static final String PATH = "/bench";
  static final String ROOM = "bench";

  private static final Logger LOG = LoggerFactory.getLogger(BenchEndpoint.class);

  private final ServletContext context;

  BenchEndpoint(ServletContext context) {
    this.context = context;
  }

  @Override
  public void onOpen(Session session, EndpointConfig config) {
    WsCluster cluster = DemoEndpoints.joinOrRefuse(context, session, ROOM,
        CloseReason.CloseCodes.UNEXPECTED_CONDITION, "bench");
    if (cluster == null) {
      return;
    }
    Target everyone = Target.room(ROOM);
    session.addMessageHandler(String.class, text -> {
      try {
        cluster.send(everyone, text).whenComplete((ok, failure) -> {
          if (failure != null) {
            LOG.debug("{} bench: publish failed", cluster.nodeId(), failure);
          }
        });
      } catch (RuntimeException e) {
        // oversized frame or stopped cluster: the benchmark sees the frame missing
        LOG.debug("{} bench: send refused", cluster.nodeId(), e);
      }
    });
  }

  @Override
  public void onError(Session session, Throwable failure) {
    LOG.debug("bench session {} failed", session.getId(), failure);
  }
}
