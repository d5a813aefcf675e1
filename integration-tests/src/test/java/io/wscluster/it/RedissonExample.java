package io.wscluster.it;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The Redisson YAML examples of {@code config/}, as users copy them: a test loads one, replaces only its Redis
 * addresses with those of the processes it started, and writes the result for {@code wscluster.redis.config}.
 */
final class RedissonExample {

  /** A quoted {@code redis://} or {@code rediss://} address in an example. */
  private static final Pattern ADDRESS = Pattern.compile("\"rediss?://[^\"]+\"");

  private RedissonExample() {
  }

  /** {@code config/} of the repository (the failsafe property {@code it.config.dir}, else relative to the module). */
  static Path configDir() {
    return Path.of(System.getProperty("it.config.dir", "../config"));
  }

  /**
   * Writes {@code config/<example>} to {@code out} with its quoted addresses replaced, in order, by
   * {@code addresses}; fails if the example does not hold exactly that many, so an edited example cannot quietly
   * keep an address the test did not start.
   */
  static Path withAddresses(String example, List<String> addresses, Path out) throws IOException {
    String text = Files.readString(configDir().resolve(example), StandardCharsets.UTF_8);
    Matcher m = ADDRESS.matcher(text);
    StringBuilder replaced = new StringBuilder();
    int i = 0;
    while (m.find()) {
      if (i >= addresses.size()) {
        throw new IllegalStateException("config/" + example + " names more than the " + addresses.size()
            + " addresses the test substitutes");
      }
      m.appendReplacement(replaced, Matcher.quoteReplacement("\"" + addresses.get(i++) + "\""));
    }
    m.appendTail(replaced);
    if (i != addresses.size()) {
      throw new IllegalStateException("config/" + example + " names " + i + " addresses, the test substitutes "
          + addresses.size());
    }
    Files.writeString(out, replaced, StandardCharsets.UTF_8);
    return out;
  }

  /** The value of a scalar setting such as {@code masterName} in an example (unquoted), else null. */
  static String setting(String example, String key) throws IOException {
    Matcher m = Pattern.compile("(?m)^\\s*" + Pattern.quote(key) + ":\\s*\"?([^\"\\s#]+)\"?")
        .matcher(Files.readString(configDir().resolve(example), StandardCharsets.UTF_8));
    return m.find() ? m.group(1) : null;
  }
}
