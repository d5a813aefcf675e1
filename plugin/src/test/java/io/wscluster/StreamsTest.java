package io.wscluster;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.wscluster.spi.History;
import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The pure parts of recovery: streams of a target, the ids around a frame, the client's token. */
class StreamsTest {

  private static String b64(String json) {
    return Base64.getUrlEncoder().withoutPadding()
        .encodeToString(json.getBytes(StandardCharsets.UTF_8));
  }

  // ================================================================ streams

  @Test
  void of_allRoomsAndUsers_inTheDocumentedOrder_sessionsAndBinaryNotRecorded() {
    assertEquals(List.of("all"), Streams.of(Target.all(), false));
    assertEquals(List.of("room:a", "room:b", "user:x"),
        Streams.of(Target.rooms(List.of("b", "a")).andUsers("x").andSessions("s"), false));
    assertNull(Streams.of(Target.session("s"), false));
    assertNull(Streams.of(Target.all(), true));
  }

  @Test
  void compare_ordersIdsAsRedisDoes() {
    assertEquals(-1, Integer.signum(Streams.compare("9-5", "10-0")));
    assertEquals(-1, Integer.signum(Streams.compare("10-9", "10-10")));
    assertEquals(0, Streams.compare("10-10", "10-10"));
  }

  // ================================================================ the ids wrapper

  @Test
  void unwrap_roundTripsWrap_andLeavesOtherFramesWhole() throws Exception {
    byte[] frame = {2, 0, 1};
    Streams.Unwrapped u = Streams.unwrap(History.wrap(List.of("1-0", "1-1"), frame));
    assertEquals(List.of("1-0", "1-1"), u.ids());
    assertArrayEquals(frame, u.frame());
    assertEquals(List.of(), Streams.unwrap(frame).ids());
  }

  @Test
  void unwrap_malformed_isAnOffsetsRejection() {
    for (String bad : new String[] {"\u001f1-0", "\u001f1-0 x\n", "\u001f1-0  2-0\n",
        "\u001f-1\n"}) {
      EnvelopeCodec.Rejection r = assertThrows(EnvelopeCodec.Rejection.class,
          () -> Streams.unwrap(bad.getBytes(StandardCharsets.ISO_8859_1)), bad);
      assertEquals(EnvelopeCodec.Reason.OFFSETS, r.reason);
    }
  }

  @Test
  void assign_idsNotMatchingTheRecordedMessages_isRejected() {
    Envelope recorded = new Envelope(Envelope.KIND_MESSAGE, "o", 1, Target.room("r"), false,
        new byte[0]);
    Envelope notRecorded = new Envelope(Envelope.KIND_MESSAGE, "o", 2, Target.session("s"), false,
        new byte[0]);
    assertThrows(EnvelopeCodec.Rejection.class,
        () -> Streams.assign(List.of("1-0", "2-0"), List.of(recorded, notRecorded)));
    assertThrows(EnvelopeCodec.Rejection.class,
        () -> Streams.assign(List.of("1-0"), List.of(notRecorded)));
  }

  // ================================================================ the token

  @Test
  void token_freshAndWithOffsets() {
    ResumeToken fresh = ResumeToken.parse(b64("{\"v\":1,\"e\":null,\"o\":{}}"));
    assertNull(fresh.epoch);
    assertEquals(Map.of(), fresh.offsets);
    ResumeToken t = ResumeToken.parse(b64(
        " {\"v\":1, \"e\":\"ep\\u0031\", \"o\":{\"room:a\\\"b\":\"1-2\",\"all\":\"3-4\"}} "));
    assertEquals("ep1", t.epoch);
    assertEquals(Map.of("room:a\"b", "1-2", "all", "3-4"), t.offsets);
  }

  @Test
  void token_malformed_isRefusedWithAReason() {
    Map<String, String> cases = Map.of(
        "not*base64", "not base64url",
        b64("{\"v\":2,\"e\":null,\"o\":{}}"), "\"v\" is not 1",
        b64("{\"v\":1,\"e\":3,\"o\":{}}"), "\"e\" is not a string or null",
        b64("{\"v\":1,\"e\":null,\"o\":{\"all\":\"12\"}}"), "is not a stream id",
        b64("{\"v\":1,\"e\":null,\"o\":{}} x"), "trailing characters",
        b64("{\"v\":1,\"e\":null,\"o\":{\"a\":{}}}"), "unexpected value",
        b64("{\"v\":1,\"v\":1}"), "repeated key",
        b64("{\"v\":1,\"e\":\"x"), "unterminated string");
    cases.forEach((token, reason) -> {
      IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
          () -> ResumeToken.parse(token), reason);
      assertEquals(true, e.getMessage().contains(reason), e.getMessage() + " / " + reason);
    });
    assertThrows(IllegalArgumentException.class, () -> ResumeToken.parse("a".repeat(20_000)));
  }
}
