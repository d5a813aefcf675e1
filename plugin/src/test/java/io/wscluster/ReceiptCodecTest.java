package io.wscluster;

import static io.wscluster.EnvelopeCodecTest.assertRejectedCheaply;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.wscluster.EnvelopeCodec.Reason;
import io.wscluster.EnvelopeCodec.Rejection;
import io.wscluster.EnvelopeCodecTest.Raw;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The wire format of receipts (kind 2) and of the receipt-requested flag: round trips, and total,
 * allocation-safe decoding of anything else.
 *
 * <pre>
 * receipt := kind:u8(=2) flags:u8(=0) origin:str8 seq:i64 ref:i64 n:u16 (session:str16 reason:str0)*n
 * </pre>
 */
class ReceiptCodecTest {
  private static final String ORIGIN = "node-b-1b2c3d4e";

  private final EnvelopeCodec codec = new EnvelopeCodec(64 * 1024);

  // ================================================================ round trips

  @Test
  void decode_encodedReceipt_roundTripsEveryField() throws Rejection {
    Map<String, String> results = new LinkedHashMap<>();
    results.put("3f1c-written", "");
    results.put("ghost", "not connected");
    results.put("セッション ✓", "write to session x failed: java.io.IOException: Brüche 🎉");
    Envelope in = Envelope.receipt(ORIGIN, 7, 42, results);

    Envelope out = roundTrip(in);

    assertEquals(Envelope.KIND_RECEIPT, out.kind);
    assertEquals(ORIGIN, out.origin);
    assertEquals(7, out.seq);
    assertEquals(42, out.ref);
    assertEquals(List.copyOf(results.entrySet()), List.copyOf(out.results.entrySet()),
        "every result, in order");
    assertFalse(out.receiptRequested);
    assertFalse(out.binary);
    assertEquals(0, out.payload.length);
  }

  @Test
  void decode_receiptWithMoreToFollow_keepsTheFlag() throws Rejection {
    Envelope first = roundTrip(Envelope.receipt(ORIGIN, 1, 9, Map.of("a", ""), true));
    Envelope last = roundTrip(Envelope.receipt(ORIGIN, 2, 9, Map.of("b", ""), false));

    assertTrue(first.binary, "more receipts follow");
    assertFalse(last.binary, "the last receipt");
  }

  @Test
  void decode_receiptWithNoResult_roundTrips() throws Rejection {
    Envelope out = roundTrip(Envelope.receipt(ORIGIN, 1, 1, Map.of()));

    assertEquals(Map.of(), out.results);
  }

  @Test
  void decode_extremeSequencesAndReferences_roundTrip() throws Rejection {
    for (long n : new long[] {1, 255, 256, Integer.MAX_VALUE + 1L, Long.MAX_VALUE}) {
      Envelope out = roundTrip(Envelope.receipt("o".repeat(255), n, n, Map.of("s", "")));
      assertEquals(n, out.seq);
      assertEquals(n, out.ref);
    }
  }

  @Test
  void decode_receiptOfTheLargestSize_roundTrips() throws Rejection {
    Map<String, String> results = new LinkedHashMap<>();
    for (int i = 0; i < EnvelopeCodec.MAX_SET_SIZE; i++) {
      String id = String.format("%04d", i);
      results.put(id + "s".repeat(EnvelopeCodec.MAX_NAME_BYTES - 4),
          i % 2 == 0 ? "" : "r".repeat(EnvelopeCodec.MAX_NAME_BYTES));
    }

    Envelope out = roundTrip(Envelope.receipt(ORIGIN, 1, 2, results));

    assertEquals(List.copyOf(results.entrySet()), List.copyOf(out.results.entrySet()));
  }

