package io.wscluster;

import jakarta.websocket.Session;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletionStage;

/**
 * The {@link WsCluster} that {@link WsClusterModule} binds: one per injector, created when the
 * injector is, and attached to the webapp's running node when the plugin finds the injector in
 * the ServletContext (at the node's start, or when the attribute is set later). Every call goes
 * to the node attached at that moment, so the binding can be injected anywhere, even into eager
 * singletons built before the node starts; calls made while no node is attached fail with
 * {@link IllegalStateException} saying why.
 *
 * <p>Attach and detach are called by the webapp's lifecycle on the container's thread; every
 * other method on any thread.
 */
final class GuiceCluster implements WsCluster {
  private final Map<String, String> moduleConfig;
  private volatile ClusterNode node;
  private volatile String detachedFrom;

  GuiceCluster(Map<String, String> moduleConfig) {
    this.moduleConfig = Map.copyOf(moduleConfig);
  }

  /** Settings given to the module, highest precedence at the node's start (may be empty). */
  Map<String, String> moduleConfig() {
    return moduleConfig;
  }

  /**
   * Points this binding at {@code n}.
   *
   * @param startedWith the builder-level settings the node started with
   * @throws ConfigException the module carries settings the node did not start with: the
   *     injector reached the ServletContext after the node had started
   * @throws IllegalStateException the binding already serves another running webapp
   */
  void attach(ClusterNode n, Map<String, String> startedWith, String contextPath) {
    if (!moduleConfig.isEmpty() && !moduleConfig.equals(startedWith)) {
      throw new ConfigException("WsClusterModule was given settings " + moduleConfig.keySet()
          + " but wscluster in webapp '" + contextPath + "' had already started "
          + "without them: the injector was put in the ServletContext after the webapp's "
          + "listeners ran. Create the injector in a listener declared in web.xml (such as a "
          + "GuiceServletContextListener) or before the server starts, or move the settings to "
          + "context-params");
    }
    ClusterNode current = node;
    if (current != null && current != n) {
      throw new IllegalStateException("this injector's WsCluster already serves the running "
          + "node " + current.nodeId() + "; install WsClusterModule in one injector per webapp");
    }
    node = n;
  }

  /** Stops serving {@code n} if it is the attached node; later calls fail until a re-attach. */
  void detach(ClusterNode n, String contextPath) {
    if (node == n) {
      detachedFrom = contextPath;
      node = null;
    }
  }

  private ClusterNode node() {
    ClusterNode n = node;
    if (n != null) {
      return n;
    }
    String from = detachedFrom;
    throw new IllegalStateException(from != null
        ? "wscluster of webapp '" + from + "' has stopped; this injector's WsCluster is no longer "
            + "usable"
        : "wscluster is not attached to this injector yet: calls work once the webapp has started "
            + "and the injector is the ServletContext attribute com.google.inject.Injector "
            + "(GuiceServletContextListener puts it there; an app with its own injector sets it)");
  }

  @Override
  public String nodeId() {
    return node().nodeId();
  }

  @Override
  public String sessionId(Session session) {
    return node().sessionId(session);
  }

  @Override
  public void join(Session session, String room) {
    node().join(session, room);
  }

  @Override
  public void leave(Session session, String room) {
    node().leave(session, room);
  }

  @Override
  public Set<String> rooms(Session session) {
    return node().rooms(session);
  }

  @Override
  public void setUser(Session session, String userId) {
    node().setUser(session, userId);
  }

  @Override
  public String user(Session session) {
    return node().user(session);
  }

  @Override
  public CompletionStage<Void> send(Target target, String text) {
    return node().send(target, text);
  }

  @Override
  public CompletionStage<Void> send(Target target, byte[] data) {
    return node().send(target, data);
  }

  @Override
  public CompletionStage<Delivery> deliver(Target target, String text) {
    return node().deliver(target, text);
  }

  @Override
  public CompletionStage<Delivery> deliver(Target target, byte[] data) {
    return node().deliver(target, data);
  }

  @Override
  public Presence presence() {
    return node().presence();
  }

  @Override
  public CompletionStage<java.util.Map<String, Boolean>> resume(Session session, String epoch,
      java.util.Map<String, String> offsets) {
    return node().resume(session, epoch, offsets);
  }

  @Override
  public CompletionStage<Void> sendLocal(Session session, String text) {
    return node().sendLocal(session, text);
  }

  @Override
  public CompletionStage<Void> sendLocal(Session session, byte[] data) {
    return node().sendLocal(session, data);
  }

  @Override
  public Map<String, Long> stats() {
    return node().stats();
  }

  @Override
  public Health health() {
    return node().health();
  }

  @Override
  public String toString() {
    ClusterNode n = node;
    return "WsCluster(guice, " + (n == null ? "not attached" : n.nodeId()) + ")";
  }
}
