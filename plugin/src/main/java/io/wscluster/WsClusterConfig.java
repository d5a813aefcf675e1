package io.wscluster;

import java.net.InetAddress;
import java.net.URI;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.time.Duration;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.function.Function;
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

  /** Every key with its default ("" when none) and what it means; the one list all sources obey. */
  public static final Map<String, String[]> KEYS;

  static {
    Map<String, String[]> keys = new LinkedHashMap<>();
    keys.put(ENABLED, new String[] {"true",
        "false leaves the app single-node: sends reach this node's sessions only"});
    keys.put(TRANSPORT, new String[] {"redis", "redis | memory (one JVM only: tests, demo)"});
    keys.put(REDIS_ADDRESS, new String[] {"redis://127.0.0.1:6379",
        "redis://host:port or rediss://host:port (TLS); ignored when wscluster.redis.config is set"});
    keys.put(REDIS_USERNAME, new String[] {"", "Redis ACL user name"});
    keys.put(REDIS_PASSWORD, new String[] {"", "Redis password (masked in logs)"});
    keys.put(REDIS_CONFIG, new String[] {"",
        "path to a Redisson YAML file (single, sentinel, cluster, replicated; TLS details); replaces "
        + "the address; its servers reconnect and retry every 200 ms unless it sets "
        + "reconnectionDelay or retryDelay"});
    keys.put(REDIS_CONNECTIONS, new String[] {"4",
        "connections to Redis for publishing, 1 to 64 (one more is used for subscriptions); with "
        + "wscluster.redis.config, when set, the file's (master) pool, which the file must not size"});
    keys.put(CHANNEL_PREFIX, new String[] {"wscluster",
        "prefix of every Redis channel and key, so several apps can share one Redis"});
    keys.put(NODE_NAME, new String[] {"<host name>",
        "this node's name in logs and ids; a random part is added at each start"});
    keys.put(OUTBOX_MAX_BYTES, new String[] {"4194304",
        "bytes a session's outbox may hold (payload + " + OUTBOX_FRAME_OVERHEAD + " per message), "
            + "65536 to 1073741824; the default holds a 30 s outage's burst at 300 messages/s of 200 bytes"});
    keys.put(OUTBOX_STALL_TIMEOUT, new String[] {"10s",
        "a session whose write made no progress for this long is a slow client (100ms to 10m)"});
    keys.put(OUTBOX_MAX_FRAMES, new String[] {"1000000",
        "messages a session's outbox may hold besides the byte bound, 1 to 1000000"});
    keys.put(OUTBOX_OVERFLOW, new String[] {"close",
        "a slow client (outbox bound reached, or stalled): close (1013 Try Again Later) | drop-newest | drop-oldest"});
    keys.put(WRITE_DELAY, new String[] {"0ms",
        "how long a session's writes wait to be gathered into one system call (0ms to 1s): "
            + "trades latency for CPU under load"});
    keys.put(MESSAGE_MAX_BYTES, new String[] {"1048576",
        "largest payload in bytes (UTF-8 for text) that send accepts, up to 67108864"});
    keys.put(SECRET, new String[] {"",
        "key of the HMAC-SHA256 tag on every frame between nodes, the same on every node, "
            + MIN_SECRET_LENGTH + " to 1024 characters; empty: frames are not tagged (masked in logs)"});
    keys.put(SECRET_PREVIOUS, new String[] {"",
        "a second key that tags are also verified with (never signed with) while the secret "
            + "changes; needs " + SECRET + " (masked in logs)"});
    keys.put(DEDUP_WINDOW, new String[] {"8192",
        "per-origin anti-replay window in messages, a multiple of 64 from 64 to 1048576"});
    keys.put(DEDUP_ORIGIN_TTL, new String[] {"10m",
        "how long a silent origin's dedup state is kept (at least 1s)"});
    keys.put(SHUTDOWN_TIMEOUT, new String[] {"5s",
        "how long undeploy waits for queued publishes and threads (0s to 5m)"});
    keys.put(NODE_HEARTBEAT, new String[] {"1s",
        "how often a node renews its lease in Redis and cleans up after dead nodes (50ms to 1m)"});
    keys.put(NODE_TTL, new String[] {"5s",
        "a node whose lease is this old is dead: its sessions leave presence (at least 2 heartbeats, up to 10m)"});
    keys.put(RECEIPT_TIMEOUT, new String[] {"5s",
        "how long deliver() waits for the owning nodes to confirm (100ms to 5m)"});
    keys.put(OUTAGE_BUFFER, new String[] {"100000",
        "messages a node keeps for publishing while Redis is unreachable; beyond, send() fails (1 to 10000000)"});
    keys.put(HEALTH_PATH, new String[] {"",
        "servlet path (such as /wscluster/health) answering GET with the node's health as JSON, 200 when ok else 503; empty: none"});
    keys.put(OUTAGE_BUFFER_BYTES, new String[] {"67108864",
        "bytes of encoded messages kept likewise (1048576 to 2147483647)"});
    keys.put(CONFIG_FILE, new String[] {"wscluster.properties on the classpath, if any",
        "path to a properties file with more wscluster.* keys (lowest precedence)"});
    KEYS = Collections.unmodifiableMap(keys);
  }

  private static final Pattern HEALTH_PATH_PATTERN = Pattern.compile("|/[A-Za-z0-9._~/-]{0,200}");
  private static final Pattern NAME = Pattern.compile("[A-Za-z0-9._-]{1,64}");
  private static final Pattern PREFIX = Pattern.compile("[A-Za-z0-9._:-]{1,64}");
  private static final Pattern DURATION = Pattern.compile("(\\d{1,9})(ms|s|m|h|d)");
  static final int MAX_MESSAGE_BYTES = 64 * 1024 * 1024;

  private final Map<String, String> explicit;
  private final boolean enabled;
  private final TransportType transport;
  private final URI redisAddress;
  private final String redisUsername;
  private final String redisPassword;
  private final Path redisConfig;
  private final int redisConnections;
  private final String channelPrefix;
  private final String nodeName;
  private final int outboxMaxFrames;
  private final Overflow outboxOverflow;
  private final int outboxMaxBytes;
  private final Duration outboxStallTimeout;
  private final Duration writeDelay;
  private final int messageMaxBytes;
  private final String secret;
  private final String secretPrevious;
  private final int dedupWindow;
  private final Duration dedupOriginTtl;
  private final Duration shutdownTimeout;
  private final Duration nodeHeartbeat;
  private final Duration nodeTtl;
  private final Duration receiptTimeout;
  private final int outageBuffer;
  private final int outageBufferBytes;
  private final String healthPath;

  private WsClusterConfig(Map<String, String> raw, Function<String, String> sourceOf) {
    Parser p = new Parser(raw, sourceOf);
    this.explicit = Collections.unmodifiableMap(new LinkedHashMap<>(raw));
    this.enabled = p.bool(ENABLED);
    this.transport = p.choice(TRANSPORT, TransportType.class);
    this.redisAddress = p.redisUri(REDIS_ADDRESS);
    this.redisUsername = p.text(REDIS_USERNAME);
    this.redisPassword = p.text(REDIS_PASSWORD);
    this.redisConfig = p.file(REDIS_CONFIG);
    this.redisConnections = p.integer(REDIS_CONNECTIONS, 1, 64, "an integer from 1 to 64");
    this.channelPrefix = p.matching(CHANNEL_PREFIX, PREFIX,
        "1 to 64 characters from A-Z a-z 0-9 . _ : -");
    this.nodeName = raw.containsKey(NODE_NAME)
        ? p.matching(NODE_NAME, NAME, "1 to 64 characters from A-Z a-z 0-9 . _ -")
        : defaultNodeName();
    this.outboxMaxFrames = p.integer(OUTBOX_MAX_FRAMES, 1, 1_000_000,
        "a positive integer up to 1000000");
    this.outboxOverflow = p.choice(OUTBOX_OVERFLOW, Overflow.class);
    this.outboxMaxBytes = p.integer(OUTBOX_MAX_BYTES, 1 << 16, 1 << 30,
        "an integer from 65536 to 1073741824");
    this.outboxStallTimeout = p.duration(OUTBOX_STALL_TIMEOUT, Duration.ofMillis(100),
        Duration.ofMinutes(10), "a duration from 100ms to 10m such as 10s");
    this.writeDelay = p.duration(WRITE_DELAY, Duration.ZERO, Duration.ofSeconds(1),
        "a duration from 0ms to 1s such as 2ms");
    this.messageMaxBytes = p.integer(MESSAGE_MAX_BYTES, 1, MAX_MESSAGE_BYTES,
        "a positive integer up to " + MAX_MESSAGE_BYTES);
    this.secret = p.secret(SECRET);
    this.secretPrevious = p.secret(SECRET_PREVIOUS);
    if (secret.isEmpty() && !secretPrevious.isEmpty()) {
      throw new ConfigException(SECRET_PREVIOUS + " is set (" + sourceOf.apply(SECRET_PREVIOUS)
          + ") but " + SECRET + " is not: a node signs with " + SECRET + " and only verifies with "
          + SECRET_PREVIOUS + " while the secret changes; set both");
    }
    this.dedupWindow = p.integer(DEDUP_WINDOW, 64, 1 << 20,
        "a multiple of 64 from 64 to 1048576");
    if (dedupWindow % 64 != 0) {
      throw p.error(DEDUP_WINDOW, "a multiple of 64 from 64 to 1048576");
    }
    this.dedupOriginTtl = p.duration(DEDUP_ORIGIN_TTL, Duration.ofSeconds(1), Duration.ofDays(7),
        "a duration from 1s to 7d such as 10m");
    this.shutdownTimeout = p.duration(SHUTDOWN_TIMEOUT, Duration.ZERO, Duration.ofMinutes(5),
        "a duration from 0s to 5m such as 5s");
    this.nodeHeartbeat = p.duration(NODE_HEARTBEAT, Duration.ofMillis(50), Duration.ofMinutes(1),
        "a duration from 50ms to 1m such as 1s");
    this.nodeTtl = p.duration(NODE_TTL, Duration.ofMillis(100), Duration.ofMinutes(10),
        "a duration from 100ms to 10m such as 5s");
    if (nodeTtl.compareTo(nodeHeartbeat.multipliedBy(2)) < 0) {
      throw p.error(NODE_TTL, "at least twice " + NODE_HEARTBEAT + " (" + nodeHeartbeat.toMillis()
          + "ms), or a node would expire between two renewals");
    }
    this.receiptTimeout = p.duration(RECEIPT_TIMEOUT, Duration.ofMillis(100),
        Duration.ofMinutes(5), "a duration from 100ms to 5m such as 5s");
    this.outageBuffer = p.integer(OUTAGE_BUFFER, 1, 10_000_000, "an integer from 1 to 10000000");
    this.outageBufferBytes = p.integer(OUTAGE_BUFFER_BYTES, 1 << 20, Integer.MAX_VALUE,
        "an integer from 1048576 to 2147483647");
    this.healthPath = p.matching(HEALTH_PATH, HEALTH_PATH_PATTERN,
        "empty, or a path such as /wscluster/health: / then up to 200 of A-Z a-z 0-9 . _ ~ - /");
    p.text(CONFIG_FILE);
    if (raw.containsKey(REDIS_CONFIG) && raw.containsKey(REDIS_ADDRESS)) {
      throw new ConfigException(REDIS_ADDRESS + " and " + REDIS_CONFIG + " are both set ("
          + sourceOf.apply(REDIS_ADDRESS) + ", " + sourceOf.apply(REDIS_CONFIG)
          + "): set the address inside the Redisson YAML file, or remove " + REDIS_CONFIG);
    }
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

  /** @throws ConfigException with a "did you mean" suggestion when {@code key} is not a known key */
  static void checkKnown(String key, String source) {
    if (KEYS.containsKey(key)) {
      return;
    }
    String best = null;
    int bestDistance = Integer.MAX_VALUE;
    for (String known : KEYS.keySet()) {
      int d = distance(key.toLowerCase(Locale.ROOT), known);
      if (d < bestDistance) {
        bestDistance = d;
        best = known;
      }
    }
    String hint = bestDistance <= Math.max(3, key.length() / 5) ? " Did you mean '" + best + "'?"
        : " Known keys: " + String.join(", ", KEYS.keySet()) + ".";
    throw new ConfigException("Unknown configuration key '" + key + "' (" + source + ")." + hint);
  }

  static int distance(String a, String b) {
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
    return enabled;
  }

  public TransportType transport() {
    return transport;
  }

  public URI redisAddress() {
    return redisAddress;
  }

  /** The ACL user name, or "" for none. */
  public String redisUsername() {
    return redisUsername;
  }

  /** The password, or "" for none. Never logged. */
  public String redisPassword() {
    return redisPassword;
  }

  /** The Redisson YAML file, or null to use {@link #redisAddress()}. */
  public Path redisConfig() {
    return redisConfig;
  }

  public int redisConnections() {
    return redisConnections;
  }

  public String channelPrefix() {
    return channelPrefix;
  }

  public String nodeName() {
    return nodeName;
  }

  public int outboxMaxFrames() {
    return outboxMaxFrames;
  }

  public Overflow outboxOverflow() {
    return outboxOverflow;
  }

  /** Bytes one session's outbox may hold, each message counted as payload + 64. */
  public int outboxMaxBytes() {
    return outboxMaxBytes;
  }

  /** How long a session's write may make no progress before its client is judged slow. */
  public Duration outboxStallTimeout() {
    return outboxStallTimeout;
  }

  /** How long writes to a session wait to be gathered (0: none). */
  public Duration writeDelay() {
    return writeDelay;
  }

  public int messageMaxBytes() {
    return messageMaxBytes;
  }

  /**
   * The key frames are tagged with, or "" when they are not. Package-private and never logged:
   * only the codec needs it.
   */
  String secret() {
    return secret;
  }

  /** A second key tags are verified with during a key change, or "". Never logged. */
  String secretPrevious() {
    return secretPrevious;
  }

  public int dedupWindow() {
    return dedupWindow;
  }

  public Duration dedupOriginTtl() {
    return dedupOriginTtl;
  }

  public Duration shutdownTimeout() {
    return shutdownTimeout;
  }

  public Duration nodeHeartbeat() {
    return nodeHeartbeat;
  }

  public Duration nodeTtl() {
    return nodeTtl;
  }

  public Duration receiptTimeout() {
    return receiptTimeout;
  }

  public int outageBuffer() {
    return outageBuffer;
  }

  public int outageBufferBytes() {
    return outageBufferBytes;
  }

  /** The servlet path of the health endpoint; empty when there is none. */
  public String healthPath() {
    return healthPath;
  }

  /** The keys that were set explicitly, with their raw values (secrets included: do not log). */
  Map<String, String> explicitValues() {
    return explicit;
  }

  /** Every key with its effective value, secrets masked: what startup logs. */
  @Override
  public String toString() {
    Map<String, Object> shown = new LinkedHashMap<>();
    shown.put(ENABLED, enabled);
    shown.put(TRANSPORT, lower(transport));
    shown.put(REDIS_ADDRESS, redisConfig != null ? "(from " + REDIS_CONFIG + ")" : redisAddress);
    shown.put(REDIS_USERNAME, redisUsername);
    shown.put(REDIS_PASSWORD, redisPassword.isEmpty() ? "" : "****");
    shown.put(REDIS_CONFIG, redisConfig == null ? "" : redisConfig);
    shown.put(REDIS_CONNECTIONS, redisConnections);
    shown.put(CHANNEL_PREFIX, channelPrefix);
    shown.put(NODE_NAME, nodeName);
    shown.put(OUTBOX_MAX_FRAMES, outboxMaxFrames);
    shown.put(OUTBOX_OVERFLOW, lower(outboxOverflow));
    shown.put(OUTBOX_MAX_BYTES, outboxMaxBytes);
    shown.put(OUTBOX_STALL_TIMEOUT, explicitOr(OUTBOX_STALL_TIMEOUT));
    shown.put(WRITE_DELAY, explicitOr(WRITE_DELAY));
    shown.put(MESSAGE_MAX_BYTES, messageMaxBytes);
    shown.put(SECRET, masked(SECRET, secret));
    shown.put(SECRET_PREVIOUS, masked(SECRET_PREVIOUS, secretPrevious));
    shown.put(DEDUP_WINDOW, dedupWindow);
    shown.put(DEDUP_ORIGIN_TTL, explicitOr(DEDUP_ORIGIN_TTL));
    shown.put(SHUTDOWN_TIMEOUT, explicitOr(SHUTDOWN_TIMEOUT));
    shown.put(NODE_HEARTBEAT, explicitOr(NODE_HEARTBEAT));
    shown.put(NODE_TTL, explicitOr(NODE_TTL));
    shown.put(RECEIPT_TIMEOUT, explicitOr(RECEIPT_TIMEOUT));
    shown.put(OUTAGE_BUFFER, outageBuffer);
    shown.put(OUTAGE_BUFFER_BYTES, outageBufferBytes);
    shown.put(HEALTH_PATH, healthPath);
    return shown.toString();
  }

  private String explicitOr(String key) {
    return explicit.getOrDefault(key, KEYS.get(key)[0]).trim();
  }

  /** A value as it may be shown in logs and errors: passwords, secrets, URL credentials hidden. */
  static String masked(String key, String value) {
    if (key.equals(REDIS_PASSWORD) || key.equals(SECRET) || key.equals(SECRET_PREVIOUS)) {
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

  /** Reads typed values out of the raw map, with defaults from {@link #KEYS}. */
  private static final class Parser {
    private final Map<String, String> raw;
    private final Function<String, String> sourceOf;

    Parser(Map<String, String> raw, Function<String, String> sourceOf) {
      this.raw = raw;
      this.sourceOf = sourceOf;
    }

    /** The value, trimmed, except credentials: their spaces may be meant. */
    String value(String key) {
      String v = raw.get(key);
      v = v == null ? KEYS.get(key)[0] : v;
      return key.equals(REDIS_PASSWORD) || key.equals(REDIS_USERNAME) ? v : v.trim();
    }

    ConfigException error(String key, String expected) {
      if (!raw.containsKey(key)) {
        // refused through another key (node.ttl against node.heartbeat): nobody set this one
        return new ConfigException(key + " has its default value '" + KEYS.get(key)[0]
            + "', must be " + expected);
      }
      String shown = printable(masked(key, raw.get(key)));
      return new ConfigException(key + " value was set to '" + shown + "' ("
          + sourceOf.apply(key) + "), must be " + expected);
    }

    boolean bool(String key) {
      String v = value(key).toLowerCase(Locale.ROOT);
      if (v.equals("true") || v.equals("false")) {
        return Boolean.parseBoolean(v);
      }
      throw error(key, "true or false");
    }

    <E extends Enum<E>> E choice(String key, Class<E> type) {
      String v = value(key);
      StringBuilder expected = new StringBuilder("one of");
      for (E e : type.getEnumConstants()) {
        if (lower(e).equalsIgnoreCase(v)) {
          return e;
        }
        expected.append(' ').append(lower(e));
      }
      throw error(key, expected.toString());
    }

    int integer(String key, int min, int max, String expected) {
      try {
        long v = Long.parseLong(value(key));
        if (v >= min && v <= max) {
          return (int) v;
        }
      } catch (NumberFormatException e) {
        // reported below, with the key
      }
      throw error(key, expected);
    }

    Duration duration(String key, Duration min, Duration max, String expected) {
      var m = DURATION.matcher(value(key).toLowerCase(Locale.ROOT));
      if (m.matches()) {
        long n = Long.parseLong(m.group(1));
        Duration d;
        switch (m.group(2)) {
          case "ms": d = Duration.ofMillis(n); break;
          case "s": d = Duration.ofSeconds(n); break;
          case "m": d = Duration.ofMinutes(n); break;
          case "h": d = Duration.ofHours(n); break;
          default: d = Duration.ofDays(n); break;
        }
        if (d.compareTo(min) >= 0 && d.compareTo(max) <= 0) {
          return d;
        }
      }
      throw error(key, expected);
    }

    String text(String key) {
      String v = value(key);
      if (v.length() > 1024 || v.chars().anyMatch(Character::isISOControl)) {
        throw error(key, "at most 1024 characters without control characters");
      }
      return v;
    }

    /** "" for none, else a key of at least {@link #MIN_SECRET_LENGTH} characters. */
    String secret(String key) {
      String v = value(key);
      if (!v.isEmpty() && (v.length() < MIN_SECRET_LENGTH || v.length() > 1024
          || v.chars().anyMatch(Character::isISOControl))) {
        throw error(key, MIN_SECRET_LENGTH + " to 1024 characters without control characters, "
            + "the same on every node (make one with: openssl rand -base64 32), or empty for none");
      }
      return v;
    }

    String matching(String key, Pattern pattern, String expected) {
      String v = value(key);
      if (pattern.matcher(v).matches()) {
        return v;
      }
      throw error(key, expected);
    }

    URI redisUri(String key) {
      String v = value(key);
      String expected = "a URL redis://host:port or rediss://host:port";
      try {
        URI uri = new URI(v);
        String scheme = uri.getScheme();
        if (scheme == null || !(scheme.equalsIgnoreCase("redis") || scheme.equalsIgnoreCase("rediss"))) {
          throw error(key, expected + (scheme == null ? " (no scheme)"
              : " (scheme '" + scheme + "' is not redis or rediss)"));
        }
        if (uri.getHost() == null || uri.getHost().isEmpty()) {
          throw error(key, expected + " (no host)");
        }
        if (uri.getPort() == 0 || uri.getPort() > 65535) {
          throw error(key, expected + " (port out of range)");
        }
        if (uri.getUserInfo() != null) {
          throw error(key, expected + " without credentials (use " + REDIS_USERNAME + " and "
              + REDIS_PASSWORD + ")");
        }
        return uri;
      } catch (URISyntaxException e) {
        throw error(key, expected);
      }
    }

    Path file(String key) {
      String v = value(key);
      if (v.isEmpty()) {
        return null;
      }
      try {
        Path path = Paths.get(v);
        if (Files.isRegularFile(path) && Files.isReadable(path)) {
          return path;
        }
      } catch (java.nio.file.InvalidPathException e) {
        // a character the file system refuses (NUL): the same refusal as a missing file
      }
      throw error(key, "the path of a readable file");
    }
  }
}
