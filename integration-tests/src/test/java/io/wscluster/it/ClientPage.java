package io.wscluster.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The browser client ({@code wscluster-client.mjs}) in the front tab of a {@link Browser}, imported from the page's
 * own origin at {@code /wscluster/wscluster-client.mjs}, with every callback recorded in {@code window.rec}: what the
 * app is handed (messages, recovered streams, states) is read from there. The page's WebSocket also counts the raw
 * frames it received ({@code rec.raw}), which shows what the client dropped.
 */
final class ClientPage {

  static final Duration POLL = Duration.ofMillis(50);
  /**
   * Loads the module and defines {@code startClient(urls, options)}; {@code options.storage === 'session'} stands for
   * sessionStorage. Test options are merged over a back-off of 100..400 ms.
   */
  private static final String HARNESS = """
      const done = arguments[arguments.length - 1];
      import('/wscluster/wscluster-client.mjs').then((m) => {
        window.wsc = m;
        window.rec = { messages: [], recovered: [], status: [], raw: 0 };
        class CountingWebSocket extends WebSocket {
          constructor(...args) {
            super(...args);
            this.addEventListener('message', () => { window.rec.raw++; });
          }
        }
        window.startClient = (urls, options) => {
          const extra = Object.assign({}, options || {});
          if (extra.storage === 'session') { extra.storage = sessionStorage; }
          window.client = new m.WsClusterClient(urls, Object.assign({
            WebSocket: CountingWebSocket,
            backoff: { initial: 100, max: 400 },
            onMessage(data, meta) { window.rec.messages.push({ data, tracked: meta.tracked, offsets: meta.offsets }); },
            onRecovered(stream, ok, info) { window.rec.recovered.push({ stream, ok, count: info.count }); },
            onStatus(state, info) { window.rec.status.push(Object.assign({ state }, info)); }
          }, extra));
        };
        done(true);
      }, (e) => done('import failed: ' + e));
      """;

  private final Browser browser;

  private ClientPage(Browser browser) {
    this.browser = browser;
  }

  /** Loads the module into the page in front (again after a reload: the page's globals are gone). */
  static ClientPage load(Browser browser) {
    Object loaded = browser.driver().executeAsyncScript(HARNESS);
    assertEquals(true, loaded, "the page must load the module: " + loaded);
    return new ClientPage(browser);
  }

  /** Starts {@code window.client} on {@code urls}; closes the previous one, if any. */
  void start(List<String> urls, Map<String, Object> options) {
    browser.js("if (window.client) { window.client.close(); }"
        + "startClient(arguments[0], arguments[1]);", urls, new LinkedHashMap<>(options));
  }

  Object js(String script, Object... args) {
    return browser.js(script, args);
  }

  /** The data handed to onMessage, in order. */
  @SuppressWarnings("unchecked")
  List<String> data() {
    return (List<String>) browser.js("return rec.messages.map((m) => m.data);");
  }

  /** The texts of the demo chat's {@code msg} frames among them, in order. */
  @SuppressWarnings("unchecked")
  List<String> chatTexts() {
    return (List<String>) browser.js("return rec.messages.map((m) => { try { return JSON.parse(m.data); }"
        + " catch (e) { return null; } }).filter((f) => f && f.type === 'msg').map((f) => f.text);");
  }

  /** onRecovered calls: {stream, ok, count}. */
  @SuppressWarnings("unchecked")
  List<Map<String, Object>> recovered() {
    return (List<Map<String, Object>>) browser.js("return rec.recovered;");
  }

  /** onStatus calls with this state, each with its info. */
  @SuppressWarnings("unchecked")
  List<Map<String, Object>> statuses(String state) {
    return (List<Map<String, Object>>) browser.js("return rec.status.filter((s) => s.state === arguments[0]);", state);
  }

  Map<String, Object> lastStatus(String state) {
    List<Map<String, Object>> all = statuses(state);
    assertFalse(all.isEmpty(), "no status " + state + " reported: " + browser.js("return rec.status;"));
    return all.get(all.size() - 1);
  }

  /** The state the client is in now. */
  String state() {
    return (String) browser.js("return client.state;");
  }

  /** Waits until the client reported 'open' with a node whose id starts with {@code nodePrefix}. */
  void awaitOpenOn(String nodePrefix, Duration atMost) {
    Settle.until("the client to be open on " + nodePrefix, atMost, POLL, () -> statuses("open").stream()
        .anyMatch(s -> s.get("node") instanceof String n && n.startsWith(nodePrefix)));
  }
}
