package io.wscluster;

import java.util.Locale;

/**
 * How configuration values appear in error messages and logs: every refusal of a value reads
 * {@code key value was set to 'value' (source), must be expected}, secrets and URL credentials
 * masked and control characters escaped.
 */
final class ConfigText {
  private ConfigText() {
  }

  /** {@code key value was set to 'value' (source), must be expected}, the value masked. */
  static ConfigException refused(String key, String value, String source, String expected) {
    return new ConfigException(valueWasSet(key, value, source) + ", must be " + expected);
  }

  /** {@code key value was set to 'value' (source)}: how every refusal of a value begins. */
  static String valueWasSet(String key, String value, String source) {
    return key + " value was set to '" + printable(masked(key, value)) + "' (" + source + ")";
  }

  /** A value as it may be shown in logs and errors: passwords, secrets, URL credentials hidden. */
  static String masked(String key, String value) {
    WsClusterConfig.Key known = WsClusterConfig.KEYS.get(key);
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
}
