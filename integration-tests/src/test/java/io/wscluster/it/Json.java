package io.wscluster.it;

import java.util.Collection;
import java.util.List;
import java.util.Map;
import org.eclipse.jetty.util.ajax.JSON;

/**
 * JSON in and out for the demo's protocol and the benchmarks' reports, via Jetty's JSON (objects →
 * Map, arrays → Object[], numbers → Long or Double).
 */
public final class Json {

  private Json() {
  }

  /**
   * Parses a JSON object, its members in the order of the text; anything else is an assertion
   * failure naming the text.
   */
  @SuppressWarnings("unchecked")
  public static Map<String, Object> object(String text) {
    Object parsed;
    try {
      parsed = new JSON() {
        @Override
        protected Map<String, Object> newMap() {
          return new java.util.LinkedHashMap<>();
        }
      }.fromJSON(text);
    } catch (RuntimeException e) {
      throw new AssertionError("not JSON: " + text, e);
    }
    if (!(parsed instanceof Map<?, ?>)) {
      throw new AssertionError("not a JSON object: " + text);
    }
    return (Map<String, Object>) parsed;
  }

  /** Writes maps, collections, arrays, strings, numbers and booleans. */
  public static String write(Object value) {
    return new JSON().toJSON(value instanceof Collection<?> c ? c.toArray() : normalize(value));
  }

  private static Object normalize(Object value) {
    if (value instanceof Map<?, ?> map) {
      java.util.LinkedHashMap<Object, Object> copy = new java.util.LinkedHashMap<>();
      map.forEach((k, v) -> copy.put(k, normalize(v)));
      return copy;
    }
    if (value instanceof List<?> list) {
      return list.stream().map(Json::normalize).toArray();
    }
    return value;
  }
}
