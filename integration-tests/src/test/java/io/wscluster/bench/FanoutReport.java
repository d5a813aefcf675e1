package io.wscluster.bench;

import io.wscluster.it.Json;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.function.Function;

/**
 * Merges the phase lines of {@link FanoutBench} (one file each, in run order: cluster, local,
 * cluster, local, ...) into the fanout benchmark's result: a table on stderr and exactly one JSON
 * line on stdout with both phases, the clustered-to-local ratio and the machine.
 *
 * <p>Over several runs every figure of a phase is the median of its runs (the mean of the middle
 * two for an even count), except the correctness counts (expected, delivered, duplicates, lost,
 * unexpected messages, disconnects), which are totals; {@code perRun} keeps the main figures of each
 * run. The ratio is the median of the per-run ratios, each of a cluster phase and the local phase
 * that followed it. Exits 1 when any phase had a duplicate, a loss or an unexpected message.
 */
public final class FanoutReport {
  private FanoutReport() {}

  /** Counts that must be zero (or complete) in every run: added up, never a median. */
  private static final Set<String> TOTALS = Set.of("expected", "delivered", "duplicates", "lost",
      "unexpected", "disconnects");

  public static void main(String[] args) throws IOException {
    if (args.length == 0) {
      System.err.println("usage: FanoutReport PHASE_FILE...");
      System.exit(2);
    }
    List<Map<String, Object>> cluster = new ArrayList<>();
    List<Map<String, Object>> local = new ArrayList<>();
    List<Map<String, Object>> floor = new ArrayList<>();
    for (String file : args) {
      Map<String, Object> phase = Json.object(lastJsonLine(file));
      ("loopback-floor".equals(phase.get("workload")) ? floor
          : "local".equals(phase.get("phase")) ? local : cluster).add(phase);
    }
    Map<String, Object> report = report(cluster, local, floor);
    System.err.print(table(report));
    System.out.println(Json.write(report));
    System.exit(Boolean.TRUE.equals(report.get("ok")) ? 0 : 1);
  }

  static String lastJsonLine(String file) throws IOException {
    List<String> lines = Files.readAllLines(Paths.get(file));
    for (int i = lines.size() - 1; i >= 0; i--) {
      if (lines.get(i).startsWith("{")) {
        return lines.get(i);
      }
    }
    throw new IOException("no JSON line in " + file);
  }

  static Map<String, Object> report(List<Map<String, Object>> cluster,
      List<Map<String, Object>> local) {
    return report(cluster, local, List.of());
  }

