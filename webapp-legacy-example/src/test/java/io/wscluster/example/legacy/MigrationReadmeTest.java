package io.wscluster.example.legacy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * The README's "Migrating an existing app" section shows the code as it is: its diff is exactly the
 * difference between the legacy endpoint and the migrated one, and its other snippets are lines of
 * the files they name.
 */
class MigrationReadmeTest {
  private static final Path ROOT = Path.of("..");
  private static final Path SOURCES = Path.of("src", "main", "java", "io", "wscluster", "example",
      "legacy");

  private static String section() throws IOException {
    String readme = Files.readString(ROOT.resolve("README.md"), StandardCharsets.UTF_8);
    int start = readme.indexOf("\n## Migrating an existing app\n");
    assertTrue(start >= 0, "README has no 'Migrating an existing app' section");
    int end = readme.indexOf("\n## ", start + 1);
    return readme.substring(start, end < 0 ? readme.length() : end);
  }

  private static List<String> blocks(String section, String language) {
    List<String> out = new ArrayList<>();
    Matcher m = Pattern.compile("```" + language + "\n(.*?)```", Pattern.DOTALL).matcher(section);
    while (m.find()) {
      out.add(m.group(1));
    }
    return out;
  }

  /** The lines of a Java file that are code: no package line, comments or blank lines. */
  private static Set<String> codeLines(Path file) throws IOException {
    Set<String> out = new LinkedHashSet<>();
    boolean inComment = false;
    for (String line : Files.readAllLines(file, StandardCharsets.UTF_8)) {
      String t = line.strip();
      if (t.startsWith("/*")) {
        inComment = !t.endsWith("*/");
        continue;
      }
      if (inComment) {
        inComment = !t.endsWith("*/");
        continue;
      }
      if (t.isEmpty() || t.startsWith("package ") || t.startsWith("//")) {
        continue;
      }
      out.add(line.stripTrailing());
    }
    return out;
  }

  @Test
  void diff_isExactlyTheChangeFromTheLegacyEndpointToTheMigratedOne() throws IOException {
    List<String> diffs = blocks(section(), "diff");
    assertEquals(1, diffs.size(), "one diff block in the migration section");
    Set<String> removedOrKept = new LinkedHashSet<>();
    Set<String> addedOrKept = new LinkedHashSet<>();
    for (String line : diffs.get(0).split("\n")) {
      if (line.isBlank()) {
        continue;
      }
      String code = line.substring(1).stripTrailing();
      switch (line.charAt(0)) {
        case '-' -> removedOrKept.add(code);
        case '+' -> addedOrKept.add(code);
        case ' ' -> {
          removedOrKept.add(code);
          addedOrKept.add(code);
        }
        default -> throw new AssertionError("not a diff line: " + line);
      }
    }
    removedOrKept.removeIf(String::isBlank);
    addedOrKept.removeIf(String::isBlank);

    assertEquals(codeLines(SOURCES.resolve("before").resolve("ChatEndpoint.java")), removedOrKept,
        "the diff's - and context lines are the legacy endpoint's code");
    assertEquals(codeLines(SOURCES.resolve("ChatEndpoint.java")), addedOrKept,
        "the diff's + and context lines are the migrated endpoint's code");
  }

  @Test
  void javaSnippets_areLinesOfTheFilesTheyName() throws IOException {
    List<String> snippets = blocks(section(), "java");
    assertFalse(snippets.isEmpty(), "the Guice variant shows its code");
    for (String snippet : snippets) {
      String[] lines = snippet.split("\n");
      assertTrue(lines[0].startsWith("// "), "a snippet names its file first: " + lines[0]);
      Path file = ROOT.resolve(lines[0].substring(3).strip());
      String source = Files.readString(file, StandardCharsets.UTF_8);
      for (int i = 1; i < lines.length; i++) {
        assertTrue(source.contains(lines[i]), file + " has no line '" + lines[i] + "'");
      }
    }
  }

  @Test
  void webXmlSnippet_isInTheExamplesWebXml() throws IOException {
    String webXml = Files.readString(Path.of("src", "main", "webapp", "WEB-INF", "web.xml"),
        StandardCharsets.UTF_8).replaceAll("\\s+", "");
    List<String> snippets = blocks(section(), "xml");
    assertEquals(1, snippets.size());

    assertTrue(webXml.contains(snippets.get(0).replaceAll("\\s+", "")),
        "the README's context-params are those of WEB-INF/web.xml");
  }
}
