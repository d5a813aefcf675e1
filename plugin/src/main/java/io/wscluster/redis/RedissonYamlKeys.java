package io.wscluster.redis;

import java.io.IOException;
import java.io.Reader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Set;
import java.util.TreeSet;
import org.yaml.snakeyaml.LoaderOptions;
import org.yaml.snakeyaml.Yaml;
import org.yaml.snakeyaml.nodes.MappingNode;
import org.yaml.snakeyaml.nodes.Node;
import org.yaml.snakeyaml.nodes.NodeTuple;
import org.yaml.snakeyaml.nodes.ScalarNode;

/**
 * Which settings a Redisson YAML file gives its servers section ({@code singleServerConfig},
 * {@code clusterServersConfig}, ...) explicitly: Redisson's parsed {@code Config} cannot tell a
 * setting the file left out from one set to Redisson's default. Reads the node tree only (tags
 * such as a codec's class are not resolved, nothing is constructed).
 */
final class RedissonYamlKeys {
  /** The topologies a Redisson 4 {@code Config} holds, one of which a file sets. */
  private static final Set<String> SECTIONS = caseInsensitive("singleServerConfig",
      "sentinelServersConfig", "clusterServersConfig", "replicatedServersConfig",
      "masterSlaveServersConfig");

  private RedissonYamlKeys() {}

  private static Set<String> caseInsensitive(String... names) {
    Set<String> set = new TreeSet<>(String.CASE_INSENSITIVE_ORDER);
    set.addAll(java.util.List.of(names));
    return set;
  }

  /**
   * The keys of the file's servers section, case-insensitive (Redisson may be told to read them
   * so); empty if the file has none (Redisson then refuses the file itself).
   */
  static Set<String> serverSettings(Path yaml) throws IOException {
    Set<String> keys = caseInsensitive();
    Node root;
    try (Reader in = Files.newBufferedReader(yaml, StandardCharsets.UTF_8)) {
      root = new Yaml(new LoaderOptions()).compose(in);
    }
    if (!(root instanceof MappingNode top)) {
      return keys;
    }
    for (NodeTuple section : top.getValue()) {
      String name = scalar(section.getKeyNode());
      if (name != null && SECTIONS.contains(name)
          && section.getValueNode() instanceof MappingNode servers) {
        for (NodeTuple setting : servers.getValue()) {
          String key = scalar(setting.getKeyNode());
          if (key != null) {
            keys.add(key);
          }
        }
      }
    }
    return keys;
  }

  private static String scalar(Node node) {
    return node instanceof ScalarNode s ? s.getValue() : null;
  }
}
