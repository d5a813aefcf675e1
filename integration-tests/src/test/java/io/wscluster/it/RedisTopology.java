package io.wscluster.it;

import java.io.IOException;
import java.nio.file.Path;
import java.util.Map;

/**
 * The Redis a {@link Cluster}'s nodes run on: one {@link RedisServer}, a {@link RedisClusterProcess} or a
 * {@link RedisSentinelProcess}, each of processes the test started itself. Closing it stops exactly those.
 */
interface RedisTopology extends AutoCloseable {

  /**
   * The init-parameters that point a node at this Redis: {@code wscluster.redis.address}, or
   * {@code wscluster.redis.config} naming a Redisson YAML file written into {@code dir}.
   */
  Map<String, String> nodeParameters(Path dir) throws IOException;

  /** How many subscriptions the (classic pub/sub) channel has, wherever a client may have subscribed it. */
  long numsub(String channel) throws IOException;

  /** For a failure's message: who subscribes {@code channel} where, as the servers report it. */
  default String subscribers(String channel) {
    return "";
  }

  /** A command on one key ({@code args[1]}), sent to the server that holds the key now. */
  Object command(Object... args) throws IOException;

  @Override
  void close();
}
