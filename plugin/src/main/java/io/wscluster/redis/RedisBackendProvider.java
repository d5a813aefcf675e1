package io.wscluster.redis;

import io.wscluster.spi.Backend;
import io.wscluster.spi.BackendContext;
import io.wscluster.spi.BackendProvider;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Consumer;

/**
 * {@code wscluster.transport=redis}, the default: Redis pub/sub through Redisson
 * ({@link RedisTransport}), and the directory in the same Redis through the transport's client
 * ({@link RedisDirectory}), and the message history in streams of the same Redis
 * ({@link RedisHistory}). PUBLISH reports how many subscriptions received a frame.
 */
public final class RedisBackendProvider implements BackendProvider {
  static final String NAME = "redis";
  /**
   * Test hook, a ServletContext attribute: "redisson" subscribes sharded channels through
   * Redisson's own sharded topics instead of {@link ShardedSubscriber} (the control that shows a
   * subscription which does not follow a slot move). Not reachable from configuration.
   */
  static final String TEST_SHARDED_SUBSCRIBER = "io.wscluster.test.sharded-subscriber";
  /**
   * Test hook, a ServletContext attribute holding an {@code AtomicReference<Consumer<String>>}:
   * set to an action that makes the named channel's sharded subscription deliver nothing while
   * Redis still counts it (see {@link ShardedSubscriber#deafen}).
   */
  static final String TEST_DEAFEN = "io.wscluster.test.deafen";
  /** Test hook, a ServletContext attribute: "off" probes no sharded channel (a control). */
  static final String TEST_SHARD_PROBES = "io.wscluster.test.shard-probes";

  @Override
  public String name() {
    return NAME;
  }

  @Override
  public Backend create(BackendContext context) {
    boolean redissonSharded = "redisson".equals(context.attribute(TEST_SHARDED_SUBSCRIBER));
    RedisTransport transport = new RedisTransport(context.config(), context::explicitValue,
        context.extraSubscriptions(), redissonSharded ? null : context.threadFactory("shards"));
    if ("off".equals(context.attribute(TEST_SHARD_PROBES))) {
      transport.withoutShardProbes();
    }
    if (context.attribute(TEST_DEAFEN) instanceof AtomicReference<?> hook) {
      @SuppressWarnings("unchecked")
      AtomicReference<Consumer<String>> deafen = (AtomicReference<Consumer<String>>) hook;
      deafen.set(channel -> {
        ShardedSubscriber shards = transport.shards();
        if (shards != null) {
          shards.deafen(channel);
        }
      });
    }
    String prefix = context.config().channelPrefix();
    int maxLength = context.config().historyMaxLength();
    long maxAge = context.config().historyMaxAge().toMillis();
    return Backend.of(transport, () -> transport.directory(prefix), true,
        () -> transport.history(prefix, maxLength, maxAge));
  }
}
