package io.wscluster.example.guice;

import io.wscluster.GuiceEndpointConfigurator;
import io.wscluster.Target;
import io.wscluster.WsCluster;
import jakarta.inject.Inject;
import jakarta.websocket.OnMessage;
import jakarta.websocket.OnOpen;
import jakarta.websocket.Session;
import jakarta.websocket.server.ServerEndpoint;

/**
 * The same chat with constructor injection: {@link GuiceEndpointConfigurator} has the injector
 * make each instance. It shares the room of {@link FieldChatEndpoint}, so both kinds of clients
 * talk to each other across nodes.
 */
@ServerEndpoint(value = "/ctor-chat", configurator = GuiceEndpointConfigurator.class)
public class ConstructorChatEndpoint {
  private final WsCluster cluster;

  @Inject
  public ConstructorChatEndpoint(WsCluster cluster) {
    this.cluster = cluster;
  }

  @OnOpen
  public void onOpen(Session session) {
    cluster.join(session, FieldChatEndpoint.ROOM);
  }

  @OnMessage
  public void onMessage(String text, Session session) {
    cluster.send(Target.room(FieldChatEndpoint.ROOM), text);
  }
}
