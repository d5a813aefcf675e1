package io.wscluster.example.guice;

import io.wscluster.Target;
import io.wscluster.WsCluster;
import jakarta.inject.Inject;
import jakarta.websocket.OnMessage;
import jakarta.websocket.OnOpen;
import jakarta.websocket.Session;
import jakarta.websocket.server.ServerEndpoint;

/**
 * The legacy chat clustered with field injection: Jetty makes the endpoint as before, and
 * wscluster's decorator on Jetty's object factory injects the field before the first callback.
 */
@ServerEndpoint("/chat")
public class FieldChatEndpoint {
  static final String ROOM = "chat";

  @Inject
  private WsCluster cluster;

  @OnOpen
  public void onOpen(Session session) {
    cluster.join(session, ROOM);
  }

  @OnMessage
  public void onMessage(String text, Session session) {
    cluster.send(Target.room(ROOM), text);
  }
}
