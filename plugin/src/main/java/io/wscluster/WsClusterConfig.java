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

import java.net.InetAddress;
import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.function.Function;
import java.util.function.UnaryOperator;
import java.util.regex.Pattern;

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
    /** Close the session with 1013 "Try Again Later" (the client reconnects and catches up). */
    CLOSE,
    /** Drop the message that did not fit; the session stays open. */
    DROP_NEWEST,
    /** Drop the oldest queued message to make room; the session stays open. */
    DROP_OLDEST
  }

  public static final String ENABLED = "wscluster.enabled";
  public static final String TRANSPORT = "wscluster.transport";
  public static final String REDIS_ADDRESS = "wscluster.redis.address";
  public static final String REDIS_USERNAME = "wscluster.redis.username";
  public static final String REDIS_PASSWORD = "wscluster.redis.password";
  public static final String REDIS_CONFIG = "wscluster.redis.config";
  public static final String REDIS_CONNECTIONS = "wscluster.redis.connections";
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
  public static final String CONFIG_FILE = "wscluster.config.file";

  /** What the byte bound of an outbox counts per queued message besides its payload. */
  static final int OUTBOX_FRAME_OVERHEAD = 64;

  /** Shortest secret accepted: 32 characters are at least 32 bytes of key. */
  static final int MIN_SECRET_LENGTH = 32;

  static final int MAX_MESSAGE_BYTES = 64 * 1024 * 1024;

  private static final Pattern HEALTH_PATH_PATTERN = Pattern.compile("|/[A-Za-z0-9._~/-]{0,200}");
  private static final Pattern NAME = Pattern.compile("[A-Za-z0-9._-]{1,64}");
  private static final Pattern PREFIX = Pattern.compile("[A-Za-z0-9._:-]{1,64}");

  /**
   * Every key, declared once: name, default ("" when none), type of value, meaning. The one list
   * all sources obey, in the order startup logs them. A new key is a name constant above, a row
   * here and a getter; a rule between keys goes in the constructor.
   */
  public static final Map<String, Key> KEYS = table(
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
      new Key(CHANNEL_PREFIX, "wscluster",
          matching(PREFIX, "1 to 64 characters from A-Z a-z 0-9 . _ : -"),
          "prefix of every Redis channel and key, so several apps can share one Redis"),
      new Key(NODE_NAME, "<host name>", matching(NAME, "1 to 64 characters from A-Z a-z 0-9 . _ -")
          .whenUnset(WsClusterConfig::defaultNodeName),
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
      new Key(HEALTH_PATH, "", matching(HEALTH_PATH_PATTERN,
          "empty, or a path such as /wscluster/health: / then up to 200 of A-Z a-z 0-9 . _ ~ - /"),
          "servlet path (such as /wscluster/health) answering GET with the node's health as JSON, "
          + "200 when ok else 503; empty: none"),
      // read by ConfigLoader before the others; checked here only as text, and not logged
      new Key(CONFIG_FILE, "wscluster.properties on the classpath, if any", text(),
          "path to a properties file with more wscluster.* keys (lowest precedence)"));

  /** The keys that were set, with their raw values (secrets included: do not log). */
  private final Map<String, String> explicit;
  /** Every key's value, parsed; null for an unset optional file. */
  private final Map<String, Object> values = new HashMap<>();
  /** Every key's value as startup logs it, secrets masked, in the order of {@link #KEYS}. */
  private final Map<String, String> shown = new LinkedHashMap<>();

  private WsClusterConfig(Map<String, String> raw, Function<String, String> sourceOf) {
    this.explicit = Collections.unmodifiableMap(new LinkedHashMap<>(raw));
    for (Key key : KEYS.values()) {
      read(key, key.type, sourceOf);
    }
    shown.remove(CONFIG_FILE);
    if (redisConfig() != null) {
      shown.put(REDIS_ADDRESS, "(from " + REDIS_CONFIG + ")");
    }
    if (secret().isEmpty() && !secretPrevious().isEmpty()) {
      throw new ConfigException(SECRET_PREVIOUS + " is set (" + sourceOf.apply(SECRET_PREVIOUS)
          + ") but " + SECRET + " is not: a node signs with " + SECRET + " and only verifies with "
          + SECRET_PREVIOUS + " while the secret changes; set both");
    }
    if (nodeTtl().compareTo(nodeHeartbeat().multipliedBy(2)) < 0) {
      throw error(NODE_TTL, "at least twice " + NODE_HEARTBEAT + " ("
          + nodeHeartbeat().toMillis() + "ms), or a node would expire between two renewals",
          sourceOf);
    }
    if (raw.containsKey(REDIS_CONFIG) && raw.containsKey(REDIS_ADDRESS)) {
      throw new ConfigException(REDIS_ADDRESS + " and " + REDIS_CONFIG + " are both set ("
          + sourceOf.apply(REDIS_ADDRESS) + ", " + sourceOf.apply(REDIS_CONFIG)
          + "): set the address inside the Redisson YAML file, or remove " + REDIS_CONFIG);
    }
  }

  /** Parses {@code key}'s value (set, or its default) into {@link #values} and {@link #shown}. */
  private <T> void read(Key key, KeyType<T> type, Function<String, String> sourceOf) {
    String set = explicit.get(key.name());
    String text = type.normalize(set != null ? set : type.unsetText(key.defaultValue()));
    T value;
    try {
      value = type.parse(text);
    } catch (KeyType.Refused e) {
      throw error(key.name(), e.getMessage(), sourceOf);
    }
    values.put(key.name(), value);
    shown.put(key.name(), type.show(value, text));
  }

  /** The one form of a refused value: key, value as set (masked), source, expectation. */
  private ConfigException error(String key, String expected, Function<String, String> sourceOf) {
    if (!explicit.containsKey(key)) {
      // refused through another key (node.ttl against node.heartbeat): nobody set this one
      return new ConfigException(key + " has its default value '" + KEYS.get(key).defaultValue()
          + "', must be " + expected);
    }
    return refused(key, explicit.get(key), sourceOf.apply(key), expected);
  }

  /** {@code key value was set to 'value' (source), must be expected}, the value masked. */
  static ConfigException refused(String key, String value, String source, String expected) {
    return new ConfigException(valueWasSet(key, value, source) + ", must be " + expected);
  }

  /** {@code key value was set to 'value' (source)}: how every refusal of a value begins. */
  static String valueWasSet(String key, String value, String source) {
    return key + " value was set to '" + printable(masked(key, value)) + "' (" + source + ")";
  }

  /** The parsed value of {@code key}; its type is the one of its row in {@link #KEYS}. */
  @SuppressWarnings("unchecked")
  private <T> T get(String key) {
    return (T) values.get(key);
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
    for (String key : raw.keySet()) {
      checkKnown(key, sourceOf.apply(key));
    }
    return new WsClusterConfig(raw, sourceOf);
  }

  /** @throws ConfigException with a "did you mean" suggestion when {@code key} is not known */
  static void checkKnown(String key, String source) {
    if (KEYS.containsKey(key)) {
      return;
    }
    String best = nearestKey(key.toLowerCase(Locale.ROOT), UnaryOperator.identity());
    String hint = best != null ? " Did you mean '" + best + "'?"
        : " Known keys: " + String.join(", ", KEYS.keySet()) + ".";
    throw new ConfigException("Unknown configuration key '" + key + "' (" + source + ")." + hint);
  }

  /**
   * The key, as {@code spelling} writes it, closest to the unknown {@code name} written that way
   * (a typo or two); null when none is close enough to suggest.
   */
  static String nearestKey(String name, UnaryOperator<String> spelling) {
    String best = null;
    int bestDistance = Integer.MAX_VALUE;
    for (String key : KEYS.keySet()) {
      String spelled = spelling.apply(key);
      int d = distance(name, spelled);
      if (d < bestDistance) {
        bestDistance = d;
        best = spelled;
      }
    }
    return bestDistance <= Math.max(3, name.length() / 5) ? best : null;
  }

  private static int distance(String a, String b) {
    int[] prev = new int[b.length() + 1];
    int[] cur = new int[b.length() + 1];
    for (int j = 0; j <= b.length(); j++) {
      prev[j] = j;
    }
    for (int i = 1; i <= a.length(); i++) {
      cur[0] = i;
      for (int j = 1; j <= b.length(); j++) {
        int cost = a.charAt(i - 1) == b.charAt(j - 1) ? 0 : 1;
        cur[j] = Math.min(Math.min(cur[j - 1] + 1, prev[j] + 1), prev[j - 1] + cost);
      }
      int[] t = prev;
      prev = cur;
      cur = t;
    }
    return prev[b.length()];
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

  public int outageBufferBytes() {
    return get(OUTAGE_BUFFER_BYTES);
  }

  /** The servlet path of the health endpoint; empty when there is none. */
  public String healthPath() {
    return get(HEALTH_PATH);
  }

  /** The keys that were set explicitly, with their raw values (secrets included: do not log). */
  Map<String, String> explicitValues() {
    return explicit;
  }

  /** Every key with its effective value, secrets masked: what startup logs. */
  @Override
  public String toString() {
    return shown.toString();
  }

  /** A value as it may be shown in logs and errors: passwords, secrets, URL credentials hidden. */
  static String masked(String key, String value) {
    Key known = KEYS.get(key);
    if (known != null && known.secret()) {
      return value.isEmpty() ? "" : "****";
    }
    // up to the last '@': a password may itself contain '@' or '/'
    return value.replaceAll("//.*@", "//****@");
  }

  /** Control characters as \\uXXXX, so an error message shows what was set and stays one line. */
  static String printable(String value) {
    StringBuilder out = new StringBuilder(value.length());
    for (char c : value.toCharArray()) {
      if (Character.isISOControl(c)) {
        out.append(String.format("\\u%04x", (int) c));
      } else {
        out.append(c);
      }
    }
    return out.toString();
  }

  static String lower(Enum<?> e) {
    return e.name().toLowerCase(Locale.ROOT).replace('_', '-');
  }

  /**
   * One configuration key as {@link #KEYS} lists it: name, documented default, meaning, and whether
   * its value is secret. Immutable; only this class makes them.
   */
  public static final class Key {
    private final String name;
    private final String defaultValue;
    private final String description;
    final KeyType<?> type;

    private Key(String name, String defaultValue, KeyType<?> type, String description) {
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

  private static Map<String, Key> table(Key... rows) {
    Map<String, Key> keys = new LinkedHashMap<>();
    for (Key row : rows) {
      if (keys.put(row.name(), row) != null) {
        throw new IllegalStateException("two rows for " + row.name());
      }
    }
    return Collections.unmodifiableMap(keys);
  }

  /** Builds a config from code; each value is checked as if it came from web.xml. */
  public static final class Builder {
    private final Map<String, String> values = new LinkedHashMap<>();

    private Builder() {}

    /** Sets any key by name, as a string, exactly as it would be written in a properties file. */
    public Builder set(String key, String value) {
      Objects.requireNonNull(key, "key");
      Objects.requireNonNull(value, "value of " + key);
      checkKnown(key, "builder");
      values.put(key, value);
      return this;
    }

    public Builder enabled(boolean enabled) {
      return set(ENABLED, Boolean.toString(enabled));
    }

    public Builder transport(TransportType transport) {
      return set(TRANSPORT, lower(transport));
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
