package io.wscluster;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.wscluster.EnvelopeCodec.Reason;
import io.wscluster.EnvelopeCodec.Rejection;
import java.io.ByteArrayOutputStream;
import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.stream.IntStream;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/** The wire format: round trips, and total, allocation-safe decoding of anything else. */
class EnvelopeCodecTest {
  private static final int MAX_PAYLOAD = 64 * 1024;
  private static final String ORIGIN = "node-a-1b2c3d4e";

  private final EnvelopeCodec codec = new EnvelopeCodec(MAX_PAYLOAD);

  // ================================================================ round trips

  static Stream<Arguments> targets() {
    return Stream.of(
        Arguments.of("all", Target.all()),
        Arguments.of("all except", Target.all().except("s-1", "s-2")),
        Arguments.of("rooms", Target.rooms("lobby", "news")),
        Arguments.of("users", Target.users("alice", "bob")),
        Arguments.of("sessions", Target.sessions("s-1", "s-2", "s-3")),
        Arguments.of("rooms users sessions except",
            Target.rooms("lobby").andUsers("alice").andSessions("s-9").except("s-1")),
        Arguments.of("all plus rooms", Target.all().andRooms("lobby")),
        Arguments.of("unicode names",
            Target.rooms("Ünïcødé", "房间", "🎉party").andUsers("Zoë").except("セッション")),
        Arguments.of("longest names", Target.rooms("r".repeat(Target.MAX_NAME_LENGTH))
            .andUsers("😀".repeat(Target.MAX_NAME_LENGTH / 2))
            .andSessions("é".repeat(Target.MAX_NAME_LENGTH))));
  }

