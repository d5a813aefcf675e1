package io.wscluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.File;
import java.io.IOException;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * Micrometer is optional: only {@code io.wscluster.micrometer} may refer to it, so a webapp
 * without it loads and runs every other plugin class.
 */
class MicrometerAbsenceTest {
  private static final String BINDING = "io/wscluster/micrometer/";

  private static Path classes() throws Exception {
    return Path.of(WsCluster.class.getProtectionDomain().getCodeSource().getLocation().toURI());
  }

  private static List<Path> pluginClasses(Path root) throws IOException {
    try (Stream<Path> files = Files.walk(root)) {
      return files.filter(p -> p.toString().endsWith(".class")).toList();
    }
  }

  private static String nameOf(Path root, Path file) {
    String relative = root.relativize(file).toString().replace(File.separatorChar, '/');
    return relative.substring(0, relative.length() - ".class".length());
  }

  @Test
  void noClassOutsideTheBinding_refersToMicrometer() throws Exception {
    Path root = classes();
    List<String> offenders = new ArrayList<>();
    int checked = 0;
    for (Path file : pluginClasses(root)) {
      String name = nameOf(root, file);
      if (name.startsWith(BINDING)) {
        continue;
      }
      checked++;
      // class names in the constant pool are modified UTF-8; ASCII reads the same
      if (new String(Files.readAllBytes(file), StandardCharsets.ISO_8859_1)
          .contains("io/micrometer/")) {
        offenders.add(name);
      }
    }
    assertTrue(checked > 50, "checked " + checked + " classes under " + root);
    assertEquals(List.of(), offenders, "classes that would need Micrometer at run time");
  }

  @Test
  void withoutMicrometerOnTheClassPath_everyOtherClassLoadsAndInitializes() throws Exception {
    Path root = classes();
    List<URL> urls = new ArrayList<>();
    for (String entry : System.getProperty("java.class.path").split(File.pathSeparator)) {
      if (!entry.contains("micrometer") && !entry.contains("test-classes")) {
        urls.add(Path.of(entry).toUri().toURL());
      }
    }
    try (URLClassLoader webapp =
        new URLClassLoader(urls.toArray(URL[]::new), ClassLoader.getPlatformClassLoader())) {
      assertThrows(ClassNotFoundException.class,
          () -> webapp.loadClass("io.micrometer.core.instrument.MeterRegistry"));
      int loaded = 0;
      for (Path file : pluginClasses(root)) {
        String name = nameOf(root, file);
        if (!name.startsWith(BINDING)) {
          Class.forName(name.replace('/', '.'), true, webapp);
          loaded++;
        }
      }
      assertTrue(loaded > 50, "loaded " + loaded);
      // the control: the binding itself does need Micrometer
      assertThrows(NoClassDefFoundError.class, () -> Class.forName(
          "io.wscluster.micrometer.WsClusterMetrics", true, webapp).getMethods());
    }
  }
}
