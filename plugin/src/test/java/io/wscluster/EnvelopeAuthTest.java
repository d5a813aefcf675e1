package io.wscluster;

import static io.wscluster.EnvelopeCodecTest.assertRejectedCheaply;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.wscluster.EnvelopeCodec.Reason;
import io.wscluster.EnvelopeCodec.Rejection;
import io.wscluster.EnvelopeCodecTest.Raw;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.EnumSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;
import org.junit.jupiter.api.Test;

/**
 * Frames tagged with HMAC-SHA256 (wscluster.secret): round trips, every way a frame without the
 * right tag is rejected and by which reason, the previous secret, and the key-change procedure
 * the README documents.
 */
class EnvelopeAuthTest {
  private static final int MAX_PAYLOAD = 64 * 1024;
  private static final String A = "first-secret-0123456789abcdefghij";
  private static final String B = "second-secret-0123456789abcdefghi";
  private static final String C = "someone-else-0123456789abcdefghij";
  private static final String NONE = "";

  private final EnvelopeCodec signedA = codec(A, NONE);

  // ================================================================ round trips

  @Test
  void frame_withASecret_isTheUntaggedFrameWithTheHeadBitSetAndAnHmacSha256TagAtTheEnd()
      throws Exception {
    List<byte[]> encoded = encoded(signedA, sample(3));
    byte[] untagged = codec(NONE, NONE).frame(encoded);

    byte[] tagged = signedA.frame(encoded);

    assertEquals(untagged.length + 32, tagged.length);
    assertEquals((byte) 0x83, tagged[0], "version 3, bit 7: tagged");
    assertArrayEquals(Arrays.copyOfRange(untagged, 1, untagged.length),
        Arrays.copyOfRange(tagged, 1, untagged.length), "count and envelopes unchanged");
    // the tag, computed here independently of the codec: HMAC-SHA256 over every byte before it
    Mac mac = Mac.getInstance("HmacSHA256");
    mac.init(new SecretKeySpec(A.getBytes(StandardCharsets.UTF_8), "HmacSHA256"));
    mac.update(tagged, 0, untagged.length);
    assertArrayEquals(mac.doFinal(), Arrays.copyOfRange(tagged, untagged.length, tagged.length));
  }

  @Test
  void decode_frameTaggedWithTheSameSecret_roundTripsEveryEnvelope() throws Rejection {
    List<Envelope> in = sample(20);

    List<Envelope> out = codec(A, NONE).decode(signedA.frame(encoded(signedA, in)));

    assertEquals(in.size(), out.size());
    for (int i = 0; i < in.size(); i++) {
      assertEquals(in.get(i).toString(), out.get(i).toString(), "#" + i);
      assertArrayEquals(in.get(i).payload, out.get(i).payload, "#" + i);
    }
  }

  @Test
  void decode_taggedReceipts_roundTrip() throws Rejection {
    Envelope receipt = Envelope.receipt("node-b", 7, 42, Map.of("s-1", "", "s-2", "not connected"));

    Envelope out = signedA.decode(signedA.frame(List.of(signedA.encode(receipt)))).get(0);

    assertEquals(receipt.results, out.results);
    assertEquals(42, out.ref);
  }

  // ================================================================ rejections

  @Test
  void decode_frameTaggedWithAnotherSecret_isRejectedAsAuthInvalid() {
    byte[] frame = codec(C, NONE).frame(encoded(signedA, sample(2)));

    assertRejected(signedA, frame, Reason.AUTH_INVALID, "the tag verifies with neither "
        + "wscluster.secret nor wscluster.secret.previous: a node with another secret, a forgery, "
        + "or an altered frame");
  }

  @Test
  void decode_untaggedFrame_onANodeWithASecret_isRejectedAsAuthMissing() {
    byte[] frame = codec(NONE, NONE).frame(encoded(signedA, sample(2)));

    assertRejected(signedA, frame, Reason.AUTH_MISSING, "untagged frame, but this node has "
        + "wscluster.secret: a node without it, or a forgery");
  }

