package io.wscluster.demo;

import java.util.ArrayList;
import java.util.Collection;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The demo's wire format: a strict parser for one flat JSON object, and string quoting for the
 * replies it writes.
 *
 * <p>Only what the chat protocol uses is accepted: an object whose values are strings, booleans
 * or arrays of strings. Numbers, null, nested objects, duplicate keys, trailing text and
 * malformed escapes are rejected with an {@link IllegalArgumentException} whose message says what
 * was wrong and where; the endpoint sends that message back to the client. Pure and stateless.
 */
final class Json {
  /** Refuses deeper work on absurd input before it costs anything: frames are small. */
  static final int MAX_INPUT_CHARS = 1 << 20;

  private final String in;
  private int pos;

  private Json(String in) {
    this.in = in;
  }

  /**
   * Parses {@code text} as one JSON object.
   *
   * @return keys in input order to {@link String}, {@link Boolean} or {@code List<String>}
   * @throws IllegalArgumentException the text is not such an object
   */
  static Map<String, Object> parseObject(String text) {
    if (text == null) {
      throw new IllegalArgumentException("expected a JSON object, got nothing");
    }
    if (text.length() > MAX_INPUT_CHARS) {
      throw new IllegalArgumentException("message is longer than " + MAX_INPUT_CHARS + " characters");
    }
    Json p = new Json(text);
    p.skipSpace();
    Map<String, Object> object = p.object();
    p.skipSpace();
    if (p.pos != p.in.length()) {
      throw p.error("unexpected text after the object");
    }
    return object;
  }

  /** {@code s} as a JSON string literal, quotes included; null is written as "". */
  static String quote(String s) {
    StringBuilder sb = new StringBuilder(s == null ? 2 : s.length() + 8);
    appendQuoted(sb, s);
    return sb.toString();
  }

  /** Appends {@code s} as a JSON string literal; null is written as "". */
  static StringBuilder appendQuoted(StringBuilder sb, String s) {
    sb.append('"');
    if (s != null) {
      for (int i = 0; i < s.length(); i++) {
        char c = s.charAt(i);
        switch (c) {
          case '"': sb.append("\\\""); break;
          case '\\': sb.append("\\\\"); break;
          case '\n': sb.append("\\n"); break;
          case '\r': sb.append("\\r"); break;
          case '\t': sb.append("\\t"); break;
          case '\b': sb.append("\\b"); break;
          case '\f': sb.append("\\f"); break;
          default:
            // U+2028/2029 are valid JSON but break JavaScript string literals; escape them too
            if (c < 0x20 || c == '\u2028' || c == '\u2029') {
              sb.append(String.format("\\u%04x", (int) c));
            } else {
              sb.append(c);
            }
        }
      }
    }
    return sb.append('"');
  }

  /** Appends {@code ["a","b",...]}; the elements in iteration order. */
  static StringBuilder appendArray(StringBuilder sb, Collection<String> strings) {
    sb.append('[');
    String separator = "";
    for (String s : strings) {
      appendQuoted(sb.append(separator), s);
      separator = ",";
    }
    return sb.append(']');
  }

  /** Appends {@code {"k":"v",...}}; the entries in iteration order. */
  static StringBuilder appendObject(StringBuilder sb, Map<String, String> strings) {
    sb.append('{');
    String separator = "";
    for (Map.Entry<String, String> e : strings.entrySet()) {
      appendQuoted(sb.append(separator), e.getKey()).append(':');
      appendQuoted(sb, e.getValue());
      separator = ",";
    }
    return sb.append('}');
  }

  private Map<String, Object> object() {
    expect('{', "expected a JSON object");
    Map<String, Object> object = new LinkedHashMap<>();
    skipSpace();
    if (peek() == '}') {
      pos++;
      return object;
    }
    while (true) {
      skipSpace();
      if (peek() != '"') {
        throw error("expected a quoted key");
      }
      int keyAt = pos;
      String key = string();
      skipSpace();
      expect(':', "expected ':' after key \"" + key + "\"");
      skipSpace();
      Object value = value(key);
      if (object.put(key, value) != null) {
        pos = keyAt;
        throw error("duplicate key \"" + key + "\"");
      }
      skipSpace();
      char c = peek();
      pos++;
      if (c == '}') {
        return object;
      }
      if (c != ',') {
        pos--;
        throw error("expected ',' or '}'");
      }
    }
  }

  private Object value(String key) {
    char c = peek();
    if (c == '"') {
      return string();
    }
    if (c == '[') {
      return stringArray(key);
    }
    if (in.startsWith("true", pos)) {
      pos += 4;
      return Boolean.TRUE;
    }
    if (in.startsWith("false", pos)) {
      pos += 5;
      return Boolean.FALSE;
    }
    throw error("value of \"" + key + "\" must be a string, a boolean or an array of strings");
  }

  private List<String> stringArray(String key) {
    expect('[', "expected '['");
    List<String> list = new ArrayList<>();
    skipSpace();
    if (peek() == ']') {
      pos++;
      return Collections.unmodifiableList(list);
    }
    while (true) {
      skipSpace();
      if (peek() != '"') {
        throw error("elements of \"" + key + "\" must be strings");
      }
      list.add(string());
      skipSpace();
      char c = peek();
      pos++;
      if (c == ']') {
        return Collections.unmodifiableList(list);
      }
      if (c != ',') {
        pos--;
        throw error("expected ',' or ']'");
      }
    }
  }

  private String string() {
    expect('"', "expected '\"'");
    StringBuilder sb = new StringBuilder();
    while (true) {
      if (pos >= in.length()) {
        throw error("unterminated string");
      }
      char c = in.charAt(pos++);
      if (c == '"') {
        return sb.toString();
      }
      if (c < 0x20) {
        pos--;
        throw error("control character in string (must be escaped)");
      }
      if (c != '\\') {
        sb.append(c);
        continue;
      }
      if (pos >= in.length()) {
        throw error("unterminated string");
      }
      char e = in.charAt(pos++);
      switch (e) {
        case '"': sb.append('"'); break;
        case '\\': sb.append('\\'); break;
        case '/': sb.append('/'); break;
        case 'b': sb.append('\b'); break;
        case 'f': sb.append('\f'); break;
        case 'n': sb.append('\n'); break;
        case 'r': sb.append('\r'); break;
        case 't': sb.append('\t'); break;
        case 'u': sb.append(hex4()); break;
        default:
          pos -= 2;
          throw error("invalid escape '\\" + e + "'");
      }
    }
  }

  private char hex4() {
    if (pos + 4 > in.length()) {
      throw error("truncated \\u escape");
    }
    int v = 0;
    for (int i = 0; i < 4; i++) {
      int d = Character.digit(in.charAt(pos + i), 16);
      if (d < 0) {
        throw error("invalid \\u escape");
      }
      v = v * 16 + d;
    }
    pos += 4;
    return (char) v;
  }

  private void skipSpace() {
    while (pos < in.length()) {
      char c = in.charAt(pos);
      if (c != ' ' && c != '\t' && c != '\n' && c != '\r') {
        return;
      }
      pos++;
    }
  }

  /** The next character, or 0 at the end (never a valid token start). */
  private char peek() {
    return pos < in.length() ? in.charAt(pos) : 0;
  }

  private void expect(char c, String message) {
    if (peek() != c) {
      throw error(message);
    }
    pos++;
  }

  private IllegalArgumentException error(String message) {
    String where = pos >= in.length() ? "at end of input" : "at offset " + pos;
    return new IllegalArgumentException("bad JSON " + where + ": " + message);
  }
}
