package io.wscluster.it;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The browser client, as the plugin jar ships it, against the real plugin: 4 Jetty nodes deploying the demo WAR on a
 * real redis-server, history on (the defaults). A page of node n0 (the demo's chat page, which serves the module from
 * the plugin jar) runs a client in room r of the chat endpoint, given the URLs of two nodes. Its node is stopped;
 * while the client waits to reconnect (a back-off of 2 to 4 s), a chat client on n3 says messages to r; the page
 * reconnects to the other node and must then have every message said, once, in order, and report room:r recovered
 * with exactly the messages of the gap.
 *
 * <p>Not covered: with a history of 10 messages per stream, a page that resumes after hundreds were said is told
 * {@code recovered:false} and still never sees a message twice. Negative control: the same node stop with
 * {@code resume:false} loses the gap, which the same check sees.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class BrowserRecoveryIT {

  private static final Logger LOG = LoggerFactory.getLogger(BrowserRecoveryIT.class);
  private static final Duration WAIT = Duration.ofSeconds(20);
  private static final Duration POLL = ClientPage.POLL;
  /** Long enough for the gap's messages to be said (and to reach another node) before the page is back. */
  private static final Map<String, Object> SLOW_RECONNECT = Map.of("backoff", Map.of("initial", 4000, "max", 4000));
  private static final int BEFORE = 10;
  private static final int GAP = 20;
  private static final int AFTER = 5;

  private String unavailable;
  private Cluster cluster;
  private Browser browser;

  @BeforeAll
  void start() throws Exception {
    unavailable = Browser.unavailable();
    if (unavailable != null) {
      LOG.warn("skipping the browser recovery tests: {}", unavailable);
      return;
    }
    cluster = Cluster.start("brecovery", 4);
    browser = Browser.start("recovery", Path.of("target"));
  }

  @BeforeEach
  void requireBrowser() {
    Assumptions.assumeTrue(unavailable == null, unavailable);
  }

  @AfterAll
  void stop() throws Exception {
    // null resources are skipped; the browser closes first, then the cluster
    try (Cluster c = cluster; Browser b = browser) {
      LOG.info("closing {} and {}", b, c);
    }
  }

  @Test
  @Order(1)
  void theWar_servesTheClientModuleFromThePluginJar() throws Exception {
    HttpResponse<byte[]> response = HttpClient.newHttpClient().send(
        HttpRequest.newBuilder(cluster.node(0).httpUri(ContractServer.MODULE)).build(),
        HttpResponse.BodyHandlers.ofByteArray());
    assertEquals(200, response.statusCode());
    assertEquals("text/javascript", response.headers().firstValue("Content-Type").orElse("").replaceAll(";.*", ""),
        "a module script needs a JavaScript MIME type");
    assertArrayEquals(ContractServer.shippedModule(JettyNode.demoWar()), response.body());
  }

  @Test
  @Order(2)
  void nodeStopped_pageReconnectsToAnotherNode_everyMessageOnceInOrder_roomRecovered() throws Exception {
    Outcome o = stopNodeWhileChatting(0, 1, "r", SLOW_RECONNECT);
    assertEquals(o.said(), o.texts(), "every message said, once, in the order said");
    // the gap, plus those sent before the stop that had not reached the page yet (the stop closes the session
    // with whatever its outbox still held): each of them once, as the assertion above checks
    List<Map<String, Object>> recovered = o.page().recovered();
    assertEquals(1, recovered.size(), "one stream resumed: " + recovered);
    assertEquals("room:r", recovered.get(0).get("stream"), recovered.toString());
    assertEquals(true, recovered.get(0).get("ok"), recovered.toString());
    assertTrue((Long) recovered.get(0).get("count") >= GAP, "at least the gap replayed: " + recovered);
    assertTrue(o.node().startsWith("n1-"), "reconnected to n1: " + o.node());
  }

  /** The control: the same stop without resuming, and the same check sees the gap missing. */
  @Test
  @Order(3)
  void negativeControl_resumeOff_theGapIsLost() throws Exception {
    Map<String, Object> options = new java.util.HashMap<>(SLOW_RECONNECT);
    options.put("resume", false);
    Outcome o = stopNodeWhileChatting(1, 2, "c", options);
    List<String> expected = new ArrayList<>(o.said().subList(0, BEFORE));
    expected.addAll(o.said().subList(BEFORE + GAP, o.said().size()));
    assertEquals(expected, o.texts(), "without resume the " + GAP + " messages of the gap are missing");
    assertEquals(List.of(), o.page().recovered());
  }

  @Test
  @Order(4)
  void pastTheHistory_resumeIsNotRecovered_andNoMessageComesTwice() throws Exception {
    try (Cluster shortHistory = Cluster.start("brecovery-short", 2, redis -> Map.of(
        "wscluster.history.max-length", "10"))) {
      TestClient talker = shortHistory.chat(1, "s", "talker");
      TestClient observer = shortHistory.chat(0, "s", "observer");
      ClientPage page = openPage(shortHistory.node(0));
      Map<String, Object> stored = Map.of("storage", "session", "storageKey", "short");
      page.start(List.of(chatUrl(shortHistory.node(0), "s", "reader")), stored);
      page.awaitOpenOn("n0-", WAIT);
      List<String> said = say(talker, "h", 0, 5);
      Settle.until("the page to have the first messages", WAIT, POLL, () -> page.chatTexts().equals(said));
      page.js("client.close();");
      // streams are trimmed in nodes of 100 entries: 300 leave nothing of the page's offset
      List<String> gap = say(talker, "h", 5, 300);
      String lastOfGap = gap.get(gap.size() - 1);
      Settle.until("the gap to reach the other node", WAIT, POLL, () -> observer.deliveries().contains(lastOfGap));
      String last = "h-after";
      page.start(List.of(chatUrl(shortHistory.node(1), "s", "reader")), stored);
      Settle.until("room:s resumed", WAIT, POLL, () -> !page.recovered().isEmpty());
      assertEquals(List.of(Map.of("stream", "room:s", "ok", false, "count", 0L)), page.recovered());
      talker.say(last);
      Settle.until("the live message after the resume", WAIT, POLL, () -> page.chatTexts().contains(last));
      Settle.until("the observer to have it", WAIT, POLL, () -> observer.deliveries().contains(last));
      List<String> texts = page.chatTexts();
      assertEquals(texts.size(), new HashSet<>(texts).size(), "no message twice: " + texts);
      assertTrue(texts.size() < said.size() + gap.size() + 1, "the gap was not replayed: " + texts.size());
      assertEquals(said, texts.subList(0, said.size()));
      assertEquals(last, texts.get(texts.size() - 1));
    }
  }

  // ---------------------------------------------------------------- the scenario

  record Outcome(ClientPage page, List<String> said, List<String> texts, String node) {
  }

  /**
   * A page of node {@code from} runs a client on [from, to] in {@code room}; {@link #BEFORE} messages, then node
   * {@code from} stops and {@link #GAP} messages are said (and reach another node) while the client waits, then it
   * reconnects to {@code to} and {@link #AFTER} more are said. The talker is on n3, an observer on n2;
   * {@code from} stays stopped.
   */
  private Outcome stopNodeWhileChatting(int from, int to, String room, Map<String, Object> options)
      throws Exception {
    TestClient talker = cluster.chat(3, room, "talker");
    // never stopped, not the talker's node: what it has went through Redis, so is in the history
    TestClient observer = cluster.chat(2, room, "observer");
    ClientPage page = openPage(cluster.node(from));
    page.start(List.of(chatUrl(cluster.node(from), room, "reader"), chatUrl(cluster.node(to), room, "reader")),
        options);
    page.awaitOpenOn("n" + from + "-", WAIT);
    Settle.until("the page to be in the room", WAIT, POLL, () -> page.data().stream().anyMatch(
        d -> d.contains("\"type\":\"welcome\"")));
    List<String> said = new ArrayList<>(say(talker, room, 0, BEFORE));
    Settle.until("the page to have the first messages", WAIT, POLL, () -> page.chatTexts().size() >= BEFORE);

    cluster.node(from).stop();
    said.addAll(say(talker, room, BEFORE, GAP));
    String lastOfGap = said.get(said.size() - 1);
    Settle.until("the gap's messages to reach the observer", WAIT, POLL,
        () -> observer.deliveries().contains(lastOfGap));
    assertEquals("reconnecting", page.state(), "the gap must be said while the page is away: the test's premise");

    page.awaitOpenOn("n" + to + "-", WAIT);
    said.addAll(say(talker, room, BEFORE + GAP, AFTER));
    String last = said.get(said.size() - 1);
    Settle.until("the page to have the last message", WAIT, POLL, () -> page.chatTexts().contains(last));
    // late copies would come within this
    Settle.stable(() -> (long) page.chatTexts().size(), Duration.ofMillis(700), WAIT);
    String node = (String) page.lastStatus("open").get("node");
    LOG.info("page on {} after the stop of n{}: {} texts, recovered {}", node, from, page.chatTexts().size(),
        page.recovered());
    return new Outcome(page, said, page.chatTexts(), node);
  }

  private ClientPage openPage(JettyNode node) {
    browser.open("page", node.httpUri("/"));
    return ClientPage.load(browser);
  }

  private static String chatUrl(JettyNode node, String room, String user) {
    return node.wsUri("/chat/" + room + "?user=" + user).toString();
  }

  /** Says {@code prefix-i} for {@code count} values of i from {@code first}, and returns them. */
  private static List<String> say(TestClient talker, String prefix, int first, int count) throws Exception {
    List<String> texts = new ArrayList<>();
    for (int i = first; i < first + count; i++) {
      String text = prefix + "-" + i;
      talker.say(text);
      texts.add(text);
    }
    return texts;
  }
}
