package io.wscluster;

import static io.wscluster.KeyType.backendName;
import static io.wscluster.KeyType.bool;
import static io.wscluster.KeyType.choice;
import static io.wscluster.KeyType.duration;
import static io.wscluster.KeyType.file;
import static io.wscluster.KeyType.integer;
import static io.wscluster.KeyType.matching;
import static io.wscluster.KeyType.multipleOf;
import static io.wscluster.KeyType.positive;
import static io.wscluster.KeyType.redisUri;
import static io.wscluster.KeyType.signingKey;
import static io.wscluster.KeyType.text;
import static io.wscluster.WsClusterConfig.CHANNEL_PREFIX;
import static io.wscluster.WsClusterConfig.CONFIG_FILE;
import static io.wscluster.WsClusterConfig.DEDUP_ORIGIN_TTL;
import static io.wscluster.WsClusterConfig.DEDUP_WINDOW;
import static io.wscluster.WsClusterConfig.ENABLED;
import static io.wscluster.WsClusterConfig.HEALTH_PATH;
import static io.wscluster.WsClusterConfig.HISTORY_ENABLED;
import static io.wscluster.WsClusterConfig.HISTORY_MAX_AGE;
import static io.wscluster.WsClusterConfig.HISTORY_MAX_LENGTH;
import static io.wscluster.WsClusterConfig.MAX_MESSAGE_BYTES;
import static io.wscluster.WsClusterConfig.MESSAGE_MAX_BYTES;
import static io.wscluster.WsClusterConfig.MIN_SECRET_LENGTH;
import static io.wscluster.WsClusterConfig.NODE_HEARTBEAT;
import static io.wscluster.WsClusterConfig.NODE_NAME;
import static io.wscluster.WsClusterConfig.NODE_TTL;
import static io.wscluster.WsClusterConfig.OUTAGE_BUFFER;
import static io.wscluster.WsClusterConfig.OUTAGE_BUFFER_BYTES;
import static io.wscluster.WsClusterConfig.OUTBOX_FRAME_OVERHEAD;
import static io.wscluster.WsClusterConfig.OUTBOX_MAX_BYTES;
import static io.wscluster.WsClusterConfig.OUTBOX_MAX_FRAMES;
import static io.wscluster.WsClusterConfig.OUTBOX_OVERFLOW;
import static io.wscluster.WsClusterConfig.OUTBOX_STALL_TIMEOUT;
import static io.wscluster.WsClusterConfig.RECEIPT_TIMEOUT;
import static io.wscluster.WsClusterConfig.REDIS_ADDRESS;
import static io.wscluster.WsClusterConfig.REDIS_CONFIG;
import static io.wscluster.WsClusterConfig.REDIS_CONNECTIONS;
import static io.wscluster.WsClusterConfig.REDIS_PASSWORD;
import static io.wscluster.WsClusterConfig.REDIS_PUBSUB;
import static io.wscluster.WsClusterConfig.REDIS_USERNAME;
import static io.wscluster.WsClusterConfig.SECRET;
import static io.wscluster.WsClusterConfig.SECRET_PREVIOUS;
import static io.wscluster.WsClusterConfig.SHUTDOWN_TIMEOUT;
import static io.wscluster.WsClusterConfig.TRANSPORT;
import static io.wscluster.WsClusterConfig.WRITE_DELAY;

import io.wscluster.WsClusterConfig.Key;
import io.wscluster.WsClusterConfig.Overflow;
import io.wscluster.WsClusterConfig.PubSub;
import io.wscluster.WsClusterConfig.TransportType;
import java.net.InetAddress;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.regex.Pattern;

/**
 * The table of every configuration key ({@link WsClusterConfig#KEYS}): one row per key with its
 * name, default, type of value and meaning, in the order startup logs them. A new key is a name
 * constant in {@link WsClusterConfig}, a row here and a getter there; a rule between keys goes in
 * WsClusterConfig's constructor.
 */
final class ConfigKeys {
  private static final Pattern HEALTH_PATH_PATTERN = Pattern.compile("|/[A-Za-z0-9._~/-]{0,200}");
  private static final Pattern NAME = Pattern.compile("[A-Za-z0-9._-]{1,64}");
  private static final Pattern PREFIX = Pattern.compile("[A-Za-z0-9._:-]{1,64}");
  /** The channel prefix of a webapp at the root context, and of a node outside any webapp. */
  static final String ROOT_PREFIX = "wscluster";
  /** Characters a context path keeps in its derived prefix; '/' becomes '.'. */
  private static final Pattern KEPT = Pattern.compile("[A-Za-z0-9_-]*");
  /** The longest derived part: with {@code wscluster-}, 64 characters, the prefix's limit. */
  private static final int DERIVED_MAX = 64 - ROOT_PREFIX.length() - 1;