  /** A configuration mismatch is loud on both sides, see the codec's Javadoc. */
  @Test
  void decode_taggedFrame_onANodeWithoutASecret_isRejectedAsAuthUnexpected() {
    byte[] frame = signedA.frame(encoded(signedA, sample(2)));

    assertRejected(codec(NONE, NONE), frame, Reason.AUTH_UNEXPECTED, "tagged frame, but this "
        + "node has no wscluster.secret: set the same secret on every node");
  }

  @Test
  void decode_tagOfAnotherFrame_isRejected() {
    byte[] mine = signedA.frame(encoded(signedA, sample(1)));
    byte[] other = signedA.frame(encoded(signedA, sample(2)));
    byte[] spliced = mine.clone();
    System.arraycopy(other, other.length - 32, spliced, spliced.length - 32, 32);

    assertRejected(signedA, spliced, Reason.AUTH_INVALID, null);
  }

  /** A forger who sets the head bit and appends 32 bytes of its choice gets nothing through. */
  @Test
  void decode_untaggedFrameWithTheHeadBitSetAndAForgedTag_isRejectedAsAuthInvalid() {
    byte[] untagged = codec(NONE, NONE).frame(encoded(signedA, sample(1)));
    for (byte fill : new byte[] {0, (byte) 0xff}) {
      byte[] forged = Arrays.copyOf(untagged, untagged.length + 32);
      Arrays.fill(forged, untagged.length, forged.length, fill);
      forged[0] = (byte) 0x81;

      assertRejected(signedA, forged, Reason.AUTH_INVALID, null);
    }
  }

  @Test
  void decode_everyTruncationOfATaggedFrame_isRejected() {
    byte[] frame = signedA.frame(encoded(signedA, sample(3)));

    for (int length = 0; length < frame.length; length++) {
      byte[] cut = Arrays.copyOf(frame, length);
      Rejection r = assertThrows(Rejection.class, () -> signedA.decode(cut),
          "frame cut to " + length + " of " + frame.length + " bytes");
      // a cut tag or a cut body: either way the last 32 bytes are not the tag of the rest
      Reason expected = length == 0 ? Reason.EMPTY : length < EnvelopeCodec.HEADER_BYTES + 32 ? Reason.TRUNCATED
          : Reason.AUTH_INVALID;
      assertEquals(expected, r.reason, "frame cut to " + length + " bytes: " + r.getMessage());
    }
  }

  @Test
  void decode_tooShortForATag_namesTheLengthNeeded() {
    assertRejected(signedA, new byte[] {(byte) 0x81, 0, 1}, Reason.TRUNCATED,
        "tagged frame of 3 bytes, needs at least 35");
  }

  @Test
  void decode_everySingleBitFlipOfATaggedFrame_isRejected() {
    byte[] frame = signedA.frame(encoded(signedA, sample(2)));

    for (int i = 0; i < frame.length; i++) {
      for (int bit = 0; bit < 8; bit++) {
        byte[] flipped = frame.clone();
        flipped[i] ^= (byte) (1 << bit);
        Rejection r = assertThrows(Rejection.class, () -> signedA.decode(flipped),
            "bit " + bit + " of byte " + i);
        // bit 6 of the head marks a copy, and bits 0 and 1 turn version 3 into 2 or 1, which
        // are still read: valid heads, whose change the tag shows
        Reason expected = i > 0 || bit == 6 || bit <= 1 ? Reason.AUTH_INVALID
            : bit == 7 ? Reason.AUTH_MISSING : Reason.VERSION;
        assertEquals(expected, r.reason, "bit " + bit + " of byte " + i + ": " + r.getMessage());
      }
    }
  }

