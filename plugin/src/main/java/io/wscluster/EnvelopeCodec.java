package io.wscluster;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CharsetDecoder;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/**
 * The wire format, version 1. Pure: no I/O, no state but limits; thread-safe.
 *
 * <pre>
 * frame    := version:u8(=1) count:u16 envelope{count}          (no trailing bytes)
 * envelope := kind:u8 flags:u8 origin:str8 seq:i64 body
 * body     := rooms:set users:set sessions:set except:set payload:bytes32    (kind 1, message)
 *           | ref:i64 n:u16 (session:str16 reason:str0)*n                      (kind 2, receipt)
 * flags    := bit0 binary payload, bit1 target all, bit2 receipt requested; other bits 0
 *             (a receipt's only flag is bit0: more receipts for the same message follow;
 *             reason "" means written)
 * str0     := len:u16 utf8[len] (0..1024 bytes)
 * set      := n:u16 str16{n}       str16 := len:u16 utf8[len] (1..1024 bytes, valid UTF-8)
 *             (names in a set are distinct target names: 1..256 chars, no control characters;
 *             the sessions of one receipt are distinct)
 * str8     := len:u8 utf8[len] (1..255)                         bytes32 := len:i32 raw[len]
 * </pre>
 *
 * <p>Decoding is total: every byte string yields envelopes or a {@link Rejection} with a reason;
 * every length is checked against the bytes that remain before anything is allocated, so a
 * forged length cannot cause a large allocation.
 */
final class EnvelopeCodec {
  static final byte VERSION = 1;
  static final int MAX_ENVELOPES_PER_FRAME = 65_535;
  static final int MAX_NAME_BYTES = 1024;
  static final int MAX_SET_SIZE = 4096;
  private static final int FLAG_BINARY = 1;
  private static final int FLAG_ALL = 2;
  private static final int FLAG_RECEIPT = 4;

  /** Why a frame was rejected; the names are the counters' suffixes. */
  enum Reason {
    EMPTY, VERSION, TRUNCATED, KIND, FLAGS, LENGTH, OVERSIZED, UTF8, SEQUENCE, TRAILING,
    /** A name no node sends: one {@link Target} refuses, or one repeated in its set or receipt. */
    NAME
  }

  /** A rejected frame: the reason and a short detail for the log (never payload bytes). */
  static final class Rejection extends Exception {
    final Reason reason;

    Rejection(Reason reason, String detail) {
      super(detail, null, false, false);
      this.reason = reason;
    }
  }

  private final int maxPayloadBytes;

  /** @param maxPayloadBytes the largest payload a decoded envelope may carry */
  EnvelopeCodec(int maxPayloadBytes) {
    this.maxPayloadBytes = maxPayloadBytes;
  }

  /** Encodes one envelope (without frame header); done once per send. */
  byte[] encode(Envelope e) {
    byte[] origin = e.origin.getBytes(StandardCharsets.UTF_8);
    ByteArrayOutputStream out = new ByteArrayOutputStream(64 + e.payload.length);
    out.write(e.kind);
    if (e.kind == Envelope.KIND_RECEIPT) {
      if (e.results.size() > MAX_SET_SIZE) {
        throw new IllegalArgumentException("a receipt carries at most " + MAX_SET_SIZE
            + " results, this one " + e.results.size() + ": split it");
      }
      out.write(e.binary ? FLAG_BINARY : 0);
      out.write(origin.length);
      out.writeBytes(origin);
      writeLong(out, e.seq);
      writeLong(out, e.ref);
      out.write(e.results.size() >>> 8);
      out.write(e.results.size());
      for (java.util.Map.Entry<String, String> r : e.results.entrySet()) {
        writeString(out, r.getKey());
        writeString(out, r.getValue());
      }
      return out.toByteArray();
    }
    out.write((e.binary ? FLAG_BINARY : 0) | (e.target.isAll() ? FLAG_ALL : 0)
        | (e.receiptRequested ? FLAG_RECEIPT : 0));
    out.write(origin.length);
    out.writeBytes(origin);
    writeLong(out, e.seq);
    writeSet(out, e.target.rooms());
    writeSet(out, e.target.users());
    writeSet(out, e.target.sessions());
    writeSet(out, e.target.except());
    writeInt(out, e.payload.length);
    out.writeBytes(e.payload);
    return out.toByteArray();
  }

  /** Wraps encoded envelopes (1 to 65535) into one frame, in order. */
  static byte[] frame(List<byte[]> encodedEnvelopes) {
    int size = 3;
    for (byte[] b : encodedEnvelopes) {
      size += b.length;
    }
    ByteBuffer buf = ByteBuffer.allocate(size);
    buf.put(VERSION).putShort((short) encodedEnvelopes.size());
    for (byte[] b : encodedEnvelopes) {
      buf.put(b);
    }
    return buf.array();
  }

