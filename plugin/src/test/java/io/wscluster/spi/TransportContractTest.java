package io.wscluster.spi;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.UUID;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * What every {@link Transport} promises (its Javadoc, and
 * docs/protocol.md#what-a-transport-must-do), run against each implementation by a subclass.
 * Transports made by one test's {@link #newTransport} reach each other; channels are unique per
 * test.
 */
public abstract class TransportContractTest {
  private static final long TIMEOUT_SECONDS = 10;
  /** How long "nothing arrives" is watched for, after a later frame proved the pipe flushed. */
  private static final long QUIET_MILLIS = 200;

  protected final String channel = "contract:" + UUID.randomUUID();
  private final List<Transport> created = new ArrayList<>();

  /** A new, not yet started transport connected to the same "network" as the others of this test. */
  protected abstract Transport createTransport() throws Exception;

  protected final Transport newTransport() throws Exception {
    Transport t = createTransport();
    created.add(t);
    return t;
  }

  @AfterEach
  void stopTransports() {
    for (Transport t : created) {
      try {
        t.stop();
      } catch (Exception e) {
        // the test already failed, or stop's own test reports it
      }
    }
  }

  /** Records what a transport delivers. */
  public static final class Inbox implements Transport.Receiver {
    final BlockingQueue<Map.Entry<String, byte[]>> frames = new LinkedBlockingQueue<>();

    @Override
    public void onFrame(String channel, byte[] frame) {
      frames.add(Map.entry(channel, frame));
    }

    public Map.Entry<String, byte[]> next() throws InterruptedException {
      Map.Entry<String, byte[]> e = frames.poll(TIMEOUT_SECONDS, TimeUnit.SECONDS);
      assertNotNull(e, "no frame arrived within " + TIMEOUT_SECONDS + " s");
      return e;
    }

    public String nextText(String expectedChannel) throws InterruptedException {
      Map.Entry<String, byte[]> e = next();
      assertEquals(expectedChannel, e.getKey(), "channel");
      return new String(e.getValue(), StandardCharsets.UTF_8);
    }

    /** The next frame's text if one arrives within {@code millis}, else null. */
    public String pollText(long millis) throws InterruptedException {
      Map.Entry<String, byte[]> e = frames.poll(millis, TimeUnit.MILLISECONDS);
      return e == null ? null : new String(e.getValue(), StandardCharsets.UTF_8);
    }

    public void assertNothingMore() throws InterruptedException {
      Map.Entry<String, byte[]> e = frames.poll(QUIET_MILLIS, TimeUnit.MILLISECONDS);
      assertNull(e, () -> "unexpected frame on " + e.getKey() + ": "
          + new String(e.getValue(), StandardCharsets.UTF_8));
    }
  }

  private Transport started(Inbox inbox) throws Exception {
    Transport t = newTransport();
    t.start(inbox);
    return t;
  }

  private Transport subscribed(Inbox inbox, String... channels) throws Exception {
    Transport t = started(inbox);
    for (String ch : channels) {
      await(t.subscribe(ch));
    }
    return t;
  }

  private static <T> T await(CompletionStage<T> stage) throws Exception {
    return stage.toCompletableFuture().get(TIMEOUT_SECONDS, TimeUnit.SECONDS);
  }

  private static byte[] utf8(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }

  // ================================================================ delivery

  @Test
  void publish_afterSubscribe_reachesEverySubscriberIncludingThePublisher() throws Exception {
    Inbox inA = new Inbox();
    Inbox inB = new Inbox();
    Transport a = subscribed(inA, channel);
    subscribed(inB, channel);

    await(a.publish(channel, utf8("hello")));

    assertEquals("hello", inB.nextText(channel));
    assertEquals("hello", inA.nextText(channel), "the publisher's own subscription too");
    inA.assertNothingMore();
    inB.assertNothingMore();
  }

  @Test
  void publish_returnsTheNumberOfSubscriptionsThatReceivedIt() throws Exception {
    Transport a = subscribed(new Inbox(), channel);
    subscribed(new Inbox(), channel);
    Transport c = started(new Inbox()); // started, not subscribed

    assertEquals(2L, await(a.publish(channel, utf8("x"))));
    assertEquals(2L, await(c.publish(channel, utf8("y"))));
    assertEquals(0L, await(a.publish(channel + ":nobody", utf8("z"))));
  }

  // ================================================================ unsubscribe

  @Test
  void unsubscribe_framesPublishedAfterwardsDoNotArrive_andAreNotCounted() throws Exception {
    Inbox inA = new Inbox();
    Inbox inB = new Inbox();
    Transport a = subscribed(inA, channel);
    Transport b = subscribed(inB, channel, channel + ":other");

    await(b.unsubscribe(channel));

    assertEquals(1L, await(a.publish(channel, utf8("after"))), "only a's subscription is left");
    assertEquals("after", inA.nextText(channel));
    await(a.publish(channel + ":other", utf8("other")));
    assertEquals("other", inB.nextText(channel + ":other"), "b's other channel still delivers");
    inB.assertNothingMore();
  }

  @Test
  void unsubscribe_thenSubscribeAgain_deliversOncePerFrame() throws Exception {
    Inbox in = new Inbox();
    Transport t = subscribed(in, channel);
    await(t.unsubscribe(channel));
    await(t.subscribe(channel));

    assertEquals(1L, await(t.publish(channel, utf8("back"))));
    assertEquals("back", in.nextText(channel));
    in.assertNothingMore();
  }

  @Test
  void unsubscribe_aChannelNotSubscribed_isNoError() throws Exception {
    Transport t = started(new Inbox());
    assertDoesNotThrow(() -> await(t.unsubscribe(channel + ":never")));
  }

  @Test
  void publish_manyFrames_arriveInPublishOrderPerPublisher() throws Exception {
    Inbox inC = new Inbox();
    Transport a = started(new Inbox());
    Transport b = started(new Inbox());
    subscribed(inC, channel);
    int n = 1_000;

    List<CompletableFuture<Long>> sent = new ArrayList<>();
    for (int i = 0; i < n; i++) { // without waiting in between, interleaved
      sent.add(a.publish(channel, utf8("a" + i)).toCompletableFuture());
      sent.add(b.publish(channel, utf8("b" + i)).toCompletableFuture());
    }
    CompletableFuture.allOf(sent.toArray(new CompletableFuture<?>[0]))
        .get(TIMEOUT_SECONDS, TimeUnit.SECONDS);

    int nextA = 0;
    int nextB = 0;
    for (int i = 0; i < 2 * n; i++) {
      String text = inC.nextText(channel);
      if (text.startsWith("a")) {
        assertEquals("a" + nextA++, text);
      } else {
        assertEquals("b" + nextB++, text);
      }
    }
    assertEquals(n, nextA);
    assertEquals(n, nextB);
    inC.assertNothingMore();
  }

  @Test
  void publish_anyBytes_arriveUnchanged() throws Exception {
    Inbox inB = new Inbox();
    Transport a = started(new Inbox());
    subscribed(inB, channel);
    byte[] everyByte = new byte[256];
    for (int i = 0; i < 256; i++) {
      everyByte[i] = (byte) i;
    }
    byte[] large = new byte[1024 * 1024];
    new Random(3).nextBytes(large);

    for (byte[] frame : List.of(everyByte, large, new byte[] {0})) {
      await(a.publish(channel, frame));
      Map.Entry<String, byte[]> got = inB.next();
      assertEquals(channel, got.getKey());
      assertArrayEquals(frame, got.getValue(), "frame of " + frame.length + " bytes");
    }
  }

  @Test
  void publish_otherChannel_isNotDelivered() throws Exception {
    Inbox inB = new Inbox();
    Transport a = started(new Inbox());
    String other = channel + ":other";
    subscribed(inB, channel);

    await(a.publish(other, utf8("not for b")));
    await(a.publish(channel, utf8("for b")));

    assertEquals("for b", inB.nextText(channel));
    inB.assertNothingMore();
  }

  @Test
  void subscribe_severalChannels_deliversEachWithItsName() throws Exception {
    Inbox inB = new Inbox();
    Transport a = started(new Inbox());
    String second = channel + ":2";
    subscribed(inB, channel, second);

    await(a.publish(channel, utf8("one")));
    assertEquals("one", inB.nextText(channel));
    await(a.publish(second, utf8("two")));
    assertEquals("two", inB.nextText(second));
  }

  // ================================================================ lifecycle

  @Test
  void start_twice_isRefused() throws Exception {
    Transport a = started(new Inbox());
    IllegalStateException e = assertThrows(IllegalStateException.class,
        () -> a.start(new Inbox()));
    assertEquals("already started", e.getMessage());
  }

  @Test
  void subscribe_beforeStart_failsTheStageWithoutThrowing() throws Exception {
    Transport a = newTransport();

    CompletionStage<Void> stage = assertDoesNotThrow(() -> a.subscribe(channel));

    ExecutionException e = assertThrows(ExecutionException.class, () -> await(stage));
    assertTrue(e.getCause() instanceof IllegalStateException, e.getCause().toString());
  }

  @Test
  void stop_isIdempotent() throws Exception {
    Transport a = subscribed(new Inbox(), channel);
    a.stop();
    a.stop();
  }

  @Test
  void stop_neverStarted_isHarmless() throws Exception {
    Transport a = newTransport();
    a.stop();
    a.stop();
  }

  @Test
  void stop_endsDeliveryToThatTransportOnly() throws Exception {
    Inbox inA = new Inbox();
    Inbox inB = new Inbox();
    Transport a = subscribed(inA, channel);
    Transport b = subscribed(inB, channel);

    b.stop();
    org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(TIMEOUT_SECONDS))
        .until(() -> a.publish(channel, utf8("probe")).toCompletableFuture().get() == 1L);
    await(a.publish(channel, utf8("after b stopped")));

    String got;
    do {
      got = inA.nextText(channel);
    } while (got.equals("probe"));
    assertEquals("after b stopped", got, "the other transport still receives");
    inB.assertNothingMore();
  }

  /**
   * Publishing on a stopped transport fails or is ignored, never throws
   * (docs/protocol.md#what-a-transport-must-do).
   */
  @Test
  void publish_afterStop_failsOrIsIgnoredWithoutThrowing() throws Exception {
    Inbox inB = new Inbox();
    Transport a = subscribed(new Inbox(), channel);
    subscribed(inB, channel);
    a.stop();

    CompletionStage<Long> stage = assertDoesNotThrow(() -> a.publish(channel, utf8("zombie")));

    assertFailedOrIgnored(stage, inB);
  }

  @Test
  void publish_beforeStart_failsOrIsIgnoredWithoutThrowing() throws Exception {
    Inbox inB = new Inbox();
    subscribed(inB, channel);
    Transport a = newTransport();

    CompletionStage<Long> stage = assertDoesNotThrow(() -> a.publish(channel, utf8("early")));

    assertFailedOrIgnored(stage, inB);
  }

  private static void assertFailedOrIgnored(CompletionStage<Long> stage, Inbox subscriber)
      throws Exception {
    Long receivers;
    try {
      receivers = stage.toCompletableFuture().get(TIMEOUT_SECONDS, TimeUnit.SECONDS);
    } catch (ExecutionException failed) {
      subscriber.assertNothingMore();
      return; // failed: fine
    } catch (TimeoutException e) {
      fail("publish on a transport that is not running neither failed nor completed");
      return;
    }
    Map.Entry<String, byte[]> leaked = subscriber.frames.poll(QUIET_MILLIS, TimeUnit.MILLISECONDS);
    assertNull(leaked, "a transport that is not running delivered a frame (publish reported "
        + receivers + " receivers); it must fail the publish or ignore it");
    assertEquals(0L, receivers, "an ignored publish reaches nobody");
  }
}
