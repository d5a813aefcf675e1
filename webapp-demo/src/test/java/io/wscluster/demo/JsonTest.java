package io.wscluster.demo;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

class JsonTest {

  // ---------------------------------------------------------------- parseObject: accepted input

  @Test
  void parseObject_everyValueKind() {
    Map<String, Object> expected = new LinkedHashMap<>();
    expected.put("op", "send");
    expected.put("all", true);
    expected.put("binary", false);
    expected.put("rooms", List.of("a", "b c"));
    expected.put("users", List.of());
    assertEquals(expected, Json.parseObject(
        " {\"op\" : \"send\", \"all\":true,\"binary\":false, \"rooms\":[\"a\" ,\"b c\"],\"users\":[]}\n"));
  }

  @Test
  void parseObject_emptyObject() {
    assertEquals(Map.of(), Json.parseObject("{}"));
  }

  @Test
  void parseObject_escapes() {
    assertEquals("q\" b\\ s/ \b\f\n\r\t é \u2028",
        Json.parseObject("{\"t\":\"q\\\" b\\\\ s\\/ \\b\\f\\n\\r\\t \\u00e9 \\u2028\"}").get("t"));
  }

  @Test
  void parseObject_surrogatePairEscape() {
    assertEquals("\uD83D\uDE00", Json.parseObject("{\"t\":\"\\ud83d\\ude00\"}").get("t"));
  }

  // ---------------------------------------------------------------- parseObject: rejected input

  @ParameterizedTest
  @ValueSource(strings = {
      "", "   ", "[]", "\"s\"", "{", "{\"a\"}", "{\"a\":}", "{\"a\":1}", "{\"a\":null}",
      "{\"a\":{}}", "{\"a\":[1]}", "{\"a\":[\"x\",]}", "{\"a\":\"x\",}", "{a:\"x\"}",
      "{\"a\":\"x\"} x", "{\"a\":\"x\"}{}", "{\"a\":\"\\x\"}", "{\"a\":\"\\u12\"}",
      "{\"a\":\"\\u12zz\"}", "{\"a\":\"unterminated}", "{\"a\":\"tab\there\"}", "{\"a\":tru}",
      "{\"a\":true false}", "{'a':\"x\"}"})
  void parseObject_malformed_isRejected(String text) {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> Json.parseObject(text));
    assertTrue(e.getMessage().startsWith("bad JSON "), e.getMessage());
  }

  @Test
  void parseObject_duplicateKey_namesKeyAndOffset() {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> Json.parseObject("{\"a\":\"x\",\"a\":\"y\"}"));
    assertEquals("bad JSON at offset 9: duplicate key \"a\"", e.getMessage());
  }

  @Test
  void parseObject_number_saysWhatIsAllowed() {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> Json.parseObject("{\"text\":1}"));
    assertEquals("bad JSON at offset 8: value of \"text\" must be a string, a boolean or an array"
        + " of strings", e.getMessage());
  }

  @Test
  void parseObject_null_isRejected() {
    assertThrows(IllegalArgumentException.class, () -> Json.parseObject(null));
  }

  // ---------------------------------------------------------------- quote

  @ParameterizedTest
  @CsvSource(delimiter = '|', quoteCharacter = '\'', value = {
      "plain | '\"plain\"'",
      "'' | '\"\"'",
      "'a\"b' | '\"a\\\"b\"'",
      "'a\\b' | '\"a\\\\b\"'",
      "'é€' | '\"é€\"'"})
  void quote_escapesWhatJsonRequires(String in, String out) {
    assertEquals(out, Json.quote(in));
  }

  @Test
  void quote_controlAndLineSeparators() {
    assertEquals("\"\\n\\r\\t\\b\\f\\u0001\\u001f\\u2028\\u2029\"",
        Json.quote("\n\r\t\b\f\u0001\u001f\u2028\u2029"));
  }

  @Test
  void quote_null_isEmptyString() {
    assertEquals("\"\"", Json.quote(null));
  }

  @Test
  void quote_roundTripsThroughParse() {
    String text = "mixed \"quotes\" \\ \n\u0000\u2028 ünïcödé \uD83D\uDE00";
    assertEquals(text, Json.parseObject("{\"t\":" + Json.quote(text) + "}").get("t"));
  }

  // ---------------------------------------------------------------- appendArray / appendObject

  @Test
  void appendArray_quotesEveryElementInOrder() {
    assertEquals("[\"b\",\"a \\\"q\\\"\"]",
        Json.appendArray(new StringBuilder(), List.of("b", "a \"q\"")).toString());
  }

  @Test
  void appendArray_empty() {
    assertEquals("[]", Json.appendArray(new StringBuilder(), List.of()).toString());
  }

  @Test
  void appendObject_quotesKeysAndValuesInOrder() {
    Map<String, String> map = new LinkedHashMap<>();
    map.put("s2", "closed");
    map.put("s\n1", "node \"x\" gone");
    assertEquals("{\"s2\":\"closed\",\"s\\n1\":\"node \\\"x\\\" gone\"}",
        Json.appendObject(new StringBuilder(), map).toString());
  }

  @Test
  void appendObject_empty() {
    assertEquals("{}", Json.appendObject(new StringBuilder(), Map.of()).toString());
  }
}
