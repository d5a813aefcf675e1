package io.wscluster;

import io.wscluster.spi.History;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.TreeSet;
import java.util.regex.Pattern;

/**
 * The history streams of a message and the ids its frame carries. A text message sent with
 * {@code send} is recorded in {@code all} (a target of all), or in {@code room:<name>} for each
 * targeted room and {@code user:<id>} for each targeted user, in that order (names sorted); binary
 * messages, {@code deliver()} messages and messages to sessions only are not recorded. The origin
 * and every receiver compute the same list from the envelope, so the ids of a frame (one per
 * recorded message, in envelope order) need not name their messages. Pure; no I/O.
 */
final class Streams {
  static final String ALL = "all";
  static final String ROOM = "room:";
  static final String USER = "user:";
  /** A Redis stream id {@code <ms>-<seq>}. */
  static final Pattern ID = Pattern.compile("[0-9]{1,19}-[0-9]{1,19}");
  /** The longest id list a frame's wrapper may have before its newline. */
  private static final int MAX_IDS_BYTES = EnvelopeCodec.MAX_ENVELOPES_PER_FRAME * 40;

  private Streams() {
  }

  /** The streams of a message to {@code target}, or null when it is not recorded. */
  static List<String> of(Target target, boolean binary) {
    if (binary) {
      return null;
    }
    if (target.isAll()) {
      return List.of(ALL);
    }
    if (target.rooms().isEmpty() && target.users().isEmpty()) {
      return null;
    }
    List<String> out = new ArrayList<>(target.rooms().size() + target.users().size());
    for (String room : new TreeSet<>(target.rooms())) {
      out.add(ROOM + room);
    }
    for (String user : new TreeSet<>(target.users())) {
      out.add(USER + user);
    }
    return out;
  }

  /** The streams of a received envelope: {@link #of(Target, boolean)} of its messages. */
  static List<String> of(Envelope e) {
    return e.kind != Envelope.KIND_MESSAGE || e.receiptRequested ? null : of(e.target, e.binary);
  }

  /** The streams of {@code streams} through which session {@code ls} gets a message now. */
  static List<String> via(List<String> streams, LocalSession ls) {
    List<String> out = new ArrayList<>(streams.size());
    String user = null;
    for (String s : streams) {
      if (s.equals(ALL)) {
        out.add(s);
      } else if (s.startsWith(ROOM)) {
        if (ls.rooms.contains(s.substring(ROOM.length()))) {
          out.add(s);
        }
      } else {
        if (user == null) {
          user = String.valueOf(ls.user());
        }
        if (user.equals(s.substring(USER.length()))) {
          out.add(s);
        }
      }
    }
    return out;
  }

  /** Orders two valid ids as Redis does. */
  static int compare(String a, String b) {
    int da = a.indexOf('-');
    int db = b.indexOf('-');
    int c = Long.compareUnsigned(Long.parseUnsignedLong(a, 0, da, 10),
        Long.parseUnsignedLong(b, 0, db, 10));
    return c != 0 ? c : Long.compareUnsigned(Long.parseUnsignedLong(a, da + 1, a.length(), 10),
        Long.parseUnsignedLong(b, db + 1, b.length(), 10));
  }

  /** A frame as received: its ids (empty when it carries none) and the frame itself. */
  record Unwrapped(List<String> ids, byte[] frame) {
  }

  /**
   * Splits a received frame {@link History#wrap wrapped} with ids; any other frame comes back
   * whole. Bounds-checked: a wrapper without its newline, or with something that is no id, is
   * a {@link EnvelopeCodec.Reason#OFFSETS} rejection.
   */
  static Unwrapped unwrap(byte[] raw) throws EnvelopeCodec.Rejection {
    if (raw.length == 0 || raw[0] != History.WRAPPED) {
      return new Unwrapped(List.of(), raw);
    }
    int end = -1;
    for (int i = 1; i < raw.length && i <= MAX_IDS_BYTES; i++) {
      if (raw[i] == '\n') {
        end = i;
        break;
      }
    }
    if (end < 0) {
      throw new EnvelopeCodec.Rejection(EnvelopeCodec.Reason.OFFSETS, "no end of the ids");
    }
    String text = new String(raw, 1, end - 1, StandardCharsets.US_ASCII);
    List<String> ids = text.isEmpty() ? List.of() : List.of(text.split(" ", -1));
    for (String id : ids) {
      if (!ID.matcher(id).matches()) {
        throw new EnvelopeCodec.Rejection(EnvelopeCodec.Reason.OFFSETS, "not an id");
      }
    }
    return new Unwrapped(ids, java.util.Arrays.copyOfRange(raw, end + 1, raw.length));
  }

  /**
   * Gives each recorded message of a decoded frame its id, in order.
   *
   * @throws EnvelopeCodec.Rejection when the ids do not match the recorded messages one to one
   */
  static void assign(List<String> ids, List<Envelope> envelopes) throws EnvelopeCodec.Rejection {
    if (ids.isEmpty()) {
      return;
    }
    int k = 0;
    for (Envelope e : envelopes) {
      if (of(e) != null) {
        if (k == ids.size()) {
          break;
        }
        e.historyId = ids.get(k++);
      }
    }
    if (k != ids.size() || envelopes.stream().filter(e -> of(e) != null).count() != k) {
      throw new EnvelopeCodec.Rejection(EnvelopeCodec.Reason.OFFSETS,
          ids.size() + " ids for another number of recorded messages");
    }
  }
}
