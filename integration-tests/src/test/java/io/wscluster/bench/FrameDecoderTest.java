package io.wscluster.bench;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Server-to-client frames in, whole messages out, whatever the cuts between reads. */
class FrameDecoderTest {

  /**
   * Records what the decoder reports, as strings: "text:...", "ping:...", "close:1000"; a text of
   * over 40 characters as "text:" + its repeated character + "*" + its length.
   */
  static final class Recording implements FrameDecoder.Listener {
    final List<String> events = new ArrayList<>();

    @Override
    public void onText(byte[] data, int offset, int length) {
      String text = new String(data, offset, length, StandardCharsets.UTF_8);
      events.add("text:" + (length <= 40 ? text : brief(text)));
    }

    @Override
    public void onPing(byte[] data, int offset, int length) {
      events.add("ping:" + new String(data, offset, length, StandardCharsets.UTF_8));
    }

    @Override
    public void onClose(int code) {
      events.add("close:" + code);
    }
  }

  /** An unmasked server frame; the length form (7-bit, 126, 127) follows from the payload size. */
  static byte[] frame(int opcode, boolean fin, byte[] payload) {
    ByteBuffer b = ByteBuffer.allocate(payload.length + 10);
    b.put((byte) ((fin ? 0x80 : 0) | opcode));
    if (payload.length < 126) {
      b.put((byte) payload.length);
    } else if (payload.length < 65_536) {
      b.put((byte) 126).putShort((short) payload.length);
    } else {
      b.put((byte) 127).putLong(payload.length);
    }
    b.put(payload);
    return Arrays.copyOf(b.array(), b.position());
  }

  /** "c*n" for a string of n times c; the string itself (then unequal to any brief) otherwise. */
  static String brief(String s) {
    return s.chars().allMatch(c -> c == s.charAt(0)) ? s.charAt(0) + "*" + s.length() : s;
  }

  static byte[] text(String s) {
    return frame(FrameDecoder.OP_TEXT, true, s.getBytes(StandardCharsets.UTF_8));
  }

  static byte[] concat(byte[]... parts) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    for (byte[] p : parts) {
      out.writeBytes(p);
    }
    return out.toByteArray();
  }

  /** Feeds {@code stream} in reads of {@code chunk} bytes, processing after each. */
  static void feed(FrameDecoder decoder, byte[] stream, int chunk, FrameDecoder.Listener l)
      throws IOException {
    for (int i = 0; i < stream.length; ) {
      ByteBuffer in = decoder.buffer();
      int n = Math.min(Math.min(chunk, stream.length - i), in.remaining());
      in.put(stream, i, n);
      i += n;
      decoder.process(l);
    }
  }

  private static List<String> decode(byte[] stream, int chunk) throws IOException {
    Recording r = new Recording();
    feed(new FrameDecoder(64), stream, chunk, r);
    return r.events;
  }

  @Test
  void process_framesSplitAtEveryByte_sameMessages() throws IOException {
    byte[] stream = concat(text("{\"id\":1}"), text("{\"id\":2}"), text("{\"id\":3}"));
    List<String> whole = decode(stream, stream.length);
    assertEquals(List.of("text:{\"id\":1}", "text:{\"id\":2}", "text:{\"id\":3}"), whole);
    for (int chunk = 1; chunk < stream.length; chunk++) {
      assertEquals(whole, decode(stream, chunk), "reads of " + chunk + " bytes");
    }
  }

  @Test
  void process_16bitAnd64bitLengths_readWhole() throws IOException {
    String medium = "m".repeat(300); // 126: 16-bit length
    String large = "L".repeat(70_000); // 127: 64-bit length
    byte[] mediumFrame = text(medium);
    byte[] largeFrame = text(large);
    assertEquals(126, mediumFrame[1]);
    assertEquals(127, largeFrame[1]);
    byte[] stream = concat(mediumFrame, largeFrame, text("small"));
    for (int chunk : new int[] {1, 7, 1000, 4096, stream.length}) {
      assertEquals(List.of("text:m*300", "text:L*70000", "text:small"),
          decode(stream, chunk), "reads of " + chunk + " bytes");
    }
  }

  @Test
  void process_fragmentedTextWithPingBetween_joinedAndPingReported() throws IOException {
    byte[] stream = concat(
        frame(FrameDecoder.OP_TEXT, false, "{\"id\":".getBytes(StandardCharsets.UTF_8)),
        frame(FrameDecoder.OP_PING, true, "are you there".getBytes(StandardCharsets.UTF_8)),
        frame(FrameDecoder.OP_CONTINUATION, false, "4".getBytes(StandardCharsets.UTF_8)),
        frame(FrameDecoder.OP_CONTINUATION, true, "2}".getBytes(StandardCharsets.UTF_8)),
        text("after"));
    for (int chunk = 1; chunk <= stream.length; chunk++) {
      assertEquals(List.of("ping:are you there", "text:{\"id\":42}", "text:after"),
          decode(stream, chunk), "reads of " + chunk + " bytes");
    }
  }

  @Test
  void process_close_reportsCodeAndReadsNothingAfter() throws IOException {
    byte[] stream = concat(text("a"), frame(FrameDecoder.OP_CLOSE, true, new byte[] {0x03, (byte) 0xe9}),
        text("never"));
    assertEquals(List.of("text:a", "close:1001"), decode(stream, stream.length));
  }

  @Test
  void process_maskedServerFrame_unmasked() throws IOException {
    byte[] payload = "hello".getBytes(StandardCharsets.UTF_8);
    ByteBuffer out = ByteBuffer.allocate(64);
    FrameEncoder.write(out, FrameDecoder.OP_TEXT, payload, 0, payload.length);
    assertEquals(List.of("text:hello"), decode(Arrays.copyOf(out.array(), out.position()), 3));
  }

  @Test
  void process_binaryFrame_refused() {
    IOException e = assertThrows(IOException.class, () -> decode(
        frame(FrameDecoder.OP_BINARY, true, new byte[] {1, 2}), 100));
    assertTrue(e.getMessage().contains("binary frame"), e.getMessage());
  }

  @Test
  void process_oversizedControlFrame_refused() {
    IOException e = assertThrows(IOException.class, () -> decode(
        frame(FrameDecoder.OP_PING, true, new byte[126]), 1000));
    assertEquals("control frame (opcode 9) fragmented or over 125 bytes", e.getMessage());
  }

  @Test
  void write_clientFrame_maskedAndLengthForms() {
    for (int length : new int[] {5, 300, 70_000}) {
      byte[] payload = new byte[length];
      Arrays.fill(payload, (byte) 'a');
      ByteBuffer out = ByteBuffer.allocate(length + FrameEncoder.MAX_HEADER_BYTES);
      FrameEncoder.write(out, FrameDecoder.OP_TEXT, payload, 0, length);
      byte[] bytes = Arrays.copyOf(out.array(), out.position());
      assertEquals((byte) 0x81, bytes[0]);
      assertTrue((bytes[1] & 0x80) != 0, "mask bit");
      int header = length < 126 ? 6 : length < 65_536 ? 8 : 14;
      assertEquals(header + length, bytes.length);
      byte[] unmasked = new byte[length];
      for (int i = 0; i < length; i++) {
        unmasked[i] = (byte) (bytes[header + i] ^ bytes[header - 4 + (i & 3)]);
      }
      assertArrayEquals(payload, unmasked);
    }
  }
}
