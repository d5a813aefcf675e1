package io.wscluster.example.legacy.before;

import jakarta.websocket.OnMessage;
import jakarta.websocket.Session;
import jakarta.websocket.server.ServerEndpoint;

/**
 * The app before clustering, as single-node chat apps are commonly written: every text a client
 * sends goes to the open sessions of this endpoint, on this node only. On two nodes, clients of
 * the other node never see it. Kept unchanged so that the README's migration diff, and the
 * integration test that shows the difference, compare against the real thing.
 */
@ServerEndpoint("/before/chat")
public class ChatEndpoint {

  @OnMessage
  public void onMessage(String text, Session session) {
    for (Session open : session.getOpenSessions()) {
      open.getAsyncRemote().sendText(text);
    }
  }
}
