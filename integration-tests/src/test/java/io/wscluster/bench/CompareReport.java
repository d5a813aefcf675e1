package io.wscluster.bench;

import io.wscluster.it.Json;
import java.io.IOException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Merges the phase lines of {@link FanoutBench} written by bench/compare.sh (one file each; the
 * phase name in {@code phase}, the system in {@code protocol}: "ws" for wscluster, "socketio" for
 * the peer) into one comparison: a table on stderr and exactly one JSON line on stdout.
 *
 * <p>Per phase and system every figure is the median of its runs, the correctness counts totals
 * (as in {@link FanoutReport#phase}); the ratios are wscluster over socket.io of those medians,
 * and for server CPU per delivery also per run (the runs alternate, so run i of each system ran
 * under the same conditions) and the median of those. Exits 1 when wscluster had a duplicate, a
 * loss or a disconnect in any phase (socket.io's are reported, not judged), 2 on bad input.
 */
public final class CompareReport {
  private CompareReport() {}

  static final String WS = "ws";
  static final String SIO = "socketio";

  public static void main(String[] args) throws IOException {
    if (args.length == 0) {
      System.err.println("usage: CompareReport PHASE_FILE...");
      System.exit(2);
    }
    List<Map<String, Object>> lines = new ArrayList<>();
    for (String file : args) {
      lines.add(Json.object(FanoutReport.lastJsonLine(file)));
    }
    Map<String, Object> report = report(lines);
    System.err.print(table(report));
    System.out.println(Json.write(report));
    System.exit(Boolean.TRUE.equals(report.get("wsclusterClean")) ? 0 : 1);
  }

  static Map<String, Object> report(List<Map<String, Object>> lines) {
    // phase name -> protocol -> runs, in the order first seen
    Map<String, Map<String, List<Map<String, Object>>>> byPhase = new LinkedHashMap<>();
    for (Map<String, Object> line : lines) {
      byPhase.computeIfAbsent((String) line.get("phase"), k -> new LinkedHashMap<>())
          .computeIfAbsent((String) line.get("protocol"), k -> new ArrayList<>()).add(line);
    }
    Map<String, Object> first = lines.get(0);
    Map<String, Object> r = new LinkedHashMap<>();
    r.put("workload", "compare");
    r.put("peer", "socket.io 4.8 + @socket.io/redis-adapter 8.3");
    for (String key : List.of("nodes", "clients", "bytes", "threads")) {
      r.put(key, first.get(key));
    }
    // set by bench/compare.sh: --quick, and JVM options given to the wscluster nodes (tuning)
    r.put("quick", "1".equals(System.getenv("COMPARE_QUICK")));
    String opts = System.getenv("BENCH_NODE_OPTS");
    r.put("wsclusterNodeOpts", opts == null || opts.isBlank() ? null : opts.trim());
    Map<String, Object> phases = new LinkedHashMap<>();
    boolean clean = true;
    for (Map.Entry<String, Map<String, List<Map<String, Object>>>> e : byPhase.entrySet()) {
      Map<String, Object> p = new LinkedHashMap<>();
      List<Map<String, Object>> ws = e.getValue().getOrDefault(WS, List.of());
      List<Map<String, Object>> sio = e.getValue().getOrDefault(SIO, List.of());
      Map<String, Object> any = ws.isEmpty() ? sio.get(0) : ws.get(0);
      p.put("rate", any.get("rate"));
      p.put("window", any.get("window"));
      p.put("messages", any.get("messages"));
      p.put("warmup", any.get("warmup"));
      p.put("runs", Math.max(ws.size(), sio.size()));
      Map<String, Object> w = ws.isEmpty() ? null : FanoutReport.phase(ws);
      Map<String, Object> s = sio.isEmpty() ? null : FanoutReport.phase(sio);
      p.put("wscluster", w);
      p.put("socketio", s);
      if (w != null && s != null) {
        p.put("ratio", ratio(w, s, ws, sio));
      }
      if (w != null) {
        clean &= zero(w.get("duplicates")) && zero(w.get("lost")) && zero(w.get("disconnects"))
            && zero(w.get("unexpected"));
      }
      phases.put(e.getKey(), p);
    }
    r.put("phases", phases);
    r.put("wsclusterClean", clean);
    r.put("machine", first.get("machine"));
    return r;
  }

  private static boolean zero(Object o) {
    return o instanceof Number n && n.longValue() == 0;
  }

  /** wscluster over socket.io: of the medians, and for CPU per delivery also per run. */
  @SuppressWarnings("unchecked")
  private static Map<String, Object> ratio(Map<String, Object> w, Map<String, Object> s,
      List<Map<String, Object>> ws, List<Map<String, Object>> sio) {
    Map<String, Object> r = new LinkedHashMap<>();
    String cpu = "serverCpuSecondsPerMillionDeliveries";
    r.put("cpuPerDelivery", over(w.get(cpu), s.get(cpu)));
    List<Double> perRun = new ArrayList<>();
    for (int i = 0; i < Math.min(ws.size(), sio.size()); i++) {
      Double x = FanoutReport.number(ws.get(i).get(cpu));
      Double y = FanoutReport.number(sio.get(i).get(cpu));
      if (x != null && y != null && y > 0) {
        perRun.add(x / y);
      }
    }
    r.put("cpuPerDeliveryPerRun", perRun.stream().map(x -> FanoutBench.round(x, 3)).toList());
    r.put("cpuPerDeliveryMedianOfRuns",
        perRun.isEmpty() ? null : FanoutBench.round(FanoutReport.median(perRun), 3));
    r.put("deliveriesPerSec", over(w.get("deliveriesPerSec"), s.get("deliveriesPerSec")));
    Map<String, Object> wl = (Map<String, Object>) w.get("latencyMs");
    Map<String, Object> sl = (Map<String, Object>) s.get("latencyMs");
    for (String k : List.of("p50", "p99", "max")) {
      r.put(k, over(wl.get(k), sl.get(k)));
    }
    return r;
  }

  private static Number over(Object a, Object b) {
    Double x = FanoutReport.number(a);
    Double y = FanoutReport.number(b);
    return x == null || y == null || y == 0 ? null : FanoutBench.round(x / y, 3);
  }

  // ---------------------------------------------------------------- the table

  @SuppressWarnings("unchecked")
  static String table(Map<String, Object> r) {
    StringBuilder sb = new StringBuilder();
    sb.append(String.format(Locale.ROOT, "compare: wscluster vs %s; %s nodes each, %s clients, "
        + "%s B messages, a private Redis per run%s%n", r.get("peer"), r.get("nodes"), r.get("clients"),
        r.get("bytes"), Boolean.TRUE.equals(r.get("quick")) ? "; --quick: not a measurement" : ""));
    sb.append(r.get("wsclusterNodeOpts") == null ? "  both in their default configuration\n"
        : "  wscluster nodes with JVM options " + r.get("wsclusterNodeOpts") + "\n");
    Map<String, Object> phases = (Map<String, Object>) r.get("phases");
    String format = "  %-28s %-10s %12s  %-27s %-27s %s%n";
    boolean header = false;
    for (Map.Entry<String, Object> e : phases.entrySet()) {
      Map<String, Object> p = (Map<String, Object>) e.getValue();
      if (isOutage(p)) {
        continue;
      }
      if (!header) {
        sb.append(String.format(Locale.ROOT, format, "phase", "system", "deliveries/s",
            "latency p50 / p99 / max ms", "CPU-us/delivery (nodes+R)", "dup / lost / disc"));
        header = true;
      }
      String label = e.getKey() + ("max".equals(p.get("rate")) ? " (window " + p.get("window")
          + ")" : "") + ", " + p.get("messages") + " msgs";
      String runs = p.get("runs") + (((Number) p.get("runs")).intValue() == 1 ? " run" : " runs");
      boolean firstRow = true;
      for (String sys : List.of("wscluster", "socketio")) {
        Map<String, Object> m = (Map<String, Object>) p.get(sys);
        if (m == null) {
          continue;
        }
        Map<String, Object> l = (Map<String, Object>) m.get("latencyMs");
        sb.append(String.format(Locale.ROOT, format, firstRow ? label : "  median of " + runs,
            sys.equals("socketio") ? "socket.io" : sys, num(m.get("deliveriesPerSec")),
            num(l.get("p50")) + " / " + num(l.get("p99")) + " / " + num(l.get("max")),
            num(m.get("serverCpuSecondsPerMillionDeliveries")) + " (" + num(m.get("nodeCpuSeconds"))
                + " + " + num(m.get("redisCpuSeconds")) + " s)",
            m.get("duplicates") + " / " + m.get("lost") + " / " + m.get("disconnects")));
        firstRow = false;
      }
      Map<String, Object> q = (Map<String, Object>) p.get("ratio");
      if (q != null) {
        sb.append(String.format(Locale.ROOT, format, "", "ws / sio", num(q.get("deliveriesPerSec")),
            num(q.get("p50")) + " / " + num(q.get("p99")) + " / " + num(q.get("max")),
            num(q.get("cpuPerDelivery")) + " (runs " + String.join(" ",
                ((List<Object>) q.get("cpuPerDeliveryPerRun")).stream().map(CompareReport::num)
                    .toList()) + ")", ""));
      }
    }
    for (Map.Entry<String, Object> e : phases.entrySet()) {
      Map<String, Object> p = (Map<String, Object>) e.getValue();
      if (!isOutage(p)) {
        continue;
      }
      Map<String, Object> any = (Map<String, Object>) (p.get("wscluster") != null
          ? p.get("wscluster") : p.get("socketio"));
      Map<String, Object> o = (Map<String, Object>) any.get("outage");
      sb.append(String.format(Locale.ROOT, "  %s: R=%s, %s messages; Redis killed (kill -9) %s s"
          + " into the stream, restarted empty on the same port %s s later; %s%n", e.getKey(),
          p.get("rate"), p.get("messages"), FanoutReport.str(o.get("atSeconds")),
          FanoutReport.str(o.get("downSeconds")), ((Number) p.get("runs")).intValue() == 1
              ? "1 run" : "medians of " + p.get("runs") + " runs, counts totals"));
      String of = "  %-10s %9s  %-26s %-18s %9s %9s %9s %11s%n";
      sb.append(String.format(Locale.ROOT, of, "system", "sent down", "lost before/during/after",
          "dup / lost / disc", "held (a)", "all (b)", "new (c)", "1st disc"));
      for (String sys : List.of("wscluster", "socketio")) {
        Map<String, Object> m = (Map<String, Object>) p.get(sys);
        if (m == null) {
          continue;
        }
        Map<String, Object> x = (Map<String, Object>) m.get("outage");
        sb.append(String.format(Locale.ROOT, of, sys.equals("socketio") ? "socket.io" : sys,
            FanoutReport.str(x.get("sentDuringOutage")),
            FanoutReport.str(x.get("lostBefore")) + " / " + FanoutReport.str(x.get("lostDuring"))
                + " / " + FanoutReport.str(x.get("lostAfter")),
            m.get("duplicates") + " / " + m.get("lost") + " / " + m.get("disconnects"),
            ms(x.get("heldFlowingMs")), ms(x.get("allDeliveredMs")),
            ms(x.get("newMessagesWholeMs")),
            x.get("firstDisconnectMs") == null ? "-" : num(x.get("firstDisconnectMs"))));
        if (x.get("failure") != null) {
          sb.append("    outage failed: ").append(x.get("failure")).append('\n');
        }
      }
      sb.append("    ms from the restart: (a) a message sent while Redis was down first reaches a"
          + " client of another node;\n    (b) every message sent before the restart has reached"
          + " every client; (c) the first message sent after it has. never: it did not happen;\n"
          + "    1st disc: the first client connection that ended (negative: before the restart)\n");
    }
    for (Map.Entry<String, Object> e : phases.entrySet()) {
      Map<String, Object> p = (Map<String, Object>) e.getValue();
      for (String sys : List.of("wscluster", "socketio")) {
        Map<String, Object> m = (Map<String, Object>) p.get(sys);
        if (m == null) {
          continue;
        }
        // connection, publisher and outage problems first: they explain the losses that follow
        List<Object> problems = new ArrayList<>((List<Object>) m.get("problems"));
        problems.sort(java.util.Comparator.comparing(x -> String.valueOf(x).startsWith("lost")
            || String.valueOf(x).startsWith("duplicate")));
        for (int i = 0; i < Math.min(problems.size(), 4); i++) {
          sb.append("  ").append(e.getKey()).append(' ').append(sys).append(' ')
              .append(problems.get(i)).append('\n');
        }
        if (problems.size() > 4) {
          sb.append("  ").append(e.getKey()).append(' ').append(sys).append(" ... ")
              .append(problems.size() - 4).append(" more in the JSON\n");
        }
      }
    }
    Map<String, Object> m = (Map<String, Object>) r.get("machine");
    sb.append(String.format(Locale.ROOT, "  machine: %s cores, %s, %s%n", m.get("cores"),
        m.get("cpu"), m.get("jdk")));
    sb.append(Boolean.TRUE.equals(r.get("wsclusterClean"))
        ? "  wscluster: no duplicate, no loss, no disconnect in any phase\n"
        : "  wscluster: duplicates, loss or disconnects (see above)\n");
    return sb.toString();
  }

  @SuppressWarnings("unchecked")
  private static boolean isOutage(Map<String, Object> p) {
    for (String sys : List.of("wscluster", "socketio")) {
      Map<String, Object> m = (Map<String, Object>) p.get(sys);
      if (m != null && m.get("outage") != null) {
        return true;
      }
    }
    return false;
  }

  private static String ms(Object o) {
    return o == null ? "never" : num(o);
  }

  /** A figure for the table: 3 significant digits, whole numbers from 100 up; "-" for none. */
  static String num(Object o) {
    Double d = FanoutReport.number(o);
    if (d == null) {
      return o == null ? "-" : o.toString();
    }
    double a = Math.abs(d);
    return a >= 100 || o instanceof Long || o instanceof Integer
        ? String.format(Locale.ROOT, "%.0f", d)
        : a >= 10 ? String.format(Locale.ROOT, "%.1f", d)
        : a >= 1 ? String.format(Locale.ROOT, "%.2f", d) : String.format(Locale.ROOT, "%.3f", d);
  }
}