  /**
   * As {@link #report(List, List)}, with the floor runs ({@link LoopbackFloor}): the machine's CPU
   * per delivery for bare loopback writes, and each phase's server CPU per delivery over it.
   */
  static Map<String, Object> report(List<Map<String, Object>> cluster,
      List<Map<String, Object>> local, List<Map<String, Object>> floor) {
    Map<String, Object> first = cluster.isEmpty() ? local.get(0) : cluster.get(0);
    Map<String, Object> r = new LinkedHashMap<>();
    r.put("workload", "fanout");
    r.put("runs", Math.max(cluster.size(), local.size()));
    for (String key : List.of("clients", "bytes", "rate", "window", "warmup", "threads")) {
      r.put(key, first.get(key));
    }
    r.put("messages", cluster.isEmpty() ? null : cluster.get(0).get("messages"));
    r.put("localMessages", local.isEmpty() ? null : local.get(0).get("messages"));
    r.put("cluster", cluster.isEmpty() ? null : phase(cluster));
    r.put("local", local.isEmpty() ? null : phase(local));
    List<Double> ratios = new ArrayList<>();
    for (int i = 0; i < Math.min(cluster.size(), local.size()); i++) {
      Double c = number(cluster.get(i).get("serverCpuSecondsPerMillionDeliveries"));
      Double l = number(local.get(i).get("serverCpuSecondsPerMillionDeliveries"));
      if (c != null && l != null && l > 0) {
        ratios.add(c / l);
      }
    }
    Map<String, Object> ratio = new LinkedHashMap<>();
    ratio.put("cpuPerDelivery", ratios.isEmpty() ? null : FanoutBench.round(median(ratios), 3));
    ratio.put("perRun", ratios.stream().map(x -> FanoutBench.round(x, 3)).toList());
    r.put("clusterOverLocal", ratios.isEmpty() ? null : ratio);
    if (!floor.isEmpty()) {
      List<Double> writes = floor.stream()
          .map(f -> number(f.get("writerCpuMicrosPerWrite"))).filter(Objects::nonNull).toList();
      double micros = median(writes);
      Map<String, Object> f = new LinkedHashMap<>();
      f.put("cpuMicrosPerDelivery", FanoutBench.round(micros, 3));
      f.put("perRun", writes.stream().map(x -> FanoutBench.round(x, 3)).toList());
      f.put("generatorSideCpuMicrosPerDelivery", FanoutBench.round(median(floor.stream()
          .map(x -> number(x.get("readerCpuMicrosPerWrite"))).filter(Objects::nonNull)
          .toList()), 3));
      for (String name : List.of("cluster", "local")) {
        @SuppressWarnings("unchecked")
        Map<String, Object> p = (Map<String, Object>) r.get(name);
        Double cpu = p == null ? null : number(p.get("serverCpuSecondsPerMillionDeliveries"));
        f.put(name + "OverFloor", cpu == null || micros <= 0 ? null
            : FanoutBench.round(cpu / micros, 3));
      }
      r.put("floor", f);
    }
    long duplicates = 0;
    long lost = 0;
    long unexpected = 0;
    for (Map<String, Object> p : concat(cluster, local)) {
      duplicates += ((Number) p.get("duplicates")).longValue();
      lost += ((Number) p.get("lost")).longValue();
      unexpected += ((Number) p.get("unexpected")).longValue();
    }
    r.put("duplicates", duplicates);
    r.put("lost", lost);
    r.put("ok", duplicates == 0 && lost == 0 && unexpected == 0);
    r.put("machine", first.get("machine"));
    return r;
  }

  /** The runs of one phase as one: medians, totals, and the main figures per run. */
  @SuppressWarnings("unchecked")
  static Map<String, Object> phase(List<Map<String, Object>> runs) {
    Map<String, Object> merged = (Map<String, Object>) merge("", new ArrayList<>(runs));
    merged.remove("phase");
    merged.remove("machine");
    if (runs.size() > 1) {
      Map<String, Object> perRun = new LinkedHashMap<>();
      perRun.put("deliveriesPerSec", pick(runs, p -> p.get("deliveriesPerSec")));
      perRun.put("p50", pick(runs, p -> ((Map<String, Object>) p.get("latencyMs")).get("p50")));
      perRun.put("p99", pick(runs, p -> ((Map<String, Object>) p.get("latencyMs")).get("p99")));
      perRun.put("serverCpuSecondsPerMillionDeliveries",
          pick(runs, p -> p.get("serverCpuSecondsPerMillionDeliveries")));
      perRun.put("generatorCores",
          pick(runs, p -> ((Map<String, Object>) p.get("loadGenerator")).get("cores")));
      merged.put("perRun", perRun);
    }
    return merged;
  }

  private static List<Object> pick(List<Map<String, Object>> runs,
      Function<Map<String, Object>, Object> field) {
    return runs.stream().map(field).toList();
  }

