package io.wscluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * bom/pom.xml has no parent (an imported BOM would bring the parent's dependencyManagement along),
 * so its versions are written twice: there and in the root pom. This test holds them together: every
 * version the BOM pins is the one of the jars this module is compiled and tested with, and the
 * BOM's own version is the project's.
 */
class BomTest {
  private static final Path BOM = Path.of("..", "bom", "pom.xml");
  private static final Path ROOT = Path.of("..", "pom.xml");

  /** BOM property → the jar file name prefixes on the test class path that it versions. */
  private static final Map<String, List<String>> JARS = new LinkedHashMap<>();

  static {
    JARS.put("redisson.version", List.of("redisson-"));
    JARS.put("netty.version", List.of("netty-common-", "netty-buffer-", "netty-transport-",
        "netty-resolver-", "netty-resolver-dns-", "netty-codec-base-", "netty-codec-dns-",
        "netty-handler-", "netty-transport-native-unix-common-"));
    JARS.put("snakeyaml.version", List.of("snakeyaml-"));
    JARS.put("slf4j.version", List.of("slf4j-api-"));
    JARS.put("jakarta.servlet.version", List.of("jakarta.servlet-api-"));
    JARS.put("jakarta.websocket.version",
        List.of("jakarta.websocket-api-", "jakarta.websocket-client-api-"));
  }

  private static List<String> classPathJars() {
    List<String> names = new ArrayList<>();
    for (String entry : System.getProperty("java.class.path").split(File.pathSeparator)) {
      names.add(Path.of(entry).getFileName().toString());
    }
    return names;
  }

  /** Every mismatch between the BOM text's versions and the jars named {@code jars}; empty if none. */
  static List<String> mismatches(String bom, List<String> jars) {
    List<String> found = new ArrayList<>();
    JARS.forEach((property, prefixes) -> {
      Matcher m = Pattern.compile("<" + Pattern.quote(property) + ">([^<]+)</").matcher(bom);
      if (!m.find()) {
        found.add("the BOM has no property " + property);
        return;
      }
      String version = m.group(1).trim();
      for (String prefix : prefixes) {
        // "netty-resolver-" also starts "netty-resolver-dns-4...": the version must follow directly
        List<String> matching = jars.stream()
            .filter(j -> j.startsWith(prefix) && Character.isDigit(j.charAt(prefix.length())))
            .toList();
        if (matching.isEmpty()) {
          found.add("no " + prefix + "*.jar on the class path");
        }
        for (String jar : matching) {
          if (!jar.equals(prefix + version + ".jar")) {
            found.add(jar + " is on the class path, the BOM pins " + property + " " + version);
          }
        }
      }
    });
    return found;
  }

  private static String projectVersion(String pom) {
    Matcher m = Pattern.compile("<artifactId>wscluster-(?:parent|bom)</artifactId>\\s*"
        + "<version>([^<]+)</version>").matcher(pom);
    assertTrue(m.find(), "no version in\n" + pom);
    return m.group(1);
  }

  @Test
  void bom_pinsTheVersionsThePluginIsBuiltAndTestedWith() throws Exception {
    assertEquals(List.of(), mismatches(Files.readString(BOM), classPathJars()));
  }

  @Test
  void bom_hasTheProjectVersion() throws Exception {
    assertEquals(projectVersion(Files.readString(ROOT)), projectVersion(Files.readString(BOM)));
  }

  @Test
  void bom_managesNoParentsDependencies() throws Exception {
    String bom = Files.readString(BOM);
    assertFalse(bom.contains("<parent>"), "an imported BOM brings its parent's dependencyManagement");
  }

  @Test
  void mismatches_anotherNettyVersion_isReported() throws Exception {
    String bom = Files.readString(BOM);
    Matcher m = Pattern.compile("<netty.version>([^<]+)</").matcher(bom);
    assertTrue(m.find());
    String doctored = bom.replace(m.group(0), "<netty.version>4.1.118.Final</");

    List<String> found = mismatches(doctored, classPathJars());

    assertEquals(9, found.size(), found.toString());
    assertTrue(found.get(0).startsWith("netty-common-" + m.group(1) + ".jar is on the class path, "
        + "the BOM pins netty.version 4.1.118.Final"), found.get(0));
  }

  @Test
  void mismatches_aJarMissingFromTheClassPath_isReported() throws Exception {
    List<String> jars = new ArrayList<>(classPathJars());
    jars.removeIf(j -> j.startsWith("snakeyaml-"));

    assertEquals(List.of("no snakeyaml-*.jar on the class path"),
        mismatches(Files.readString(BOM), jars));
  }
}