  /**
   * A receipt lists every local session a message reached: a user with more sessions on one node
   * than a receipt can carry must not produce a receipt that every origin rejects (the delivery
   * would then time out) or whose u16 count wraps.
   */
  @ParameterizedTest(name = "{0} results")
  @ValueSource(ints = {EnvelopeCodec.MAX_SET_SIZE + 1, 65_537})
  void encode_receiptWithMoreResultsThanTheDecoderAccepts_isRefusedOrRoundTrips(int count)
      throws Rejection {
    Map<String, String> results = new LinkedHashMap<>();
    for (int i = 0; i < count; i++) {
      results.put("s-" + i, "");
    }
    byte[] encoded;
    try {
      encoded = codec.encode(Envelope.receipt(ORIGIN, 1, 1, results));
    } catch (IllegalArgumentException refused) {
      assertTrue(refused.getMessage().contains(String.valueOf(EnvelopeCodec.MAX_SET_SIZE)),
          "the refusal names the limit: " + refused.getMessage());
      return;
    }

    assertEquals(count, codec.decode(codec.frame(List.of(encoded))).get(0).results.size());
  }

  /** The encoder cuts names and reasons at 1024 bytes: never inside a UTF-8 character. */
  @Test
  void encode_reasonLongerThanTheLimit_staysDecodable() throws Rejection {
    String reason = "€".repeat(400); // 1200 bytes; 1024 is not a character boundary

    Envelope out = roundTrip(Envelope.receipt(ORIGIN, 1, 1, Map.of("s", reason)));

    assertTrue(reason.startsWith(out.results.get("s")), "a prefix of the reason");
  }

  @Test
  void decode_messageWithReceiptRequested_roundTripsTheFlag() throws Rejection {
    for (boolean requested : new boolean[] {false, true}) {
      for (boolean binary : new boolean[] {false, true}) {
        Envelope in = new Envelope(Envelope.KIND_MESSAGE, ORIGIN, 3, Target.sessions("s-1")
            .andUsers("alice"), binary, "hi".getBytes(StandardCharsets.UTF_8), requested);

        Envelope out = roundTrip(in);

        assertEquals(requested, out.receiptRequested, "requested=" + requested);
        assertEquals(binary, out.binary);
        assertEquals(in.target, out.target);
        assertArrayEquals(in.payload, out.payload);
      }
    }
  }

  @Test
  void decode_frameMixingMessagesAndReceipts_keepsEveryEnvelopeInOrder() throws Rejection {
    List<Envelope> in = mixed();
    List<byte[]> encoded = new ArrayList<>();
    in.forEach(e -> encoded.add(codec.encode(e)));

    List<Envelope> out = codec.decode(codec.frame(encoded));

    assertEquals(in.size(), out.size());
    for (int i = 0; i < in.size(); i++) {
      assertEquals(in.get(i).kind, out.get(i).kind, "#" + i);
      assertEquals(in.get(i).seq, out.get(i).seq, "#" + i);
      assertEquals(in.get(i).results, out.get(i).results, "#" + i);
      assertEquals(in.get(i).receiptRequested, out.get(i).receiptRequested, "#" + i);
    }
  }

  @Test
  void toString_namesTheReferenceAndCountButNoSessionId() {
    String s = Envelope.receipt(ORIGIN, 7, 42, Map.of("secret-session", "")).toString();

    assertEquals("Receipt{" + ORIGIN + "#7 for #42 1 sessions}", s);
  }

  // ================================================================ truncation

  @Test
  void decode_everyTruncationOfAFrameWithReceipts_isRejectedAsTruncated() {
    List<byte[]> encoded = new ArrayList<>();
    mixed().forEach(e -> encoded.add(codec.encode(e)));
    byte[] frame = codec.frame(encoded);

    for (int length = 0; length < frame.length; length++) {
      byte[] cut = Arrays.copyOf(frame, length);
      Rejection r = assertThrows(Rejection.class, () -> codec.decode(cut),
          "frame cut to " + length + " of " + frame.length + " bytes");
      assertEquals(length == 0 ? Reason.EMPTY : Reason.TRUNCATED, r.reason,
          "frame cut to " + length + " bytes: " + r.getMessage());
    }
  }

  // ================================================================ forged fields

  @Test
  void decode_forgedResultCountOf65535_isRejectedWithoutAllocating() {
    byte[] frame = receipt().i64(1).u16(65_535).u8(0).bytes();

    Rejection r = assertRejectedCheaply(codec, frame, Reason.LENGTH);
    assertEquals("receipt for 65535 sessions, limit " + EnvelopeCodec.MAX_SET_SIZE,
        r.getMessage());
  }

