package io.wscluster.it;

import jakarta.servlet.http.HttpServlet;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import jakarta.websocket.CloseReason;
import jakarta.websocket.Endpoint;
import jakarta.websocket.EndpointConfig;
import jakarta.websocket.Session;
import jakarta.websocket.server.ServerEndpointConfig;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Base64;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.zip.ZipEntry;
import java.util.zip.ZipFile;
import java.util.zip.ZipInputStream;
import org.eclipse.jetty.ee10.servlet.ServletContextHandler;
import org.eclipse.jetty.ee10.servlet.ServletHolder;
import org.eclipse.jetty.ee10.websocket.jakarta.server.config.JakartaWebSocketServletContainerInitializer;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A small real server that speaks the browser client's side of the recovery wire contract, scripted by a test: an
 * embedded Jetty 12 (ee10) with a Jakarta WebSocket endpoint at {@code /ws}, a blank page at {@code /page.html},
 * and the client module at {@code /wscluster/wscluster-client.mjs}, read from the plugin jar inside the demo WAR
 * (the bytes users get). The endpoint records the decoded {@code wscluster} token of every connection and sends
 * what the test tells it to; it has no history of its own. Stopping and starting it again keeps its port, as a
 * node that restarts.
 */
final class ContractServer implements AutoCloseable {

  private static final Logger LOG = LoggerFactory.getLogger(ContractServer.class);
  static final String RS = "\u001e";
  static final String MODULE = "/wscluster/wscluster-client.mjs";

  private final String node;
  private final byte[] module;
  private final BlockingQueue<String> tokens = new LinkedBlockingQueue<>();
  private volatile String epoch;
  private volatile Session session;
  private Server server;
  private ServerConnector connector;
  private int port;

  private ContractServer(String node, String epoch, byte[] module) {
    this.node = node;
    this.epoch = epoch;
    this.module = module;
  }

  /** Starts a server whose hellos name {@code node} and {@code epoch}, on a free port. */
  static ContractServer start(String node, String epoch) throws Exception {
    ContractServer s = new ContractServer(node, epoch, shippedModule(JettyNode.demoWar()));
    s.start();
    return s;
  }

  /** The client module as the plugin jar in {@code war} ships it. */
  static byte[] shippedModule(Path war) throws IOException {
    try (ZipFile zip = new ZipFile(war.toFile())) {
      ZipEntry jar = zip.stream()
          .filter(e -> e.getName().matches("WEB-INF/lib/wscluster-\\d.*\\.jar"))
          .findFirst()
          .orElseThrow(() -> new IllegalStateException("no plugin jar in " + war));
      try (ZipInputStream in = new ZipInputStream(zip.getInputStream(jar))) {
        for (ZipEntry e; (e = in.getNextEntry()) != null; ) {
          if (e.getName().equals("META-INF/resources" + MODULE)) {
            return in.readAllBytes();
          }
        }
      }
      throw new IllegalStateException(jar.getName() + " in " + war + " has no META-INF/resources" + MODULE);
    }
  }

  synchronized void start() throws Exception {
    server = new Server();
    connector = new ServerConnector(server, 1, 1);
    connector.setHost("127.0.0.1");
    connector.setPort(port);
    server.addConnector(connector);
    ServletContextHandler context = new ServletContextHandler("/");
    context.addServlet(new ServletHolder(new Static()), "/page.html");
    context.addServlet(new ServletHolder(new Static()), MODULE);
    JakartaWebSocketServletContainerInitializer.configure(context, (servletContext, container) ->
        container.addEndpoint(ServerEndpointConfig.Builder.create(ContractEndpoint.class, "/ws")
            .configurator(new ServerEndpointConfig.Configurator() {
              @Override
              @SuppressWarnings("unchecked")
              public <T> T getEndpointInstance(Class<T> type) {
                return (T) new ContractEndpoint(ContractServer.this);
              }
            }).build()));
    server.setHandler(context);
    server.start();
    port = connector.getLocalPort();
    LOG.info("contract server {} on port {}", node, port);
  }

