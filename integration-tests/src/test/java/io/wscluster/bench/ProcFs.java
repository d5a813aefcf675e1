package io.wscluster.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Paths;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * What the benchmarks read from Linux's /proc about processes and the machine. Every reader
 * answers -1 (or "unknown") where /proc does not have it, so a run elsewhere still reports the
 * rest. CPU times are in clock ticks, 100 per second ({@code USER_HZ} on every Linux this runs on).
 */
final class ProcFs {
  static final double TICKS_PER_SECOND = 100.0;

  private ProcFs() {}

  /** utime + stime of a process, all its threads, in ticks; -1 if it cannot be read. */
  static long cpuTicks(long pid) {
    try {
      String stat = Files.readString(Paths.get("/proc/" + pid + "/stat"));
      // fields after the command name, which is in parentheses and may contain spaces
      String[] f = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
      return Long.parseLong(f[11]) + Long.parseLong(f[12]);
    } catch (IOException | RuntimeException e) {
      return -1;
    }
  }

  /** The peak resident set of a process (VmHWM) in MiB; -1 if it cannot be read. */
  static double peakRssMib(long pid) {
    try {
      for (String line : Files.readAllLines(Paths.get("/proc/" + pid + "/status"))) {
        if (line.startsWith("VmHWM:")) {
          return Long.parseLong(line.substring(6).trim().split("\\s+")[0]) / 1024.0;
        }
      }
    } catch (IOException | RuntimeException e) {
      // not Linux, or the process is gone
    }
    return -1;
  }

  /**
   * The whole machine's CPU time since boot from /proc/stat, in ticks: {busy, total} summed over
   * all cores (busy is everything but idle and iowait); null if it cannot be read.
   */
  static long[] machineTicks() {
    try {
      String[] f = Files.readAllLines(Paths.get("/proc/stat")).get(0).trim().split("\\s+");
      long total = 0;
      for (int i = 1; i < Math.min(f.length, 9); i++) { // user..steal; guest is inside user
        total += Long.parseLong(f[i]);
      }
      long idle = Long.parseLong(f[4]) + Long.parseLong(f[5]);
      return new long[] {total - idle, total};
    } catch (IOException | RuntimeException e) {
      return null;
    }
  }

  /** The soft limit on open files of this process, from /proc/self/limits; -1 if unknown. */
  static long openFilesLimit() {
    try {
      for (String line : Files.readAllLines(Paths.get("/proc/self/limits"))) {
        if (line.startsWith("Max open files")) {
          String soft = line.substring("Max open files".length()).trim().split("\\s+")[0];
          return soft.equals("unlimited") ? Long.MAX_VALUE : Long.parseLong(soft);
        }
      }
    } catch (IOException | RuntimeException e) {
      // not Linux
    }
    return -1;
  }

  /** The machine for a report: cores, CPU model, JDK. */
  static Map<String, Object> machine() {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("cores", Runtime.getRuntime().availableProcessors());
    m.put("cpu", cpuModel());
    m.put("jdk", System.getProperty("java.vm.name") + " " + System.getProperty("java.version"));
    return m;
  }

  private static String cpuModel() {
    try {
      for (String line : Files.readAllLines(Paths.get("/proc/cpuinfo"))) {
        if (line.startsWith("model name")) {
          return line.substring(line.indexOf(':') + 1).trim();
        }
      }
    } catch (IOException | RuntimeException e) {
      // not Linux
    }
    return "unknown";
  }
}
