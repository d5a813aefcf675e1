package io.wscluster.it;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.function.Predicate;
import java.util.zip.ZipEntry;
import java.util.zip.ZipFile;
import java.util.zip.ZipOutputStream;

/**
 * A copy of a built WAR with other jars in WEB-INF/lib: what Maven would have packaged had the WAR's
 * project declared other dependencies. Classes, descriptors and resources stay as they are.
 */
final class WarFile {
  private static final String LIB = "WEB-INF/lib/";

  private WarFile() {
  }

  /**
   * Writes {@code target}: {@code source} without the WEB-INF/lib jars whose file names match
   * {@code drop}, plus {@code add} under their own file names. Returns {@code target}.
   */
  static Path withLibs(Path source, Path target, Predicate<String> drop, List<Path> add)
      throws IOException {
    try (ZipFile in = new ZipFile(source.toFile());
         OutputStream file = Files.newOutputStream(target);
         ZipOutputStream out = new ZipOutputStream(file)) {
      for (ZipEntry entry : Collections.list(in.entries())) {
        String name = entry.getName();
        if (name.startsWith(LIB) && drop.test(name.substring(LIB.length()))) {
          continue;
        }
        out.putNextEntry(new ZipEntry(name));
        try (InputStream data = in.getInputStream(entry)) {
          data.transferTo(out);
        }
        out.closeEntry();
      }
      for (Path jar : add) {
        out.putNextEntry(new ZipEntry(LIB + jar.getFileName()));
        Files.copy(jar, out);
        out.closeEntry();
      }
    }
    return target;
  }

  /** The file names in the WAR's WEB-INF/lib, sorted. */
  static List<String> libs(Path war) throws IOException {
    List<String> names = new ArrayList<>();
    try (ZipFile zip = new ZipFile(war.toFile())) {
      for (ZipEntry entry : Collections.list(zip.entries())) {
        String name = entry.getName();
        if (name.startsWith(LIB) && name.length() > LIB.length()) {
          names.add(name.substring(LIB.length()));
        }
      }
    }
    Collections.sort(names);
    return names;
  }
}