  /** The tag is checked before any length is read: forged lengths cost nothing. */
  @Test
  void decode_forgedHugeLengthsWithoutAValidTag_areRejectedCheaplyAsAuthInvalid() {
    byte[] forged = new Raw().u8(0x81).u16(65_535).u8(1).u8(0).str8("mallory").i64(1)
        .u16(4096).u16(1024).raw(new byte[32]).bytes();

    assertRejectedCheaply(signedA, forged, Reason.AUTH_INVALID);
  }

  @Test
  void decode_100kRandomAndMutatedFrames_neverAcceptedAndAlwaysRejectedByReason() {
    long seed = 20_250_611L;
    Random random = new Random(seed);
    byte[] valid = signedA.frame(encoded(signedA, sample(4)));
    Set<Reason> possible = EnumSet.of(Reason.EMPTY, Reason.VERSION, Reason.TRUNCATED,
        Reason.AUTH_MISSING, Reason.AUTH_INVALID);
    Map<Reason, Integer> seen = new TreeMap<>();

    for (int i = 0; i < 100_000; i++) {
      byte[] input;
      if (i % 2 == 0) {
        input = EnvelopeCodecTest.randomBytes(random, random.nextInt(301));
        if (i % 4 == 0 && input.length > 0) {
          input[0] = (byte) 0x81; // tagged version 1 half of the time
        }
      } else {
        input = EnvelopeCodecTest.mutate(random, valid);
        if (Arrays.equals(input, valid)) {
          continue; // two edits that undid each other
        }
      }
      try {
        signedA.decode(input);
        fail("input #" + i + " (seed " + seed + ") was accepted: " + Arrays.toString(input));
      } catch (Rejection r) {
        assertTrue(possible.contains(r.reason), "input #" + i + ": " + r.reason);
        seen.merge(r.reason, 1, Integer::sum);
      } catch (Throwable t) {
        fail("input #" + i + " (seed " + seed + ") threw " + t, t);
      }
    }
    assertEquals(possible, seen.keySet(), "every reason occurs: " + seen);
  }

  // ================================================================ the previous secret

  @Test
  void decode_frameTaggedWithThePreviousSecret_isAccepted() throws Rejection {
    byte[] frame = codec(A, NONE).frame(encoded(signedA, sample(2)));

    assertEquals(2, codec(B, A).decode(frame).size());
  }

  @Test
  void frame_withAPreviousSecret_isTaggedWithTheSecretOnly() throws Rejection {
    byte[] frame = codec(B, A).frame(encoded(signedA, sample(1)));

    assertEquals(1, codec(B, NONE).decode(frame).size());
    assertRejected(codec(A, NONE), frame, Reason.AUTH_INVALID, null);
  }

  @Test
  void decode_frameTaggedWithAThirdSecret_isRejectedByANodeWithTwo() {
    byte[] frame = codec(C, NONE).frame(encoded(signedA, sample(1)));

    assertRejected(codec(B, A), frame, Reason.AUTH_INVALID, null);
  }

  // ================================================================ changing the secret

  /**
   * The procedure in the README, from A to B, one node at a time per step. During a step, nodes
   * that have it and nodes that do not yet run side by side: every node must verify what every
   * other node tags, in each step.
   */
  @Test
  void rotation_documentedThreeSteps_everyNodeVerifiesEveryOtherAtEveryMoment() {
    List<String[]> states = List.of(
        new String[] {A, NONE},   // before: secret=A
        new String[] {A, B},      // step 1: secret=A, previous=B (the new key, verify only)
        new String[] {B, A},      // step 2: secret=B, previous=A
        new String[] {B, NONE});  // step 3: secret=B

    for (int step = 1; step < states.size(); step++) {
      List<String> failures = crossCheck(states.get(step - 1), states.get(step));
      assertEquals(List.of(), failures, "step " + step);
    }
  }

  /** Proves the check above can fail: going straight to secret=B, previous=A loses frames. */
  @Test
  void rotation_skippingTheFirstStep_rejectsTheNewNodesFrames() {
    List<String> failures = crossCheck(new String[] {A, NONE}, new String[] {B, A});

    assertEquals(List.of("secret=B previous=A -> secret=A previous=-: AUTH_INVALID"), failures);
  }

