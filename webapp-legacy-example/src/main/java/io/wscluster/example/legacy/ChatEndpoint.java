package io.wscluster.example.legacy;

import io.wscluster.Target;
import io.wscluster.WsCluster;
import jakarta.websocket.OnMessage;
import jakarta.websocket.OnOpen;
import jakarta.websocket.Session;
import jakarta.websocket.server.ServerEndpoint;

/**
 * The same chat after clustering: the smallest change to {@code before.ChatEndpoint}. Sessions of
 * this endpoint join a room when they open, and a text goes to that room on every node, each
 * session exactly once, the sender's included as before. (On Jetty 12 getOpenSessions() is every
 * open session of the webapp's WebSocket container on this node, whatever its endpoint; the room
 * holds this endpoint's sessions only.) Configuration is in WEB-INF/web.xml.
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