  static final Map<String, Key> ALL = table(
      new Key(ENABLED, "true", bool(),
          "false leaves the app single-node: sends reach this node's sessions only"),
      new Key(TRANSPORT, "redis", backendName(),
          "redis | memory (one JVM only: tests, demo) | the name of another BackendProvider"),
      new Key(REDIS_ADDRESS, "redis://127.0.0.1:6379", redisUri(REDIS_USERNAME, REDIS_PASSWORD),
          "redis://host:port or rediss://host:port (TLS); ignored when wscluster.redis.config is "
          + "set"),
      new Key(REDIS_USERNAME, "", text().untrimmed(), "Redis ACL user name"),
      new Key(REDIS_PASSWORD, "", text().untrimmed().secret(), "Redis password (masked in logs)"),
      new Key(REDIS_CONFIG, "", file(),
          "path to a Redisson YAML file (single, sentinel, cluster, replicated; TLS details); "
          + "replaces the address; its servers reconnect and retry every 200 ms unless it sets "
          + "reconnectionDelay or retryDelay"),
      new Key(REDIS_CONNECTIONS, "4", integer(1, 64),
          "connections to Redis for publishing, 1 to 64 (one more is used for subscriptions); with "
          + "wscluster.redis.config, when set, the file's (master) pool, which the file must not "
          + "size"),
      new Key(REDIS_PUBSUB, "auto", choice(PubSub.class),
          "auto | classic | sharded: sharded pub/sub (SPUBLISH/SSUBSCRIBE, Redis 7+) spreads the "
          + "channels over a Redis Cluster's shards; auto = sharded when wscluster.redis.config "
          + "is a cluster configuration, else classic; sharded elsewhere, or on Redis < 7, fails "
          + "the start"),
      new Key(CHANNEL_PREFIX, "<from the context path>",
          matching(PREFIX, "1 to 64 characters from A-Z a-z 0-9 . _ : -")
          .whenUnset(() -> ROOT_PREFIX),
          "prefix of every Redis channel and key: the nodes of one app share it, and apps sharing "
          + "one Redis must not; unset, " + ROOT_PREFIX + " for the root context, else "
          + ROOT_PREFIX + "- and the context path ('/' as '.'), so every app at its own path is "
          + "its own cluster"),
      new Key(NODE_NAME, "<host name>", matching(NAME, "1 to 64 characters from A-Z a-z 0-9 . _ -")
          .whenUnset(ConfigKeys::defaultNodeName),
          "this node's name in logs and ids; a random part is added at each start"),
      new Key(OUTBOX_MAX_FRAMES, "1000000", positive(1_000_000),
          "messages a session's outbox may hold besides the byte bound, 1 to 1000000"),
      new Key(OUTBOX_OVERFLOW, "close", choice(Overflow.class),
          "a slow client (outbox bound reached, or stalled): close (1013 Try Again Later) | "
          + "drop-newest | drop-oldest"),
      new Key(OUTBOX_MAX_BYTES, "4194304", integer(1 << 16, 1 << 30),
          "bytes a session's outbox may hold (payload + " + OUTBOX_FRAME_OVERHEAD
          + " per message), 65536 to 1073741824; the default holds a 30 s outage's burst at 300 "
          + "messages/s of 200 bytes"),
      new Key(OUTBOX_STALL_TIMEOUT, "10s", duration("100ms", "10m", "10s"),
          "a session whose write made no progress for this long is a slow client (100ms to 10m)"),
      new Key(WRITE_DELAY, "0ms", duration("0ms", "1s", "2ms"),
          "how long a session's writes wait to be gathered into one system call (0ms to 1s): "
          + "trades latency for CPU under load"),
      new Key(MESSAGE_MAX_BYTES, "1048576", positive(MAX_MESSAGE_BYTES),
          "largest payload in bytes (UTF-8 for text) that send accepts, up to 67108864"),
      new Key(SECRET, "", signingKey(MIN_SECRET_LENGTH).secret(),
          "key of the HMAC-SHA256 tag on every frame between nodes, the same on every node, "
          + MIN_SECRET_LENGTH + " to 1024 characters; empty: frames are not tagged (masked in "
          + "logs)"),
      new Key(SECRET_PREVIOUS, "", signingKey(MIN_SECRET_LENGTH).secret(),
          "a second key that tags are also verified with (never signed with) while the secret "
          + "changes; needs " + SECRET + " (masked in logs)"),
      new Key(DEDUP_WINDOW, "8192", multipleOf(64, 64, 1 << 20),
          "per-origin anti-replay window in messages, a multiple of 64 from 64 to 1048576"),
      new Key(DEDUP_ORIGIN_TTL, "10m", duration("1s", "7d", "10m"),
          "how long a silent origin's dedup state is kept (at least 1s)"),
      new Key(SHUTDOWN_TIMEOUT, "5s", duration("0s", "5m", "5s"),
          "how long undeploy waits for queued publishes and threads (0s to 5m)"),
      new Key(NODE_HEARTBEAT, "1s", duration("50ms", "1m", "1s"),
          "how often a node renews its lease in Redis and cleans up after dead nodes (50ms to 1m)"),
      new Key(NODE_TTL, "5s", duration("100ms", "10m", "5s"),
          "a node whose lease is this old is dead: its sessions leave presence (at least 2 "
          + "heartbeats, up to 10m)"),
      new Key(RECEIPT_TIMEOUT, "5s", duration("100ms", "5m", "5s"),
          "how long deliver() waits for the owning nodes to confirm (100ms to 5m)"),
      new Key(OUTAGE_BUFFER, "100000", integer(1, 10_000_000),
          "messages a node keeps for publishing while Redis is unreachable; beyond, send() fails "
          + "(1 to 10000000)"),
      new Key(OUTAGE_BUFFER_BYTES, "67108864", integer(1 << 20, Integer.MAX_VALUE),
          "bytes of encoded messages kept likewise (1048576 to 2147483647)"),
      new Key(HISTORY_ENABLED, "true", bool(),
          "keep recent room, user and broadcast text messages in Redis streams, so a client that "
          + "reconnects to any node can resume (see the README's Recovery); false: no history"),
      new Key(HISTORY_MAX_LENGTH, "1000", integer(1, 10_000_000),
          "messages kept per history stream, approximately (1 to 10000000)"),
      new Key(HISTORY_MAX_AGE, "2m", duration("1s", "7d", "2m"),
          "how long messages are kept in a history stream (1s to 7d)"),
      new Key(HEALTH_PATH, "", matching(HEALTH_PATH_PATTERN,
          "empty, or a path such as /wscluster/health: / then up to 200 of A-Z a-z 0-9 . _ ~ - /"),
          "servlet path (such as /wscluster/health) answering GET with the node's health as JSON, "
          + "200 when ok else 503; empty: none"),
      // read by ConfigLoader before the others; checked here only as text, and not logged
      new Key(CONFIG_FILE, "wscluster.properties on the classpath, if any", text(),
          "path to a properties file with more wscluster.* keys (lowest precedence)"));

