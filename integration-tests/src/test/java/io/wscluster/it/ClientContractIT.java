package io.wscluster.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The browser client ({@code wscluster-client.mjs}, as the plugin jar ships it) in headless Chromium against
 * {@link ContractServer}s: real WebSocket servers that speak the recovery wire contract as a test scripts them. What
 * the client sends (its token) is read on the server; what it hands the app is read in the page.
 *
 * <p>Negative controls: the page counts the raw frames its WebSocket received, so a repeat the client drops is
 * seen to have reached the browser; a client with {@code resume:false} is seen to send a fresh token where a
 * resuming one sends its offsets.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class ClientContractIT {

  private static final Logger LOG = LoggerFactory.getLogger(ClientContractIT.class);
  private static final Duration WAIT = Duration.ofSeconds(10);
  private static final Duration POLL = ClientPage.POLL;
  private static final String FRESH = "{\"v\":1,\"e\":null,\"o\":{}}";
  private String unavailable;
  private Browser browser;
  private ContractServer a;
  private ContractServer b;
  private ClientPage page;

  @BeforeAll
  void startBrowser() throws Exception {
    unavailable = Browser.unavailable();
    if (unavailable != null) {
      LOG.warn("skipping the client contract tests: {}", unavailable);
      return;
    }
    browser = Browser.start("contract", Path.of("target"));
  }

  @AfterAll
  void stopBrowser() {
    if (browser != null) {
      browser.close();
    }
  }

  @BeforeEach
  void startServers() throws Exception {
    Assumptions.assumeTrue(unavailable == null, unavailable);
    a = ContractServer.start("A", "E1");
    b = ContractServer.start("B", "E1");
    openPage(a);
  }

  @AfterEach
  void stopServers() throws Exception {
    if (browser != null) {
      browser.js("if (window.client) { window.client.close(); }");
    }
    for (ContractServer s : new ContractServer[] {a, b}) {
      if (s != null) {
        s.close();
      }
    }
  }

  // ---------------------------------------------------------------- pure functions

  @Test
  void encodeToken_isBase64urlWithoutPaddingOfTheContractJson() {
    assertEquals(base64url(FRESH), browser.js("return wsc.encodeToken(null, {});"));
    String token = (String) browser.js("return wsc.encodeToken('ep\u00e9', {'room:caf\u00e9': '1-2', all: '17-0'});");
    assertFalse(token.contains("=") || token.contains("+") || token.contains("/"), token);
    assertEquals("{\"v\":1,\"e\":\"ep\u00e9\",\"o\":{\"room:caf\u00e9\":\"1-2\",\"all\":\"17-0\"}}",
        new String(Base64.getUrlDecoder().decode(token), StandardCharsets.UTF_8));
    assertEquals(Map.of("v", 1L, "e", "ep\u00e9", "o", Map.of("room:caf\u00e9", "1-2", "all", "17-0")),
        browser.js("return wsc.decodeToken(arguments[0]);", token));
  }

  @Test
  void compareOffsets_comparesMillisThenSequenceNumerically() {
    @SuppressWarnings("unchecked")
    List<Long> results = (List<Long>) browser.js("return [['10-0', '9-99'], ['9-99', '10-0'], ['5-5', '5-5'],"
        + "['5-10', '5-9'], ['1-18446744073709551615', '1-18446744073709551614'],"
        + "['9007199254740993-0', '9007199254740992-7']].map((p) => wsc.compareOffsets(p[0], p[1]));");
    assertEquals(List.of(1L, -1L, 0L, 1L, 1L, 1L), results);
    assertEquals("TypeError", browser.js("try { wsc.compareOffsets('5', '1-1'); return 'none'; }"
        + " catch (e) { return e.name; }"));
  }

  @Test
  @SuppressWarnings("unchecked")
  void parseFrame_tellsMessagesHelloResumedAndPlainTextApart() {
    List<Map<String, Object>> frames = (List<Map<String, Object>>) browser.js("return arguments[0].map(wsc.parseFrame);",
        List.of("\u001e{\"o\":{\"all\":\"1-2\",\"room:r\":\"3-0\"}}\nline 1\nline 2 \u001e",
            "\u001e{\"o\":{}}\n",
            "\u001e{\"t\":\"hello\",\"e\":\"E1\",\"node\":\"n1-abc\"}",
            "\u001e{\"t\":\"resumed\",\"s\":\"room:r\",\"recovered\":false}",
            "{\"type\":\"msg\"}",
            "\u001enot json\npayload",
            "\u001e{\"o\":{\"all\":\"x\"}}\npayload",
            "\u001e{\"t\":\"future\"}"));
    assertEquals(Map.of("kind", "message", "offsets", Map.of("all", "1-2", "room:r", "3-0"),
        "data", "line 1\nline 2 \u001e"), frames.get(0));
    assertEquals(Map.of("kind", "message", "offsets", Map.of(), "data", ""), frames.get(1));
    assertEquals(Map.of("kind", "hello", "epoch", "E1", "node", "n1-abc"), frames.get(2));
    assertEquals(Map.of("kind", "resumed", "stream", "room:r", "recovered", false), frames.get(3));
    assertEquals(Map.of("kind", "plain", "data", "{\"type\":\"msg\"}"), frames.get(4));
    assertEquals(Map.of("kind", "plain", "data", "\u001enot json\npayload"), frames.get(5),
        "a frame whose header is not the contract's is passed on, not lost");
    assertEquals("plain", frames.get(6).get("kind"), "an offset that is not <ms>-<seq>");
    assertEquals("control", frames.get(7).get("kind"));
  }

  @Test
  @SuppressWarnings("unchecked")
  void backoffDelay_growsFromInitialToMaxWithJitterInTheUpperHalf() {
    List<Long> low = (List<Long>) browser.js("return [0, 1, 2, 3, 4, 40].map("
        + "(n) => wsc.backoffDelay(n, {initial: 100, max: 400}, () => 0));");
    List<Long> high = (List<Long>) browser.js("return [0, 1, 2, 3, 4, 40].map("
        + "(n) => wsc.backoffDelay(n, {initial: 100, max: 400}, () => 1));");
    assertEquals(List.of(50L, 100L, 200L, 200L, 200L, 200L), low);
    assertEquals(List.of(100L, 200L, 400L, 400L, 400L, 400L), high);
  }

  // ---------------------------------------------------------------- against a server

  @Test
  void client_deliversEachTrackedMessageOnce_andPlainFramesUntracked() throws Exception {
    startClient(List.of(a.ws()), Map.of());
    assertEquals(FRESH, a.nextToken(WAIT), "a new client sends the fresh token");
    awaitStatus("open", "A");
    a.message("m1", "all", "1-1");
    a.message("m2", "room:r", "5-0");
    a.message("m3", "all", "1-2", "room:r", "5-1");
    // repeats: at the offset it has, below it, and one message new in one stream but seen in the other
    a.message("m1 again", "all", "1-1");
    a.message("m2 again", "room:r", "5-0");
    a.message("seen through all", "all", "1-2", "room:r", "5-9");
    a.send("plain text");
    a.message("outside any stream");
    a.message("m4", "room:r", "5-10");
    Settle.until("the page to have m4", WAIT, POLL, () -> data().contains("m4"));
    assertEquals(List.of("m1", "m2", "m3", "plain text", "outside any stream", "m4"), data());
    assertEquals(List.of(true, true, true, false, true, true), js("return rec.messages.map((m) => m.tracked);"));
    assertEquals(Map.of("all", "1-2", "room:r", "5-10"), js("return client.offsets;"));
    // control: every repeat reached the page's WebSocket (hello + 9 frames); the client dropped them
    assertEquals(10L, js("return rec.raw;"));
  }

  @Test
  void client_whenItsServerStops_reconnectsToTheNextUrlWithItsOffsets_andReportsRecovered() throws Exception {
    startClient(List.of(a.ws(), b.ws()), Map.of());
    a.nextToken(WAIT);
    a.message("m1", "all", "1-1");
    a.message("m2", "room:r", "5-0");
    Settle.until("m2", WAIT, POLL, () -> data().contains("m2"));
    a.stop();
    String token = b.nextToken(WAIT);
    assertEquals(Map.of("v", 1L, "e", "E1", "o", Map.of("all", "1-1", "room:r", "5-0")), Json.object(token),
        "the reconnect to B carries the epoch and the last offset of each stream");
    b.message("m3 (missed)", "room:r", "5-1");
    b.message("m4 (missed)", "room:r", "5-2");
    b.resumed("room:r", true);
    b.resumed("all", true);
    b.message("m5 live", "all", "1-2");
    Settle.until("m5", WAIT, POLL, () -> data().contains("m5 live"));
    assertEquals(List.of("m1", "m2", "m3 (missed)", "m4 (missed)", "m5 live"), data());
    assertEquals(List.of(Map.of("stream", "room:r", "ok", true, "count", 2L),
        Map.of("stream", "all", "ok", true, "count", 0L)), page.recovered());
    Map<String, Object> open = lastStatus("open");
    assertEquals("B", open.get("node"));
    assertEquals(true, open.get("reconnected"));
    Map<String, Object> reconnecting = lastStatus("reconnecting");
    assertEquals(b.ws(), reconnecting.get("url"), "after A failed the client turns to the next URL");
  }

  @Test
  void client_resumeOff_reconnectsWithAFreshToken() throws Exception {
    startClient(List.of(a.ws(), b.ws()), Map.of("resume", false));
    a.nextToken(WAIT);
    a.message("m1", "all", "1-1");
    Settle.until("m1", WAIT, POLL, () -> data().contains("m1"));
    a.stop();
    assertEquals(FRESH, b.nextToken(WAIT), "without resume the client asks for nothing to be replayed");
  }

  @Test
  void client_helloOfAnotherEpoch_forgetsTheOldOffsets_andSurfacesNotRecovered() throws Exception {
    startClient(List.of(a.ws(), b.ws()), Map.of());
    a.nextToken(WAIT);
    a.message("old epoch", "all", "900-0");
    Settle.until("the first message", WAIT, POLL, () -> data().contains("old epoch"));
    b.epoch("E2");
    a.stop();
    b.nextToken(WAIT);
    b.resumed("all", false);
    // ids restart after history was lost: lower than the old epoch's, yet new
    b.message("new epoch", "all", "1-0");
    Settle.until("the new epoch's message", WAIT, POLL, () -> data().contains("new epoch"));
    assertEquals(List.of(Map.of("stream", "all", "ok", false, "count", 0L)), page.recovered());
    assertEquals("E2", js("return client.epoch;"));
    assertEquals(Map.of("all", "1-0"), js("return client.offsets;"));
  }

  @Test
  @SuppressWarnings("unchecked")
  void client_withEveryServerDown_rotatesTheUrlsWithGrowingDelays_untilOneComesBack() throws Exception {
    a.stop();
    b.stop();
    startClient(List.of(a.ws(), b.ws()), Map.of());
    Settle.until("6 failed attempts", WAIT, POLL, () -> statuses("reconnecting").size() >= 6);
    List<Map<String, Object>> attempts = statuses("reconnecting").subList(0, 6);
    List<Object> urls = new ArrayList<>();
    for (int i = 0; i < attempts.size(); i++) {
      Map<String, Object> attempt = attempts.get(i);
      urls.add(attempt.get("url"));
      long full = Math.min(400, 100L << i);
      long delay = (Long) attempt.get("delay");
      assertTrue(delay >= full / 2 && delay <= full, "attempt " + i + " waits " + delay + " ms, not within ["
          + full / 2 + ", " + full + "]: " + attempts);
    }
    assertEquals(List.of(b.ws(), a.ws(), b.ws(), a.ws(), b.ws(), a.ws()), urls, "away from the URL that failed");
    b.start();
    b.nextToken(WAIT);
    awaitStatus("open", "B");
  }

  @Test
  void client_withSessionStorage_resumesAfterAPageReload() throws Exception {
    startClient(List.of(a.ws()), Map.of("storage", "session", "storageKey", "chat"));
    a.nextToken(WAIT);
    a.message("m1", "room:r", "7-3");
    Settle.until("m1", WAIT, POLL, () -> data().contains("m1"));
    browser.driver().navigate().refresh();
    page = ClientPage.load(browser);
    startClient(List.of(a.ws()), Map.of("storage", "session", "storageKey", "chat"));
    assertEquals(Map.of("v", 1L, "e", "E1", "o", Map.of("room:r", "7-3")), Json.object(a.nextToken(WAIT)));
    // control: another key has nothing stored
    startClient(List.of(a.ws()), Map.of("storage", "session", "storageKey", "other"));
    assertEquals(FRESH, a.nextToken(WAIT));
  }

  @Test
  void client_closedWithPolicyViolation_staysClosed() throws Exception {
    startClient(List.of(a.ws(), b.ws()), Map.of());
    a.nextToken(WAIT);
    a.closeSession(jakarta.websocket.CloseReason.CloseCodes.VIOLATED_POLICY, "bad name");
    Settle.until("the client to be closed", WAIT, POLL, () -> "closed".equals(page.state()));
    Thread.sleep(500); // longer than the first back-off (100 ms at most): a retry would have come
    assertFalse(b.connected(), "no reconnect after a refusal");
    assertEquals(1008L, lastStatus("closed").get("code"));
  }

  // ---------------------------------------------------------------- helpers

  private void openPage(ContractServer server) {
    browser.open("page", server.page());
    page = ClientPage.load(browser);
  }

  private void startClient(List<String> urls, Map<String, Object> options) {
    page.start(urls, options);
  }

  private Object js(String script) {
    return page.js(script);
  }

  private List<String> data() {
    return page.data();
  }

  private List<Map<String, Object>> statuses(String state) {
    return page.statuses(state);
  }

  private Map<String, Object> lastStatus(String state) {
    return page.lastStatus(state);
  }

  private void awaitStatus(String state, String node) {
    Settle.until("the client to report " + state + " on " + node, WAIT, POLL,
        () -> statuses(state).stream().anyMatch(s -> node.equals(s.get("node"))));
  }

  private static String base64url(String json) {
    return Base64.getUrlEncoder().withoutPadding().encodeToString(json.getBytes(StandardCharsets.UTF_8));
  }
}
