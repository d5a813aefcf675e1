package io.wscluster;

import com.google.inject.AbstractModule;
import com.google.inject.Provides;
import com.google.inject.Singleton;
import java.util.Map;

/**
 * Binds {@link WsCluster} for injection into servlets, services and WebSocket endpoints.
 *
 * <pre>{@code
 * Injector injector = Guice.createInjector(new WsClusterModule(), new ServletModule() { ... });
 * }</pre>
 *
 * <p>The plugin still starts from its jar in WEB-INF/lib; the module only makes the running
 * cluster injectable. The plugin finds the injector where guice-servlet's
 * {@code GuiceServletContextListener} stores it, the ServletContext attribute
 * {@code com.google.inject.Injector}; an app that creates its own injector sets that attribute
 * itself. Endpoints the container creates are then injected too: fields and methods of
 * {@code @ServerEndpoint} and {@code Endpoint} classes through Jetty's object factory (the
 * classes stay unchanged), constructors through {@link GuiceEndpointConfigurator}.
 *
 * <p>The injected {@code WsCluster} may be held from injector creation on; its methods work
 * once the webapp has started. Install the module in one injector per webapp.
 *
 * <p>Guice is an optional dependency of the plugin: this class, and only it and the
 * configurator, need Guice on the classpath.
 */
public final class WsClusterModule extends AbstractModule {
  private final Map<String, String> config;

  /** Configuration from web.xml context-params, system properties, environment or file. */
  public WsClusterModule() {
    this.config = Map.of();
  }

  /**
   * Configuration from {@code config}, above every other source. The plugin starts with it only
   * if the injector is in the ServletContext before the webapp's listeners finish (a
   * GuiceServletContextListener declared in web.xml, or an injector created before the server
   * starts); otherwise startup fails saying so.
   */
  public WsClusterModule(WsClusterConfig.Builder config) {
    this.config = Map.copyOf(config.values());
  }

  @Override
  protected void configure() {
    bind(WsCluster.class).to(GuiceCluster.class);
  }

  @Provides
  @Singleton
  GuiceCluster cluster() {
    return new GuiceCluster(config);
  }
}
