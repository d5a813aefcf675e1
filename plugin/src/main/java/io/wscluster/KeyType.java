package io.wscluster;

import java.net.URI;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.InvalidPathException;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.time.Duration;
import java.util.Locale;
import java.util.function.BiFunction;
import java.util.function.Supplier;
import java.util.regex.Pattern;

/**
 * What the text of one configuration key means: how it parses, what an error says it must be,
 * how startup shows it. Immutable; one instance per row of {@link WsClusterConfig#KEYS}. The
 * modifiers ({@link #secret()}, {@link #untrimmed()}, {@link #whenUnset}) return a copy.
 *
 * <p>A parser refuses with {@link Refused} carrying the expectation only; {@link WsClusterConfig}
 * adds key, value and source, so every message has the one form
 * {@code <key> value was set to '<value>' (<source>), must be <expectation>}.
 */
final class KeyType<T> {

  /** Turns a key's (trimmed, unless {@link #untrimmed()}) text into its value. */
  @FunctionalInterface
  interface Parser<T> {
    T parse(String text);
  }

  /** A refused value: what it must be instead. Thrown by parsers, caught by the config. */
  static final class Refused extends RuntimeException {
    Refused(String expectation) {
      super(expectation, null, false, false);
    }
  }

  static final int MAX_TEXT = 1024;
  private static final String TEXT_RULE = "at most " + MAX_TEXT
      + " characters without control characters";
  private static final Pattern BACKEND_NAME = Pattern.compile("[A-Za-z0-9._-]{1,64}");
  private static final Pattern DURATION = Pattern.compile("(\\d{1,9})(ms|s|m|h|d)");

  private final Parser<T> parser;
  private final BiFunction<T, String, String> show;
  private final boolean trimmed;
  private final boolean secret;
  private final Supplier<String> whenUnset;

  private KeyType(Parser<T> parser, BiFunction<T, String, String> show, boolean trimmed,
      boolean secret, Supplier<String> whenUnset) {
    this.parser = parser;
    this.show = show;
    this.trimmed = trimmed;
    this.secret = secret;
    this.whenUnset = whenUnset;
  }

  private static <T> KeyType<T> of(Parser<T> parser) {
    return new KeyType<>(parser, (value, text) -> String.valueOf(value), true, false, null);
  }

  // ================================================================ the types

  /** {@code true} or {@code false}, in any case. */
  static KeyType<Boolean> bool() {
    return of(text -> {
      String v = text.toLowerCase(Locale.ROOT);
      if (v.equals("true") || v.equals("false")) {
        return Boolean.parseBoolean(v);
      }
      throw new Refused("true or false");
    });
  }

  /** A constant of {@code type} written as {@link WsClusterConfig#lower}, in any case. */
  static <E extends Enum<E>> KeyType<E> choice(Class<E> type) {
    return new KeyType<E>(text -> {
      StringBuilder expected = new StringBuilder("one of");
      for (E e : type.getEnumConstants()) {
        if (ConfigText.lower(e).equalsIgnoreCase(text)) {
          return e;
        }
        expected.append(' ').append(ConfigText.lower(e));
      }
      throw new Refused(expected.toString());
    }, (value, text) -> ConfigText.lower(value), true, false, null);
  }

  /** An integer from {@code min} to {@code max}. */
  static KeyType<Integer> integer(int min, int max) {
    return integer(min, max, 1, "an integer from " + min + " to " + max);
  }

  /** An integer from 1 to {@code max}. */
  static KeyType<Integer> positive(int max) {
    return integer(1, max, 1, "a positive integer up to " + max);
  }

  /** A multiple of {@code step} from {@code min} to {@code max}. */
  static KeyType<Integer> multipleOf(int step, int min, int max) {
    return integer(min, max, step, "a multiple of " + step + " from " + min + " to " + max);
  }

  private static KeyType<Integer> integer(int min, int max, int step, String expected) {
    return of(text -> {
      try {
        long v = Long.parseLong(text);
        if (v >= min && v <= max && v % step == 0) {
          return (int) v;
        }
      } catch (NumberFormatException e) {
        // refused below, as an integer out of range is
      }
      throw new Refused(expected);
    });
  }

  /**
   * A duration such as {@code 1500ms}, {@code 10s}, {@code 5m}, {@code 1h} or {@code 7d} from
   * {@code min} to {@code max} (both written that way). Shown as written: {@code 300s} stays
   * {@code 300s} in the startup log.
   */
  static KeyType<Duration> duration(String min, String max, String example) {
    Duration low = parseDuration(min);
    Duration high = parseDuration(max);
    String expected = "a duration from " + min + " to " + max + " such as " + example;
    return new KeyType<Duration>(text -> {
      Duration d = parseDuration(text);
      if (d != null && d.compareTo(low) >= 0 && d.compareTo(high) <= 0) {
        return d;
      }
      throw new Refused(expected);
    }, (value, text) -> text, true, false, null);
  }

