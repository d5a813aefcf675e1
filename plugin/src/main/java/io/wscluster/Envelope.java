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
  /**
   * No message: carries its frame's chain link to receivers when the origin has published
   * nothing else for a while, so the loss of the last frames before a pause is seen too.
   */
  static final byte KIND_SYNC = 3;
  /** A receiver's request to publish again the frames {@link #ref} to {@link #refEnd} of a chain. */
  static final byte KIND_RESEND = 4;

  final byte kind;
  final String origin;
  final long seq;
  final Target target;
  final boolean binary;
  final byte[] payload;
  /** MESSAGE: the origin waits for a receipt from each owning node. */
  final boolean receiptRequested;
  /** RECEIPT: the sequence of the message it reports on. RESEND: the first link asked for. */
  final long ref;
  /** RESEND: the last link asked for. */
  final long refEnd;
  /** RECEIPT: session id to "" (written) or the reason it was not. */
  final java.util.Map<String, String> results;
  /** RESEND, not direct: the room whose channel's chain it asks for; "" the broadcast chain. */
  final String room;
  /**
   * A recorded MESSAGE ({@link Streams#of(Envelope)}): its id in the history, from the frame it
   * came in; null when the frame carried none. Set once by the dispatcher thread before the
   * envelope is handed on (the hand-off publishes it).
   */
  String historyId;

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
    this.refEnd = 0;
    this.results = java.util.Map.of();
    this.room = "";
  }

  /** A sync (see {@link #KIND_SYNC}). */
  static Envelope sync(String origin, long seq) {
    return new Envelope(KIND_SYNC, origin, seq, false, 0, 0, java.util.Map.of(), "");
  }

  /**
   * A request from {@code origin} (a receiver that missed frames) for the links {@code from} to
   * {@code to} of the chain of the node it goes to, on the broadcast channel or ({@code direct},
   * carried in the binary flag) on the asking node's own channel.
   */
  static Envelope resend(String origin, long seq, boolean direct, long from, long to) {
    return resend(origin, seq, direct, "", from, to);
  }

  /**
   * A request for links of the chain on {@code room}'s channel ("": the broadcast channel, or
   * {@code direct} the asking node's own).
   */
  static Envelope resend(String origin, long seq, boolean direct, String room, long from,
      long to) {
    if (direct && !room.isEmpty()) {
      throw new IllegalArgumentException("a resend of the direct chain names no room");
    }
    return new Envelope(KIND_RESEND, origin, seq, direct, from, to, java.util.Map.of(), room);
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
    this(KIND_RECEIPT, origin, seq, more, ref, 0, results, "");
  }

  private Envelope(byte kind, String origin, long seq, boolean flag, long ref, long refEnd,
      java.util.Map<String, String> results, String room) {
    this.room = room;
    this.kind = kind;
    this.origin = origin;
    this.seq = seq;
    this.target = Target.all();
    this.binary = flag;
    this.payload = new byte[0];
    this.receiptRequested = false;
    this.ref = ref;
    this.refEnd = refEnd;
    this.results = results;
  }

  @Override
  public String toString() {
    // never the payload: it is the application's data
    if (kind == KIND_RECEIPT) {
      return "Receipt{" + origin + "#" + seq + " for #" + ref + " " + results.size() + " sessions}";
    }
    if (kind == KIND_SYNC) {
      return "Sync{" + origin + "#" + seq + "}";
    }
    if (kind == KIND_RESEND) {
      return "Resend{" + origin + "#" + seq + " links " + ref + ".." + refEnd
          + (binary ? " direct" : room.isEmpty() ? " broadcast" : " room") + "}";
    }
    return "Envelope{" + origin + "#" + seq + " kind=" + kind + " " + target + " "
        + (binary ? "binary" : "text") + " " + payload.length + "B"
        + (receiptRequested ? " receipt" : "") + "}";
  }
}
