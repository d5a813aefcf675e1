package io.wscluster.example.legacy;

import io.wscluster.Target;
import io.wscluster.WsCluster;
import jakarta.websocket.OnMessage;
import jakarta.websocket.OnOpen;
import jakarta.websocket.Session;
import jakarta.websocket.server.ServerEndpoint;

/**
 * The same chat after clustering: the smallest change to {@code before.ChatEndpoint}. Sessions of
 * this endpoint join a room when they open (getOpenSessions() meant "the sessions of this
 * endpoint"), and a text goes to that room on every node, each session exactly once, the
 * sender's included as before. Configuration is in WEB-INF/web.xml.
 */
@ServerEndpoint("/chat")
public class ChatEndpoint {
  private static final String ROOM = "chat";

  @OnOpen
  public void onOpen(Session session) {
    WsCluster.of(session).join(session, ROOM);
  }

  @OnMessage
  public void onMessage(String text, Session session) {
    WsCluster.of(session).send(Target.room(ROOM), text);
  }
}
