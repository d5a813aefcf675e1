package io.wscluster.demo.launcher;

import java.io.IOException;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.net.MalformedURLException;
import java.net.URISyntaxException;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Collectors;
import java.util.stream.Stream;

/**
 * The Main-Class of {@code wscluster-demo.jar}: puts every jar of the {@code lib/} directory next to
 * the launcher jar (Jetty, slf4j; copied there by the build) on a class loader and runs
 * {@link Launcher} through it. Uses JDK classes only.
 *
 * <p>Why not a manifest Class-Path: the build would have to write a space-separated list of the
 * provided-scope jars, and Maven trims a lone space out of every configuration value, so the list
 * comes out with ':' separators, which the JVM does not accept. Loading {@code lib/*.jar} also
 * keeps working when a dependency changes version.
 *
 * <p>When Jetty is already on the class path (run from an IDE or with {@code java -cp}), the
 * launcher runs directly.
 */
public final class Bootstrap {
  static final String LAUNCHER = "io.wscluster.demo.launcher.Launcher";
  static final String PROBE_CLASS = "org.eclipse.jetty.server.Server";

  private Bootstrap() {}

  public static void main(String[] args) throws Throwable {
    ClassLoader loader = jettyVisible() ? Bootstrap.class.getClassLoader() : libLoader();
    Thread.currentThread().setContextClassLoader(loader);
    Method main = Class.forName(LAUNCHER, true, loader).getMethod("main", String[].class);
    try {
      main.invoke(null, (Object) args);
    } catch (InvocationTargetException e) {
      throw e.getCause();
    }
  }

  private static boolean jettyVisible() {
    try {
      Class.forName(PROBE_CLASS, false, Bootstrap.class.getClassLoader());
      return true;
    } catch (ClassNotFoundException e) {
      return false;
    }
  }

  /**
   * This jar (or classes directory) plus {@code lib/*.jar} beside it, in name order, over the
   * platform class loader, so that the launcher's classes link against those jars. Exits with
   * status 1 and a message when {@code lib/} is missing.
   */
  private static ClassLoader libLoader() throws IOException, URISyntaxException {
    Path self = Paths.get(Bootstrap.class.getProtectionDomain().getCodeSource().getLocation().toURI())
        .toAbsolutePath();
    Path lib = self.getParent().resolve("lib");
    if (!Files.isDirectory(lib)) {
      System.err.println("wscluster-demo: no " + lib + " directory with Jetty's jars beside "
          + self.getFileName() + " (build with mvn package, and keep lib/ next to the jar)");
      System.exit(1);
    }
    List<URL> urls = new ArrayList<>();
    urls.add(url(self));
    try (Stream<Path> jars = Files.list(lib)) {
      for (Path jar : jars.filter(p -> p.getFileName().toString().endsWith(".jar")).sorted()
          .collect(Collectors.toList())) {
        urls.add(url(jar));
      }
    }
    return new URLClassLoader("wscluster-demo-launcher", urls.toArray(URL[]::new),
        ClassLoader.getPlatformClassLoader());
  }

  private static URL url(Path path) throws MalformedURLException {
    return path.toUri().toURL();
  }
}
