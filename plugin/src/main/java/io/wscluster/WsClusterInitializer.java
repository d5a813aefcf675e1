package io.wscluster;

import jakarta.servlet.ServletContainerInitializer;
import jakarta.servlet.ServletContext;
import java.util.Set;

/**
 * Starts wscluster in every webapp that has the jar in WEB-INF/lib, with no code: the container
 * finds this class through {@code META-INF/services}. It only adds a listener; the node starts in
 * {@code contextInitialized}, after every initializer ran (their order is not guaranteed, and the
 * WebSocket container must exist first), and stops in {@code contextDestroyed}.
 *
 * <p>Jetty keeps listeners added here across a stop/start of the same context, so after a restart
 * the listener of an earlier start is still called. The current one is recorded as a context
 * attribute; any other instance stays inert (see {@link WebappLifecycle#isCurrent}).
 */
public final class WsClusterInitializer implements ServletContainerInitializer {
  @Override
  public void onStartup(Set<Class<?>> classes, ServletContext context) {
    WebappLifecycle lifecycle = new WebappLifecycle(context.getClassLoader());
    context.setAttribute(WebappLifecycle.CURRENT_ATTRIBUTE, lifecycle);
    context.addListener(lifecycle);
    addHealthServlet(context);
  }

  /**
   * Servlets can be added only here, before the listeners run: so wscluster.health.path is read
   * from the sources available now (the builder attribute, context-params, system properties,
   * environment, file), not from WsClusterModule. A configuration error is left to the listener,
   * which reports it in full when the webapp starts.
   */
  private static void addHealthServlet(ServletContext context) {
    String path;
    try {
      path = WebappLifecycle.loadConfig(context, java.util.Map.of()).healthPath();
    } catch (ConfigException reportedLater) {
      return;
    }
    if (!path.isEmpty()) {
      context.addServlet("wscluster-health", new HealthServlet()).addMapping(path);
    }
  }
}
