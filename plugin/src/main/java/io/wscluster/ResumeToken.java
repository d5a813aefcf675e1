package io.wscluster;

import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The client's resume state from the query parameter {@value #PARAMETER}: base64url (no
 * padding) of UTF-8 JSON {@code {"v":1,"e":"<epoch>"|null,"o":{"<stream>":"<offset>",...}}}.
 * Parsing is strict and bounded ({@value #MAX_CHARS} characters, {@value #MAX_STREAMS} streams):
 * anything else is a {@link IllegalArgumentException} with a short reason (never the token).
 * Immutable.
 */
final class ResumeToken {
  static final String PARAMETER = "wscluster";
  static final int MAX_CHARS = 16_384;
  static final int MAX_STREAMS = 256;
  /** A fresh connection's: no epoch, no offsets. */
  static final ResumeToken FRESH = new ResumeToken(null, Map.of());

  /** The epoch the offsets belong to, or null. */
  final String epoch;
  /** Stream to the id of the last message the client has from it. */
  final Map<String, String> offsets;

  ResumeToken(String epoch, Map<String, String> offsets) {
    this.epoch = epoch;
    this.offsets = Map.copyOf(offsets);
  }

  /** A token from the API: checks the offsets as the parameter's are checked. */
  static ResumeToken of(String epoch, Map<String, String> offsets) {
    if (offsets.size() > MAX_STREAMS) {
      throw new IllegalArgumentException("more than " + MAX_STREAMS + " streams");
    }
    offsets.forEach((stream, id) -> {
      if (stream == null || stream.isEmpty() || stream.length() > 300 || id == null
          || !Streams.ID.matcher(id).matches()) {
        throw new IllegalArgumentException("offset " + (id == null ? "null"
            : "'" + id.substring(0, Math.min(id.length(), 40)) + "'") + " of stream " + stream
            + " is not a stream id <ms>-<seq>");
      }
    });
    return new ResumeToken(epoch, offsets);
  }

  static ResumeToken parse(String parameter) {
    if (parameter.length() > MAX_CHARS) {
      throw new IllegalArgumentException("longer than " + MAX_CHARS + " characters");
    }
    String json;
    try {
      json = new String(Base64.getUrlDecoder().decode(parameter), StandardCharsets.UTF_8);
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException("not base64url");
    }
    Reader r = new Reader(json);
    Map<String, Object> top = r.object(true);
    r.end();
    if (!Long.valueOf(1).equals(top.get("v"))) {
      throw new IllegalArgumentException("\"v\" is not 1");
    }
    Object e = top.get("e");
    if (e != null && !(e instanceof String)) {
      throw new IllegalArgumentException("\"e\" is not a string or null");
    }
    Object o = top.getOrDefault("o", Map.of());
    if (!(o instanceof Map)) {
      throw new IllegalArgumentException("\"o\" is not an object");
    }
    Map<String, String> offsets = new LinkedHashMap<>();
    for (Map.Entry<?, ?> entry : ((Map<?, ?>) o).entrySet()) {
      if (!(entry.getValue() instanceof String)) {
        throw new IllegalArgumentException("an offset is not a string");
      }
      offsets.put((String) entry.getKey(), (String) entry.getValue());
    }
    return of((String) e, offsets);
  }

  /** A strict reader of the token's JSON: objects, strings, null and integers only. */
  private static final class Reader {
    private final String s;
    private int i;

    Reader(String s) {
      this.s = s;
    }

    Map<String, Object> object(boolean top) {
      expect('{');
      Map<String, Object> out = new LinkedHashMap<>();
      if (peek() == '}') {
        i++;
        return out;
      }
      while (true) {
        String key = string();
        expect(':');
        char c = peek();
        Object value;
        if (c == '"') {
          value = string();
        } else if (c == '{' && top) {
          value = object(false);
        } else if (s.startsWith("null", i)) {
          i += 4;
          value = null;
        } else if (c == '-' || c >= '0' && c <= '9') {
          int start = i;
          while (i < s.length() && (s.charAt(i) == '-' || Character.isDigit(s.charAt(i)))) {
            i++;
          }
          try {
            value = Long.parseLong(s.substring(start, i));
          } catch (NumberFormatException e) {
            throw new IllegalArgumentException("bad number");
          }
        } else {
          throw new IllegalArgumentException("unexpected value at " + i);
        }
        if (out.put(key, value) != null || out.size() > MAX_STREAMS + 3) {
          throw new IllegalArgumentException("repeated key or too many keys");
        }
        char next = peek();
        i++;
        if (next == '}') {
          return out;
        }
        if (next != ',') {
          throw new IllegalArgumentException("expected , or } at " + (i - 1));
        }
      }
    }

    String string() {
      expect('"');
      StringBuilder b = new StringBuilder();
      while (i < s.length()) {
        char c = s.charAt(i++);
        if (c == '"') {
          return b.toString();
        }
        if (c < 0x20) {
          throw new IllegalArgumentException("control character in a string");
        }
        if (c == '\\') {
          if (i >= s.length()) {
            break;
          }
          char e = s.charAt(i++);
          switch (e) {
            case '"', '\\', '/' -> b.append(e);
            case 'n' -> b.append('\n');
            case 't' -> b.append('\t');
            case 'r' -> b.append('\r');
            case 'b' -> b.append('\b');
            case 'f' -> b.append('\f');
            case 'u' -> {
              if (i + 4 > s.length()) {
                throw new IllegalArgumentException("bad escape");
              }
              try {
                b.append((char) Integer.parseInt(s.substring(i, i + 4), 16));
              } catch (NumberFormatException x) {
                throw new IllegalArgumentException("bad escape");
              }
              i += 4;
            }
            default -> throw new IllegalArgumentException("bad escape");
          }
        } else {
          b.append(c);
        }
      }
      throw new IllegalArgumentException("unterminated string");
    }

    void expect(char c) {
      if (peek() != c) {
        throw new IllegalArgumentException("expected " + c + " at " + i);
      }
      i++;
    }

    char peek() {
      while (i < s.length() && Character.isWhitespace(s.charAt(i))) {
        i++;
      }
      if (i >= s.length()) {
        throw new IllegalArgumentException("unexpected end");
      }
      return s.charAt(i);
    }

    void end() {
      while (i < s.length() && Character.isWhitespace(s.charAt(i))) {
        i++;
      }
      if (i != s.length()) {
        throw new IllegalArgumentException("trailing characters");
      }
    }
  }
}
