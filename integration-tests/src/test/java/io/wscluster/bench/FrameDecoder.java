package io.wscluster.bench;

import java.io.IOException;
import java.nio.ByteBuffer;

/**
 * Reads the frames a WebSocket server sends to one client connection (RFC 6455, no extensions):
 * bytes go into {@link #buffer()} as they arrive, in any cuts, and {@link #process} reports every
 * complete message. Handles 7-bit, 16-bit (126) and 64-bit (127) lengths, frames split across
 * reads, fragmented text messages (joined), control frames between fragments, ping (reported for
 * the caller to answer with a pong) and close. Payloads are reported as ranges of an internal array,
 * valid only during the callback: nothing is allocated per message.
 *
 * <p>Not thread-safe: one connection, one thread.
 */
final class FrameDecoder {
  static final int OP_CONTINUATION = 0;
  static final int OP_TEXT = 1;
  static final int OP_BINARY = 2;
  static final int OP_CLOSE = 8;
  static final int OP_PING = 9;
  static final int OP_PONG = 10;
  /** Larger frames or messages are refused: nothing the benchmark sends comes near. */
  static final int MAX_MESSAGE_BYTES = 16 << 20;

  /** What a connection does with what arrives; called on the thread that calls {@link #process}. */
  interface Listener {
    /** A whole text message, {@code data[offset, offset + length)}, UTF-8 as sent. */
    void onText(byte[] data, int offset, int length);

    /** A ping; the caller answers with a pong carrying the same bytes. */
    void onPing(byte[] data, int offset, int length);

    /** A close frame, with its status code (1005 when it has none); nothing is read after it. */
    void onClose(int code);
  }

  /** Bytes not yet processed sit at [0, position); heap-backed, so frames are parsed in place. */
  private ByteBuffer buffer;
  /** A fragmented text message being joined, or null. */
  private byte[] fragments;
  private int fragmentsLength;
  private boolean closed;

  FrameDecoder(int initialBytes) {
    buffer = ByteBuffer.allocate(initialBytes);
  }

  /** Where the next bytes from the socket go; always has room. */
  ByteBuffer buffer() {
    if (!buffer.hasRemaining()) {
      grow(buffer.capacity() * 2);
    }
    return buffer;
  }

  /**
   * Reports every complete message in the buffer and keeps the bytes of an incomplete frame for the
   * next call.
   *
   * @throws IOException a frame this client must not accept: reserved bits or opcodes, a binary
   *     message (the benchmark's server sends text only), a fragmented or oversized control frame,
   *     a frame or message over {@link #MAX_MESSAGE_BYTES}
   */
  void process(Listener listener) throws IOException {
    byte[] data = buffer.array();
    int end = buffer.position();
    int pos = 0;
    while (!closed && end - pos >= 2) {
      int b0 = data[pos] & 0xff;
      int b1 = data[pos + 1] & 0xff;
      boolean fin = (b0 & 0x80) != 0;
      int opcode = b0 & 0x0f;
      boolean masked = (b1 & 0x80) != 0;
      int header = 2 + ((b1 & 0x7f) == 126 ? 2 : (b1 & 0x7f) == 127 ? 8 : 0) + (masked ? 4 : 0);
      if (end - pos < header) {
        break;
      }
      long length = b1 & 0x7f;
      if (length == 126) {
        length = ((data[pos + 2] & 0xff) << 8) | (data[pos + 3] & 0xff);
      } else if (length == 127) {
        length = 0;
        for (int i = 2; i < 10; i++) {
          length = (length << 8) | (data[pos + i] & 0xff);
        }
      }
      check(b0, opcode, fin, length);
      if (end - pos - header < length) {
        if (header + length > buffer.capacity()) {
          grow((int) (header + length));
          data = buffer.array();
        }
        break;
      }
      int payload = pos + header;
      int n = (int) length;
      if (masked) {
        // servers must not mask (RFC 6455 5.1); unmasking costs nothing, so be lenient
        for (int i = 0; i < n; i++) {
          data[payload + i] ^= data[payload - 4 + (i & 3)];
        }
      }
      pos = payload + n;
      dispatch(listener, opcode, fin, data, payload, n);
    }
    System.arraycopy(data, pos, data, 0, end - pos);
    buffer.position(end - pos);
  }

  private void check(int b0, int opcode, boolean fin, long length) throws IOException {
    if (length < 0 || length + fragmentsLength > MAX_MESSAGE_BYTES) {
      throw new IOException("frame of " + Long.toUnsignedString(length) + " bytes: messages over "
          + MAX_MESSAGE_BYTES + " bytes are refused");
    }
    if ((b0 & 0x70) != 0) {
      throw new IOException("reserved bits set (no extension was negotiated): 0x"
          + Integer.toHexString(b0));
    }
    if (opcode >= OP_CLOSE) {
      if (opcode > OP_PONG) {
        throw new IOException("reserved opcode " + opcode);
      }
      if (!fin || length > 125) {
        throw new IOException("control frame (opcode " + opcode + ") fragmented or over 125 bytes");
      }
      return;
    }
    if (opcode == OP_BINARY) {
      throw new IOException("binary frame: the benchmark's server sends text only");
    }
    if (opcode != OP_TEXT && opcode != OP_CONTINUATION) {
      throw new IOException("reserved opcode " + opcode);
    }
    if ((opcode == OP_CONTINUATION) != (fragments != null)) {
      throw new IOException(opcode == OP_CONTINUATION ? "continuation without a first fragment"
          : "new message inside a fragmented one");
    }
  }

  private void dispatch(Listener listener, int opcode, boolean fin, byte[] data, int offset,
      int length) {
    switch (opcode) {
      case OP_PING:
        listener.onPing(data, offset, length);
        return;
      case OP_PONG:
        return;
      case OP_CLOSE:
        closed = true;
        listener.onClose(length >= 2 ? ((data[offset] & 0xff) << 8) | (data[offset + 1] & 0xff)
            : 1005);
        return;
      default:
        break;
    }
    if (fin && fragments == null) {
      listener.onText(data, offset, length);
      return;
    }
    if (fragments == null) {
      fragments = new byte[Math.max(256, 2 * length)];
      fragmentsLength = 0;
    }
    if (fragmentsLength + length > fragments.length) {
      fragments = java.util.Arrays.copyOf(fragments, Math.max(2 * fragments.length,
          fragmentsLength + length));
    }
    System.arraycopy(data, offset, fragments, fragmentsLength, length);
    fragmentsLength += length;
    if (fin) {
      byte[] whole = fragments;
      fragments = null;
      listener.onText(whole, 0, fragmentsLength);
      fragmentsLength = 0;
    }
  }

  private void grow(int capacity) {
    ByteBuffer bigger = ByteBuffer.allocate(capacity);
    buffer.flip();
    bigger.put(buffer);
    buffer = bigger;
  }
}