  @Test
  void decode_forgedResultCountAtTheLimitWithFewBytes_isTruncatedWithoutAllocating() {
    byte[] frame = receipt().i64(1).u16(EnvelopeCodec.MAX_SET_SIZE).str16("s").u16(0).bytes();

    assertRejectedCheaply(codec, frame, Reason.TRUNCATED);
  }

  @Test
  void decode_forgedSessionLengthOf65535_isRejectedWithoutAllocating() {
    byte[] frame = receipt().i64(1).u16(1).u16(65_535).u8('a').u16(0).bytes();

    Rejection r = assertRejectedCheaply(codec, frame, Reason.LENGTH);
    assertEquals("name of 65535 bytes", r.getMessage());
  }

  @Test
  void decode_forgedReasonLengthOf65535_isRejectedWithoutAllocating() {
    byte[] frame = receipt().i64(1).u16(1).str16("s").u16(65_535).u8('a').u8('b').bytes();

    Rejection r = assertRejectedCheaply(codec, frame, Reason.LENGTH);
    assertEquals("reason of 65535 bytes", r.getMessage());
  }

  @Test
  void decode_forgedReasonLengthAtTheLimitWithFewBytes_isTruncatedWithoutAllocating() {
    byte[] frame = receipt().i64(1).u16(1).str16("s").u16(EnvelopeCodec.MAX_NAME_BYTES)
        .u8('a').bytes();

    assertRejectedCheaply(codec, frame, Reason.TRUNCATED);
  }

  @Test
  void decode_reasonOfExactlyTheLimit_isAccepted() throws Rejection {
    String reason = "r".repeat(EnvelopeCodec.MAX_NAME_BYTES);
    byte[] frame = receipt().i64(1).u16(1).str16("s").str16(reason).bytes();

    assertEquals(Map.of("s", reason), codec.decode(frame).get(0).results);
  }

  @Test
  void decode_emptySessionName_isRejected() {
    assertRejected(receipt().i64(1).u16(1).u16(0).u16(0).bytes(), Reason.LENGTH,
        "name of 0 bytes");
  }

  @Test
  void decode_sessionNameLongerThanTheLimit_isRejected() {
    assertRejected(receipt().i64(1).u16(1).str16("s".repeat(EnvelopeCodec.MAX_NAME_BYTES + 1))
        .u16(0).bytes(), Reason.LENGTH, "name of " + (EnvelopeCodec.MAX_NAME_BYTES + 1) + " bytes");
  }

  @Test
  void decode_sessionRepeatedInAReceipt_isRejected() {
    // regression: the second result silently replaced the first, whatever either said
    assertRejected(receipt().i64(1).u16(2).str16("s").str16("").str16("s").str16("not connected")
        .bytes(), Reason.NAME, "session #2 of the receipt repeats an earlier one");
  }

  @Test
  void decode_zeroOrNegativeReference_isRejected() {
    assertRejected(receipt().i64(0).u16(0).bytes(), Reason.SEQUENCE, "receipt for sequence 0");
    assertRejected(receipt().i64(-1).u16(0).bytes(), Reason.SEQUENCE, "receipt for sequence -1");
    assertRejected(receipt().i64(Long.MIN_VALUE).u16(0).bytes(), Reason.SEQUENCE,
        "receipt for sequence " + Long.MIN_VALUE);
  }

  @Test
  void decode_receiptWithZeroSequence_isRejected() {
    byte[] frame = new Raw().header(1).u8(2).u8(0).str8(ORIGIN).i64(0).i64(1).u16(0).bytes();

    assertRejected(frame, Reason.SEQUENCE, "sequence 0");
  }

  @Test
  void decode_receiptWithAnyFlagButMore_isRejected() {
    // bit 0 is a receipt's one flag: more receipts for the same message follow
    for (int flags : new int[] {2, 4, 7, 0x80}) {
      byte[] frame = new Raw().header(1).u8(2).u8(flags).str8(ORIGIN).i64(1).i64(1).u16(0)
          .bytes();
      assertRejected(frame, Reason.FLAGS, "flags " + flags);
    }
  }