  /** Stops the server: its connections close (the browser sees 1001 or an abnormal close). */
  synchronized void stop() throws Exception {
    if (server != null) {
      server.stop();
      server = null;
      session = null;
    }
  }

  @Override
  public void close() throws Exception {
    stop();
  }

  /** The endpoint's URL, as a string the page can use. */
  String ws() {
    return "ws://127.0.0.1:" + port + "/ws";
  }

  URI page() {
    return URI.create("http://127.0.0.1:" + port + "/page.html");
  }

  /** The epoch the next hellos name. */
  void epoch(String epoch) {
    this.epoch = epoch;
  }

  /** The decoded token (JSON) of the next connection, or the literal "none" if it had no parameter. */
  String nextToken(Duration atMost) throws InterruptedException {
    String token = tokens.poll(atMost.toMillis(), TimeUnit.MILLISECONDS);
    if (token == null) {
      throw new AssertionError("no connection to " + node + " within " + atMost);
    }
    return token;
  }

  /** Whether another connection came (without waiting). */
  boolean connected() {
    return !tokens.isEmpty();
  }

  /** Sends a raw text frame on the latest connection. */
  void send(String frame) throws IOException {
    Session s = session;
    if (s == null) {
      throw new IllegalStateException(node + " has no connection");
    }
    s.getBasicRemote().sendText(frame);
  }

  /** A message frame: {@code offsets} alternates stream names and offsets. */
  void message(String payload, String... offsets) throws IOException {
    StringBuilder header = new StringBuilder("{\"o\":{");
    for (int i = 0; i < offsets.length; i += 2) {
      header.append(i == 0 ? "" : ",").append(Json.write(offsets[i])).append(':').append(Json.write(offsets[i + 1]));
    }
    send(RS + header.append("}}\n").append(payload));
  }

  void resumed(String stream, boolean recovered) throws IOException {
    send(RS + "{\"t\":\"resumed\",\"s\":" + Json.write(stream) + ",\"recovered\":" + recovered + "}");
  }

  /** Closes the latest connection with {@code code}. */
  void closeSession(CloseReason.CloseCode code, String reason) throws IOException {
    session.close(new CloseReason(code, reason));
  }

  /** The endpoint: records the token, answers the hello, keeps the session for the test. */
  public static final class ContractEndpoint extends Endpoint {
    private final ContractServer owner;

    ContractEndpoint(ContractServer owner) {
      this.owner = owner;
    }

    @Override
    public void onOpen(Session session, EndpointConfig config) {
      List<String> values = session.getRequestParameterMap().get("wscluster");
      String token = values == null || values.isEmpty() ? "none"
          : new String(Base64.getUrlDecoder().decode(values.get(0)), StandardCharsets.UTF_8);
      owner.session = session;
      try {
        if (!"none".equals(token)) {
          session.getBasicRemote().sendText(RS + "{\"t\":\"hello\",\"e\":" + Json.write(owner.epoch)
              + ",\"node\":" + Json.write(owner.node) + "}");
        }
      } catch (IOException e) {
        LOG.warn("hello to {} failed", session.getId(), e);
      }
      // after the hello: a test that saw the token may send at once, and its frames follow the hello
      owner.tokens.add(token);
    }
  }

  /** The page and the module; anything else is 404. */
  private final class Static extends HttpServlet {
    @Override
    protected void doGet(HttpServletRequest req, HttpServletResponse resp) throws IOException {
      if (req.getRequestURI().equals(MODULE)) {
        resp.setContentType("text/javascript");
        copy(new ByteArrayInputStream(module), resp);
      } else {
        resp.setContentType("text/html;charset=utf-8");
        copy(new ByteArrayInputStream(("<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>" + node
            + "</title></head><body>client contract test</body></html>").getBytes(StandardCharsets.UTF_8)), resp);
      }
    }

    private void copy(InputStream in, HttpServletResponse resp) throws IOException {
      in.transferTo(resp.getOutputStream());
    }
  }

  @Override
  public String toString() {
    return "contract server " + node;
  }
}
