package io.wscluster.redis;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.wscluster.spi.History;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The Redis history's scripts on a real Redis (a redis-server of this class's own): one id per
 * message in each of its streams, the wrapped frame published in the same step, a retry that
 * writes nothing again, trimming and what a read says about coverage, the epoch.
 */
class RedisHistoryTest {
  private static TestRedis redis;
  private static RedisTransport transport;
  private static final LinkedBlockingQueue<byte[]> RECEIVED = new LinkedBlockingQueue<>();
  private final String prefix = "h" + UUID.randomUUID().toString().substring(0, 8);

  @BeforeAll
  static void startRedisAndTransport() throws Exception {
    redis = TestRedis.start("the Redis history");
    transport = TestRedis.startedTransport(redis, "history", (channel, frame) -> RECEIVED.add(frame));
  }

  @AfterAll
  static void stopTransportAndRedis() throws Exception {
    if (transport != null) {
      transport.stop();
    }
    if (redis != null) {
      redis.close();
    }
  }

  private static <T> T get(CompletionStage<T> stage) throws Exception {
    return stage.toCompletableFuture().get(10, TimeUnit.SECONDS);
  }

  private static byte[] bytes(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }

  private static History.Message message(String value, String... streams) {
    return new History.Message(List.of(streams), bytes(value));
  }

  @Test
  void publish_writesEachMessageToEachOfItsStreamsUnderOneId_andPublishesTheWrappedFrame()
      throws Exception {
    History h = transport.history(prefix, 1000, 60_000);
    String channel = prefix + ":all";
    get(transport.subscribe(channel));
    RECEIVED.clear();
    History.Published p = get(h.publish(List.of(channel), List.of(bytes("frame")),
        List.of(message("m1", "room:a", "room:b"), message("m2", "all")), "node-1", "1"));
    assertEquals(List.of(1L), p.receivers());
    assertEquals(2, p.ids().size());
    assertTrue(compare(p.ids().get(0), p.ids().get(1)) < 0, p.ids().toString());
    assertArrayEquals(History.wrap(p.ids(), bytes("frame")), RECEIVED.poll(5, TimeUnit.SECONDS));
    for (String stream : List.of("room:a", "room:b")) {
      History.Page page = get(h.read(stream, "0-0", 10));
      assertEquals(1, page.entries().size());
      assertEquals(p.ids().get(0), page.entries().get(0).id());
      assertArrayEquals(bytes("m1"), page.entries().get(0).value());
      assertEquals(p.epoch(), page.epoch());
      assertTrue(get(h.read(stream, p.ids().get(0), 10)).covered(), "from its own entry on");
    }
    assertEquals(p.ids().get(1), get(h.read("all", "0-0", 10)).entries().get(0).id());
    assertTrue(redis.keys("{" + prefix + ":room:a}:h").size() == 1, "the documented key");
  }

  @Test
  void publish_sameWriterAndTokenAgain_writesNothingMoreAndRepeatsTheIds() throws Exception {
    History h = transport.history(prefix, 1000, 60_000);
    History.Published first = get(h.publish(List.of(), List.of(),
        List.of(message("m1", "room:a")), "node-1", "7"));
    History.Published again = get(h.publish(List.of(), List.of(),
        List.of(message("m1", "room:a")), "node-1", "7"));
    assertEquals(first.ids(), again.ids());
    assertEquals(1, get(h.read("room:a", "0-0", 10)).entries().size());
    // the control: another token is another publish
    get(h.publish(List.of(), List.of(), List.of(message("m1", "room:a")), "node-1", "8"));
    assertEquals(2, get(h.read("room:a", "0-0", 10)).entries().size());
  }

  @Test
  void read_afterTrimming_coveredOnlyWhenNothingAfterTheOffsetWasTrimmed() throws Exception {
    History h = transport.history(prefix, 10, 60_000);
    List<String> ids = new ArrayList<>();
    for (int i = 0; i < 300; i++) { // MAXLEN ~ trims whole stream nodes (100 entries each)
      ids.addAll(get(h.publish(List.of(), List.of(), List.of(message("m" + i, "room:t")), "n",
          Integer.toString(i))).ids());
    }
    History.Page early = get(h.read("room:t", ids.get(5), 10));
    assertFalse(early.covered(), "entries after the offset were trimmed");
    History.Page late = get(h.read("room:t", ids.get(297), 10));
    assertTrue(late.covered());
    assertEquals(ids.subList(298, 300), late.entries().stream().map(History.Entry::id).toList());
    assertFalse(get(h.read("room:none", ids.get(297), 10)).covered(), "no such stream");
  }

  @Test
  void read_pagesInOrderWithCount() throws Exception {
    History h = transport.history(prefix, 1000, 60_000);
    List<String> ids = new ArrayList<>();
    for (int i = 0; i < 25; i++) {
      ids.addAll(get(h.publish(List.of(), List.of(), List.of(message("m" + i, "user:u")), "n",
          Integer.toString(i))).ids());
    }
    List<String> read = new ArrayList<>();
    String after = "0-0";
    while (true) {
      History.Page page = get(h.read("user:u", after, 10));
      page.entries().forEach(e -> read.add(e.id()));
      if (page.entries().size() < 10) {
        break;
      }
      after = page.entries().get(9).id();
    }
    assertEquals(ids, read);
  }

  @Test
  void epoch_isKept_andAnotherOneAfterRedisLostTheHistory() throws Exception {
    History h = transport.history(prefix, 1000, 60_000);
    String epoch = get(h.epoch());
    assertNotNull(epoch);
    assertEquals(epoch, get(transport.history(prefix, 1000, 60_000).epoch()), "one per prefix");
    String id = get(h.publish(List.of(), List.of(), List.of(message("m", "all")), "n", "1"))
        .ids().get(0);
    redis.command("DEL", prefix + ":history", "{" + prefix + ":all}:h");
    String after = get(h.epoch());
    assertNotEquals(epoch, after, "the same node makes another epoch after the loss");
    History.Page page = get(h.read("all", id, 10));
    assertEquals(after, page.epoch());
    assertFalse(page.covered());
  }

  @Test
  void maxAge_streamExpiresWhenIdle() throws Exception {
    History h = transport.history(prefix, 1000, 1_000);
    get(h.publish(List.of(), List.of(), List.of(message("m", "room:idle")), "n", "1"));
    Object ttl = redis.command("PTTL", "{" + prefix + ":room:idle}:h");
    assertTrue(ttl instanceof Long && (Long) ttl > 0 && (Long) ttl <= 1_000, "PTTL " + ttl);
  }

  private static int compare(String a, String b) {
    String[] x = a.split("-");
    String[] y = b.split("-");
    int c = Long.compare(Long.parseLong(x[0]), Long.parseLong(y[0]));
    return c != 0 ? c : Long.compare(Long.parseLong(x[1]), Long.parseLong(y[1]));
  }
}
