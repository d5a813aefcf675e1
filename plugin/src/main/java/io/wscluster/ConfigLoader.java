package io.wscluster;

import java.io.IOException;
import java.io.InputStream;
import java.io.Reader;
import java.net.URL;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.Properties;
import java.util.function.UnaryOperator;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Merges the configuration sources of a webapp into one raw map and hands it to the one parser.
 * Highest first: builder, web.xml context-params, system properties, environment, properties file.
 * Values may reference {@code ${NAME}} (a system property, else an environment variable, else
 * the default in {@code ${NAME:-default}}), so secrets and addresses stay out of the WAR.
 */
final class ConfigLoader {
  static final String PREFIX = "wscluster.";
  static final String ENV_PREFIX = "WSCLUSTER_";
  /** {@code ${NAME}} or {@code ${NAME:-default}}; the default runs to the first '}'. */
  private static final Pattern PLACEHOLDER =
      Pattern.compile("\\$\\{([A-Za-z0-9_.-]+)(?::-([^}]*))?}");

  private ConfigLoader() {}

  /**
   * @param builder values set in code, may be empty
   * @param contextParams the webapp's init parameters (all of them; only wscluster.* are read)
   * @param systemProperties JVM system properties
   * @param env the process environment
   * @param classLoader where to look for {@code wscluster.properties} when no file is named
   */
  static WsClusterConfig load(Map<String, String> builder, Map<String, String> contextParams,
      Map<String, String> systemProperties, Map<String, String> env, ClassLoader classLoader) {
    return load(builder, contextParams, systemProperties, env, classLoader, null);
  }

  /**
   * As above, for the webapp at {@code contextPath} ("" for the root; null outside a webapp):
   * keys no source sets take the webapp's defaults ({@link WsClusterConfig#webappDefaults}).
   */
  static WsClusterConfig load(Map<String, String> builder, Map<String, String> contextParams,
      Map<String, String> systemProperties, Map<String, String> env, ClassLoader classLoader,
      String contextPath) {
    Map<String, String> raw = new LinkedHashMap<>();
    Map<String, String> source = new HashMap<>();

    Map<String, String> fromEnv = new LinkedHashMap<>();
    for (Map.Entry<String, String> e : env.entrySet()) {
      if (e.getKey().startsWith(ENV_PREFIX)) {
        fromEnv.put(keyOfEnv(e.getKey()), e.getValue());
      }
    }
    Map<String, String> fromSys = only(systemProperties);
    Map<String, String> fromContext = only(contextParams);

    put(raw, source, fromEnv, null);
    put(raw, source, fromSys, "system property");
    put(raw, source, fromContext, "web.xml context-param");
    put(raw, source, builder, "builder");

    // the file's location may itself come from any higher source; its keys rank lowest
    String file = raw.containsKey(WsClusterConfig.CONFIG_FILE)
        ? raw.get(WsClusterConfig.CONFIG_FILE).trim() : null;
    Map<String, String> fromFile = readFile(file, source.get(WsClusterConfig.CONFIG_FILE),
        classLoader);
    String fileLabel = file == null ? "classpath wscluster.properties" : "file " + file;
    for (Map.Entry<String, String> e : fromFile.entrySet()) {
      if (raw.putIfAbsent(e.getKey(), e.getValue()) == null) {
        source.put(e.getKey(), fileLabel);
      }
    }

    for (Map.Entry<String, String> e : raw.entrySet()) {
      e.setValue(resolve(e.getKey(), e.getValue(), source.get(e.getKey()), systemProperties, env));
    }
    return WsClusterConfig.parse(raw, source::get,
        contextPath == null ? Map.of() : WsClusterConfig.webappDefaults(contextPath));
  }

  /** {@code WSCLUSTER_OUTBOX_MAX_FRAMES} is {@code wscluster.outbox.max-frames}; unknown names are errors. */
  static String keyOfEnv(String envName) {
    for (String key : WsClusterConfig.KEYS.keySet()) {
      if (envOf(key).equals(envName)) {
        return key;
      }
    }
    String best = nearestKey(envName, ConfigLoader::envOf);
    String hint = best != null ? " Did you mean " + best + "?"
        : " Variables starting with " + ENV_PREFIX + " must name a wscluster key.";
    throw new ConfigException("Unknown environment variable " + envName + "." + hint);
  }

