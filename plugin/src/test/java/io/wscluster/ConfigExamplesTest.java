package io.wscluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.Reader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.HashMap;
import java.util.Map;
import java.util.Properties;
import javax.xml.parsers.DocumentBuilderFactory;
import org.junit.jupiter.api.Test;
import org.redisson.config.Config;
import org.w3c.dom.Element;
import org.w3c.dom.NodeList;

/** The examples in config/ load as documented, so they never rot. */
class ConfigExamplesTest {
  private static final Path CONFIG = Paths.get("..", "config");

  @Test
  void propertiesExample_documentsEveryKeyWithItsDefault() throws Exception {
    Path file = CONFIG.resolve("wscluster.properties");
    String text = Files.readString(file, StandardCharsets.UTF_8);
    for (String key : WsClusterConfig.KEYS.keySet()) {
      assertTrue(text.contains(key), "config/wscluster.properties does not mention " + key);
    }
    Properties p = new Properties();
    try (Reader r = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
      p.load(r);
    }
    for (String key : p.stringPropertyNames()) {
      String documentedDefault = WsClusterConfig.KEYS.get(key)[0];
      assertEquals(documentedDefault, p.getProperty(key), key + " in the example is not its default");
    }
  }

  @Test
  void propertiesExample_loadsThroughTheConfigFileKey() {
    Map<String, String> sys = Map.of(WsClusterConfig.CONFIG_FILE,
        CONFIG.resolve("wscluster.properties").toString());

    WsClusterConfig c = ConfigLoader.load(Map.of(), Map.of(), sys, Map.of(), null);

    assertEquals("wscluster", c.channelPrefix());
    assertEquals(1024, c.outboxMaxFrames());
  }

  @Test
  void webXmlExample_contextParamsLoad() throws Exception {
    var doc = DocumentBuilderFactory.newInstance().newDocumentBuilder()
        .parse(CONFIG.resolve("web.xml").toFile());
    NodeList params = doc.getElementsByTagName("context-param");
    Map<String, String> context = new HashMap<>();
    for (int i = 0; i < params.getLength(); i++) {
      Element e = (Element) params.item(i);
      context.put(e.getElementsByTagName("param-name").item(0).getTextContent().trim(),
          e.getElementsByTagName("param-value").item(0).getTextContent().trim());
    }
    assertTrue(context.size() >= 3, "the snippet sets context-params: " + context);

    WsClusterConfig c = ConfigLoader.load(Map.of(), context, Map.of(),
        Map.of("REDIS_PASSWORD", "s3cret"), null);

    assertEquals("redis://redis.internal:6379", c.redisAddress().toString());
    assertEquals("s3cret", c.redisPassword());
    assertEquals("myapp", c.channelPrefix());
  }

  @Test
  void redissonYamlExamples_parse() throws Exception {
    assertNotNull(Config.fromYAML(CONFIG.resolve("redisson-single.yaml").toFile())
        .useSingleServer().getAddress());
    Config sentinel = Config.fromYAML(CONFIG.resolve("redisson-sentinel.yaml").toFile());
    assertEquals("mymaster", sentinel.useSentinelServers().getMasterName());
    Config cluster = Config.fromYAML(CONFIG.resolve("redisson-cluster.yaml").toFile());
    assertEquals(3, cluster.useClusterServers().getNodeAddresses().size());
  }

  @Test
  void redissonYamlExample_isAcceptedAsRedisConfig() {
    Map<String, String> context = Map.of(WsClusterConfig.REDIS_CONFIG,
        CONFIG.resolve("redisson-single.yaml").toString());

    WsClusterConfig c = ConfigLoader.load(Map.of(), context, Map.of(), Map.of(), null);

    assertEquals(CONFIG.resolve("redisson-single.yaml"), c.redisConfig());
  }
}