  /** Every (sender, receiver) pair of nodes in state {@code before} or {@code after}. */
  private static List<String> crossCheck(String[] before, String[] after) {
    List<String> failures = new ArrayList<>();
    for (String[] sender : List.of(before, after)) {
      for (String[] receiver : List.of(before, after)) {
        EnvelopeCodec from = codec(sender[0], sender[1]);
        try {
          codec(receiver[0], receiver[1]).decode(from.frame(encoded(from, sample(1))));
        } catch (Rejection r) {
          String failure = name(sender) + " -> " + name(receiver) + ": " + r.reason;
          if (!failures.contains(failure)) {
            failures.add(failure);
          }
        }
      }
    }
    return failures;
  }

  private static String name(String[] state) {
    return "secret=" + label(state[0]) + " previous=" + label(state[1]);
  }

  private static String label(String secret) {
    return secret.equals(A) ? "A" : secret.equals(B) ? "B" : secret.isEmpty() ? "-" : "C";
  }

  // ================================================================ threads and keys

  /** The publisher thread tags while the dispatcher verifies: one codec, many threads. */
  @Test
  void frameAndDecode_fromFourThreadsAtOnce_allVerify() throws Exception {
    EnvelopeCodec shared = codec(B, A);
    EnvelopeCodec oldNode = codec(A, NONE);
    ExecutorService pool = Executors.newFixedThreadPool(4);
    try {
      List<Future<Integer>> runs = new ArrayList<>();
      for (int t = 0; t < 4; t++) {
        boolean tagHere = t % 2 == 0;
        runs.add(pool.submit(() -> {
          int ok = 0;
          for (int i = 0; i < 2_000; i++) {
            EnvelopeCodec from = tagHere ? shared : oldNode;
            ok += shared.decode(from.frame(encoded(from, sample(1)))).size();
          }
          return ok;
        }));
      }
      for (Future<Integer> run : runs) {
        assertEquals(2_000, run.get(60, TimeUnit.SECONDS));
      }
    } finally {
      pool.shutdownNow();
    }
  }

  @Test
  void of_noSecret_meansNoAuthentication() {
    assertNull(FrameAuthenticator.of(NONE, NONE));
  }

  @Test
  void of_previousWithoutSecret_isRefused() {
    assertThrows(IllegalArgumentException.class, () -> FrameAuthenticator.of(NONE, A));
  }

  @Test
  void toString_showsNoKey() {
    String shown = FrameAuthenticator.of(A, B).toString();

    assertEquals("HmacSHA256 with a previous key", shown);
    assertFalse(shown.contains(A) || shown.contains(B));
  }

  // ================================================================ helpers

  private static EnvelopeCodec codec(String secret, String previous) {
    return new EnvelopeCodec(MAX_PAYLOAD, FrameAuthenticator.of(secret, previous));
  }

  private static List<byte[]> encoded(EnvelopeCodec codec, List<Envelope> envelopes) {
    List<byte[]> out = new ArrayList<>();
    envelopes.forEach(e -> out.add(codec.encode(e)));
    return out;
  }

  private static List<Envelope> sample(int n) {
    List<Envelope> out = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      out.add(new Envelope(Envelope.KIND_MESSAGE, "node-" + (i % 3), i + 1,
          i % 2 == 0 ? Target.rooms("lobby").andUsers("alice") : Target.all().except("s-x"),
          i % 3 == 0, ("message #" + i + " ✓").getBytes(StandardCharsets.UTF_8)));
    }
    return out;
  }

  /** Rejected with {@code reason}; with {@code message} too unless it is null. */
  private static void assertRejected(EnvelopeCodec codec, byte[] frame, Reason reason,
      String message) {
    Rejection r = assertThrows(Rejection.class, () -> codec.decode(frame));
    assertEquals(reason, r.reason, r.getMessage());
    if (message != null) {
      assertEquals(message, r.getMessage());
    }
  }
}