  private ConfigKeys() {
  }

  private static Map<String, Key> table(Key... rows) {
    Map<String, Key> keys = new LinkedHashMap<>();
    for (Key row : rows) {
      if (keys.put(row.name(), row) != null) {
        throw new IllegalStateException("two rows for " + row.name());
      }
    }
    return Collections.unmodifiableMap(keys);
  }

  /**
   * The channel prefix of a webapp at {@code contextPath} that does not set one:
   * {@value #ROOT_PREFIX} at the root context ("" or "/"), else {@code wscluster-} and the path
   * without its leading '/', each further '/' as '.' ({@code /shop/chat}: {@code
   * wscluster-shop.chat}). The same path gives the same prefix on every node, so one app's nodes
   * form one cluster; different paths give different prefixes. A path that takes more than that
   * mapping (a character outside A-Z a-z 0-9 _ - /, or longer than 54 characters) keeps what
   * fits, each other character as '_', and ends in '-' and the 8 hex digits of the path's
   * CRC-32, so two such paths differ unless their checksums collide. The derived part never
   * holds ':', the separator after the prefix in every channel and key: no app's channels or
   * keys are another's (the root app's {@code wscluster:room:x} is no derived prefix's).
   */
  static String prefixOf(String contextPath) {
    String path = contextPath.startsWith("/") ? contextPath.substring(1) : contextPath;
    if (path.isEmpty()) {
      return ROOT_PREFIX;
    }
    String dotted = path.replace('/', '.');
    if (KEPT.matcher(path.replace("/", "")).matches() && dotted.length() <= DERIVED_MAX) {
      return ROOT_PREFIX + "-" + dotted;
    }
    java.util.zip.CRC32 crc = new java.util.zip.CRC32();
    crc.update(contextPath.getBytes(java.nio.charset.StandardCharsets.UTF_8));
    String kept = path.replaceAll("[^A-Za-z0-9_/-]", "_").replace('/', '.');
    kept = kept.substring(0, Math.min(kept.length(), DERIVED_MAX - 9));
    return ROOT_PREFIX + "-" + kept + "-" + String.format("%08x", crc.getValue());
  }

  private static String defaultNodeName() {
    String host;
    try {
      host = InetAddress.getLocalHost().getHostName();
    } catch (Exception e) {
      host = "node";
    }
    String clean = host.replaceAll("[^A-Za-z0-9._-]", "-");
    if (clean.isEmpty()) {
      clean = "node";
    }
    return clean.length() > 64 ? clean.substring(0, 64) : clean;
  }

}