  /** One value from the same field of every run: see the class comment. */
  @SuppressWarnings("unchecked")
  private static Object merge(String key, List<Object> values) {
    if (key.equals("nodeCounters")) {
      return values.size() == 1 ? values.get(0) : values; // per node; per run, then per node
    }
    Object first = values.get(0);
    if (first instanceof Map<?, ?> map) {
      Map<String, Object> out = new LinkedHashMap<>();
      for (Object k : map.keySet()) {
        out.put((String) k, merge((String) k,
            values.stream().map(v -> v == null ? null : ((Map<String, Object>) v).get(k)).toList()));
      }
      return out;
    }
    if (first instanceof Number) {
      List<Double> numbers = values.stream().map(FanoutReport::number).filter(Objects::nonNull)
          .toList();
      if (TOTALS.contains(key)) {
        return numbers.stream().mapToLong(Double::longValue).sum();
      }
      double median = median(numbers);
      boolean integers = values.stream().allMatch(v -> v == null || v instanceof Long);
      return integers && median == Math.rint(median) ? (Object) (long) median
          : FanoutBench.round(median, 3);
    }
    if (first instanceof Boolean) {
      return values.stream().allMatch(Boolean.TRUE::equals);
    }
    if (first instanceof Object[] array) {
      if (array.length > 0 && array[0] instanceof Number) {
        List<Object> out = new ArrayList<>();
        for (int i = 0; i < array.length; i++) {
          int index = i;
          out.add(merge(key, values.stream().map(v -> ((Object[]) v)[index]).toList()));
        }
        return out;
      }
      List<Object> all = new ArrayList<>();
      for (int run = 0; run < values.size(); run++) {
        for (Object o : (Object[]) values.get(run)) {
          all.add(values.size() > 1 ? "run " + (run + 1) + ": " + o : o);
        }
      }
      return all;
    }
    return first;
  }

  static Double number(Object o) {
    return o instanceof Number n ? n.doubleValue() : null;
  }