  static Stream<Arguments> everyCombination() {
    List<Arguments> out = new ArrayList<>();
    byte[][] payloads = {
        new byte[0],
        "hello".getBytes(StandardCharsets.UTF_8),
        "héllo wörld ✓ 🎉".getBytes(StandardCharsets.UTF_8),
        // text payloads must be UTF-8 (binary ones are random elsewhere): limit-sized text
        ("x".repeat(MAX_PAYLOAD - 4) + "\uD83C\uDF89").getBytes(StandardCharsets.UTF_8)};
    String[] payloadNames = {"empty", "ascii", "unicode", "max"};
    targets().forEach(t -> {
      for (boolean binary : new boolean[] {false, true}) {
        for (int p = 0; p < payloads.length; p++) {
          out.add(Arguments.of(t.get()[0] + ", " + (binary ? "binary" : "text") + ", "
              + payloadNames[p] + " payload", t.get()[1], binary, payloads[p]));
        }
      }
    });
    return out.stream();
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("everyCombination")
  void decode_encodedEnvelope_roundTripsEveryField(String name, Target target, boolean binary,
      byte[] payload) throws Rejection {
    Envelope in = new Envelope(Envelope.KIND_MESSAGE, ORIGIN, 42, target, binary, payload);

    List<Envelope> out = codec.decode(codec.frame(List.of(codec.encode(in))));

    assertEquals(1, out.size());
    assertSameEnvelope(in, out.get(0));
  }

  @Test
  void decode_extremeSequencesAndLongestOrigin_roundTrip() throws Rejection {
    String longestOrigin = "o".repeat(255);
    for (long seq : new long[] {1, 255, 256, 65_536, Integer.MAX_VALUE + 1L, Long.MAX_VALUE}) {
      Envelope in = new Envelope(Envelope.KIND_MESSAGE, longestOrigin, seq, Target.all(), false,
          new byte[] {1});
      assertSameEnvelope(in, codec.decode(codec.frame(List.of(codec.encode(in)))).get(0));
    }
  }

  @Test
  void decode_allTarget_isTheSharedAllInstance() throws Rejection {
    Envelope in = new Envelope(Envelope.KIND_MESSAGE, ORIGIN, 1, Target.all(), false, new byte[0]);

    Envelope out = codec.decode(codec.frame(List.of(codec.encode(in)))).get(0);

    assertTrue(out.target.isAll());
    assertEquals(Target.all(), out.target);
  }

  @Test
  void decode_multiEnvelopeFrame_keepsEveryEnvelopeInOrder() throws Rejection {
    List<Envelope> in = sampleEnvelopes(50);
    List<byte[]> encoded = new ArrayList<>();
    in.forEach(e -> encoded.add(codec.encode(e)));

    List<Envelope> out = codec.decode(codec.frame(encoded));

    assertEquals(in.size(), out.size());
    for (int i = 0; i < in.size(); i++) {
      assertSameEnvelope(in.get(i), out.get(i));
    }
  }

  @Test
  void decode_frameOfMaximumEnvelopeCount_isAccepted() throws Rejection {
    byte[] one = codec.encode(new Envelope(Envelope.KIND_MESSAGE, "o", 1, Target.all(), false,
        new byte[0]));
    List<byte[]> encoded = new ArrayList<>();
    for (int i = 0; i < EnvelopeCodec.MAX_ENVELOPES_PER_FRAME; i++) {
      encoded.add(one);
    }

    assertEquals(EnvelopeCodec.MAX_ENVELOPES_PER_FRAME,
        codec.decode(codec.frame(encoded)).size());
  }

  @Test
  void decode_payload_isACopyNotAViewOfTheFrame() throws Rejection {
    byte[] frame = codec.frame(List.of(codec.encode(new Envelope(Envelope.KIND_MESSAGE,
        ORIGIN, 1, Target.all(), true, new byte[] {1, 2, 3}))));

    Envelope out = codec.decode(frame).get(0);
    Arrays.fill(frame, (byte) 0);

    assertArrayEquals(new byte[] {1, 2, 3}, out.payload);
  }

  /**
   * Every target the public {@link Target} API builds must either reach the other nodes or be
   * refused up front: a target the wire cannot carry is delivered locally (local-first) and then
   * rejected by every receiver, together with every other envelope batched into the same frame.
   * 65,537 names also overflow the u16 count the encoder writes.
   */
  @ParameterizedTest(name = "{0} rooms")
  @org.junit.jupiter.params.provider.ValueSource(ints = {EnvelopeCodec.MAX_SET_SIZE + 1, 65_537})
  void encode_targetWithMoreNamesThanTheDecoderAccepts_isRefusedOrRoundTrips(int count)
      throws Rejection {
    List<String> rooms = new ArrayList<>();
    for (int i = 0; i < count; i++) {
      rooms.add("room-" + i);
    }
    Envelope in;
    byte[] encoded;
    try {
      in = new Envelope(Envelope.KIND_MESSAGE, ORIGIN, 1, Target.rooms(rooms), false,
          new byte[] {1});
      encoded = codec.encode(in);
    } catch (IllegalArgumentException refused) {
      assertTrue(refused.getMessage().contains(String.valueOf(EnvelopeCodec.MAX_SET_SIZE)),
          "the refusal names the limit: " + refused.getMessage());
      return;
    }

    assertSameEnvelope(in, codec.decode(codec.frame(List.of(encoded))).get(0));
  }

  // ================================================================ truncation

  @Test
  void decode_everyTruncationOfAValidMultiEnvelopeFrame_isRejectedAsTruncated() {
    List<byte[]> encoded = new ArrayList<>();
    sampleEnvelopes(3).forEach(e -> encoded.add(codec.encode(e)));
    byte[] frame = codec.frame(encoded);

    for (int length = 0; length < frame.length; length++) {
      byte[] cut = Arrays.copyOf(frame, length);
      Rejection r = assertThrows(Rejection.class, () -> codec.decode(cut),
          "frame cut to " + length + " of " + frame.length + " bytes");
      assertEquals(length == 0 ? Reason.EMPTY : Reason.TRUNCATED, r.reason,
          "frame cut to " + length + " bytes: " + r.getMessage());
    }
  }

  // ================================================================ fuzzing

  @Test
  void decode_100kRandomByteStrings_neverThrowsAnythingButRejection() {
    long seed = 20_240_611L;
    Random random = new Random(seed);
    List<byte[]> valid = new ArrayList<>();
    for (List<Envelope> frameEnvelopes : List.of(sampleEnvelopes(1), sampleEnvelopes(3),
        sampleEnvelopes(8))) {
      List<byte[]> encoded = new ArrayList<>();
      frameEnvelopes.forEach(e -> encoded.add(codec.encode(e)));
      valid.add(codec.frame(encoded));
    }

    int accepted = 0;
    for (int i = 0; i < 100_000; i++) {
      byte[] input;
      if (i % 2 == 0) {
        input = randomBytes(random, random.nextInt(301));
        if (i % 4 == 0 && input.length > 0) {
          input[0] = EnvelopeCodec.VERSION; // get past the version byte half of the time
        }
      } else {
        input = mutate(random, valid.get(random.nextInt(valid.size())));
      }
      try {
        codec.decode(input);
        accepted++;
      } catch (Rejection r) {
        // the reader's catch-all is a safety net for bugs, never the normal path
        assertTrue(!r.getMessage().startsWith("unexpected "),
            "input #" + i + " (seed " + seed + ") hit the reader's catch-all: " + r.getMessage()
                + " " + Arrays.toString(input));
      } catch (Throwable t) {
        fail("input #" + i + " (seed " + seed + ") threw " + t + ": " + Arrays.toString(input),
            t);
      }
    }
    assertTrue(accepted < 100_000, "some mutation must have been rejected");
  }

  // ================================================================ rejections by reason

  @Test
  void decode_emptyFrame_isRejectedAsEmpty() {
    Rejection r = assertThrows(Rejection.class, () -> codec.decode(new byte[0]));
    assertEquals(Reason.EMPTY, r.reason);
    assertEquals("empty frame", r.getMessage());
  }

  @Test
  void decode_nullFrame_isRejectedAsEmpty() {
    assertEquals(Reason.EMPTY, assertThrows(Rejection.class, () -> codec.decode(null)).reason);
  }

  @Test
  void decode_frameWithZeroEnvelopes_isRejectedAsEmpty() {
    assertRejected(new Raw().u8(1).u16(0).bytes(), Reason.EMPTY, "frame with no envelope");
  }

  @Test
  void decode_wrongVersion_isRejected() {
    byte[] frame = validFrame();
    frame[0] = 4;
    assertRejected(frame, Reason.VERSION, "version 4, this node reads 1 to 3");
    frame[0] = 0;
    assertRejected(frame, Reason.VERSION, "version 0, this node reads 1 to 3");
    // bit 7 of the head says "tagged": the version is the other seven bits
    frame[0] = (byte) 0xff;
    assertRejected(frame, Reason.VERSION, "version 127, this node reads 1 to 3");
    frame[0] = (byte) 0x84;
    assertRejected(frame, Reason.VERSION, "version 4, this node reads 1 to 3");
  }

  // ================================================================ chains (version 2)

  @Test
  void frame_carriesItsLink_andAFrameWithoutOneIsUnchained() throws Rejection {
    byte[] e = codec.encode(new Envelope(Envelope.KIND_MESSAGE, ORIGIN, 7, Target.all(), false,
        "hi".getBytes(StandardCharsets.UTF_8)));
    for (long link : new long[] {1, 2, 255, 1L << 40, Long.MAX_VALUE}) {
      EnvelopeCodec.Decoded d = codec.decodeFrame(codec.frame(List.of(e, e), link, false));
      assertEquals(link, d.link);
      assertEquals(2, d.envelopes.size());
    }
    assertEquals(0, codec.decodeFrame(codec.frame(List.of(e))).link);
    assertEquals(EnvelopeCodec.VERSION, codec.frame(List.of(e), 5, false)[0]);
    assertThrows(IllegalArgumentException.class, () -> codec.frame(List.of(e), -1, false));
  }

  @Test
  void aCopy_hasBit6OfTheHeadSet_andDecodesAsACopy() throws Rejection {
    byte[] e = codec.encode(Envelope.sync(ORIGIN, 3));
    byte[] copy = codec.frame(List.of(e), 8, true);
    assertEquals(EnvelopeCodec.VERSION | EnvelopeCodec.COPY, copy[0]);
    EnvelopeCodec.Decoded d = codec.decodeFrame(copy);
    assertTrue(d.copy);
    assertEquals(8, d.link);
    assertEquals(false, codec.decodeFrame(codec.frame(List.of(e), 8, false)).copy);
    byte[] one = codec.frame(List.of(e), 8, true, true);
    assertEquals(EnvelopeCodec.VERSION | EnvelopeCodec.COPY | EnvelopeCodec.BROADCAST_CHAIN, one[0]);
    assertTrue(codec.decodeFrame(one).broadcastChain);
    assertEquals(false, codec.decodeFrame(copy).broadcastChain);
    assertThrows(IllegalArgumentException.class, () -> codec.frame(List.of(e), 8, false, true));
    byte[] notACopy = one.clone();
    notACopy[0] = (byte) (EnvelopeCodec.VERSION | EnvelopeCodec.BROADCAST_CHAIN);
    assertRejected(notACopy, Reason.VERSION, "version 35, this node reads 1 to 3");
    // a version 1 head has no such bit: 0x41 is version 65
    byte[] v1 = new Raw().u8(0x41).u16(1).bytes();
    assertRejected(v1, Reason.VERSION, "version 65, this node reads 1 to 3");
  }

  @Test
  void decode_negativeLink_isRejected() {
    byte[] frame = codec.frame(List.of(codec.encode(Envelope.sync(ORIGIN, 1))), 1, false);
    frame[3] = (byte) 0x80; // the link's top byte
    assertRejected(frame, Reason.SEQUENCE, "chain link -9223372036854775807");
  }

  @Test
  void decode_versionOneFrame_isReadAsUnchained() throws Rejection {
    // what a node of the previous version publishes: no link
    byte[] frame = new Raw().header(1).u8(Envelope.KIND_MESSAGE).u8(0).str8(ORIGIN).i64(3)
        .emptySets(4).i32(2).raw("hi".getBytes(StandardCharsets.UTF_8)).bytes();
    EnvelopeCodec.Decoded d = codec.decodeFrame(frame);
    assertEquals(0, d.link);
    assertEquals(3, d.envelopes.get(0).seq);
    assertEquals("hi", new String(d.envelopes.get(0).payload, StandardCharsets.UTF_8));
  }

  @Test
  void decode_versionOneFrame_withTheNewKinds_isRejected() {
    assertRejected(new Raw().header(1).u8(Envelope.KIND_SYNC).u8(0).str8(ORIGIN).i64(1).bytes(),
        Reason.KIND, "kind 3");
    assertRejected(new Raw().header(1).u8(Envelope.KIND_RESEND).u8(0).str8(ORIGIN).i64(1).i64(1)
        .i64(1).bytes(), Reason.KIND, "kind 4");
  }

  @Test
  void syncAndResend_roundTrip() throws Rejection {
    Envelope sync = codec.decode(codec.frame(List.of(codec.encode(Envelope.sync(ORIGIN, 9))), 4, false))
        .get(0);
    assertEquals(Envelope.KIND_SYNC, sync.kind);
    assertEquals(ORIGIN, sync.origin);
    assertEquals(9, sync.seq);
    for (boolean direct : new boolean[] {false, true}) {
      Envelope r = codec.decode(codec.frame(List.of(codec.encode(
          Envelope.resend(ORIGIN, 10, direct, 5, 5 + EnvelopeCodec.MAX_RESEND - 1))), 5, false))
          .get(0);
      assertEquals(Envelope.KIND_RESEND, r.kind);
      assertEquals(10, r.seq);
      assertEquals(direct, r.binary);
      assertEquals(5, r.ref);
      assertEquals(5 + EnvelopeCodec.MAX_RESEND - 1, r.refEnd);
    }
  }

  // ================================================================ version 3: room chains

  @Test
  void resend_ofARoomsChain_carriesTheRoom() throws Rejection {
    Envelope r = codec.decode(codec.frame(List.of(codec.encode(
        Envelope.resend(ORIGIN, 10, false, "lobby", 3, 4))))).get(0);
    assertEquals("lobby", r.room);
    assertEquals(false, r.binary);
    assertEquals(3, r.ref);
    assertEquals(4, r.refEnd);
    assertEquals("", codec.decode(codec.frame(List.of(codec.encode(
        Envelope.resend(ORIGIN, 11, true, 3, 4))))).get(0).room);
    assertThrows(IllegalArgumentException.class,
        () -> Envelope.resend(ORIGIN, 12, true, "lobby", 1, 1));
  }

  @Test
  void aCopyOfARoomChainFrame_namesItsChainAfterTheLink() throws Rejection {
    byte[] e = codec.encode(Envelope.sync(ORIGIN, 3));
    byte[] copy = codec.frame(List.of(e), 8, true, "lobby");
    assertEquals(EnvelopeCodec.VERSION | EnvelopeCodec.COPY | EnvelopeCodec.BROADCAST_CHAIN,
        copy[0]);
    EnvelopeCodec.Decoded d = codec.decodeFrame(copy);
    assertEquals("lobby", d.chain);
    assertEquals(false, d.broadcastChain);
    assertEquals(8, d.link);
    assertEquals("", codec.decodeFrame(codec.frame(List.of(e), 8, true, "")).chain);
    assertEquals(null, codec.decodeFrame(codec.frame(List.of(e), 8, true)).chain);
    assertThrows(IllegalArgumentException.class, () -> codec.frame(List.of(e), 8, false, "x"));
  }

  @Test
  void version2Frames_stillRead_aCopysBit5IsTheBroadcastChain_aResendNamesNoRoom()
      throws Rejection {
    byte[] resend = new Raw().u8(EnvelopeCodec.VERSION_2).u16(1).i64(0)
        .u8(Envelope.KIND_RESEND).u8(1).str8(ORIGIN).i64(5).i64(2).i64(3).bytes();
    Envelope r = codec.decode(resend).get(0);
    assertEquals("", r.room);
    assertTrue(r.binary, "direct");
    byte[] copy = new Raw().u8(EnvelopeCodec.VERSION_2 | EnvelopeCodec.COPY
        | EnvelopeCodec.BROADCAST_CHAIN).u16(1).i64(7).u8(Envelope.KIND_SYNC).u8(0).str8(ORIGIN)
        .i64(6).bytes();
    EnvelopeCodec.Decoded d = codec.decodeFrame(copy);
    assertEquals("", d.chain);
    assertTrue(d.broadcastChain && d.copy);
    assertEquals(7, d.link);
  }

  @Test
  void decode_resendOfTheDirectChainNamingARoom_isRejected() {
    assertRejected(v2().u8(Envelope.KIND_RESEND).u8(1).str8(ORIGIN).i64(1).i64(1).i64(1)
        .str16("lobby").bytes(), Reason.FLAGS, "resend of the direct chain naming a room");
  }

  @Test
  void decode_chainOrResendRoomThatIsNoName_isRejected() {
    assertRejected(new Raw().u8(EnvelopeCodec.VERSION | EnvelopeCodec.COPY
        | EnvelopeCodec.BROADCAST_CHAIN).u16(1).i64(7).str16("a\nb").u8(Envelope.KIND_SYNC)
        .u8(0).str8(ORIGIN).i64(6).bytes(), Reason.NAME, "name with a control character");
    assertRejected(v2().u8(Envelope.KIND_RESEND).u8(0).str8(ORIGIN).i64(1).i64(1).i64(1)
        .str16("x".repeat(257)).bytes(), Reason.NAME, "name of 257 characters, limit 256");
    assertRejected(new Raw().u8(EnvelopeCodec.VERSION | EnvelopeCodec.COPY
        | EnvelopeCodec.BROADCAST_CHAIN).u16(1).i64(7).u16(9).bytes(), Reason.TRUNCATED,
        "needs 9 bytes at offset 13, 0 left");
  }

  @Test
  void decode_resendOfNoLinksOrTooMany_isRejected() {
    long[][] bad = {{0, 1}, {-1, 3}, {5, 4}, {1, EnvelopeCodec.MAX_RESEND + 1}};
    for (long[] b : bad) {
      assertRejected(v2().u8(Envelope.KIND_RESEND).u8(0).str8(ORIGIN).i64(1).i64(b[0]).i64(b[1])
          .bytes(), Reason.SEQUENCE, "resend of links " + b[0] + " to " + b[1]);
    }
  }

  @Test
  void decode_syncWithAFlag_isRejected() {
    assertRejected(v2().u8(Envelope.KIND_SYNC).u8(1).str8(ORIGIN).i64(1).bytes(), Reason.FLAGS,
        "flags 1");
  }

  /** A version 2 frame of one envelope with link 1, its envelope to follow. */
  private static Raw v2() {
    return new Raw().u8(EnvelopeCodec.VERSION).u16(1).i64(1);
  }

  @Test
  void decode_unknownKind_isRejected() {
    assertRejected(new Raw().header(1).u8(3).u8(0).str8(ORIGIN).i64(1).emptySets(4).i32(0).bytes(),
        Reason.KIND, "kind 3");
    assertRejected(new Raw().header(1).u8(0).u8(0).str8(ORIGIN).i64(1).emptySets(4).i32(0).bytes(),
        Reason.KIND, "kind 0");
  }

  @Test
  void decode_unknownFlagBits_areRejected() {
    for (int flags : new int[] {8, 0x10, 0x80, 0xff}) {
      assertRejected(envelope().flags(flags).frame(), Reason.FLAGS, "flags " + flags);
    }
  }

  @Test
  void decode_everyKnownFlagCombination_isAccepted() throws Rejection {
    for (int flags = 0; flags <= 7; flags++) {
      Envelope e = codec.decode(envelope().flags(flags).frame()).get(0);
      assertEquals((flags & 1) != 0, e.binary, "flags " + flags);
      assertEquals((flags & 2) != 0, e.target.isAll(), "flags " + flags);
      assertEquals((flags & 4) != 0, e.receiptRequested, "flags " + flags);
    }
  }

  @Test
  void decode_emptyOrigin_isRejected() {
    assertRejected(envelope().origin("").frame(), Reason.LENGTH, "empty origin");
  }

  @Test
  void decode_zeroSequence_isRejected() {
    assertRejected(envelope().seq(0).frame(), Reason.SEQUENCE, "sequence 0");
  }

  @Test
  void decode_negativeSequence_isRejected() {
    assertRejected(envelope().seq(-1).frame(), Reason.SEQUENCE, "sequence -1");
    assertRejected(envelope().seq(Long.MIN_VALUE).frame(), Reason.SEQUENCE,
        "sequence " + Long.MIN_VALUE);
  }

  @Test
  void decode_zeroPayloadLength_isAccepted() throws Rejection {
    assertEquals(0, codec.decode(envelope().payload(new byte[0]).frame()).get(0).payload.length);
  }

  @Test
  void decode_payloadOfExactlyTheMaximum_isAccepted() throws Rejection {
    assertEquals(MAX_PAYLOAD,
        codec.decode(envelope().payload(new byte[MAX_PAYLOAD]).frame()).get(0).payload.length);
  }

  @Test
  void decode_payloadOneByteOverTheMaximum_isRejectedAsOversized() {
    assertRejected(envelope().payload(new byte[MAX_PAYLOAD + 1]).frame(), Reason.OVERSIZED,
        "payload of " + (MAX_PAYLOAD + 1) + " bytes, limit " + MAX_PAYLOAD);
  }

  @Test
  void decode_negativePayloadLength_isRejected() {
    assertRejected(envelope().payloadLength(-1).frame(), Reason.LENGTH, "payload length -1");
    assertRejected(envelope().payloadLength(Integer.MIN_VALUE).frame(), Reason.LENGTH,
        "payload length " + Integer.MIN_VALUE);
  }

  @Test
  void decode_forgedHugePayloadLength_isOversizedWithoutAllocating() {
    byte[] frame = envelope().payloadLength(Integer.MAX_VALUE).frame();
    assertRejectedCheaply(codec, frame, Reason.OVERSIZED);
  }

  @Test
  void decode_forgedHugePayloadLengthUnderAHugeLimit_isTruncatedWithoutAllocating() {
    EnvelopeCodec unlimited = new EnvelopeCodec(Integer.MAX_VALUE);
    byte[] frame = envelope().payloadLength(Integer.MAX_VALUE).frame();
    assertRejectedCheaply(unlimited, frame, Reason.TRUNCATED);
  }

  @Test
  void decode_forgedSetCountOf65535_isRejectedWithoutAllocating() {
    byte[] frame = new Raw().header(1).u8(1).u8(0).str8(ORIGIN).i64(1).u16(65_535).u8(0).bytes();
    Rejection r = assertRejectedCheaply(codec, frame, Reason.LENGTH);
    assertEquals("set of 65535 names, limit " + EnvelopeCodec.MAX_SET_SIZE, r.getMessage());
  }

  @Test
  void decode_forgedSetCountAtTheLimitWithFewBytes_isTruncatedWithoutAllocating() {
    byte[] frame = new Raw().header(1).u8(1).u8(0).str8(ORIGIN).i64(1)
        .u16(EnvelopeCodec.MAX_SET_SIZE).str16("a").bytes();
    assertRejectedCheaply(codec, frame, Reason.TRUNCATED);
  }

  @Test
  void decode_forgedNameLengthOf65535_isRejectedWithoutAllocating() {
    byte[] frame = new Raw().header(1).u8(1).u8(0).str8(ORIGIN).i64(1).u16(1).u16(65_535)
        .u8('a').bytes();
    Rejection r = assertRejectedCheaply(codec, frame, Reason.LENGTH);
    assertEquals("name of 65535 bytes", r.getMessage());
  }

  @Test
  void decode_forgedNameLengthAtTheLimitWithFewBytes_isTruncatedWithoutAllocating() {
    byte[] frame = new Raw().header(1).u8(1).u8(0).str8(ORIGIN).i64(1).u16(1)
        .u16(EnvelopeCodec.MAX_NAME_BYTES).u8('a').u8('a').u8('a').bytes();
    assertRejectedCheaply(codec, frame, Reason.TRUNCATED);
  }

  @Test
  void decode_forgedEnvelopeCountOf65535_isTruncated() {
    byte[] frame = validFrame();
    frame[1] = (byte) 0xff;
    frame[2] = (byte) 0xff;
    assertRejectedCheaply(codec, frame, Reason.TRUNCATED);
  }

  @Test
  void decode_emptyName_isRejected() {
    assertRejected(new Raw().header(1).u8(1).u8(0).str8(ORIGIN).i64(1).u16(1).u16(0)
        .emptySets(3).i32(0).bytes(), Reason.LENGTH, "name of 0 bytes");
  }

  @Test
  void decode_nameLongerThanTheLimit_isRejected() {
    assertRejected(envelope().rooms("r".repeat(EnvelopeCodec.MAX_NAME_BYTES + 1)).frame(),
        Reason.LENGTH, "name of " + (EnvelopeCodec.MAX_NAME_BYTES + 1) + " bytes");
  }

  // Regression: the decoder handed Target.of, which trusts its names to be valid, names that
  // Target refuses (control characters, over 256 characters) or repeats; no node sends them.

  @Test
  void decode_nameWithAControlCharacter_isRejectedInEverySet() {
    for (int set = 0; set < 4; set++) {
      Raw raw = new Raw().header(1).u8(1).u8(0).str8(ORIGIN).i64(1);
      raw.emptySets(set).u16(1).str16("lob\nby").emptySets(3 - set).i32(0);
      assertRejected(raw.bytes(), Reason.NAME, "name with a control character");
    }
    assertRejected(envelope().rooms("a\u0000").frame(), Reason.NAME, "name with a control character");
    assertRejected(envelope().rooms("a\u0085").frame(), Reason.NAME, "name with a control character");
  }

  @Test
  void decode_nameOfMoreCharactersThanTargetAllows_isRejected() {
    assertRejected(envelope().rooms("r".repeat(Target.MAX_NAME_LENGTH + 1)).frame(), Reason.NAME,
        "name of 257 characters, limit 256");
  }

  @Test
  void decode_nameRepeatedInASet_isRejected() {
    assertRejected(envelope().rooms("lobby", "news", "lobby").frame(), Reason.NAME,
        "name #3 of the set repeats an earlier one");
  }

  @Test
  void decode_everyNameTargetAccepts_roundTrips() throws Rejection {
    Target t = Target.rooms("r".repeat(Target.MAX_NAME_LENGTH), "with space", "tab-free ü 🎉")
        .andUsers("😀".repeat(Target.MAX_NAME_LENGTH / 2)).andSessions("é".repeat(256));
    Envelope e = new Envelope(Envelope.KIND_MESSAGE, ORIGIN, 1, t, false, new byte[0]);

    assertEquals(t, codec.decode(codec.frame(List.of(codec.encode(e)))).get(0).target);
  }

  @Test
  void decode_invalidUtf8InAName_isRejected() {
    byte[][] invalid = {
        {(byte) 0xc3, 0x28},                        // bad continuation byte
        {(byte) 0xc0, (byte) 0x80},                 // overlong NUL
        {(byte) 0xed, (byte) 0xa0, (byte) 0x80},    // a UTF-16 surrogate (CESU-8)
        {(byte) 0xff},                              // never valid
        {'a', (byte) 0xe2, (byte) 0x82}};           // cut in the middle of a character
    for (byte[] name : invalid) {
      for (int set = 0; set < 4; set++) {
        Raw raw = new Raw().header(1).u8(1).u8(0).str8(ORIGIN).i64(1);
        raw.emptySets(set).u16(1).u16(name.length).raw(name).emptySets(3 - set).i32(0);
        Rejection r = assertThrows(Rejection.class, () -> codec.decode(raw.bytes()));
        assertEquals(Reason.UTF8, r.reason, Arrays.toString(name) + " in set " + set);
        assertTrue(r.getMessage().startsWith("invalid UTF-8 at offset "), r.getMessage());
      }
    }
  }

  @Test
  void decode_textPayloadOfInvalidUtf8_isRejected_binaryIsNot() throws Rejection {
    // text payloads go to clients unchanged, and a client closes the connection on bad UTF-8
    byte[][] invalid = {{(byte) 0xc3, 0x28}, {(byte) 0xc0, (byte) 0x80},
        {(byte) 0xed, (byte) 0xa0, (byte) 0x80}, {(byte) 0xff}, {'a', (byte) 0xe2, (byte) 0x82},
        {(byte) 0xf4, (byte) 0x90, (byte) 0x80, (byte) 0x80}}; // above U+10FFFF
    for (byte[] payload : invalid) {
      byte[] text = codec.frame(List.of(codec.encode(new Envelope(Envelope.KIND_MESSAGE, ORIGIN, 1,
          Target.all(), false, payload))));
      assertRejected(text, Reason.UTF8, "text payload is not valid UTF-8");
      byte[] binary = codec.frame(List.of(codec.encode(new Envelope(Envelope.KIND_MESSAGE, ORIGIN,
          1, Target.all(), true, payload))));
      assertArrayEquals(payload, codec.decode(binary).get(0).payload);
    }
  }

  @Test
  void decode_binaryPayloadOfRandomBytes_roundTrips() throws Rejection {
    byte[] payload = randomBytes(new Random(1), MAX_PAYLOAD);
    byte[] frame = codec.frame(List.of(codec.encode(new Envelope(Envelope.KIND_MESSAGE, ORIGIN, 1,
        Target.all(), true, payload))));
    assertArrayEquals(payload, codec.decode(frame).get(0).payload);
  }

  @Test
  void isUtf8_agreesWithTheJdkDecoder() {
    Random random = new Random(7);
    java.nio.charset.CharsetDecoder jdk = StandardCharsets.UTF_8.newDecoder();
    int valid = 0;
    for (int i = 0; i < 200_000; i++) {
      byte[] b = randomBytes(random, random.nextInt(6));
      if (random.nextBoolean()) {
        // mostly well-formed text with one random byte: the interesting boundary
        b = ("ab" + new String(Character.toChars(random.nextInt(0x110000) & ~0x800)) + "c")
            .getBytes(StandardCharsets.UTF_8);
        if (random.nextInt(3) == 0) {
          b[random.nextInt(b.length)] = (byte) random.nextInt(256);
        }
      }
      boolean expected;
      try {
        jdk.reset().decode(java.nio.ByteBuffer.wrap(b));
        expected = true;
      } catch (java.nio.charset.CharacterCodingException e) {
        expected = false;
      }
      assertEquals(expected, EnvelopeCodec.isUtf8(b), Arrays.toString(b));
      valid += expected ? 1 : 0;
    }
    assertTrue(valid > 50_000 && valid < 190_000, "both kinds were tried: " + valid);
  }

  @Test
  void decode_invalidUtf8InTheOrigin_isRejected() {
    byte[] frame = new Raw().header(1).u8(1).u8(0).u8(2).u8(0xc3).u8(0x28).i64(1).emptySets(4)
        .i32(0).bytes();
    assertRejected(frame, Reason.UTF8, "invalid UTF-8 at offset 6");
  }

  @Test
  void decode_trailingBytes_areRejected() {
    byte[] frame = Arrays.copyOf(validFrame(), validFrame().length + 1);
    assertRejected(frame, Reason.TRAILING, "1 bytes after the last envelope");
  }

  @Test
  void decode_countSmallerThanTheEnvelopesPresent_isRejectedAsTrailing() {
    List<byte[]> encoded = new ArrayList<>();
    sampleEnvelopes(2).forEach(e -> encoded.add(codec.encode(e)));
    byte[] frame = codec.frame(encoded);
    frame[2] = 1; // claims one envelope, carries two

    Rejection r = assertThrows(Rejection.class, () -> codec.decode(frame));
    assertEquals(Reason.TRAILING, r.reason);
    assertEquals(encoded.get(1).length + " bytes after the last envelope", r.getMessage());
  }

  @Test
  void decode_oneBadEnvelope_rejectsTheWholeFrame() {
    List<byte[]> encoded = new ArrayList<>();
    sampleEnvelopes(3).forEach(e -> encoded.add(codec.encode(e)));
    encoded.set(1, envelope().seq(0).encoded());

    assertEquals(Reason.SEQUENCE,
        assertThrows(Rejection.class, () -> codec.decode(codec.frame(encoded))).reason);
  }

  @Test
  void rejection_hasNoStackTraceAndNoCause() {
    Rejection r = assertThrows(Rejection.class, () -> codec.decode(new byte[0]));
    assertEquals(0, r.getStackTrace().length, "rejections are expected traffic, not bugs");
    assertEquals(null, r.getCause());
  }

  @Test
  void rawBuilder_sanityCheck_buildsAFrameTheCodecAccepts() throws Rejection {
    // the hand-built frames above differ from this one in exactly one field each
    Envelope e = codec.decode(envelope().frame()).get(0);
    assertEquals(ORIGIN, e.origin);
    assertEquals(1, e.seq);
    assertEquals(Target.rooms("lobby"), e.target);
    assertArrayEquals("hi".getBytes(StandardCharsets.UTF_8), e.payload);
    assertArrayEquals(validFrame(), envelope().frame());
  }

  // ================================================================ helpers

  private byte[] validFrame() {
    return codec.frame(List.of(codec.encode(new Envelope(Envelope.KIND_MESSAGE, ORIGIN, 1,
        Target.rooms("lobby"), false, "hi".getBytes(StandardCharsets.UTF_8)))));
  }

  private void assertRejected(byte[] frame, Reason reason, String message) {
    Rejection r = assertThrows(Rejection.class, () -> codec.decode(frame));
    assertEquals(reason, r.reason, r.getMessage());
    assertEquals(message, r.getMessage());
  }

  /** Rejected with {@code reason} in well under a second, allocating less than 1 MiB. */
  static Rejection assertRejectedCheaply(EnvelopeCodec codec, byte[] frame,
      Reason reason) {
    com.sun.management.ThreadMXBean threads = threadBean();
    Rejection r = assertTimeoutPreemptively(Duration.ofSeconds(1),
        () -> assertThrows(Rejection.class, () -> codec.decode(frame)));
    assertEquals(reason, r.reason, r.getMessage());
    // assertTimeoutPreemptively decoded on another thread: measure on this one
    long before = threads.getCurrentThreadAllocatedBytes();
    assertThrows(Rejection.class, () -> codec.decode(frame));
    long allocated = threads.getCurrentThreadAllocatedBytes() - before;
    assertTrue(allocated < 1024 * 1024, "decoding a " + frame.length + "-byte forged frame"
        + " allocated " + allocated + " bytes");
    return r;
  }

  private static com.sun.management.ThreadMXBean threadBean() {
    java.lang.management.ThreadMXBean bean = ManagementFactory.getThreadMXBean();
    assumeTrue(bean instanceof com.sun.management.ThreadMXBean,
        "this JVM cannot measure per-thread allocation");
    com.sun.management.ThreadMXBean threads = (com.sun.management.ThreadMXBean) bean;
    assumeTrue(threads.isThreadAllocatedMemorySupported());
    threads.setThreadAllocatedMemoryEnabled(true);
    return threads;
  }

  private static void assertSameEnvelope(Envelope expected, Envelope actual) {
    assertEquals(expected.kind, actual.kind, "kind");
    assertEquals(expected.origin, actual.origin, "origin");
    assertEquals(expected.seq, actual.seq, "seq");
    assertEquals(expected.target, actual.target, "target");
    assertEquals(expected.target.isAll(), actual.target.isAll(), "all");
    assertEquals(List.copyOf(expected.target.rooms()), List.copyOf(actual.target.rooms()),
        "rooms, in order");
    assertEquals(expected.binary, actual.binary, "binary");
    assertArrayEquals(expected.payload, actual.payload, "payload");
  }

  /** Envelopes of one origin, as a node builds a frame of them. */
  private static List<Envelope> sampleEnvelopes(int n) {
    List<Envelope> out = new ArrayList<>();
    IntStream.range(0, n).forEach(i -> out.add(new Envelope(Envelope.KIND_MESSAGE,
        ORIGIN, i + 1,
        i % 2 == 0 ? Target.rooms("lobby", "ü-" + i).andUsers("alice").except("s-" + i)
            : Target.all().except("s-x"),
        i % 3 == 0, ("message #" + i + " ✓").getBytes(StandardCharsets.UTF_8))));
    return out;
  }

  static byte[] randomBytes(Random random, int length) {
    byte[] b = new byte[length];
    random.nextBytes(b);
    return b;
  }

  /** A valid frame with 1 to 4 random edits: flip, overwrite, insert, delete, cut. */
  static byte[] mutate(Random random, byte[] valid) {
    byte[] b = valid.clone();
    int edits = 1 + random.nextInt(4);
    for (int e = 0; e < edits && b.length > 0; e++) {
      int at = random.nextInt(b.length);
      switch (random.nextInt(5)) {
        case 0:
          b[at] ^= (byte) (1 << random.nextInt(8));
          break;
        case 1:
          b[at] = (byte) (random.nextBoolean() ? 0xff : random.nextInt(256));
          break;
        case 2: {
          byte[] c = new byte[b.length + 1];
          System.arraycopy(b, 0, c, 0, at);
          c[at] = (byte) random.nextInt(256);
          System.arraycopy(b, at, c, at + 1, b.length - at);
          b = c;
          break;
        }
        case 3: {
          byte[] c = new byte[b.length - 1];
          System.arraycopy(b, 0, c, 0, at);
          System.arraycopy(b, at + 1, c, at, b.length - at - 1);
          b = c;
          break;
        }
        default:
          b = Arrays.copyOf(b, at);
          break;
      }
    }
    return b;
  }

  private static EnvelopeSpec envelope() {
    return new EnvelopeSpec();
  }

  /** One envelope field by field, so a test can forge exactly one of them. */
  private static final class EnvelopeSpec {
    private int flags = 0;
    private String origin = ORIGIN;
    private long seq = 1;
    private String[] rooms = {"lobby"};
    private byte[] payload = "hi".getBytes(StandardCharsets.UTF_8);
    private Integer payloadLength;

    EnvelopeSpec flags(int f) {
      flags = f;
      return this;
    }

    EnvelopeSpec origin(String o) {
      origin = o;
      return this;
    }

    EnvelopeSpec seq(long s) {
      seq = s;
      return this;
    }

    EnvelopeSpec rooms(String... r) {
      rooms = r;
      return this;
    }

    EnvelopeSpec payload(byte[] p) {
      payload = p;
      return this;
    }

    EnvelopeSpec payloadLength(int n) {
      payloadLength = n;
      return this;
    }

    byte[] encoded() {
      Raw raw = new Raw().u8(1).u8(flags).str8(origin).i64(seq).u16(rooms.length);
      for (String r : rooms) {
        raw.str16(r);
      }
      raw.emptySets(3).i32(payloadLength != null ? payloadLength : payload.length);
      if (payloadLength == null) {
        raw.raw(payload);
      }
      return raw.bytes();
    }

    byte[] frame() {
      return new EnvelopeCodec(MAX_PAYLOAD).frame(List.of(encoded()));
    }
  }

  /** Writes wire fields big-endian, valid or not. */
  static final class Raw {
    private final ByteArrayOutputStream out = new ByteArrayOutputStream();

    Raw header(int count) {
      return u8(1).u16(count);
    }

    Raw u8(int v) {
      out.write(v);
      return this;
    }

    Raw u16(int v) {
      out.write(v >>> 8);
      out.write(v);
      return this;
    }

    Raw i32(int v) {
      for (int s = 24; s >= 0; s -= 8) {
        out.write(v >>> s);
      }
      return this;
    }

    Raw i64(long v) {
      for (int s = 56; s >= 0; s -= 8) {
        out.write((int) (v >>> s));
      }
      return this;
    }

    Raw str8(String s) {
      byte[] b = s.getBytes(StandardCharsets.UTF_8);
      return u8(b.length).raw(b);
    }

    Raw str16(String s) {
      byte[] b = s.getBytes(StandardCharsets.UTF_8);
      return u16(b.length).raw(b);
    }

    Raw emptySets(int n) {
      for (int i = 0; i < n; i++) {
        u16(0);
      }
      return this;
    }

    Raw raw(byte[] b) {
      out.writeBytes(b);
      return this;
    }

    byte[] bytes() {
      return out.toByteArray();
    }
  }
}
