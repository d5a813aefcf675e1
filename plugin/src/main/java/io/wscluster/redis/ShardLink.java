package io.wscluster.redis;

import java.util.concurrent.CompletableFuture;
import org.redisson.client.RedisClient;
import org.redisson.client.RedisConnection;
import org.redisson.client.RedisPubSubConnection;

/**
 * The sharded subscriptions' connections to one master: a pub/sub connection, made at once, and a
 * plain one for {@link ChannelProbe probes}, made on the first probe. Used on the
 * {@link ShardedSubscriber}'s thread only.
 */
final class ShardLink {
  final RedisClient client;
  final CompletableFuture<RedisPubSubConnection> connection;
  private CompletableFuture<RedisConnection> commands;

  ShardLink(RedisClient client) {
    this.client = client;
    this.connection = client.connectPubSubAsync().toCompletableFuture();
  }

  CompletableFuture<RedisConnection> commands() {
    if (commands == null) {
      commands = client.connectAsync().toCompletableFuture();
    }
    return commands;
  }

  /** Closes both connections: Redis ends every subscription on them. */
  void close() {
    connection.thenAccept(RedisPubSubConnection::closeAsync);
    if (commands != null) {
      commands.thenAccept(RedisConnection::closeAsync);
    }
  }
}
