package io.wscluster.bench;

import java.nio.ByteBuffer;
import java.util.concurrent.ThreadLocalRandom;

/**
 * Writes client-to-server frames (RFC 6455 5.2): FIN set, masked with a fresh random key, 7-, 16-
 * or 64-bit length. Stateless.
 */
final class FrameEncoder {
  private FrameEncoder() {}

  /** The most a frame adds to its payload: 2 + 8 length bytes + 4 mask bytes. */
  static final int MAX_HEADER_BYTES = 14;

  /**
   * Appends one whole frame carrying {@code payload[offset, offset + length)} to {@code out}, which
   * must have {@code length + MAX_HEADER_BYTES} bytes of room.
   */
  static void write(ByteBuffer out, int opcode, byte[] payload, int offset, int length) {
    out.put((byte) (0x80 | opcode));
    if (length < 126) {
      out.put((byte) (0x80 | length));
    } else if (length < 65_536) {
      out.put((byte) (0x80 | 126)).putShort((short) length);
    } else {
      out.put((byte) (0x80 | 127)).putLong(length);
    }
    int mask = ThreadLocalRandom.current().nextInt();
    out.putInt(mask); // big-endian: mask byte i is bits 31-8i..24-8i
    for (int i = 0; i < length; i++) {
      out.put((byte) (payload[offset + i] ^ (mask >>> (24 - 8 * (i & 3)))));
    }
  }
}
