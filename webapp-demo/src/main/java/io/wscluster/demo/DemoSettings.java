package io.wscluster.demo;

import jakarta.servlet.ServletContext;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Function;

/**
 * The demo's own settings: context init-parameters named {@code demo.*} (not {@code wscluster.*},
 * which the plugin reads and checks). The launcher sets them for every node it runs; a WAR deployed
 * elsewhere runs without them: no cluster view feed, no failover list. Read once per deployment.
 *
 * <ul>
 *   <li>{@code demo.cluster-view}: {@code true} makes this node publish its status to the cluster
 *       view ({@code /cluster.html}) every second while someone watches; default {@code false},
 *       so a WAR deployed without the launcher adds no traffic of its own.
 *   <li>{@code demo.url}: this node's base URL as browsers reach it, shown in the cluster view.
 *   <li>{@code demo.nodes}: the base URLs of every node, comma-separated; a chat page whose node
 *       stays unreachable reconnects to another one.
 * </ul>
 */
record DemoSettings(boolean clusterView, String url, List<String> nodes) {
  static final String CLUSTER_VIEW = "demo.cluster-view";
  static final String URL = "demo.url";
  static final String NODES = "demo.nodes";
  /** No feed, no URLs: a WAR deployed without the launcher. */
  static final DemoSettings NONE = new DemoSettings(false, null, List.of());

  /**
   * @throws IllegalArgumentException a value that is not what the key takes, naming key and value
   */
  static DemoSettings of(ServletContext context) {
    return parse(context::getInitParameter);
  }

  /** The settings from {@code parameters} (name to value, null when unset). */
  static DemoSettings parse(Function<String, String> parameters) {
    String view = parameters.apply(CLUSTER_VIEW);
    boolean clusterView;
    if (view == null || view.isBlank()) {
      clusterView = false;
    } else if (view.trim().equalsIgnoreCase("true") || view.trim().equalsIgnoreCase("false")) {
      clusterView = Boolean.parseBoolean(view.trim());
    } else {
      throw new IllegalArgumentException(CLUSTER_VIEW + " value was set to '" + view
          + "', must be true or false");
    }
    String url = parameters.apply(URL);
    List<String> nodes = new ArrayList<>();
    String list = parameters.apply(NODES);
    if (list != null) {
      for (String node : list.split(",")) {
        if (!node.isBlank()) {
          nodes.add(httpUrl(NODES, node.trim()));
        }
      }
    }
    return new DemoSettings(clusterView, url == null || url.isBlank() ? null : httpUrl(URL, url.trim()),
        List.copyOf(nodes));
  }

  private static String httpUrl(String key, String value) {
    if (!value.startsWith("http://") && !value.startsWith("https://")) {
      throw new IllegalArgumentException(key + " value was set to '" + value
          + "', must be an http:// or https:// URL"
          + (key.equals(NODES) ? " per comma-separated entry" : ""));
    }
    return value.endsWith("/") ? value : value + "/";
  }
}
