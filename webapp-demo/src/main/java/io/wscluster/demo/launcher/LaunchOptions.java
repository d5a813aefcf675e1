package io.wscluster.demo.launcher;

import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.Locale;
import java.util.Map;

/**
 * The launcher's command line, parsed and checked once. Immutable.
 *
 * <p>Values not given on the command line come from the same places the plugin reads: the JVM
 * system property, then the environment variable, then the built-in default. The launcher passes
 * its choices to every node as context init parameters, which rank above both, so reading them
 * here keeps {@code -Dwscluster.redis.address=...} meaningful.
 */
final class LaunchOptions {
  static final int DEFAULT_NODES = 3;
  static final int DEFAULT_PORT = 8081;
  static final int MAX_NODES = 64;
  static final String DEFAULT_REDIS = "redis://127.0.0.1:6379";

  static final String USAGE = String.join("\n",
      "usage: java -jar wscluster-demo.jar [options]",
      "",
      "Runs N embedded Jetty 12 nodes in this JVM, each deploying wscluster-demo.war unchanged.",
      "",
      "  --nodes N              nodes to run, 1 to " + MAX_NODES + " (default " + DEFAULT_NODES + ")",
      "  --port P               port of the first node; node i listens on P+i (default "
          + DEFAULT_PORT + ")",
      "  --redis URL            Redis address (default: -Dwscluster.redis.address, else",
      "                         $WSCLUSTER_REDIS_ADDRESS, else " + DEFAULT_REDIS + ")",
      "  --transport T          redis or memory (default: -Dwscluster.transport, else",
      "                         $WSCLUSTER_TRANSPORT, else redis when Redis answers PING and",
      "                         memory, with a banner saying so, when it does not)",
      "  --war PATH             the WAR to deploy (default: wscluster-demo.war next to this jar)",
      "  --help                 this text",
      "",
      "Nodes are named node-<i> (node-<port> when --nodes 1, so that several launchers on",
      "different ports form one cluster through the same Redis). Ctrl-C or SIGTERM stops them all.");

  /** Where a value came from, for the banner. */
  enum Source { COMMAND_LINE, SYSTEM_PROPERTY, ENVIRONMENT, DEFAULT }

  final int nodes;
  final int port;
  final String redis;
  final Source redisSource;
  /**
   * True when Redis is configured by a Redisson YAML file ({@code wscluster.redis.config} as a
   * system property or environment variable) and --redis was not given: the nodes then get no
   * address, and Redis is not probed.
   */
  final boolean redisConfigFile;
  /** "redis", "memory", or null to choose by probing Redis. */
  final String transport;
  /** The WAR given with --war, or null for the one next to the launcher jar. */
  final Path war;
  final boolean help;

  private LaunchOptions(int nodes, int port, String redis, Source redisSource,
      boolean redisConfigFile, String transport, Path war, boolean help) {
    this.nodes = nodes;
    this.port = port;
    this.redis = redis;
    this.redisSource = redisSource;
    this.redisConfigFile = redisConfigFile;
    this.transport = transport;
    this.war = war;
    this.help = help;
  }