  /** The duration {@code text} writes, or null when it is not one. */
  private static Duration parseDuration(String text) {
    var m = DURATION.matcher(text.toLowerCase(Locale.ROOT));
    if (!m.matches()) {
      return null;
    }
    long n = Long.parseLong(m.group(1));
    switch (m.group(2)) {
      case "ms": return Duration.ofMillis(n);
      case "s": return Duration.ofSeconds(n);
      case "m": return Duration.ofMinutes(n);
      case "h": return Duration.ofHours(n);
      default: return Duration.ofDays(n);
    }
  }

  /** Free text of at most {@value #MAX_TEXT} characters without control characters. */
  static KeyType<String> text() {
    return of(text -> {
      if (text.length() > MAX_TEXT || text.chars().anyMatch(Character::isISOControl)) {
        throw new Refused(TEXT_RULE);
      }
      return text;
    });
  }

  /** Text that matches {@code pattern} entirely; {@code expected} says which in words. */
  static KeyType<String> matching(Pattern pattern, String expected) {
    return of(text -> {
      if (pattern.matcher(text).matches()) {
        return text;
      }
      throw new Refused(expected);
    });
  }

  /** A name of 1 to 64 characters from A-Z a-z 0-9 . _ -, in any case; its value is lower case. */
  static KeyType<String> backendName() {
    return of(text -> {
      if (BACKEND_NAME.matcher(text).matches()) {
        return text.toLowerCase(Locale.ROOT);
      }
      throw new Refused("a backend's name: 1 to 64 characters from a-z 0-9 . _ -");
    });
  }

  /** A key of at least {@code minLength} characters, or empty for none. */
  static KeyType<String> signingKey(int minLength) {
    return of(text -> {
      if (!text.isEmpty() && (text.length() < minLength || text.length() > MAX_TEXT
          || text.chars().anyMatch(Character::isISOControl))) {
        throw new Refused(minLength + " to " + MAX_TEXT + " characters without control "
            + "characters, the same on every node (make one with: openssl rand -base64 32), or "
            + "empty for none");
      }
      return text;
    });
  }

  /**
   * A Redis URL {@code redis://host:port} or {@code rediss://host:port} without credentials
   * ({@code userKey} and {@code passwordKey} carry them).
   */
  static KeyType<URI> redisUri(String userKey, String passwordKey) {
    String expected = "a URL redis://host:port or rediss://host:port";
    return of(text -> {
      URI uri;
      try {
        uri = new URI(text);
      } catch (URISyntaxException e) {
        throw new Refused(expected);
      }
      String scheme = uri.getScheme();
      if (scheme == null) {
        throw new Refused(expected + " (no scheme)");
      }
      if (!scheme.equalsIgnoreCase("redis") && !scheme.equalsIgnoreCase("rediss")) {
        throw new Refused(expected + " (scheme '" + scheme + "' is not redis or rediss)");
      }
      if (uri.getHost() == null || uri.getHost().isEmpty()) {
        throw new Refused(expected + " (no host)");
      }
      if (uri.getPort() == 0 || uri.getPort() > 65535) {
        throw new Refused(expected + " (port out of range)");
      }
      if (uri.getUserInfo() != null) {
        throw new Refused(expected + " without credentials (use " + userKey + " and "
            + passwordKey + ")");
      }
      return uri;
    });
  }

  /** The path of a readable regular file, or null for empty (shown as empty). */
  static KeyType<Path> file() {
    return new KeyType<Path>(text -> {
      if (text.isEmpty()) {
        return null;
      }
      try {
        Path path = Paths.get(text);
        if (Files.isRegularFile(path) && Files.isReadable(path)) {
          return path;
        }
      } catch (InvalidPathException e) {
        // a character the file system refuses (NUL): the same refusal as a missing file
      }
      throw new Refused("the path of a readable file");
    }, (value, text) -> value == null ? "" : value.toString(), true, false, null);
  }

  // ================================================================ modifiers

  /** The same type whose values are masked in logs and errors: passwords, keys. */
  KeyType<T> secret() {
    return new KeyType<>(parser, show, trimmed, true, whenUnset);
  }

  /** The same type without trimming: the spaces around a credential may be meant. */
  KeyType<T> untrimmed() {
    return new KeyType<>(parser, show, false, secret, whenUnset);
  }

  /**
   * The same type, whose text when the key is not set comes from {@code text} rather than the
   * documented default (which then only describes it, such as "&lt;host name&gt;").
   */
  KeyType<T> whenUnset(Supplier<String> text) {
    return new KeyType<>(parser, show, trimmed, secret, text);
  }

  // ================================================================ used by the config

  boolean isSecret() {
    return secret;
  }

  /** The text parsed when the key is not set. */
  String unsetText(String documentedDefault) {
    return whenUnset == null ? documentedDefault : whenUnset.get();
  }

  /** {@code raw} as the parser sees it. */
  String normalize(String raw) {
    return trimmed ? raw.trim() : raw;
  }

  /** @throws Refused when {@code text} (already {@link #normalize}d) is not a value of this type */
  T parse(String text) {
    return parser.parse(text);
  }

  /** How startup logs {@code value}, parsed from {@code text}; secrets masked. */
  String show(T value, String text) {
    return secret ? (text.isEmpty() ? "" : "****") : show.apply(value, text);
  }
}
