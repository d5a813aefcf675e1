package io.wscluster.demo;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class DemoSettingsTest {

  private static DemoSettings parse(Map<String, String> parameters) {
    return DemoSettings.parse(parameters::get);
  }

  private static String error(Map<String, String> parameters) {
    return assertThrows(IllegalArgumentException.class, () -> parse(parameters)).getMessage();
  }

  @Test
  void parse_nothingSet_noFeedNoUrls() {
    DemoSettings s = parse(Map.of());
    assertFalse(s.clusterView());
    assertNull(s.url());
    assertEquals(List.of(), s.nodes());
    assertEquals(DemoSettings.NONE, s);
  }

  @Test
  void parse_whatTheLauncherSets() {
    DemoSettings s = parse(Map.of("demo.cluster-view", "true", "demo.url", "http://127.0.0.1:8082",
        "demo.nodes", "http://127.0.0.1:8081/, http://127.0.0.1:8082/,,http://127.0.0.1:8083"));
    assertTrue(s.clusterView());
    assertEquals("http://127.0.0.1:8082/", s.url(), "a base URL ends in /");
    assertEquals(List.of("http://127.0.0.1:8081/", "http://127.0.0.1:8082/", "http://127.0.0.1:8083/"), s.nodes());
  }

  @Test
  void parse_clusterView_caseAndBlank() {
    assertTrue(parse(Map.of("demo.cluster-view", " TRUE ")).clusterView());
    assertFalse(parse(Map.of("demo.cluster-view", "false")).clusterView());
    assertFalse(parse(Map.of("demo.cluster-view", " ")).clusterView());
  }

  @Test
  void parse_clusterView_notABoolean() {
    assertEquals("demo.cluster-view value was set to 'yes', must be true or false",
        error(Map.of("demo.cluster-view", "yes")));
  }

  @Test
  void parse_url_notHttp() {
    assertEquals("demo.url value was set to 'ws://h:1/', must be an http:// or https:// URL",
        error(Map.of("demo.url", "ws://h:1/")));
  }

  @Test
  void parse_nodes_oneEntryNotHttp() {
    assertEquals("demo.nodes value was set to '127.0.0.1:8082', must be an http:// or https:// URL per "
        + "comma-separated entry", error(Map.of("demo.nodes", "http://127.0.0.1:8081/,127.0.0.1:8082")));
  }
}
