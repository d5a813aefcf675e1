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
 * The wire format, version 3. Pure: no I/O, no state but limits and keys; thread-safe.
 *
 * <pre>
 * frame    := head:u8 count:u16 link:i64 chain? envelope{count} tag?  (no trailing bytes)
 * head     := version(=3) in bits 0-4; bit 5 set (with bit 6 only): a copy of a frame of another
 *             chain than the one of the channel it comes on, sent to the one node that asked
 *             for it on its own channel, followed by {@code chain};
 *             bit 6 set: a copy (published again, see below); bit 7 set: the frame ends in a tag
 * chain    := str0: "" the broadcast chain, else the room whose channel's chain it is
 * link     := the frame's number in its origin's chain on the channel it is published to
 *             (1, 2, 3, ... per origin and channel; 0: not chained). A receiver that sees a
 *             number skipped asks the origin to publish the missing frames again; those
 *             copies, and the frames an outage replays, carry bit 6 of the head.
 * tag      := HMAC-SHA256(wscluster.secret, every frame byte before the tag): 32 bytes
 * envelope := kind:u8 flags:u8 origin:str8 seq:i64 body
 * body     := rooms:set users:set sessions:set except:set payload:bytes32    (kind 1, message)
 *           | ref:i64 n:u16 (session:str16 reason:str0)*n                      (kind 2, receipt)
 *           | (nothing)                                                         (kind 3, sync)
 *           | from:i64 to:i64 room:str0                                         (kind 4, resend)
 * flags    := bit0 binary payload, bit1 target all, bit2 receipt requested; other bits 0
 *             (a receipt's only flag is bit0: more receipts for the same message follow;
 *             reason "" means written. A sync has no flag: it only carries a chain number.
 *             A resend asks for the frames from..to (1 &lt;= from &lt;= to, at most
 *             {@link #MAX_RESEND} of them) of the chain on the broadcast channel (room ""),
 *             on a room's channel, or with bit0 (room "") of the chain on the asking node's
 *             own channel)
 * str0     := len:u16 utf8[len] (0..1024 bytes)
 * set      := n:u16 str16{n}       str16 := len:u16 utf8[len] (1..1024 bytes, valid UTF-8)
 *             (names in a set, and a chain's or resend's room, are target names: 1..256
 *             chars, no control characters; the sessions of one receipt are distinct)
 * str8     := len:u8 utf8[len] (1..255)                         bytes32 := len:i32 raw[len]
 * </pre>
 *
 * <p>Version 2 frames (no {@code chain}: bit 5 means the broadcast chain; no {@code room} in a
 * resend) and version 1 frames (the same without {@code link}, kinds 1 and 2 only, read as
 * unchained frames) are still read, so a node of this version understands the previous ones
 * during a rolling upgrade (older ones reject this version's frames as
 * {@code rejected.version}).
 *
 * <p>Decoding is total: every byte string yields envelopes or a {@link Rejection} with a reason;
 * every length is checked against the bytes that remain before anything is allocated, so a
 * forged length cannot cause a large allocation.
 *
 * <p>Authentication: a codec with a {@link FrameAuthenticator} (the node has
 * {@code wscluster.secret}) tags every frame it builds, and checks the tag of a frame before it
 * reads anything but the head byte, so bytes from whoever lacks the secret are never parsed. It
 * rejects a frame without a tag ({@link Reason#AUTH_MISSING}) and one whose tag verifies under
 * neither its secret nor its previous secret ({@link Reason#AUTH_INVALID}). A codec without one
 * rejects tagged frames ({@link Reason#AUTH_UNEXPECTED}) although it could read them: a node
 * without the secret in a cluster that has one is a configuration mistake, and rejecting on both
 * sides makes it loud on both sides (counted and logged by every node) rather than a cluster that
 * silently delivers in one direction only.
 */
final class EnvelopeCodec {
  static final byte VERSION = 3;
  /** The previous version, still read: no chain name, no room in a resend. */
  static final byte VERSION_2 = 2;
  /** The first version, still read: no chain link, no sync or resend envelopes. */
  static final byte VERSION_1 = 1;
  /** Head bit: the frame ends in a {@link FrameAuthenticator#TAG_BYTES}-byte tag. */
  static final int TAGGED = 0x80;
  /** Head bit (version 2): the frame is a copy of one published before. */
  static final int COPY = 0x40;
  /**
   * Head bit (with {@link #COPY}): a copy of a frame of another chain, sent to one node; version 3
   * names the chain after the link, in version 2 it is the broadcast chain.
   */
  static final int BROADCAST_CHAIN = 0x20;
  /** Head, envelope count and chain link. */
  static final int HEADER_BYTES = 11;
  /** The most frames one resend envelope asks for. */
  static final long MAX_RESEND = 1 << 16;
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
    NAME,
    /** An untagged frame reached a node that has a secret. */
    AUTH_MISSING,
    /** The tag does not verify: another secret, a forgery, or a frame cut or altered. */
    AUTH_INVALID,
    /** A tagged frame reached a node that has no secret: the nodes' configurations differ. */
    AUTH_UNEXPECTED,
    /** The history ids around a frame are malformed or do not match its recorded messages. */
    OFFSETS
  }

  /** A rejected frame: the reason and a short detail for the log (never payload bytes). */
  static final class Rejection extends Exception {
    final Reason reason;

    Rejection(Reason reason, String detail) {
      super(detail, null, false, false);
      this.reason = reason;
    }
  }

  /** A decoded frame: its chain link (0: not chained) and its envelopes, in order. */
  static final class Decoded {
    final long link;
    /** Head bit 6: a copy of a frame published before. */
    final boolean copy;
    /** Head bit 5: of the broadcast chain, although it came on a node's own channel. */
    final boolean broadcastChain;
    /**
     * With head bit 5, the chain it belongs to although it came on a node's own channel: "" the
     * broadcast chain, else the room whose channel's chain; null without bit 5.
     */
    final String chain;
    final List<Envelope> envelopes;

    Decoded(long link, boolean copy, String chain, List<Envelope> envelopes) {
      this.link = link;
      this.copy = copy;
      this.chain = chain;
      this.broadcastChain = "".equals(chain);
      this.envelopes = envelopes;
    }
  }

  private final int maxPayloadBytes;
  /** Null: frames are neither tagged nor verified. */
  private final FrameAuthenticator auth;

  /** A codec without authentication: untagged frames only. */
  EnvelopeCodec(int maxPayloadBytes) {
    this(maxPayloadBytes, null);
  }

  /**
   * @param maxPayloadBytes the largest payload a decoded envelope may carry
   * @param auth tags built frames and verifies received ones; null for none
   */
  EnvelopeCodec(int maxPayloadBytes, FrameAuthenticator auth) {
    this.maxPayloadBytes = maxPayloadBytes;
    this.auth = auth;
  }

  /** Encodes one envelope (without frame header); done once per send. */
  byte[] encode(Envelope e) {
    if (e.kind == Envelope.KIND_RECEIPT && e.results.size() > MAX_SET_SIZE) {
      throw new IllegalArgumentException("a receipt carries at most " + MAX_SET_SIZE
          + " results, this one " + e.results.size() + ": split it");
    }
    byte[] origin = e.origin.getBytes(StandardCharsets.UTF_8);
    ByteArrayOutputStream out = new ByteArrayOutputStream(64 + e.payload.length);
    out.write(e.kind);
    // the binary flag is the only one of the other kinds (a receipt's "more", a resend's "direct")
    out.write(e.kind != Envelope.KIND_MESSAGE ? (e.binary ? FLAG_BINARY : 0)
        : (e.binary ? FLAG_BINARY : 0) | (e.target.isAll() ? FLAG_ALL : 0)
            | (e.receiptRequested ? FLAG_RECEIPT : 0));
    out.write(origin.length);
    out.writeBytes(origin);
    writeLong(out, e.seq);
    if (e.kind == Envelope.KIND_RESEND) {
      writeLong(out, e.ref);
      writeLong(out, e.refEnd);
      writeString(out, e.room);
    } else if (e.kind == Envelope.KIND_RECEIPT) {
      writeLong(out, e.ref);
      out.write(e.results.size() >>> 8);
      out.write(e.results.size());
      for (java.util.Map.Entry<String, String> r : e.results.entrySet()) {
        writeString(out, r.getKey());
        writeString(out, r.getValue());
      }
    } else if (e.kind == Envelope.KIND_MESSAGE) {
      writeSet(out, e.target.rooms());
      writeSet(out, e.target.users());
      writeSet(out, e.target.sessions());
      writeSet(out, e.target.except());
      writeInt(out, e.payload.length);
      out.writeBytes(e.payload);
    }
    return out.toByteArray();
  }

  /** An unchained frame (link 0): see {@link #frame(List, long, boolean, String)}. */
  byte[] frame(List<byte[]> encodedEnvelopes) {
    return frame(encodedEnvelopes, 0, false, null);
  }

  byte[] frame(List<byte[]> encodedEnvelopes, long link, boolean copy) {
    return frame(encodedEnvelopes, link, copy, null);
  }

  /** A frame, and a copy as one of the broadcast chain sent to one node or not. */
  byte[] frame(List<byte[]> encodedEnvelopes, long link, boolean copy, boolean broadcastChain) {
    return frame(encodedEnvelopes, link, copy, broadcastChain ? "" : null);
  }

  /**
   * Wraps encoded envelopes (1 to 65535) into one frame, in order, with its chain link (0: not
   * chained), marked as a {@code copy} or not, and a copy sent to one node as one of another
   * {@code chain} ("" the broadcast chain, else a room's; null: of the channel it goes on);
   * tagged if this codec signs.
   */
  byte[] frame(List<byte[]> encodedEnvelopes, long link, boolean copy, String chain) {
    if (link < 0 || chain != null && !copy) {
      throw new IllegalArgumentException("link " + link + ", copy " + copy + ", chain " + chain);
    }
    byte[] chainName = chain == null ? null : chain.getBytes(StandardCharsets.UTF_8);
    int size = HEADER_BYTES + (chainName == null ? 0 : 2 + chainName.length);
    for (byte[] b : encodedEnvelopes) {
      size += b.length;
    }
    ByteBuffer buf = ByteBuffer.allocate(auth == null ? size : size + FrameAuthenticator.TAG_BYTES);
    buf.put((byte) (VERSION | (copy ? COPY : 0) | (chain != null ? BROADCAST_CHAIN : 0)
        | (auth == null ? 0 : TAGGED)))
        .putShort((short) encodedEnvelopes.size())
        .putLong(link);
    if (chainName != null) {
      buf.putShort((short) chainName.length).put(chainName);
    }
    for (byte[] b : encodedEnvelopes) {
      buf.put(b);
    }
    if (auth != null) {
      auth.sign(buf.array(), size);
    }
    return buf.array();
  }

  /** The envelopes of a frame: see {@link #decodeFrame}. */
  List<Envelope> decode(byte[] frame) throws Rejection {
    return decodeFrame(frame).envelopes;
  }

  /**
   * Decodes a frame, all of it or nothing. Never throws anything but {@link Rejection}. A node
   * builds a frame of its own envelopes only: the first one's origin is the frame's (whoever can
   * publish a frame mixing origins can publish anything; {@code wscluster.secret} stops them).
   */
  Decoded decodeFrame(byte[] frame) throws Rejection {
    if (frame == null || frame.length == 0) {
      throw new Rejection(Reason.EMPTY, "empty frame");
    }
    try {
      Reader r = new Reader(frame, authenticated(frame));
      int head = r.u8(); // checked above
      int version = head & 0x1f;
      boolean v1 = version == VERSION_1;
      int count = r.u16();
      if (count == 0) {
        throw new Rejection(Reason.EMPTY, "frame with no envelope");
      }
      long link = v1 ? 0 : r.i64();
      if (link < 0) {
        throw new Rejection(Reason.SEQUENCE, "chain link " + link);
      }
      String chain = null;
      if ((head & BROADCAST_CHAIN) != 0) {
        chain = version == VERSION_2 ? "" : readRoom(r);
      }
      List<Envelope> envelopes = new ArrayList<>(Math.min(count, 64));
      for (int i = 0; i < count; i++) {
        envelopes.add(readEnvelope(r, version));
      }
      if (r.remaining() != 0) {
        throw new Rejection(Reason.TRAILING, r.remaining() + " bytes after the last envelope");
      }
      return new Decoded(link, (head & COPY) != 0, chain, envelopes);
    } catch (Rejection e) {
      throw e;
    } catch (RuntimeException e) {
      // a bug in the reader must not escape into a transport thread; reported like a bad frame
      throw new Rejection(Reason.LENGTH, "unexpected " + e.getClass().getSimpleName());
    }
  }

  /**
   * Checks the head byte and, on a node with a secret, the tag; returns where the envelopes end.
   * Nothing after the head byte is read before the tag has been verified.
   */
  private int authenticated(byte[] frame) throws Rejection {
    int head = frame[0] & 0xff;
    int version = head & ~TAGGED;
    int number = version & 0x1f;
    int bits = version & ~0x1f;
    if (!(number == VERSION || number == VERSION_2) && version != VERSION_1
        || bits != 0 && bits != COPY && bits != (COPY | BROADCAST_CHAIN)) {
      throw new Rejection(Reason.VERSION, "version " + version + ", this node reads "
          + VERSION_1 + " to " + VERSION);
    }
    int header = version == VERSION_1 ? 3 : HEADER_BYTES;
    boolean tagged = (head & TAGGED) != 0;
    if (auth == null) {
      if (tagged) {
        throw new Rejection(Reason.AUTH_UNEXPECTED, "tagged frame, but this node has no "
            + WsClusterConfig.SECRET + ": set the same secret on every node");
      }
      return frame.length;
    }
    if (!tagged) {
      throw new Rejection(Reason.AUTH_MISSING, "untagged frame, but this node has "
          + WsClusterConfig.SECRET + ": a node without it, or a forgery");
    }
    int end = frame.length - FrameAuthenticator.TAG_BYTES;
    if (end < header) {
      throw new Rejection(Reason.TRUNCATED, "tagged frame of " + frame.length + " bytes, needs at "
          + "least " + (header + FrameAuthenticator.TAG_BYTES));
    }
    if (!auth.verify(frame, end)) {
      throw new Rejection(Reason.AUTH_INVALID, "the tag verifies with neither "
          + WsClusterConfig.SECRET + " nor " + WsClusterConfig.SECRET_PREVIOUS
          + ": a node with another secret, a forgery, or an altered frame");
    }
    return end;
  }

  private Envelope readEnvelope(Reader r, int version) throws Rejection {
    boolean v1 = version == VERSION_1;
    byte kind = (byte) r.u8();
    if (kind != Envelope.KIND_MESSAGE && kind != Envelope.KIND_RECEIPT
        && (v1 || kind != Envelope.KIND_SYNC && kind != Envelope.KIND_RESEND)) {
      throw new Rejection(Reason.KIND, "kind " + kind);
    }
    int flags = r.u8();
    int allowed = kind == Envelope.KIND_MESSAGE ? FLAG_BINARY | FLAG_ALL | FLAG_RECEIPT
        : kind == Envelope.KIND_SYNC ? 0 : FLAG_BINARY;
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
    if (kind == Envelope.KIND_SYNC) {
      return Envelope.sync(origin, seq);
    }
    if (kind == Envelope.KIND_RESEND) {
      long from = r.i64();
      long to = r.i64();
      if (from <= 0 || to < from || to - from >= MAX_RESEND) {
        throw new Rejection(Reason.SEQUENCE, "resend of links " + from + " to " + to);
      }
      boolean direct = (flags & FLAG_BINARY) != 0;
      String room = version == VERSION_2 ? "" : readRoom(r);
      if (direct && !room.isEmpty()) {
        throw new Rejection(Reason.FLAGS, "resend of the direct chain naming a room");
      }
      return Envelope.resend(origin, seq, direct, room, from, to);
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
    if ((flags & FLAG_BINARY) == 0 && !isUtf8(payload)) {
      // a text frame's bytes go to clients as they are: a client would close on bad UTF-8
      throw new Rejection(Reason.UTF8, "text payload is not valid UTF-8");
    }
    Target target = Target.of((flags & FLAG_ALL) != 0, rooms, users, sessions, except);
    return new Envelope(kind, origin, seq, target, (flags & FLAG_BINARY) != 0, payload,
        (flags & FLAG_RECEIPT) != 0);
  }

  /**
   * Whether {@code b} is well-formed UTF-8 (RFC 3629: shortest forms only, no surrogates, at most
   * U+10FFFF), as WebSocket clients require of text messages. No allocation; ASCII runs are fast.
   */
  static boolean isUtf8(byte[] b) {
    int i = 0;
    int n = b.length;
    while (i < n) {
      int c = b[i];
      if (c >= 0) {
        i++;
        continue;
      }
      c &= 0xff;
      int more;
      int min;
      if (c >= 0xc2 && c <= 0xdf) {
        more = 1;
        min = 0x80;
      } else if (c >= 0xe0 && c <= 0xef) {
        more = 2;
        min = 0x800;
      } else if (c >= 0xf0 && c <= 0xf4) {
        more = 3;
        min = 0x10000;
      } else {
        return false;
      }
      if (i + more >= n) {
        return false; // cut off
      }
      int cp = c & (0x3f >> more);
      for (int k = 1; k <= more; k++) {
        int cc = b[i + k] & 0xff;
        if ((cc & 0xc0) != 0x80) {
          return false;
        }
        cp = (cp << 6) | (cc & 0x3f);
      }
      if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) {
        return false;
      }
      i += more + 1;
    }
    return true;
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

  /** A str0 that is "" or a target name (a chain's or a resend's room). */
  private static String readRoom(Reader r) throws Rejection {
    int length = r.u16();
    if (length == 0) {
      return "";
    }
    if (length > MAX_NAME_BYTES) {
      throw new Rejection(Reason.LENGTH, "name of " + length + " bytes");
    }
    return checkName(r.utf8(length));
  }

  private static String checkName(String name) throws Rejection {
    // never the name itself in the message: it is forged input bound for a log line
    if (name.length() > Target.MAX_NAME_LENGTH) {
      throw new Rejection(Reason.NAME, "name of " + name.length() + " characters, limit "
          + Target.MAX_NAME_LENGTH);
    }
    if (!Target.isValidName(name)) {
      throw new Rejection(Reason.NAME, "name with a control character");
    }
    return name;
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
      String name = checkName(r.utf8(length));
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

  /** A bounds-checked cursor over a frame's bytes before {@code end} (where a tag starts). */
  private static final class Reader {
    private final byte[] data;
    private final int end;
    private int pos;
    private CharsetDecoder decoder;

    Reader(byte[] data, int end) {
      this.data = data;
      this.end = end;
    }

    int remaining() {
      return end - pos;
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
