package io.wscluster.it;

import java.io.IOException;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Assertions;
import org.openqa.selenium.JavascriptExecutor;
import org.openqa.selenium.OutputType;
import org.openqa.selenium.WindowType;
import org.openqa.selenium.chrome.ChromeDriver;
import org.openqa.selenium.chrome.ChromeDriverService;
import org.openqa.selenium.chrome.ChromeOptions;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One headless Chromium, driven through chromedriver with WebDriver: a browser context of its own (a fresh
 * {@code --user-data-dir}, so no cookies or storage shared with another {@code Browser}), with named tabs.
 *
 * <p>The browser and the driver are the Debian packages {@code chromium} and {@code chromium-driver}, at
 * {@code /usr/bin/chromium} and {@code /usr/bin/chromedriver} (system properties {@code it.chromium} and
 * {@code it.chromedriver} change them). Both paths are given to Selenium, so Selenium Manager never runs: it would
 * try to download a browser and a driver, and this machine has no internet.
 *
 * <p>Not thread-safe: one test thread drives it.
 */
final class Browser implements AutoCloseable {

  private static final Logger LOG = LoggerFactory.getLogger(Browser.class);
  static final Path CHROMIUM = Path.of(System.getProperty("it.chromium", "/usr/bin/chromium"));
  static final Path CHROMEDRIVER = Path.of(System.getProperty("it.chromedriver", "/usr/bin/chromedriver"));
  static final String INSTALL = "apt-get install -y chromium chromium-driver";

  private final String name;
  private final Path profile;
  private final ChromeDriverService service;
  private final ChromeDriver driver;
  private final Map<String, String> tabs = new LinkedHashMap<>();
  /** The window the browser started with, until a tab takes it. */
  private String unused;

  private Browser(String name, Path profile, ChromeDriverService service, ChromeDriver driver) {
    this.name = name;
    this.profile = profile;
    this.service = service;
    this.driver = driver;
    this.unused = driver.getWindowHandle();
  }

  /**
   * Null when Chromium and chromedriver are installed, else why not and how to install them, for a skip; under CI
   * ({@code CI=true}, as {@code .ci/run} runs) a missing browser fails instead, since {@code .ci/run} installs both.
   */
  static String unavailable() {
    List<String> missing = new ArrayList<>();
    for (Path p : List.of(CHROMIUM, CHROMEDRIVER)) {
      if (!Files.isExecutable(p)) {
        missing.add(p.toString());
      }
    }
    if (missing.isEmpty()) {
      return null;
    }
    String message = "the browser tests need headless Chromium and its driver, missing: " + missing
        + "; install them with: " + INSTALL + " (or set -Dit.chromium=... -Dit.chromedriver=...)";
    if ("true".equalsIgnoreCase(System.getenv("CI"))) {
      Assertions.fail(message + " (.ci/run installs them)");
    }
    return message;
  }

  /** Starts a browser whose driver log goes to {@code logDir/chromedriver-<name>.log}. */
  static Browser start(String name, Path logDir) throws IOException {
    Path profile = Files.createTempDirectory("wscluster-it-chromium-" + name + "-");
    Files.createDirectories(logDir);
    ChromeDriverService service = new ChromeDriverService.Builder()
        .usingDriverExecutable(CHROMEDRIVER.toFile())
        .usingAnyFreePort()
        .withLogFile(logDir.resolve("chromedriver-" + name + ".log").toFile())
        .build();
    ChromeOptions options = new ChromeOptions();
    options.setBinary(CHROMIUM.toFile());
    options.addArguments("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-dev-shm-usage",
        "--user-data-dir=" + profile, "--window-size=1200,860", "--lang=en-US");
    long t0 = System.nanoTime();
    ChromeDriver driver;
    try {
      driver = new ChromeDriver(service, options);
    } catch (RuntimeException e) {
      service.stop();
      RedisServer.deleteRecursively(profile);
      throw e;
    }
    LOG.info("browser {} started in {} ms: {}", name, (System.nanoTime() - t0) / 1_000_000,
        driver.getCapabilities().getBrowserVersion());
    return new Browser(name, profile, service, driver);
  }

  /** Opens {@code url} in the tab {@code tab} (a new one the first time) and leaves that tab in front. */
  Browser open(String tab, URI url) {
    if (tabs.containsKey(tab)) {
      driver.switchTo().window(tabs.get(tab));
    } else if (unused != null) {
      tabs.put(tab, unused);
      unused = null;
    } else {
      driver.switchTo().newWindow(WindowType.TAB);
      tabs.put(tab, driver.getWindowHandle());
    }
    driver.get(url.toString());
    return this;
  }

  /** Brings tab {@code tab} to the front: what the next calls act on. */
  Browser tab(String tab) {
    String handle = tabs.get(tab);
    if (handle == null) {
      throw new IllegalArgumentException("browser " + name + " has no tab '" + tab + "', only " + tabs.keySet());
    }
    driver.switchTo().window(handle);
    return this;
  }

  boolean hasTab(String tab) {
    return tabs.containsKey(tab);
  }

  ChromeDriver driver() {
    return driver;
  }

  /** Runs {@code script} (a function body: {@code return ...}) in the front tab. */
  Object js(String script, Object... args) {
    return ((JavascriptExecutor) driver).executeScript(script, args);
  }

  /** A PNG of the front tab's viewport. */
  Path screenshot(Path file) throws IOException {
    Files.createDirectories(file.getParent());
    Files.write(file, driver.getScreenshotAs(OutputType.BYTES));
    LOG.info("screenshot {}", file);
    return file;
  }

  @Override
  public void close() {
    try {
      driver.quit();
    } catch (RuntimeException e) {
      LOG.warn("browser {} did not quit cleanly", name, e);
    }
    service.stop();
    RedisServer.deleteRecursively(profile);
  }

  @Override
  public String toString() {
    return "browser " + name;
  }
}
