package io.wscluster;

import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.function.Function;

/**
 * The effective configuration of one node: immutable, validated once when built.
 *
 * <p>Every value comes through one parser and one list of keys ({@link #KEYS}), whatever its
 * source. In a webapp the sources are, highest first: this builder (Guice or code), web.xml
 * context-params, JVM system properties, environment variables ({@code wscluster.redis.address}
 * is {@code WSCLUSTER_REDIS_ADDRESS}), then a properties file. A bad value throws
 * {@link ConfigException} naming key, value and expectation; an unknown {@code wscluster.*} key
 * is an error too.
 */
public final class WsClusterConfig {

  /** Which transport carries envelopes between nodes. */
  public enum TransportType { REDIS, MEMORY }

  /** What a session's outbox does when it is full. */
  public enum Overflow {
    /**
     * Close the session with 1013 "Try Again Later": the client reconnects; what it missed
     * reaches it only if it resumes (the wscluster query parameter, see the README's Recovery),
     * else it is lost for that client.
     */
    CLOSE,
    /** Drop the message that did not fit; the session stays open. */
    DROP_NEWEST,
    /** Drop the oldest queued message to make room; the session stays open. */
    DROP_OLDEST
  }

  /**
   * Which Redis pub/sub carries the channels: {@code auto} is {@code sharded} when the Redisson
   * configuration is a cluster one, else {@code classic}.
   */
  public enum PubSub {
    AUTO,
    /** PUBLISH / SUBSCRIBE. */
    CLASSIC,
    /** SPUBLISH / SSUBSCRIBE (Redis 7 cluster): a channel lives on the shard of its slot. */
    SHARDED
  }

  public static final String ENABLED = "wscluster.enabled";
  public static final String TRANSPORT = "wscluster.transport";
  public static final String REDIS_ADDRESS = "wscluster.redis.address";
  public static final String REDIS_USERNAME = "wscluster.redis.username";
  public static final String REDIS_PASSWORD = "wscluster.redis.password";
  public static final String REDIS_CONFIG = "wscluster.redis.config";
  public static final String REDIS_CONNECTIONS = "wscluster.redis.connections";
  public static final String REDIS_PUBSUB = "wscluster.redis.pubsub";
  public static final String CHANNEL_PREFIX = "wscluster.channel.prefix";
  public static final String NODE_NAME = "wscluster.node.name";
  public static final String OUTBOX_MAX_FRAMES = "wscluster.outbox.max-frames";
  public static final String OUTBOX_OVERFLOW = "wscluster.outbox.overflow";
  public static final String OUTBOX_MAX_BYTES = "wscluster.outbox.max-bytes";
  public static final String OUTBOX_STALL_TIMEOUT = "wscluster.outbox.stall-timeout";
  public static final String WRITE_DELAY = "wscluster.write.delay";
  public static final String MESSAGE_MAX_BYTES = "wscluster.message.max-bytes";
  public static final String SECRET = "wscluster.secret";
  public static final String SECRET_PREVIOUS = "wscluster.secret.previous";
  public static final String DEDUP_WINDOW = "wscluster.dedup.window";
  public static final String DEDUP_ORIGIN_TTL = "wscluster.dedup.origin-ttl";
  public static final String SHUTDOWN_TIMEOUT = "wscluster.shutdown.timeout";
  public static final String NODE_HEARTBEAT = "wscluster.node.heartbeat";
  public static final String NODE_TTL = "wscluster.node.ttl";
  public static final String RECEIPT_TIMEOUT = "wscluster.receipt.timeout";
  public static final String OUTAGE_BUFFER = "wscluster.outage.buffer";
  public static final String OUTAGE_BUFFER_BYTES = "wscluster.outage.buffer-bytes";
  public static final String HEALTH_PATH = "wscluster.health.path";
  public static final String HISTORY_ENABLED = "wscluster.history.enabled";
  public static final String HISTORY_MAX_LENGTH = "wscluster.history.max-length";
  public static final String HISTORY_MAX_AGE = "wscluster.history.max-age";
  public static final String CONFIG_FILE = "wscluster.config.file";

  /** What the byte bound of an outbox counts per queued message besides its payload. */
  static final int OUTBOX_FRAME_OVERHEAD = 64;

  /** Shortest secret accepted: 32 characters are at least 32 bytes of key. */
  static final int MIN_SECRET_LENGTH = 32;

