package io.wscluster.demo.launcher;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Paths;
import java.util.Map;
import org.junit.jupiter.api.Test;

class LaunchOptionsTest {

  private static LaunchOptions parse(String... args) {
    return LaunchOptions.parse(args, Map.of(), Map.of());
  }

  private static String error(String... args) {
    return assertThrows(IllegalArgumentException.class, () -> parse(args)).getMessage();
  }

  // ---------------------------------------------------------------- defaults

  @Test
  void parse_noArguments_defaults() {
    LaunchOptions o = parse();
    assertEquals(3, o.nodes);
    assertEquals(8081, o.port);
    assertEquals("redis://127.0.0.1:6379", o.redis);
    assertEquals(LaunchOptions.Source.DEFAULT, o.redisSource);
    assertNull(o.transport);
    assertNull(o.war);
    assertFalse(o.help);
    assertFalse(o.redisConfigFile);
  }

  @Test
  void nodeUrlsAndNames_followThePort() {
    LaunchOptions o = parse("--port", "9081");
    assertEquals("http://127.0.0.1:9081/", o.url(0));
    assertEquals("http://127.0.0.1:9083/", o.url(2));
    assertEquals("node-2", o.nodeName(2));
    assertEquals("node-9081", parse("--nodes", "1", "--port", "9081").nodeName(0));
  }

  @Test
  void parse_everyOption_bothSpellings() {
    LaunchOptions o = parse("--nodes", "5", "--port=9000", "--redis", "rediss://r:6380",
        "--transport=MEMORY", "--war", "x.war");
    assertEquals(5, o.nodes);
    assertEquals(9000, o.port);
    assertEquals("rediss://r:6380", o.redis);
    assertEquals("memory", o.transport);
    assertEquals(Paths.get("x.war"), o.war);
  }

  @Test
  void parse_help() {
    assertTrue(parse("--help").help);
    assertTrue(parse("-h").help);
  }

  // ---------------------------------------------------------------- node names and ports

  @Test
  void nodeName_severalNodes_byIndex() {
    LaunchOptions o = parse("--nodes", "3", "--port", "18081");
    assertEquals("node-0", o.nodeName(0));
    assertEquals("node-2", o.nodeName(2));
    assertEquals(18083, o.port(2));
  }

  @Test
  void nodeName_oneNode_byPort() {
    assertEquals("node-18081", parse("--nodes", "1", "--port", "18081").nodeName(0));
  }

  // ---------------------------------------------------------------- other sources

  @Test
  void parse_redisFromSystemPropertyBeforeEnvironment() {
    LaunchOptions o = LaunchOptions.parse(new String[0],
        Map.of("wscluster.redis.address", "redis://p:1"),
        Map.of("WSCLUSTER_REDIS_ADDRESS", "redis://e:2"));
    assertEquals("redis://p:1", o.redis);
    assertEquals(LaunchOptions.Source.SYSTEM_PROPERTY, o.redisSource);
  }

  @Test
  void parse_redisFromEnvironment() {
    LaunchOptions o = LaunchOptions.parse(new String[0], Map.of(),
        Map.of("WSCLUSTER_REDIS_ADDRESS", "redis://e:2"));
    assertEquals("redis://e:2", o.redis);
    assertEquals(LaunchOptions.Source.ENVIRONMENT, o.redisSource);
  }

  @Test
  void parse_commandLineBeatsEnvironment() {
    LaunchOptions o = LaunchOptions.parse(new String[] {"--redis", "redis://c:3"}, Map.of(),
        Map.of("WSCLUSTER_REDIS_ADDRESS", "redis://e:2"));
    assertEquals("redis://c:3", o.redis);
  }

  @Test
  void parse_transportFromEnvironment() {
    assertEquals("memory", LaunchOptions.parse(new String[0], Map.of(),
        Map.of("WSCLUSTER_TRANSPORT", "memory")).transport);
  }

  @Test
  void parse_redisConfigFile_withoutRedisOption() {
    assertTrue(LaunchOptions.parse(new String[0], Map.of("wscluster.redis.config", "r.yaml"),
        Map.of()).redisConfigFile);
    assertFalse(LaunchOptions.parse(new String[] {"--redis", "redis://h:1"},
        Map.of("wscluster.redis.config", "r.yaml"), Map.of()).redisConfigFile);
  }

  // ---------------------------------------------------------------- errors

  @Test
  void parse_unknownOption() {
    assertEquals("unknown option '--bogus'", error("--bogus"));
  }

  @Test
  void parse_missingValue() {
    assertEquals("option --port needs a value", error("--port"));
  }

  @Test
  void parse_nodes_outOfRange() {
    assertEquals("option --nodes was '0', must be an integer from 1 to 64", error("--nodes", "0"));
    assertEquals("option --nodes was 'x', must be an integer from 1 to 64", error("--nodes=x"));
  }

  @Test
  void parse_portsBeyond65535() {
    assertEquals("--port 65535 with --nodes 2 would need ports up to 65536, above 65535",
        error("--nodes", "2", "--port", "65535"));
  }

  @Test
  void parse_transport_unknown() {
    assertEquals("option --transport was 'kafka', must be redis or memory",
        error("--transport", "kafka"));
  }

  @Test
  void parse_redis_notARedisUrl() {
    assertEquals("option --redis was 'http://h:1', must be a URL redis://host:port or"
        + " rediss://host:port", error("--redis", "http://h:1"));
  }

  @Test
  void parse_helpWithValue() {
    assertEquals("option --help takes no value", error("--help=yes"));
  }
}
