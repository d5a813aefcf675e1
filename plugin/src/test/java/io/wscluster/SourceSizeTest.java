package io.wscluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * How large a main source file may grow: an actor, a backend part or any other class stays small
 * enough to read whole ({@value #MAX_LINES} lines), the node that only wires and starts them
 * smaller still; the codec, one format read and written in one place, is the one exception.
 * Past the bar, split the class by thread or by role (see docs/protocol.md).
 */
class SourceSizeTest {
  private static final Path MAIN = Paths.get("src", "main", "java");
  private static final int MAX_LINES = 450;
  /** Files with a bar of their own, by name. */
  private static final Map<String, Integer> BARS = Map.of(
      "ClusterNode.java", 300,
      "EnvelopeCodec.java", Integer.MAX_VALUE);

  /** "name: lines > bar" for each file over its bar. */
  private static List<String> overBar(List<Path> files) throws IOException {
    List<String> over = new ArrayList<>();
    for (Path f : files) {
      String name = f.getFileName().toString();
      long lines;
      try (Stream<String> all = Files.lines(f)) {
        lines = all.count();
      }
      int bar = BARS.getOrDefault(name, MAX_LINES);
      if (lines > bar) {
        over.add(name + ": " + lines + " > " + bar);
      }
    }
    return over;
  }

  private static List<Path> mainSources() throws IOException {
    try (Stream<Path> files = Files.walk(MAIN)) {
      return files.filter(f -> f.toString().endsWith(".java")).sorted().toList();
    }
  }

  @Test
  void everyMainSource_isWithinItsBar() throws IOException {
    List<Path> sources = mainSources();
    assertTrue(sources.size() > 50, "the main sources are there: " + sources.size());

    assertEquals(List.of(), overBar(sources));
  }

  @Test
  void aFileOverTheBar_isFound_theNegativeControl() throws IOException {
    Path dir = Files.createTempDirectory("source-size");
    try {
      Path big = Files.writeString(dir.resolve("Big.java"), "//\n".repeat(MAX_LINES + 1));
      Path node = Files.writeString(dir.resolve("ClusterNode.java"), "//\n".repeat(301));
      Path fits = Files.writeString(dir.resolve("Fits.java"), "//\n".repeat(MAX_LINES));

      assertEquals(List.of("Big.java: 451 > 450", "ClusterNode.java: 301 > 300"),
          overBar(List.of(big, node, fits)));
    } finally {
      try (Stream<Path> files = Files.list(dir)) {
        for (Path f : files.toList()) {
          Files.delete(f);
        }
      }
      Files.delete(dir);
    }
  }
}