  static final int MAX_MESSAGE_BYTES = 64 * 1024 * 1024;

  /**
   * Every key, declared once in {@link ConfigKeys}: name, default ("" when none), type of value,
   * meaning. The one list all sources obey, in the order startup logs them. Unmodifiable.
   */
  public static final Map<String, Key> KEYS = ConfigKeys.ALL;

  private final ConfigValues values;

  private WsClusterConfig(Map<String, String> raw, Function<String, String> sourceOf,
      Map<String, String> webappDefaults) {
    this.values = new ConfigValues(raw, sourceOf, webappDefaults);
  }

  /** The parsed value of {@code key}; its type is the one of its row in {@link #KEYS}. */
  private <T> T get(String key) {
    return values.get(key);
  }

  /** A builder whose values rank above every other source. */
  public static Builder builder() {
    return new Builder();
  }

  /**
   * Builds a config from raw key/value pairs, checking every key and value.
   *
   * @param sourceOf names where a key's value came from, for error messages
   */
  static WsClusterConfig parse(Map<String, String> raw, Function<String, String> sourceOf) {
    return parse(raw, sourceOf, Map.of());
  }

  /**
   * As {@link #parse(Map, Function)}, for a webapp: a key {@code raw} does not set takes its
   * value from {@code webappDefaults} when that has it (see {@link #webappDefaults(String)}).
   */
  static WsClusterConfig parse(Map<String, String> raw, Function<String, String> sourceOf,
      Map<String, String> webappDefaults) {
    for (String key : raw.keySet()) {
      ConfigLoader.checkKnown(key, sourceOf.apply(key));
    }
    return new WsClusterConfig(raw, sourceOf, webappDefaults);
  }

  /**
   * The defaults that depend on the webapp at {@code contextPath}: its own channel prefix
   * ({@link ConfigKeys#prefixOf}), so two apps on one Redis are two clusters unless they set
   * the same prefix.
   */
  static Map<String, String> webappDefaults(String contextPath) {
    return Map.of(CHANNEL_PREFIX, ConfigKeys.prefixOf(contextPath));
  }

  public boolean enabled() {
    return get(ENABLED);
  }

  /** The built-in backend {@link #transportName()} names; throws for any other backend. */
  public TransportType transport() {
    return TransportType.valueOf(transportName().toUpperCase(Locale.ROOT));
  }

  /** The name of the backend provider, lower case: "redis", "memory" or another's. */
  public String transportName() {
    return get(TRANSPORT);
  }

  public URI redisAddress() {
    return get(REDIS_ADDRESS);
  }

  /** The ACL user name, or "" for none. */
  public String redisUsername() {
    return get(REDIS_USERNAME);
  }

  /** The password, or "" for none. Never logged. */
  public String redisPassword() {
    return get(REDIS_PASSWORD);
  }

  /** The Redisson YAML file, or null to use {@link #redisAddress()}. */
  public Path redisConfig() {
    return get(REDIS_CONFIG);
  }

  public int redisConnections() {
    return get(REDIS_CONNECTIONS);
  }

  /** Classic or sharded pub/sub, or {@code AUTO}: decided by the Redis backend at start. */
  public PubSub redisPubSub() {
    return get(REDIS_PUBSUB);
  }

  /**
   * The prefix of every channel and key; unset, one derived from the webapp's context path
   * ({@code wscluster} at the root, {@code wscluster-chat} at {@code /chat}), and {@code
   * wscluster} for a config built outside a webapp.
   */
  public String channelPrefix() {
    return get(CHANNEL_PREFIX);
  }

  public String nodeName() {
    return get(NODE_NAME);
  }

  public int outboxMaxFrames() {
    return get(OUTBOX_MAX_FRAMES);
  }

  public Overflow outboxOverflow() {
    return get(OUTBOX_OVERFLOW);
  }

  /** Bytes one session's outbox may hold, each message counted as payload + 64. */
  public int outboxMaxBytes() {
    return get(OUTBOX_MAX_BYTES);
  }

  /** How long a session's write may make no progress before its client is judged slow. */
  public Duration outboxStallTimeout() {
    return get(OUTBOX_STALL_TIMEOUT);
  }

  /** How long writes to a session wait to be gathered (0: none). */
  public Duration writeDelay() {
    return get(WRITE_DELAY);
  }

  public int messageMaxBytes() {
    return get(MESSAGE_MAX_BYTES);
  }