  /** Decodes a frame, all of it or nothing. Never throws anything but {@link Rejection}. */
  List<Envelope> decode(byte[] frame) throws Rejection {
    if (frame == null || frame.length == 0) {
      throw new Rejection(Reason.EMPTY, "empty frame");
    }
    try {
      Reader r = new Reader(frame);
      int version = r.u8();
      if (version != VERSION) {
        throw new Rejection(Reason.VERSION, "version " + version + ", this node reads " + VERSION);
      }
      int count = r.u16();
      if (count == 0) {
        throw new Rejection(Reason.EMPTY, "frame with no envelope");
      }
      List<Envelope> envelopes = new ArrayList<>(Math.min(count, 64));
      for (int i = 0; i < count; i++) {
        envelopes.add(readEnvelope(r));
      }
      if (r.remaining() != 0) {
        throw new Rejection(Reason.TRAILING, r.remaining() + " bytes after the last envelope");
      }
      return envelopes;
    } catch (Rejection e) {
      throw e;
    } catch (RuntimeException e) {
      // a bug in the reader must not escape into a transport thread; reported like a bad frame
      throw new Rejection(Reason.LENGTH, "unexpected " + e.getClass().getSimpleName());
    }
  }

  private Envelope readEnvelope(Reader r) throws Rejection {
    byte kind = (byte) r.u8();
    if (kind != Envelope.KIND_MESSAGE && kind != Envelope.KIND_RECEIPT) {
      throw new Rejection(Reason.KIND, "kind " + kind);
    }
    int flags = r.u8();
    int allowed = kind == Envelope.KIND_MESSAGE ? FLAG_BINARY | FLAG_ALL | FLAG_RECEIPT : FLAG_BINARY;
    if ((flags & ~allowed) != 0) {
      throw new Rejection(Reason.FLAGS, "flags " + flags);
    }
    int originLength = r.u8();
    if (originLength == 0) {
      throw new Rejection(Reason.LENGTH, "empty origin");
    }
    String origin = r.utf8(originLength);
    long seq = r.i64();
    if (seq <= 0) {
      throw new Rejection(Reason.SEQUENCE, "sequence " + seq);
    }
    if (kind == Envelope.KIND_RECEIPT) {
      return readReceipt(r, origin, seq, (flags & FLAG_BINARY) != 0);
    }
    Set<String> rooms = readSet(r);
    Set<String> users = readSet(r);
    Set<String> sessions = readSet(r);
    Set<String> except = readSet(r);
    int length = r.i32();
    if (length < 0) {
      throw new Rejection(Reason.LENGTH, "payload length " + length);
    }
    if (length > maxPayloadBytes) {
      throw new Rejection(Reason.OVERSIZED, "payload of " + length + " bytes, limit "
          + maxPayloadBytes);
    }
    byte[] payload = r.bytes(length);
    Target target = Target.of((flags & FLAG_ALL) != 0, rooms, users, sessions, except);
    return new Envelope(kind, origin, seq, target, (flags & FLAG_BINARY) != 0, payload,
        (flags & FLAG_RECEIPT) != 0);
  }

  private static Envelope readReceipt(Reader r, String origin, long seq, boolean more)
      throws Rejection {
    long ref = r.i64();
    if (ref <= 0) {
      throw new Rejection(Reason.SEQUENCE, "receipt for sequence " + ref);
    }
    int n = r.u16();
    if (n > MAX_SET_SIZE) {
      throw new Rejection(Reason.LENGTH, "receipt for " + n + " sessions, limit " + MAX_SET_SIZE);
    }
    r.need(4L * n);
    java.util.Map<String, String> results = new java.util.LinkedHashMap<>(n * 2);
    for (int i = 0; i < n; i++) {
      int length = r.u16();
      if (length == 0 || length > MAX_NAME_BYTES) {
        throw new Rejection(Reason.LENGTH, "name of " + length + " bytes");
      }
      String session = r.utf8(length);
      int reasonLength = r.u16();
      if (reasonLength > MAX_NAME_BYTES) {
        throw new Rejection(Reason.LENGTH, "reason of " + reasonLength + " bytes");
      }
      if (results.put(session, reasonLength == 0 ? "" : r.utf8(reasonLength)) != null) {
        throw new Rejection(Reason.NAME, "session #" + (i + 1)
            + " of the receipt repeats an earlier one");
      }
    }
    return Envelope.receipt(origin, seq, ref, java.util.Collections.unmodifiableMap(results), more);
  }

