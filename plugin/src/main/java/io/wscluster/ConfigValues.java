package io.wscluster;

import static io.wscluster.WsClusterConfig.CONFIG_FILE;
import static io.wscluster.WsClusterConfig.NODE_HEARTBEAT;
import static io.wscluster.WsClusterConfig.NODE_TTL;
import static io.wscluster.WsClusterConfig.REDIS_ADDRESS;
import static io.wscluster.WsClusterConfig.REDIS_CONFIG;
import static io.wscluster.WsClusterConfig.SECRET;
import static io.wscluster.WsClusterConfig.SECRET_PREVIOUS;

import io.wscluster.WsClusterConfig.Key;
import java.time.Duration;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.Function;

/**
 * Every key's value of one {@link WsClusterConfig}, parsed by its row in {@link ConfigKeys#ALL}
 * and checked against the other keys it depends on; built once, read-only after.
 */
final class ConfigValues {
  /** The keys that were set, with their raw values (secrets included: do not log). */
  final Map<String, String> explicit;
  /** Defaults that depend on the webapp (the channel prefix), for keys not set; by key. */
  private final Map<String, String> webappDefaults;
  /** Every key's value, parsed; null for an unset optional file. */
  private final Map<String, Object> values = new HashMap<>();
  /** Every key's value as startup logs it, secrets masked, in the order of the keys. */
  private final Map<String, String> shown = new LinkedHashMap<>();

  /**
   * Parses every key: its value in {@code raw}, else in {@code webappDefaults}, else its
   * default. Throws {@link ConfigException} for the first value refused, naming key, value, its
   * source ({@code sourceOf}) and what was expected.
   */
  ConfigValues(Map<String, String> raw, Function<String, String> sourceOf,
      Map<String, String> webappDefaults) {
    this.explicit = Collections.unmodifiableMap(new LinkedHashMap<>(raw));
    this.webappDefaults = webappDefaults;
    for (Key key : ConfigKeys.ALL.values()) {
      read(key, key.type, sourceOf);
    }
    shown.remove(CONFIG_FILE);
    if (get(REDIS_CONFIG) != null) {
      shown.put(REDIS_ADDRESS, "(from " + REDIS_CONFIG + ")");
    }
    if (this.<String>get(SECRET).isEmpty() && !this.<String>get(SECRET_PREVIOUS).isEmpty()) {
      throw new ConfigException(SECRET_PREVIOUS + " is set (" + sourceOf.apply(SECRET_PREVIOUS)
          + ") but " + SECRET + " is not: a node signs with " + SECRET + " and only verifies with "
          + SECRET_PREVIOUS + " while the secret changes; set both");
    }
    Duration heartbeat = get(NODE_HEARTBEAT);
    if (this.<Duration>get(NODE_TTL).compareTo(heartbeat.multipliedBy(2)) < 0) {
      throw error(NODE_TTL, "at least twice " + NODE_HEARTBEAT + " (" + heartbeat.toMillis()
          + "ms), or a node would expire between two renewals", sourceOf);
    }
    if (raw.containsKey(REDIS_CONFIG) && raw.containsKey(REDIS_ADDRESS)) {
      throw new ConfigException(REDIS_ADDRESS + " and " + REDIS_CONFIG + " are both set ("
          + sourceOf.apply(REDIS_ADDRESS) + ", " + sourceOf.apply(REDIS_CONFIG)
          + "): set the address inside the Redisson YAML file, or remove " + REDIS_CONFIG);
    }
  }

  /** The parsed value of {@code key}; its type is the one of its row in {@link ConfigKeys}. */
  @SuppressWarnings("unchecked")
  <T> T get(String key) {
    return (T) values.get(key);
  }

  /** Every key with its effective value, secrets masked: what startup logs. */
  @Override
  public String toString() {
    return shown.toString();
  }

  /** Parses {@code key}'s value (set, or its default) into {@link #values} and {@link #shown}. */
  private <T> void read(Key key, KeyType<T> type, Function<String, String> sourceOf) {
    String set = explicit.get(key.name());
    String unset = webappDefaults.get(key.name());
    String text = type.normalize(set != null ? set
        : unset != null ? unset : type.unsetText(key.defaultValue()));
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
      return new ConfigException(key + " has its default value '"
          + ConfigKeys.ALL.get(key).defaultValue() + "', must be " + expected);
    }
    return ConfigText.refused(key, explicit.get(key), sourceOf.apply(key), expected);
  }
}
