package io.wscluster.demo;

import io.wscluster.WsCluster;
import jakarta.websocket.Session;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A write to one local session through the plugin's outbox ({@code WsCluster.sendLocal}), for the
 * demo's endpoints: never blocks, never overlaps with cluster deliveries to the session, and a
 * failure (the session closed, the cluster stopped meanwhile) is logged at debug level and
 * dropped, since nobody is left to tell. Any thread.
 */
final class SessionReply {
  private static final Logger LOG = LoggerFactory.getLogger(SessionReply.class);

  private SessionReply() {}

  static void send(WsCluster cluster, Session session, String text) {
    try {
      cluster.sendLocal(session, text).whenComplete((ok, failure) -> {
        if (failure != null) {
          LOG.debug("reply to session {} failed", session.getId(), failure);
        }
      });
    } catch (RuntimeException e) {
      LOG.debug("reply to session {} failed", session.getId(), e);
    }
  }
}
