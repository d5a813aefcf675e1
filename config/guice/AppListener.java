/*
 * The Guice counterpart of config/web.xml: install WsClusterModule and WsCluster is injectable
 * anywhere. Settings still come from context-params, system properties, environment or
 * wscluster.properties (or give the module a WsClusterConfig.Builder). web.xml still declares
 * this listener and GuiceFilter, as in any guice-servlet app:
 *
 *   <listener><listener-class>example.AppListener</listener-class></listener>
 *   <filter><filter-name>guice</filter-name>
 *     <filter-class>com.google.inject.servlet.GuiceFilter</filter-class></filter>
 *   <filter-mapping><filter-name>guice</filter-name><url-pattern>/*</url-pattern></filter-mapping>
 *
 * WebSocket endpoints get @Inject fields without any change; for an @Inject constructor, add
 * configurator = GuiceEndpointConfigurator.class to @ServerEndpoint. Compiled and run by
 * ConfigExamplesTest.
 */
package example;

import com.google.inject.Guice;
import com.google.inject.Inject;
import com.google.inject.Injector;
import com.google.inject.Singleton;
import com.google.inject.servlet.GuiceServletContextListener;
import com.google.inject.servlet.ServletModule;
import io.wscluster.Target;
import io.wscluster.WsCluster;
import io.wscluster.WsClusterModule;
import jakarta.servlet.http.HttpServlet;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

public class AppListener extends GuiceServletContextListener {
  @Override
  protected Injector getInjector() {
    return Guice.createInjector(new WsClusterModule(), new ServletModule() {
      @Override
      protected void configureServlets() {
        serve("/announce").with(AnnounceServlet.class);
      }
    });
  }
}

/** POST /announce sends the body to every session on every node: 204, or 503 if not published. */
@Singleton
class AnnounceServlet extends HttpServlet {
  private final WsCluster cluster;

  @Inject
  AnnounceServlet(WsCluster cluster) {
    this.cluster = cluster;
  }

  @Override
  protected void doPost(HttpServletRequest req, HttpServletResponse resp) throws IOException {
    String text = new String(req.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    try { // completes once published to the other nodes: wait for it, boundedly
      cluster.send(Target.all(), text).toCompletableFuture().get(5, TimeUnit.SECONDS);
      resp.setStatus(HttpServletResponse.SC_NO_CONTENT);
    } catch (ExecutionException | TimeoutException | InterruptedException e) {
      if (e instanceof InterruptedException) {
        Thread.currentThread().interrupt();
      }
      resp.sendError(HttpServletResponse.SC_SERVICE_UNAVAILABLE, "not published: " + e);
    }
  }
}
