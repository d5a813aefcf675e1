package io.wscluster.demo;

import jakarta.websocket.Endpoint;
import jakarta.websocket.server.ServerEndpointConfig;
import java.util.function.Supplier;

/**
 * Creates endpoint instances with a factory instead of a no-argument constructor, so endpoints
 * receive what they need (the ServletContext) through their constructor.
 *
 * <p>The container calls {@link #getEndpointInstance} once per accepted connection, on one of its
 * own threads; the factory must be thread-safe. Every other hook keeps the container's default.
 */
final class EndpointInstanceConfigurator extends ServerEndpointConfig.Configurator {
  private final Supplier<? extends Endpoint> factory;

  EndpointInstanceConfigurator(Supplier<? extends Endpoint> factory) {
    this.factory = factory;
  }

  @Override
  public <T> T getEndpointInstance(Class<T> endpointClass) throws InstantiationException {
    Endpoint endpoint = factory.get();
    if (!endpointClass.isInstance(endpoint)) {
      throw new InstantiationException("the factory made a " + endpoint.getClass().getName()
          + ", the container asked for a " + endpointClass.getName());
    }
    return endpointClass.cast(endpoint);
  }
}
