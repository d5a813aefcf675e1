package io.wscluster;

/**
 * One message between nodes: who sent it (origin id + per-origin sequence), whom it is for, and
 * the opaque payload. Immutable; the payload array is shared, never modified.
 */
final class Envelope {
  /** An application message to the sessions of {@link #target}. */
  static final byte KIND_MESSAGE = 1;
  /** An owner's report to the origin of a message that asked for one: per session, ok or why not. */
  static final byte KIND_RECEIPT = 2;

  final byte kind;
  final String origin;
  final long seq;
  final Target target;
  final boolean binary;
  final byte[] payload;
  /** MESSAGE: the origin waits for a receipt from each owning node. */
  final boolean receiptRequested;
  /** RECEIPT: the sequence of the message it reports on. */
  final long ref;
  /** RECEIPT: session id to "" (written) or the reason it was not. */
  final java.util.Map<String, String> results;

  Envelope(byte kind, String origin, long seq, Target target, boolean binary, byte[] payload) {
    this(kind, origin, seq, target, binary, payload, false);
  }

  Envelope(byte kind, String origin, long seq, Target target, boolean binary, byte[] payload,
      boolean receiptRequested) {
    this.kind = kind;
    this.origin = origin;
    this.seq = seq;
    this.target = target;
    this.binary = binary;
    this.payload = payload;
    this.receiptRequested = receiptRequested;
    this.ref = 0;
    this.results = java.util.Map.of();
  }

  /**
   * A receipt from {@code origin} (the owner) for message {@code ref} of the node it goes to;
   * {@code more}: further receipts for the same message follow (carried in the binary flag).
   */
  static Envelope receipt(String origin, long seq, long ref, java.util.Map<String, String> results,
      boolean more) {
    return new Envelope(origin, seq, ref, results, more);
  }

  static Envelope receipt(String origin, long seq, long ref, java.util.Map<String, String> results) {
    return receipt(origin, seq, ref, results, false);
  }

  private Envelope(String origin, long seq, long ref, java.util.Map<String, String> results,
      boolean more) {
    this.kind = KIND_RECEIPT;
    this.origin = origin;
    this.seq = seq;
    this.target = Target.all();
    this.binary = more;
    this.payload = new byte[0];
    this.receiptRequested = false;
    this.ref = ref;
    this.results = results;
  }

  @Override
  public String toString() {
    // never the payload: it is the application's data
    if (kind == KIND_RECEIPT) {
      return "Receipt{" + origin + "#" + seq + " for #" + ref + " " + results.size() + " sessions}";
    }
    return "Envelope{" + origin + "#" + seq + " kind=" + kind + " " + target + " "
        + (binary ? "binary" : "text") + " " + payload.length + "B"
        + (receiptRequested ? " receipt" : "") + "}";
  }
}