  /**
   * The key frames are tagged with, or "" when they are not. Package-private and never logged:
   * only the codec needs it.
   */
  String secret() {
    return get(SECRET);
  }

  /** A second key tags are verified with during a key change, or "". Never logged. */
  String secretPrevious() {
    return get(SECRET_PREVIOUS);
  }

  public int dedupWindow() {
    return get(DEDUP_WINDOW);
  }

  public Duration dedupOriginTtl() {
    return get(DEDUP_ORIGIN_TTL);
  }

  public Duration shutdownTimeout() {
    return get(SHUTDOWN_TIMEOUT);
  }

  public Duration nodeHeartbeat() {
    return get(NODE_HEARTBEAT);
  }

  public Duration nodeTtl() {
    return get(NODE_TTL);
  }

  public Duration receiptTimeout() {
    return get(RECEIPT_TIMEOUT);
  }

  public int outageBuffer() {
    return get(OUTAGE_BUFFER);
  }

  /** Whether messages are kept in the backend's history, so reconnecting clients can resume. */
  public boolean historyEnabled() {
    return get(HISTORY_ENABLED);
  }

  /** Entries kept per history stream (approximately: Redis trims whole nodes). */
  public int historyMaxLength() {
    return get(HISTORY_MAX_LENGTH);
  }

  /** How long entries are kept in a history stream. */
  public Duration historyMaxAge() {
    return get(HISTORY_MAX_AGE);
  }

  public int outageBufferBytes() {
    return get(OUTAGE_BUFFER_BYTES);
  }

  /** The servlet path of the health endpoint; empty when there is none. */
  public String healthPath() {
    return get(HEALTH_PATH);
  }

  /** The keys that were set explicitly, with their raw values (secrets included: do not log). */
  Map<String, String> explicitValues() {
    return values.explicit;
  }

  /** Every key with its effective value, secrets masked: what startup logs. */
  @Override
  public String toString() {
    return values.toString();
  }

  /**
   * One configuration key as {@link #KEYS} lists it: name, documented default, meaning, and whether
   * its value is secret. Immutable; only this package makes them.
   */
  public static final class Key {
    private final String name;
    private final String defaultValue;
    private final String description;
    final KeyType<?> type;

    Key(String name, String defaultValue, KeyType<?> type, String description) {
      this.name = name;
      this.defaultValue = defaultValue;
      this.type = type;
      this.description = description;
    }

    /** The name, such as {@code wscluster.redis.address}. */
    public String name() {
      return name;
    }

    /**
     * The default as documented: the value used when the key is not set, "" for none; or, for
     * a default computed at startup, what it is ({@code <host name>}).
     */
    public String defaultValue() {
      return defaultValue;
    }

    /** What the key means, with its bounds. */
    public String description() {
      return description;
    }

    /** True when values of this key are masked in logs and error messages. */
    public boolean secret() {
      return type.isSecret();
    }

    @Override
    public String toString() {
      return name;
    }
  }

  /** Builds a config from code; each value is checked as if it came from web.xml. */
  public static final class Builder {
    private final Map<String, String> values = new LinkedHashMap<>();

    private Builder() {}

    /** Sets any key by name, as a string, exactly as it would be written in a properties file. */
    public Builder set(String key, String value) {
      Objects.requireNonNull(key, "key");
      Objects.requireNonNull(value, "value of " + key);
      ConfigLoader.checkKnown(key, "builder");
      values.put(key, value);
      return this;
    }

    public Builder enabled(boolean enabled) {
      return set(ENABLED, Boolean.toString(enabled));
    }

    public Builder transport(TransportType transport) {
      return set(TRANSPORT, ConfigText.lower(transport));
    }

    /** The backend by its provider's name (see {@link io.wscluster.spi.BackendProvider}). */
    public Builder transport(String name) {
      return set(TRANSPORT, name);
    }

    public Builder redisAddress(String address) {
      return set(REDIS_ADDRESS, address);
    }

    public Builder channelPrefix(String prefix) {
      return set(CHANNEL_PREFIX, prefix);
    }

    public Builder nodeName(String name) {
      return set(NODE_NAME, name);
    }

    /** The values set so far, by key. */
    Map<String, String> values() {
      return Collections.unmodifiableMap(values);
    }

    /** Checks every value and builds the config from this builder alone (plus defaults). */
    public WsClusterConfig build() {
      return parse(values, key -> "builder");
    }
  }
}
