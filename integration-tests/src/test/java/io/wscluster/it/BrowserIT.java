package io.wscluster.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;
import org.openqa.selenium.By;
import org.openqa.selenium.Keys;
import org.openqa.selenium.WebElement;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The demo's pages in a real browser (headless Chromium, see {@link Browser}) on 3 Jetty nodes deploying the demo
 * WAR with its cluster view on ({@code demo.cluster-view=true}, as the launcher sets it).
 *
 * <p>Two browsers, two separate contexts: browser A holds alice's chat on n0 and the cluster view on n0; browser B
 * holds bob's chat on n1 and carol's on n2. n2 starts with the test hook that subscribes its Redis listener twice:
 * every frame reaches it twice and its dedup drops the copies, which the cluster view shows.
 *
 * <p>What a user does, the test does: it types into the pages and reads what they show. A message appears exactly
 * once on every page, in the order it was sent; a direct message gets its receipt tick; the cluster view lists the
 * 3 live nodes and its counts follow the traffic; a page whose node restarts shows that it is reconnecting, then
 * shows the message said meanwhile, once, says it recovered it, and chats again. Negative control: the page's own count sees duplicates when a node runs with dedup off, so "once"
 * is something the test can see fail.
 *
 * <p>Screenshots of the pages go to {@code target/screenshots/} (the README's come from there).
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class BrowserIT {

  private static final Logger LOG = LoggerFactory.getLogger(BrowserIT.class);
  private static final Path TARGET = Path.of("target");
  private static final Path SCREENSHOTS = TARGET.resolve("screenshots");
  private static final Duration WAIT = Duration.ofSeconds(15);
  private static final Duration POLL = Duration.ofMillis(100);
  /** How long a count must stay put before "exactly once" is asserted: late copies would arrive within it. */
  private static final Duration QUIET = Duration.ofMillis(700);
  private static final Map<String, String> VIEW_ON = Map.of("demo.cluster-view", "true");

  /** Why the browser tests cannot run here (no Chromium), or null. */
  private String unavailable;
  private Cluster cluster;
  private Browser a;
  private Browser b;
  private ChatPage alice;
  private ChatPage bob;
  private ChatPage carol;

  @BeforeAll
  void start() throws Exception {
    unavailable = Browser.unavailable();
    if (unavailable != null) {
      LOG.warn("skipping the browser tests: {}", unavailable);
      return;
    }
    cluster = Cluster.start("browser", 3, Map.of(2, Map.of(JettyNode.TEST_EXTRA_SUBSCRIPTIONS, 1)),
        Cluster.everyNode(3, VIEW_ON));
    a = Browser.start("a", TARGET);
    b = Browser.start("b", TARGET);
    alice = ChatPage.join(a, "alice", cluster.node(0), "alice", "lobby");
    bob = ChatPage.join(b, "bob", cluster.node(1), "bob", "lobby");
    carol = ChatPage.join(b, "carol", cluster.node(2), "carol", "lobby");
    for (ChatPage page : List.of(alice, bob, carol)) {
      Settle.until(page + " to list alice, bob and carol", WAIT, POLL,
          () -> page.presence().equals(List.of("alice", "bob", "carol")));
    }
  }

  /** Each test is reported skipped with the reason, rather than the class vanishing from the counts. */
  @BeforeEach
  void requireBrowser() {
    Assumptions.assumeTrue(unavailable == null, unavailable);
  }

  @AfterAll
  void stop() {
    for (AutoCloseable c : new AutoCloseable[] {a, b, cluster}) {
      if (c != null) {
        try {
          c.close();
        } catch (Exception e) {
          LOG.warn("closing {} failed", c, e);
        }
      }
    }
  }

  @Test
  @Order(1)
  void chat_typedOnNode0_everyPageShowsEachMessageOnceInOrder() throws Exception {
    List<String> sent = List.of("hello from n0, 1", "hello from n0, 2", "hello from n0, 3");
    for (String text : sent) {
      alice.type(text);
    }
    bob.type("hi alice, bob on n1 here");
    carol.type("and carol on n2");
    for (ChatPage page : List.of(alice, bob, carol)) {
      Settle.until(page + " to show every message", WAIT, POLL,
          () -> page.count("and carol on n2") > 0 && page.count("hi alice, bob on n1 here") > 0
              && page.count(sent.get(2)) > 0);
    }
    for (ChatPage page : List.of(alice, bob, carol)) {
      Settle.stable(() -> (long) page.messages().size(), QUIET, WAIT);
      List<String> shown = page.messages();
      for (String text : sent) {
        assertEquals(1, page.count(text), page + " must show '" + text + "' exactly once; it shows " + shown);
      }
      assertEquals(sent, shown.stream().filter(sent::contains).toList(),
          page + " must show alice's messages in the order she typed them");
      assertEquals(5, shown.size(), page + " shows exactly the 5 messages sent: " + shown);
    }
    // the badge of each message names the node it was sent on
    assertEquals("n0", bob.viaOf(sent.get(0)));
    assertEquals("n2", alice.viaOf("and carol on n2"));
  }

  @Test
  @Order(2)
  void directMessage_toAUserOnAnotherNode_showsTheReceiptTick() throws Exception {
    String text = "psst bob, direct from alice";
    alice.directMessage("bob", text);
    Settle.until("alice's direct message to get its receipt tick", WAIT, POLL,
        () -> "\u2713".equals(alice.receiptOf(text)));
    Settle.until("bob to show the direct message", WAIT, POLL, () -> bob.count(text) > 0);
    Settle.stable(() -> (long) bob.count(text), QUIET, WAIT);
    assertEquals(1, bob.count(text), "bob shows the direct message once: " + bob.messages());
    assertTrue(bob.isDirect(text), "bob's page marks it as direct");
    assertEquals(0, carol.count(text), "carol, in the same room, does not get bob's direct message");

    bob.type("thanks alice \u2713");
    Settle.until("alice to show bob's answer", WAIT, POLL, () -> alice.count("thanks alice \u2713") == 1);
    alice.screenshot(SCREENSHOTS.resolve("chat-alice-node0.png"));
    bob.screenshot(SCREENSHOTS.resolve("chat-bob-node1.png"));
  }

  @Test
  @Order(3)
  void clusterView_listsThreeLiveNodes_andItsCountsFollowTheTraffic() throws Exception {
    ClusterView view = ClusterView.open(a, cluster.node(0));
    Settle.until("the cluster view to list n0, n1 and n2 live", WAIT, POLL,
        () -> view.states().equals(Map.of("n0", "live", "n1", "live", "n2", "live")));
    assertTrue(view.summary().startsWith("3 of 3 nodes live"), view.summary());

    long published0 = view.counter("n0", "published");
    long delivered1 = view.counter("n1", "delivered");
    int burst = 20;
    for (int i = 0; i < burst; i++) {
      alice.say("burst " + i);
    }
    // the status feed adds about one message per node per second; the burst must show on top of that
    Settle.until("n0's published and n1's delivered to grow by the burst", WAIT, POLL,
        () -> view.counter("n0", "published") >= published0 + burst
            && view.counter("n1", "delivered") >= delivered1 + burst);
    Settle.until("n2, subscribed twice, to show the copies it dropped", WAIT, POLL,
        () -> view.counter("n2", "duplicates") > 0);
    // n0 subscribes once: it drops a copy only when a frame is republished (an outage, a probe that came back
    // late on a loaded machine), never one per message
    long n0 = view.counter("n0", "duplicates");
    long n2 = view.counter("n2", "duplicates");
    assertTrue(n2 > n0, "the cards show each node's own counters: n2 dropped " + n2 + ", n0 " + n0);
    // some steady traffic, so that the screenshot shows rates and sparklines: 10 messages/s for 4 s
    for (int i = 0; i < 40; i++) {
      (i % 2 == 0 ? alice : bob).say("chatter " + i);
      Thread.sleep(100);
    }
    a.tab("view").screenshot(SCREENSHOTS.resolve("cluster-view.png"));
  }

  @Test
  @Order(4)
  void chat_whenItsNodeRestarts_showsReconnectingAndChatsAgain() throws Exception {
    JettyNode n1 = cluster.node(1);
    String before = bob.nodeId();
    ClusterView view = ClusterView.open(a, cluster.node(0));
    // the restart runs on its own thread, so that the pages can be watched while n1 is down
    CompletableFuture<Void> restart = CompletableFuture.runAsync(() -> {
      try {
        n1.restart(Duration.ofSeconds(4));
      } catch (Exception e) {
        throw new CompletionException(e);
      }
    });
    bob.awaitState("reconnecting", WAIT);
    LOG.info("bob while n1 is down: {}", bob.statusText());
    String missed = "said while bob was away";
    alice.type(missed);
    Settle.until("the cluster view to show n1 down", WAIT, POLL, () -> view.states().get("n1").equals("down"));
    a.tab("view").screenshot(SCREENSHOTS.resolve("cluster-view-node-down.png"));
    b.tab("bob").screenshot(SCREENSHOTS.resolve("chat-bob-reconnecting.png"));
    restart.get(30, TimeUnit.SECONDS);
    bob.awaitState("connected", Duration.ofSeconds(20));
    String after = bob.nodeId();
    assertTrue(after.startsWith("n1-") && !after.equals(before),
        "bob is back on the restarted n1, a new node id: " + before + " -> " + after);
    // the node replayed what bob's tab missed meanwhile, and the page says so
    Settle.until("bob's page to show what it recovered", WAIT, POLL, () -> "recovered".equals(bob.recovery("state")));
    Settle.stable(() -> (long) bob.count(missed), QUIET, WAIT);
    assertEquals(1, bob.count(missed), "bob's page shows the message said while it was away once: " + bob.messages());
    assertEquals("1", bob.recovery("missed"), bob.recoveryText());
    assertTrue(bob.recoveryText().matches("reconnected to n1 \u2013 recovered 1 missed message"), bob.recoveryText());
    Settle.until("the cluster view to show n1 live again", WAIT, POLL,
        () -> view.states().equals(Map.of("n0", "live", "n1", "live", "n2", "live")));

    bob.type("back after the restart");
    Settle.until("alice and carol to show bob's message", WAIT, POLL,
        () -> alice.count("back after the restart") > 0 && carol.count("back after the restart") > 0);
    Settle.stable(() -> (long) alice.count("back after the restart"), QUIET, WAIT);
    assertEquals(1, alice.count("back after the restart"));
    assertEquals(1, carol.count("back after the restart"));
  }

  /**
   * The control for every "exactly once" above: the same page and the same count, on a node with dedup off that
   * subscribes twice, must show the copies. The page's client also drops a repeat of a message whose history offset
   * it has already; history is off on this node, so messages come without offsets and the page sees what the server
   * sends.
   */
  @Test
  @Order(5)
  void negativeControl_dedupOff_thePageShowsTheDuplicates() throws Exception {
    try (Cluster control = Cluster.start("browserdup", 1,
        Map.of(0, Map.of(JettyNode.TEST_EXTRA_SUBSCRIPTIONS, 1, JettyNode.TEST_DEDUP, "off")),
        Cluster.everyNode(1, Map.of("demo.cluster-view", "true", "wscluster.history.enabled", "false")))) {
      ChatPage dave = ChatPage.join(b, "dave", control.node(0), "dave", "lobby");
      dave.type("said once");
      Settle.until("dave's page to show the copies of 'said once'", WAIT, POLL, () -> dave.count("said once") > 1);
      LOG.info("dedup off: dave's page shows {}", dave.messages());
    }
  }

  /** A chat page ({@code /}) in a tab of a browser; reads what the page shows (see chat.js's test hooks). */
  private record ChatPage(Browser browser, String tab) {

    static ChatPage join(Browser browser, String tab, JettyNode node, String nick, String room) {
      browser.open(tab, node.httpUri("/"));
      WebElement nickField = browser.driver().findElement(By.id("nick"));
      nickField.clear();
      nickField.sendKeys(nick);
      WebElement roomField = browser.driver().findElement(By.id("room"));
      roomField.clear();
      roomField.sendKeys(room);
      browser.driver().findElement(By.id("connect")).click();
      ChatPage page = new ChatPage(browser, tab);
      page.awaitState("connected", WAIT);
      return page;
    }

    /** Waits until the page's connection state is {@code state}; a timeout names what the page shows. */
    void awaitState(String state, Duration atMost) {
      try {
        Settle.until(this + " to be " + state, atMost, POLL, () -> state().equals(state));
      } catch (org.awaitility.core.ConditionTimeoutException e) {
        throw new AssertionError(this + " did not become " + state + " within " + atMost + "; it shows '"
            + statusText() + "', '" + front().js("return document.getElementById('where').textContent;") + "'", e);
      }
    }

    Browser front() {
      return browser.tab(tab);
    }

    /** Types the text into the message field and presses Enter, as a user does. */
    void type(String text) {
      front().driver().findElement(By.id("text")).sendKeys(text + Keys.ENTER);
    }

    /** The same, without the keyboard: for bursts. */
    void say(String text) {
      front().js("document.getElementById('text').value = arguments[0];"
          + "document.querySelector('#say button').click();", text);
    }

    void directMessage(String user, String text) {
      WebElement to = front().driver().findElement(By.id("dm-user"));
      to.clear();
      to.sendKeys(user);
      front().driver().findElement(By.id("dm-text")).sendKeys(text + Keys.ENTER);
    }

    /** The texts of the chat messages shown, in page order. */
    @SuppressWarnings("unchecked")
    List<String> messages() {
      return (List<String>) front().js("return Array.from(document.querySelectorAll('#log li.msg span.text'))"
          + ".map(function (e) { return e.textContent; });");
    }

    int count(String text) {
      return (int) messages().stream().filter(text::equals).count();
    }

    /** The node badge of the (first) message with this text. */
    String viaOf(String text) {
      return (String) front().js("var t = arguments[0];"
          + "var li = Array.from(document.querySelectorAll('#log li.msg')).find(function (l) {"
          + " return l.querySelector('span.text').textContent === t; });"
          + "return li ? li.querySelector('span.via').textContent : null;", text);
    }

    boolean isDirect(String text) {
      return Boolean.TRUE.equals(front().js("var t = arguments[0];"
          + "return Array.from(document.querySelectorAll('#log li.msg.direct span.text'))"
          + ".some(function (e) { return e.textContent === t; });", text));
    }

    /** The receipt mark shown beside a direct message this page sent ("\u2713" when delivered), or null. */
    String receiptOf(String text) {
      return (String) front().js("var t = arguments[0];"
          + "var li = Array.from(document.querySelectorAll('#log li.sent-direct')).find("
          + "function (l) { return l.textContent.indexOf(t) >= 0; });"
          + "var r = li && li.querySelector('span.receipt.ok'); return r ? r.textContent : null;", text);
    }

    @SuppressWarnings("unchecked")
    List<String> presence() {
      return (List<String>) front().js("return Array.from(document.querySelectorAll('#presence li:not(.empty)'))"
          + ".map(function (e) { return e.textContent; });");
    }

    /** The connection state: connected, connecting, reconnecting or disconnected. */
    String state() {
      return ((String) front().js("return document.getElementById('status').className;"))
          .replace("status", "").trim();
    }

    /** A data attribute of the line under the form that says how the last reconnect recovered (null before one). */
    String recovery(String attribute) {
      return (String) front().js("return document.getElementById('recovery').getAttribute('data-' + arguments[0]);",
          attribute);
    }

    String recoveryText() {
      return (String) front().js("return document.getElementById('recovery').textContent;");
    }

    String statusText() {
      return (String) front().js("return document.getElementById('status').textContent;");
    }

    /** The id of the node the page is connected to, from the line under the form. */
    String nodeId() {
      return (String) front().js("var c = document.querySelector('#where code'); return c ? c.textContent : null;");
    }

    void screenshot(Path file) throws java.io.IOException {
      front().screenshot(file);
    }

    @Override
    public String toString() {
      return tab + "'s page";
    }
  }

  /** The cluster view ({@code /cluster.html}) in browser A's tab "view"; reads its cards (see cluster.js). */
  private record ClusterView(Browser browser) {

    /** Opens the view on {@code node} in the tab "view", unless that tab is open already. */
    static ClusterView open(Browser browser, JettyNode node) {
      if (!browser.hasTab("view")) {
        browser.open("view", node.httpUri("/cluster.html"));
      }
      return new ClusterView(browser);
    }

    /** Node name to state (live, silent, down), as the cards show them. */
    @SuppressWarnings("unchecked")
    Map<String, String> states() {
      return (Map<String, String>) browser.tab("view").js("var m = {};"
          + "document.querySelectorAll('.card').forEach(function (c) { m[c.dataset.node] = c.dataset.state; });"
          + "return m;");
    }

    long counter(String node, String name) {
      Object v = browser.tab("view").js("var c = document.querySelector('.card[data-node=\"' + arguments[0] + '\"]');"
          + "return c ? c.getAttribute('data-' + arguments[1]) : null;", node, name);
      if (v == null) {
        throw new AssertionError("the cluster view has no " + name + " for node " + node + "; states " + states());
      }
      return Long.parseLong((String) v);
    }

    String summary() {
      return (String) browser.tab("view").js("return document.getElementById('summary').textContent;");
    }
  }
}
