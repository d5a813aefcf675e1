package io.wscluster.demo.launcher;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.List;
import org.junit.jupiter.api.Test;

/** The launcher's "up" line names what the WAR serves: its pages, else its endpoints. */
class ServedTest {
  private static final String URL = "http://127.0.0.1:8081/";

  @Test
  void demoWar_chatPageAndClusterView() {
    assertEquals("open http://127.0.0.1:8081/ (cluster view: http://127.0.0.1:8081/cluster.html)",
        new Served(true, true, List.of("/chat", "/cluster/feed")).describe(URL));
  }

  @Test
  void warWithoutPages_namesItsEndpoints() {
    assertEquals("WebSocket endpoints ws://127.0.0.1:8081/chat, ws://127.0.0.1:8081/before/chat "
        + "(the same paths on every node; the WAR has no chat page)",
        new Served(false, false, List.of("/chat", "/before/chat")).describe(URL));
    assertEquals("WebSocket endpoint ws://127.0.0.1:8081/chat (the same paths on every node; the "
        + "WAR has no chat page)", new Served(false, false, List.of("/chat")).describe(URL));
  }

  @Test
  void warWithNothingFound_saysSo() {
    assertEquals("the WAR has no chat page and no WebSocket endpoint the launcher could find",
        new Served(false, false, List.of()).describe(URL));
  }

  @Test
  void clusterViewAlone_isOpened() {
    assertEquals("open http://127.0.0.1:8081/cluster.html",
        new Served(false, true, List.of()).describe(URL));
  }
}
