package io.wscluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * Which packages the compiled classes may name: the core knows no backend (they are found by
 * ServiceLoader), and the SPI names nothing of the core but its public API. Reads the class files
 * under target/classes: a class's constant pool holds the internal name ({@code org/redisson/...})
 * of every class it refers to, as UTF-8.
 */
class ImportRulesTest {
  private static final Path CLASSES = Paths.get("target", "classes");
  /** A class of the core package (not of a subpackage) as a constant names it. */
  private static final Pattern CORE_NAME =
      Pattern.compile("io/wscluster/([A-Za-z0-9_$]+)(?![A-Za-z0-9_$/])");
  private static final List<String> NO_BACKEND = List.of("org/redisson/", "io/wscluster/redis/",
      "io/wscluster/memory/");

  private static List<Path> classesOf(String pkg) throws IOException {
    try (Stream<Path> files = Files.list(CLASSES.resolve(pkg))) {
      return files.filter(f -> f.toString().endsWith(".class")).sorted().toList();
    }
  }

  /** Class file text: the UTF-8 constants are readable, the rest is noise that matches nothing. */
  private static String text(Path classFile) throws IOException {
    return new String(Files.readAllBytes(classFile), StandardCharsets.ISO_8859_1);
  }

  /** "Class names prefix" for each class of {@code pkg} whose constants name one of them. */
  private static List<String> naming(String pkg, List<String> prefixes) throws IOException {
    List<String> out = new ArrayList<>();
    for (Path f : classesOf(pkg)) {
      String t = text(f);
      for (String p : prefixes) {
        if (t.contains(p)) {
          out.add(f.getFileName() + " names " + p);
        }
      }
    }
    return out;
  }

  @Test
  void core_namesNoBackend() throws IOException {
    assertTrue(classesOf("io/wscluster").size() > 50, "the core's classes are there");

    assertEquals(List.of(), naming("io/wscluster", NO_BACKEND));
  }

  @Test
  void redisPackage_namesRedisson_theNegativeControl() throws IOException {
    List<String> found = naming("io/wscluster/redis", NO_BACKEND);

    assertTrue(found.contains("RedisTransport.class names org/redisson/"), found.toString());
  }

  @Test
  void spi_namesOnlyThePublicApiOfTheCore() throws IOException {
    Set<String> named = new TreeSet<>();
    for (Path f : classesOf("io/wscluster/spi")) {
      Matcher m = CORE_NAME.matcher(text(f));
      while (m.find()) {
        named.add(m.group(1));
      }
    }
    List<String> notPublic = new ArrayList<>();
    for (String name : named) {
      try {
        Class<?> c = Class.forName("io.wscluster." + name, false, getClass().getClassLoader());
        if (!java.lang.reflect.Modifier.isPublic(c.getModifiers())) {
          notPublic.add(name);
        }
      } catch (ClassNotFoundException e) {
        notPublic.add(name + " (not a class)");
      }
    }

    assertEquals(List.of(), notPublic, "the SPI names " + named);
  }

  @Test
  void spiRule_onACorePackageClass_findsItsInternals_theNegativeControl() throws IOException {
    Matcher m = CORE_NAME.matcher(text(CLASSES.resolve("io/wscluster/ClusterNode.class")));
    Set<String> named = new TreeSet<>();
    while (m.find()) {
      named.add(m.group(1));
    }

    assertTrue(named.contains("Publisher"), named.toString());
  }
}
