package io.wscluster;

import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Locale;
import org.openjdk.jmh.results.Result;
import org.openjdk.jmh.results.RunResult;
import org.openjdk.jmh.runner.Runner;
import org.openjdk.jmh.runner.format.OutputFormatFactory;
import org.openjdk.jmh.runner.options.CommandLineOptions;
import org.openjdk.jmh.runner.options.VerboseMode;

/**
 * Runs JMH with its usual command line (see bench/jmh.sh), its report on stderr, then prints one
 * JSON line on stdout: per benchmark and parameter set, the score with its error and unit (ns/op
 * as the benchmarks declare it) and, with {@code -prof gc}, the bytes allocated per operation.
 */
public final class JmhMain {
  private JmhMain() {}

  public static void main(String[] args) throws Exception {
    CommandLineOptions options = new CommandLineOptions(args);
    if (options.shouldHelp() || options.shouldList() || options.shouldListWithParams()
        || options.shouldListProfilers() || options.shouldListResultFormats()) {
      org.openjdk.jmh.Main.main(args);
      return;
    }
    Collection<RunResult> results = new Runner(options, OutputFormatFactory.createFormatInstance(
        System.err, options.verbosity().orElse(VerboseMode.NORMAL))).run();
    List<String> rows = new ArrayList<>();
    for (RunResult r : results) {
      String name = r.getParams().getBenchmark();
      Result<?> primary = r.getPrimaryResult();
      StringBuilder row = new StringBuilder("{\"benchmark\":")
          .append(quote(name.substring(name.lastIndexOf('.', name.lastIndexOf('.') - 1) + 1)));
      List<String> params = new ArrayList<>();
      for (String key : r.getParams().getParamsKeys()) {
        params.add(quote(key) + ":" + quote(r.getParams().getParam(key)));
      }
      row.append(",\"params\":{").append(String.join(",", params)).append('}');
      row.append(",\"score\":").append(number(primary.getScore()))
          .append(",\"error\":").append(number(primary.getScoreError()))
          .append(",\"unit\":").append(quote(primary.getScoreUnit()));
      Double allocated = null;
      for (String key : r.getSecondaryResults().keySet()) {
        if (key.endsWith("gc.alloc.rate.norm")) {
          allocated = r.getSecondaryResults().get(key).getScore();
        }
      }
      row.append(",\"bytesPerOp\":").append(allocated == null ? "null" : number(allocated));
      rows.add(row.append('}').toString());
    }
    System.out.println("{\"jmh\":" + quote(org.openjdk.jmh.util.Version.getPlainVersion())
        + ",\"jdk\":" + quote(System.getProperty("java.vm.name") + " "
        + System.getProperty("java.version"))
        + ",\"cores\":" + Runtime.getRuntime().availableProcessors()
        + ",\"results\":[" + String.join(",", rows) + "]}");
  }

  private static String number(double v) {
    return Double.isFinite(v) ? String.format(Locale.ROOT, "%.3f", v) : "null";
  }

  private static String quote(String s) {
    return "\"" + s.replace("\\", "\\\\").replace("\"", "\\\"") + "\"";
  }
}
