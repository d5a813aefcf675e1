package io.wscluster.example.guice;

import com.google.inject.servlet.ServletModule;

/** The app's own bindings: its servlets, through guice-servlet. */
public class ChatModule extends ServletModule {
  @Override
  protected void configureServlets() {
    serve("/announce").with(AnnounceServlet.class);
  }
}