  static double median(List<Double> values) {
    if (values.isEmpty()) {
      return Double.NaN;
    }
    double[] sorted = values.stream().mapToDouble(Double::doubleValue).sorted().toArray();
    int n = sorted.length;
    return n % 2 == 1 ? sorted[n / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
  }

  private static List<Map<String, Object>> concat(List<Map<String, Object>> a,
      List<Map<String, Object>> b) {
    List<Map<String, Object>> all = new ArrayList<>(a);
    all.addAll(b);
    return all;
  }

  // ---------------------------------------------------------------- the table

  @SuppressWarnings("unchecked")
  static String table(Map<String, Object> r) {
    List<Map<String, Object>> phases = new ArrayList<>();
    List<String> heads = new ArrayList<>();
    for (String name : List.of("cluster", "local")) {
      if (r.get(name) != null) {
        phases.add((Map<String, Object>) r.get(name));
        heads.add(name);
      }
    }
    StringBuilder sb = new StringBuilder();
    Object rate = r.get("rate");
    sb.append(String.format(Locale.ROOT, "fanout: %s clients, %s B messages, %s, %s warm-up"
        + " messages per phase; %s%n", r.get("clients"), r.get("bytes"),
        "max".equals(rate) ? "rate max (window " + r.get("window") + ")" : rate + " messages/s",
        r.get("warmup"), ((Number) r.get("runs")).intValue() > 1
            ? "medians of " + r.get("runs") + " runs" : "1 run"));
    row(sb, "", heads, head -> head);
    row(sb, "nodes, transport", phases, p -> p.get("nodes") + " " + p.get("transport"));
    row(sb, "measured messages", phases, p -> str(p.get("messages")));
    row(sb, "delivered / expected", phases, p -> p.get("delivered") + " / " + p.get("expected"));
    row(sb, "duplicates / lost / disconnects", phases,
        p -> p.get("duplicates") + " / " + p.get("lost") + " / " + p.get("disconnects"));
    row(sb, "deliveries/s", phases, p -> str(p.get("deliveriesPerSec")));
    row(sb, "latency p50 / p90 / p99 ms", phases, p -> {
      Map<String, Object> l = (Map<String, Object>) p.get("latencyMs");
      return str(l.get("p50")) + " / " + str(l.get("p90")) + " / " + str(l.get("p99"));
    });
    row(sb, "latency p99.9 / max ms", phases, p -> {
      Map<String, Object> l = (Map<String, Object>) p.get("latencyMs");
      return str(l.get("p999")) + " / " + str(l.get("max"));
    });
    row(sb, "server CPU-s per 1M deliveries", phases,
        p -> str(p.get("serverCpuSecondsPerMillionDeliveries")));
    row(sb, "  nodes + Redis CPU-s", phases,
        p -> str(p.get("nodeCpuSeconds")) + " + " + str(p.get("redisCpuSeconds")));
    row(sb, "peak RSS per node MiB", phases, p -> str(p.get("peakRssMib")));
    row(sb, "generator cores (machine share)", phases, p -> {
      Map<String, Object> g = (Map<String, Object>) p.get("loadGenerator");
      return str(g.get("cores")) + " (" + percent(g.get("machineShare")) + ")";
    });
    row(sb, "generator CPU-s per 1M deliveries", phases, p -> str(
        ((Map<String, Object>) p.get("loadGenerator")).get("cpuSecondsPerMillionDeliveries")));
    row(sb, "busiest generator thread", phases, p -> {
      Map<String, Object> g = (Map<String, Object>) p.get("loadGenerator");
      return g.get("busiestThread") + " " + percent(g.get("busiestThreadShare")) + " of wall";
    });
    row(sb, "machine busy; others' CPU-s", phases,
        p -> percent(p.get("machineBusyShare")) + "; " + str(p.get("otherCpuSeconds")));
    if (r.get("clusterOverLocal") != null) {
      Map<String, Object> ratio = (Map<String, Object>) r.get("clusterOverLocal");
      sb.append(String.format(Locale.ROOT, "  clustered / local server CPU per delivery: %s%n",
          str(ratio.get("cpuPerDelivery"))));
    }
    if (r.get("floor") != null) {
      Map<String, Object> f = (Map<String, Object>) r.get("floor");
      sb.append(String.format(Locale.ROOT, "  floor (bare loopback writes, no server): %s CPU-us "
          + "per delivery; server over floor: cluster %s, local %s%n",
          str(f.get("cpuMicrosPerDelivery")), str(f.get("clusterOverFloor")),
          str(f.get("localOverFloor"))));
    }
    for (int i = 0; i < phases.size(); i++) {
      List<Object> problems = (List<Object>) phases.get(i).get("problems");
      for (Object problem : problems) {
        sb.append("  ").append(heads.get(i)).append(' ').append(problem).append('\n');
      }
      if (!problems.isEmpty() && phases.get(i).get("nodeCounters") != null) {
        sb.append("  ").append(heads.get(i)).append(" node counters: ")
            .append(Json.write(phases.get(i).get("nodeCounters"))).append('\n');
      }
    }
    Map<String, Object> m = (Map<String, Object>) r.get("machine");
    sb.append(String.format(Locale.ROOT, "  machine: %s cores, %s, %s%n", m.get("cores"),
        m.get("cpu"), m.get("jdk")));
    sb.append(Boolean.TRUE.equals(r.get("ok")) ? "  OK: no duplicate, no loss\n"
        : "  FAILED: duplicates or loss (see above)\n");
    return sb.toString();
  }

  private static <T> void row(StringBuilder sb, String label, List<T> columns,
      Function<T, String> cell) {
    sb.append(String.format(Locale.ROOT, "  %-34s", label));
    for (T column : columns) {
      sb.append(String.format(Locale.ROOT, " %-30s", cell.apply(column)));
    }
    sb.append('\n');
  }

  static String str(Object o) {
    if (o == null) {
      return "-";
    }
    if (o instanceof Object[] a) {
      return String.join(" ", Arrays.stream(a).map(FanoutReport::str).toList());
    }
    if (o instanceof List<?> l) {
      return String.join(" ", l.stream().map(FanoutReport::str).toList());
    }
    if (o instanceof Double d && d == Math.rint(d) && Math.abs(d) < 1e15) {
      return Long.toString(d.longValue());
    }
    return o.toString();
  }

  private static String percent(Object share) {
    return share instanceof Number n
        ? String.format(Locale.ROOT, "%.1f%%", 100 * n.doubleValue()) : "-";
  }
}
