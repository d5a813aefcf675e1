package io.wscluster.demo.launcher;

import java.lang.reflect.Field;
import java.net.MalformedURLException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.eclipse.jetty.ee10.webapp.WebAppContext;
import org.eclipse.jetty.http.pathmap.PathSpec;
import org.eclipse.jetty.websocket.core.server.WebSocketMappings;

/**
 * What a started WAR serves, for the launcher's "up" line: the demo's chat page and cluster view
 * when the WAR has them, else its WebSocket endpoints (an example WAR has no page). Immutable.
 */
final class Served {
  final boolean chatPage;
  final boolean clusterView;
  /** The path of each WebSocket endpoint, such as {@code /chat}; empty when unknown. */
  final List<String> endpoints;

  Served(boolean chatPage, boolean clusterView, List<String> endpoints) {
    this.chatPage = chatPage;
    this.clusterView = clusterView;
    this.endpoints = List.copyOf(endpoints);
  }

  /** What the started {@code webapp} serves. */
  static Served of(WebAppContext webapp) {
    return new Served(has(webapp, "/index.html"), has(webapp, "/cluster.html"), endpoints(webapp));
  }

  /**
   * Where to point a browser or a WebSocket client on the node at {@code url} (its root, ending
   * in '/'): the pages, or the endpoints when there is no page.
   */
  String describe(String url) {
    if (chatPage || clusterView) {
      return "open " + (chatPage ? url : url + "cluster.html")
          + (chatPage && clusterView ? " (cluster view: " + url + "cluster.html)" : "");
    }
    if (endpoints.isEmpty()) {
      return "the WAR has no chat page and no WebSocket endpoint the launcher could find";
    }
    String ws = url.replaceFirst("^http", "ws");
    List<String> urls = new ArrayList<>();
    for (String path : endpoints) {
      urls.add(ws + (path.startsWith("/") ? path.substring(1) : path));
    }
    return "WebSocket " + (urls.size() == 1 ? "endpoint " : "endpoints ") + String.join(", ", urls)
        + " (the same paths on every node; the WAR has no chat page)";
  }

  private static boolean has(WebAppContext webapp, String path) {
    try {
      return webapp.getServletContext().getResource(path) != null;
    } catch (MalformedURLException e) {
      return false;
    }
  }

  /**
   * The paths the context's WebSocket endpoints are mapped to, in order. Jetty keeps them in a
   * private field of {@link WebSocketMappings} with no public list: when a Jetty version changes
   * that, the list is empty and the line says the launcher found none, nothing fails.
   */
  private static List<String> endpoints(WebAppContext webapp) {
    WebSocketMappings mappings = WebSocketMappings.getMappings(webapp);
    List<String> paths = new ArrayList<>();
    if (mappings == null) {
      return paths;
    }
    try {
      Field field = WebSocketMappings.class.getDeclaredField("mappings");
      field.setAccessible(true);
      for (Object spec : ((Map<?, ?>) field.get(mappings)).keySet()) {
        paths.add(((PathSpec) spec).getDeclaration());
      }
    } catch (ReflectiveOperationException | RuntimeException e) {
      paths.clear();
    }
    return paths;
  }
}