  @Test
  void decode_invalidUtf8InASessionOrAReason_isRejected() {
    byte[] bad = {(byte) 0xc3, 0x28};
    byte[] inSession = receipt().i64(1).u16(1).u16(bad.length).raw(bad).u16(0).bytes();
    byte[] inReason = receipt().i64(1).u16(1).str16("s").u16(bad.length).raw(bad).bytes();

    for (byte[] frame : List.of(inSession, inReason)) {
      Rejection r = assertThrows(Rejection.class, () -> codec.decode(frame));
      assertEquals(Reason.UTF8, r.reason);
      assertTrue(r.getMessage().startsWith("invalid UTF-8 at offset "), r.getMessage());
    }
  }

  @Test
  void decode_trailingBytesAfterAReceipt_areRejected() {
    byte[] frame = receipt().i64(1).u16(1).str16("s").u16(0).u8(0).bytes();

    assertRejected(frame, Reason.TRAILING, "1 bytes after the last envelope");
  }

  @Test
  void decode_rawReceipt_sanityCheck_isAccepted() throws Rejection {
    byte[] frame = receipt().i64(9).u16(2).str16("a").u16(0).str16("b").str16("why").bytes();

    Envelope e = codec.decode(frame).get(0);

    assertEquals(9, e.ref);
    assertEquals(List.of(Map.entry("a", ""), Map.entry("b", "why")),
        List.copyOf(e.results.entrySet()));
    assertArrayEquals(java.util.Arrays.copyOfRange(frame, 3, frame.length), codec.encode(e),
        "the hand-built envelope (in a version 1 frame) is what the encoder writes");
  }

  // ================================================================ fuzzing

  @Test
  void decode_20kMutationsOfReceiptFrames_neverThrowAnythingButRejection() {
    long seed = 20_250_301L;
    Random random = new Random(seed);
    List<byte[]> encoded = new ArrayList<>();
    mixed().forEach(e -> encoded.add(codec.encode(e)));
    byte[] valid = codec.frame(encoded);

    for (int i = 0; i < 20_000; i++) {
      byte[] input = EnvelopeCodecTest.mutate(random, valid);
      try {
        codec.decode(input);
      } catch (Rejection r) {
        assertFalse(r.getMessage().startsWith("unexpected "),
            "input #" + i + " (seed " + seed + ") hit the reader's catch-all: " + r.getMessage());
      } catch (Throwable t) {
        fail("input #" + i + " (seed " + seed + ") threw " + t + ": " + Arrays.toString(input), t);
      }
    }
  }

  // ================================================================ helpers

  private Envelope roundTrip(Envelope in) throws Rejection {
    List<Envelope> out = codec.decode(codec.frame(List.of(codec.encode(in))));
    assertEquals(1, out.size());
    return out.get(0);
  }

  private void assertRejected(byte[] frame, Reason reason, String message) {
    Rejection r = assertThrows(Rejection.class, () -> codec.decode(frame));
    assertEquals(reason, r.reason, r.getMessage());
    assertEquals(message, r.getMessage());
  }

  /** A one-receipt frame up to and including the sequence; the test writes the rest. */
  private static Raw receipt() {
    return new Raw().header(1).u8(2).u8(0).str8(ORIGIN).i64(1);
  }

  private static List<Envelope> mixed() {
    Map<String, String> two = new LinkedHashMap<>();
    two.put("s-1", "");
    two.put("s-2", "not connected");
    return List.of(
        new Envelope(Envelope.KIND_MESSAGE, "node-a", 1, Target.session("s-1"), false,
            "hi".getBytes(StandardCharsets.UTF_8), true),
        Envelope.receipt(ORIGIN, 2, 1, two),
        Envelope.receipt(ORIGIN, 3, 5, Map.of()),
        new Envelope(Envelope.KIND_MESSAGE, "node-a", 4, Target.all(), true, new byte[] {1}),
        Envelope.receipt("node-c", 5, 9, Map.of("Zoë ✓", "write failed: é")));
  }
}
