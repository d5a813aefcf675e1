package io.wscluster.redis;

import io.wscluster.spi.Backend;
import io.wscluster.spi.BackendContext;
import io.wscluster.spi.BackendProvider;

/**
 * {@code wscluster.transport=redis}, the default: Redis pub/sub through Redisson
 * ({@link RedisTransport}), and the directory in the same Redis through the transport's client
 * ({@link RedisDirectory}). PUBLISH reports how many subscriptions received a frame; pub/sub
 * keeps nothing.
 */
public final class RedisBackendProvider implements BackendProvider {
  static final String NAME = "redis";

  @Override
  public String name() {
    return NAME;
  }

  @Override
  public Backend create(BackendContext context) {
    RedisTransport transport = new RedisTransport(context.config(), context::explicitValue,
        context.extraSubscriptions());
    String prefix = context.config().channelPrefix();
    return Backend.of(transport, () -> transport.directory(prefix), true, false);
  }
}
