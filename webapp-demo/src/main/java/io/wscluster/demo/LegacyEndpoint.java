package io.wscluster.demo;

import jakarta.websocket.OnMessage;
import jakarta.websocket.Session;
import jakarta.websocket.server.ServerEndpoint;

/**
 * {@code /legacy}: an endpoint as a single-node app writes it, knowing nothing of wscluster: it
 * broadcasts each text to the open sessions of this endpoint on this node only.
 *
 * <p>It is here to show (and to let the integration tests prove) that the plugin tracks sessions
 * of endpoints it does not own: a cluster-wide {@code Target.all()} send from another endpoint or
 * node reaches these sessions too, with no change to this class.
 */
@ServerEndpoint("/legacy")
public class LegacyEndpoint {

  @OnMessage
  public void onMessage(String text, Session session) {
    for (Session open : session.getOpenSessions()) {
      open.getAsyncRemote().sendText(text);
    }
  }
}
