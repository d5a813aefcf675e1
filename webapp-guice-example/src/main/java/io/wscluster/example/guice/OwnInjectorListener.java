package io.wscluster.example.guice;

import com.google.inject.Guice;
import com.google.inject.Injector;
import io.wscluster.WsClusterConfig;
import io.wscluster.WsClusterModule;
import jakarta.servlet.ServletContextEvent;
import jakarta.servlet.ServletContextListener;

/**
 * The variant for an app that creates its injector itself (declared in
 * WEB-INF/web-own-injector.xml instead of {@link ChatListener}). It puts the injector where
 * guice-servlet would, which is all wscluster needs to find it, and passes settings to the module
 * in code; they rank above context-params.
 */
public class OwnInjectorListener implements ServletContextListener {
  /** The node name this variant sets through the module (wscluster adds a random suffix). */
  public static final String NODE_NAME = "guice-own";

  @Override
  public void contextInitialized(ServletContextEvent event) {
    Injector injector = Guice.createInjector(
        new WsClusterModule(WsClusterConfig.builder().nodeName(NODE_NAME)), new ChatModule());
    event.getServletContext().setAttribute(Injector.class.getName(), injector);
  }

  @Override
  public void contextDestroyed(ServletContextEvent event) {
    event.getServletContext().removeAttribute(Injector.class.getName());
  }
}
