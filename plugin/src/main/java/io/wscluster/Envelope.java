package io.wscluster;

/**
 * One message between nodes: who sent it (origin id + per-origin sequence), whom it is for, and
 * the opaque payload. Immutable; the payload array is shared, never modified.
 */
final class Envelope {
  /** An application message to the sessions of {@link #target}. */
  static final byte KIND_MESSAGE = 1;

  final byte kind;
  final String origin;
  final long seq;
  final Target target;
  final boolean binary;
  final byte[] payload;

  Envelope(byte kind, String origin, long seq, Target target, boolean binary, byte[] payload) {
    this.kind = kind;
    this.origin = origin;
    this.seq = seq;
    this.target = target;
    this.binary = binary;
    this.payload = payload;
  }

  @Override
  public String toString() {
    // never the payload: it is the application's data
    return "Envelope{" + origin + "#" + seq + " kind=" + kind + " " + target + " "
        + (binary ? "binary" : "text") + " " + payload.length + "B}";
  }
}
