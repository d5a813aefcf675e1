package io.wscluster;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;

/**
 * One message as written to local sessions: its bytes (UTF-8 for text) are produced once per
 * message on a node and shared by every write to every session; nothing copies them per session.
 * Immutable; the array is never modified, and each write gets its own read-only view.
 */
final class Payload {
  final boolean binary;
  private final byte[] bytes;
  /** Text only: the string, made at most once, for the Jakarta API (which takes strings). */
  private String text;

  private Payload(boolean binary, byte[] bytes, String text) {
    this.binary = binary;
    this.bytes = bytes;
    this.text = text;
  }

  /** A text message whose UTF-8 bytes the caller already has (and will not modify). */
  static Payload text(String text, byte[] utf8) {
    return new Payload(false, utf8, text);
  }

  /** A text message from its UTF-8 bytes (as decoded off Redis); the string is made if needed. */
  static Payload text(byte[] utf8) {
    return new Payload(false, utf8, null);
  }

  static Payload text(String text) {
    return new Payload(false, text.getBytes(StandardCharsets.UTF_8), text);
  }

  /** A binary message over bytes the caller will not modify. */
  static Payload binary(byte[] data) {
    return new Payload(true, data, null);
  }

  /** A binary message: the buffer's remaining bytes, copied once. */
  static Payload binary(ByteBuffer data) {
    ByteBuffer b = data.duplicate();
    byte[] copy = new byte[b.remaining()];
    b.get(copy);
    return binary(copy);
  }

  /** A fresh read-only view of the bytes, for one write. */
  ByteBuffer buffer() {
    return ByteBuffer.wrap(bytes).asReadOnlyBuffer();
  }

  int length() {
    return bytes.length;
  }

  /**
   * The text as a string; any thread. Racing callers may each decode it once: the result is the
   * same string value, so the race is benign.
   */
  String text() {
    String t = text;
    if (t == null) {
      t = new String(bytes, StandardCharsets.UTF_8);
      text = t;
    }
    return t;
  }

  @Override
  public String toString() {
    // never the content: it is the application's data
    return (binary ? "binary " : "text ") + bytes.length + "B";
  }
}