  private static void writeString(ByteArrayOutputStream out, String s) {
    byte[] b = s.getBytes(StandardCharsets.UTF_8);
    int length = Math.min(b.length, MAX_NAME_BYTES);
    while (length < b.length && length > 0 && (b[length] & 0xc0) == 0x80) {
      length--; // never cut inside a UTF-8 sequence
    }
    out.write(length >>> 8);
    out.write(length);
    out.write(b, 0, length);
  }

  private static Set<String> readSet(Reader r) throws Rejection {
    int n = r.u16();
    if (n == 0) {
      return Set.of();
    }
    if (n > MAX_SET_SIZE) {
      throw new Rejection(Reason.LENGTH, "set of " + n + " names, limit " + MAX_SET_SIZE);
    }
    // each name takes at least 3 bytes: refuse counts the frame cannot hold before allocating
    r.need(3L * n);
    Set<String> set = new LinkedHashSet<>(n * 2);
    for (int i = 0; i < n; i++) {
      int length = r.u16();
      if (length == 0 || length > MAX_NAME_BYTES) {
        throw new Rejection(Reason.LENGTH, "name of " + length + " bytes");
      }
      String name = r.utf8(length);
      // never the name itself in the message: it is forged input bound for a log line
      if (name.length() > Target.MAX_NAME_LENGTH) {
        throw new Rejection(Reason.NAME, "name of " + name.length() + " characters, limit "
            + Target.MAX_NAME_LENGTH);
      }
      if (!Target.isValidName(name)) {
        throw new Rejection(Reason.NAME, "name with a control character");
      }
      if (!set.add(name)) {
        throw new Rejection(Reason.NAME, "name #" + (i + 1) + " of the set repeats an earlier one");
      }
    }
    return Collections.unmodifiableSet(set);
  }

  private static void writeSet(ByteArrayOutputStream out, Set<String> names) {
    out.write(names.size() >>> 8);
    out.write(names.size());
    for (String name : names) {
      byte[] b = name.getBytes(StandardCharsets.UTF_8);
      out.write(b.length >>> 8);
      out.write(b.length);
      out.writeBytes(b);
    }
  }

  private static void writeLong(ByteArrayOutputStream out, long v) {
    for (int shift = 56; shift >= 0; shift -= 8) {
      out.write((int) (v >>> shift));
    }
  }

  private static void writeInt(ByteArrayOutputStream out, int v) {
    for (int shift = 24; shift >= 0; shift -= 8) {
      out.write(v >>> shift);
    }
  }

  /** A bounds-checked cursor over a frame. */
  private static final class Reader {
    private final byte[] data;
    private int pos;
    private CharsetDecoder decoder;

    Reader(byte[] data) {
      this.data = data;
    }

    int remaining() {
      return data.length - pos;
    }

    void need(long n) throws Rejection {
      if (n > remaining()) {
        throw new Rejection(Reason.TRUNCATED, "needs " + n + " bytes at offset " + pos + ", "
            + remaining() + " left");
      }
    }

    int u8() throws Rejection {
      need(1);
      return data[pos++] & 0xff;
    }

    int u16() throws Rejection {
      need(2);
      int v = ((data[pos] & 0xff) << 8) | (data[pos + 1] & 0xff);
      pos += 2;
      return v;
    }

    int i32() throws Rejection {
      need(4);
      int v = 0;
      for (int i = 0; i < 4; i++) {
        v = (v << 8) | (data[pos++] & 0xff);
      }
      return v;
    }

    long i64() throws Rejection {
      need(8);
      long v = 0;
      for (int i = 0; i < 8; i++) {
        v = (v << 8) | (data[pos++] & 0xff);
      }
      return v;
    }

    byte[] bytes(int n) throws Rejection {
      need(n);
      byte[] b = new byte[n];
      System.arraycopy(data, pos, b, 0, n);
      pos += n;
      return b;
    }

    String utf8(int n) throws Rejection {
      need(n);
      if (decoder == null) {
        decoder = StandardCharsets.UTF_8.newDecoder()
            .onMalformedInput(CodingErrorAction.REPORT)
            .onUnmappableCharacter(CodingErrorAction.REPORT);
      }
      try {
        CharBuffer chars = decoder.decode(ByteBuffer.wrap(data, pos, n));
        pos += n;
        return chars.toString();
      } catch (CharacterCodingException e) {
        throw new Rejection(Reason.UTF8, "invalid UTF-8 at offset " + pos);
      }
    }
  }
}