  /**
   * Parses the command line; {@code --name value} and {@code --name=value} are both accepted.
   *
   * @param properties the JVM system properties (a parameter so tests need not set them)
   * @param environment the process environment
   * @throws IllegalArgumentException a message for the user: the option, its value, what it
   *     must be
   */
  static LaunchOptions parse(String[] args, Map<String, String> properties,
      Map<String, String> environment) {
    Integer nodes = null;
    Integer port = null;
    String redis = null;
    String transport = null;
    Path war = null;
    boolean help = false;
    for (int i = 0; i < args.length; i++) {
      String arg = args[i];
      String name = arg;
      String value = null;
      int eq = arg.indexOf('=');
      if (arg.startsWith("--") && eq > 0) {
        name = arg.substring(0, eq);
        value = arg.substring(eq + 1);
      }
      switch (name) {
        case "--help":
        case "-h":
          if (value != null) {
            throw new IllegalArgumentException("option --help takes no value");
          }
          help = true;
          continue;
        case "--nodes":
        case "--port":
        case "--redis":
        case "--transport":
        case "--war":
          break;
        default:
          throw new IllegalArgumentException("unknown option '" + arg + "'");
      }
      if (value == null) {
        if (i + 1 >= args.length) {
          throw new IllegalArgumentException("option " + name + " needs a value");
        }
        value = args[++i];
      }
      switch (name) {
        case "--nodes":
          nodes = integer(name, value, 1, MAX_NODES);
          break;
        case "--port":
          port = integer(name, value, 1, 65535);
          break;
        case "--redis":
          redis = redisUrl(value);
          break;
        case "--transport":
          transport = value.toLowerCase(Locale.ROOT);
          if (!transport.equals("redis") && !transport.equals("memory")) {
            throw new IllegalArgumentException("option --transport was '" + value
                + "', must be redis or memory");
          }
          break;
        default:
          if (value.isEmpty()) {
            throw new IllegalArgumentException("option --war must be the path of a WAR file");
          }
          war = Paths.get(value);
          break;
      }
    }
    int n = nodes == null ? DEFAULT_NODES : nodes;
    int p = port == null ? DEFAULT_PORT : port;
    if (p + n - 1 > 65535) {
      throw new IllegalArgumentException("--port " + p + " with --nodes " + n
          + " would need ports up to " + (p + n - 1) + ", above 65535");
    }
    if (transport == null) {
      transport = fallback(properties, environment, "wscluster.transport", "WSCLUSTER_TRANSPORT");
      if (transport != null) {
        transport = transport.trim().toLowerCase(Locale.ROOT);
        if (!transport.equals("redis") && !transport.equals("memory")) {
          throw new IllegalArgumentException("wscluster.transport (system property or"
              + " WSCLUSTER_TRANSPORT) was '" + transport + "', must be redis or memory");
        }
      }
    }
    // a Redisson YAML file replaces the address; passing one too would be a config error
    boolean redisConfigFile = redis == null
        && fallback(properties, environment, "wscluster.redis.config", "WSCLUSTER_REDIS_CONFIG") != null;
    Source source = Source.COMMAND_LINE;
    if (redis == null) {
      if (nonEmpty(properties.get("wscluster.redis.address"))) {
        redis = properties.get("wscluster.redis.address");
        source = Source.SYSTEM_PROPERTY;
      } else if (nonEmpty(environment.get("WSCLUSTER_REDIS_ADDRESS"))) {
        redis = environment.get("WSCLUSTER_REDIS_ADDRESS");
        source = Source.ENVIRONMENT;
      } else {
        redis = DEFAULT_REDIS;
        source = Source.DEFAULT;
      }
    }
    return new LaunchOptions(n, p, redis.trim(), source, redisConfigFile, transport, war, help);
  }

  private static String fallback(Map<String, String> properties, Map<String, String> environment,
      String property, String variable) {
    if (nonEmpty(properties.get(property))) {
      return properties.get(property);
    }
    return nonEmpty(environment.get(variable)) ? environment.get(variable) : null;
  }

  /** The name of node {@code index}: node-i, or node-port when it is the only one. */
  String nodeName(int index) {
    return nodes == 1 ? "node-" + port : "node-" + index;
  }

  int port(int index) {
    return port + index;
  }

  /** The base URL of node {@code index}: {@code http://127.0.0.1:<port>/}. */
  String url(int index) {
    return "http://127.0.0.1:" + port(index) + "/";
  }

  private static int integer(String name, String value, int min, int max) {
    try {
      int v = Integer.parseInt(value.trim());
      if (v >= min && v <= max) {
        return v;
      }
    } catch (NumberFormatException e) {
      // reported below with the option name
    }
    throw new IllegalArgumentException("option " + name + " was '" + value + "', must be an integer from "
        + min + " to " + max);
  }

  /** Checks the shape only; the plugin validates the address fully when a node starts. */
  private static String redisUrl(String value) {
    String v = value.trim();
    String lower = v.toLowerCase(Locale.ROOT);
    if (!(lower.startsWith("redis://") || lower.startsWith("rediss://")) || v.indexOf("://") + 3 >= v.length()) {
      throw new IllegalArgumentException("option --redis was '" + value
          + "', must be a URL redis://host:port or rediss://host:port");
    }
    return v;
  }

  private static boolean nonEmpty(String s) {
    return s != null && !s.trim().isEmpty();
  }
}