  static String envOf(String key) {
    return key.toUpperCase(Locale.ROOT).replace('.', '_').replace('-', '_');
  }

  private static Map<String, String> only(Map<String, String> all) {
    Map<String, String> out = new LinkedHashMap<>();
    all.forEach((k, v) -> {
      if (k.startsWith(PREFIX)) {
        out.put(k, v);
      }
    });
    return out;
  }

  private static void put(Map<String, String> raw, Map<String, String> source,
      Map<String, String> values, String from) {
    for (Map.Entry<String, String> e : values.entrySet()) {
      raw.put(e.getKey(), e.getValue());
      source.put(e.getKey(), from != null ? from : "environment variable " + envOf(e.getKey()));
    }
  }

  private static Map<String, String> readFile(String file, String fileSource,
      ClassLoader classLoader) {
    Properties p = new Properties();
    String where;
    if (file != null && !file.isEmpty()) {
      Path path = null;
      try {
        path = Paths.get(file);
      } catch (java.nio.file.InvalidPathException e) {
        // a character the file system refuses (NUL): reported as no such file below
      }
      where = "file " + file;
      if (path == null || !Files.isRegularFile(path)) {
        throw ConfigText.refused(WsClusterConfig.CONFIG_FILE, file, fileSource,
            "the path of a readable properties file (no such file)");
      }
      try (Reader r = Files.newBufferedReader(path, StandardCharsets.UTF_8)) {
        p.load(r);
      } catch (IOException e) {
        throw ConfigText.refused(WsClusterConfig.CONFIG_FILE, file, fileSource,
            "the path of a readable properties file (" + e.getMessage() + ")");
      }
    } else {
      URL url = classLoader == null ? null : classLoader.getResource("wscluster.properties");
      if (url == null) {
        return Map.of();
      }
      where = url.toString();
      try (InputStream in = url.openStream()) {
        p.load(new java.io.InputStreamReader(in, StandardCharsets.UTF_8));
      } catch (IOException e) {
        throw new ConfigException("cannot read " + where + ": " + e.getMessage());
      }
    }
    Map<String, String> out = new LinkedHashMap<>();
    for (String name : p.stringPropertyNames()) {
      if (!name.startsWith(PREFIX)) {
        throw new ConfigException("Unknown configuration key '" + name + "' (" + where
            + "): only wscluster.* keys belong in it");
      }
      if (name.equals(WsClusterConfig.CONFIG_FILE)) {
        throw new ConfigException(WsClusterConfig.CONFIG_FILE + " cannot be set inside " + where);
      }
      out.put(name, p.getProperty(name));
    }
    return out;
  }

  private static String resolve(String key, String value, String source,
      Map<String, String> systemProperties, Map<String, String> env) {
    if (value == null || value.indexOf("${") < 0) {
      return value;
    }
    Matcher m = PLACEHOLDER.matcher(value);
    StringBuilder out = new StringBuilder();
    while (m.find()) {
      String name = m.group(1);
      String v = systemProperties.get(name);
      if (v == null) {
        v = env.get(name);
      }
      if (v == null) {
        v = m.group(2);
      }
      if (v == null) {
        throw new ConfigException(ConfigText.valueWasSet(key, value, source)
            + ", must reference a defined system property or environment variable: ${" + name
            + "} is not set");
      }
      m.appendReplacement(out, Matcher.quoteReplacement(v));
    }
    m.appendTail(out);
    return out.toString();
  }

  /** @throws ConfigException with a "did you mean" suggestion when {@code key} is not known */
  static void checkKnown(String key, String source) {
    if (WsClusterConfig.KEYS.containsKey(key)) {
      return;
    }
    String best = nearestKey(key.toLowerCase(Locale.ROOT), UnaryOperator.identity());
    String hint = best != null ? " Did you mean '" + best + "'?"
        : " Known keys: " + String.join(", ", WsClusterConfig.KEYS.keySet()) + ".";
    throw new ConfigException("Unknown configuration key '" + key + "' (" + source + ")." + hint);
  }

  /**
   * The key, as {@code spelling} writes it, closest to the unknown {@code name} written that way
   * (a typo or two); null when none is close enough to suggest.
   */
  static String nearestKey(String name, UnaryOperator<String> spelling) {
    String best = null;
    int bestDistance = Integer.MAX_VALUE;
    for (String key : WsClusterConfig.KEYS.keySet()) {
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

}
