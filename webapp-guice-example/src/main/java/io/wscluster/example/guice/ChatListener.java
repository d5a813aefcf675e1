package io.wscluster.example.guice;

import com.google.inject.Guice;
import com.google.inject.Injector;
import com.google.inject.servlet.GuiceServletContextListener;
import io.wscluster.WsClusterModule;

/**
 * The usual guice-servlet bootstrap (declared in WEB-INF/web.xml): the injector it returns is
 * stored in the ServletContext, where wscluster finds it. Installing {@link WsClusterModule} is
 * the only clustering change; its settings come from the context-params.
 */
public class ChatListener extends GuiceServletContextListener {
  @Override
  protected Injector getInjector() {
    return Guice.createInjector(new WsClusterModule(), new ChatModule());
  }
}
