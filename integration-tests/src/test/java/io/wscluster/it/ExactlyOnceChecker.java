package io.wscluster.it;

import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Predicate;

/**
 * Counts deliveries per (client, message text) and compares them with the intended recipients of each message:
 * every intended client exactly once, every other client never. Messages are identified by their text T, which
 * tests make unique; only deliveries whose text is in scope (e.g. starts with the run's id prefix) are examined, so
 * the fences and earlier traffic do not interfere.
 *
 * <p>The checker is plain data in, report out, so the negative control can assert that it does report duplicates.
 */
final class ExactlyOnceChecker {

  private final Map<String, Set<TestClient>> intended = new LinkedHashMap<>();

  /** Declares that {@code text} must reach exactly {@code recipients}, once each. */
  ExactlyOnceChecker expect(String text, Collection<TestClient> recipients) {
    if (intended.putIfAbsent(text, new LinkedHashSet<>(recipients)) != null) {
      throw new IllegalArgumentException("message text used twice: " + text);
    }
    return this;
  }

  Set<String> texts() {
    return intended.keySet();
  }

  /** The intended recipients of a declared text. */
  Set<TestClient> intended(String text) {
    Set<TestClient> recipients = intended.get(text);
    if (recipients == null) {
      throw new IllegalArgumentException("undeclared message text: " + text);
    }
    return recipients;
  }

  /** One (client, text) cell where the count is wrong. */
  record Problem(String client, String text, int expected, int actual) {
    @Override
    public String toString() {
      return client + " got '" + text + "' " + actual + "x, expected " + expected + "x";
    }
  }

  /** The outcome; {@link #duplicateCopies} counts surplus copies (actual - 1 where actual > 1). */
  record Report(int checkedCells, int duplicateCopies, List<Problem> duplicates, List<Problem> missing,
      List<Problem> unexpected) {

    boolean exactlyOnce() {
      return duplicates.isEmpty() && missing.isEmpty() && unexpected.isEmpty();
    }

    void assertExactlyOnce(String what) {
      if (!exactlyOnce()) {
        throw new AssertionError(what + ": not exactly-once over " + checkedCells + " (client, message) cells: "
            + duplicates.size() + " duplicated (" + duplicateCopies + " surplus copies), "
            + missing.size() + " missing, " + unexpected.size() + " unexpected recipients"
            + sample("duplicated", duplicates) + sample("missing", missing) + sample("unexpected", unexpected));
      }
    }

    private static String sample(String label, List<Problem> problems) {
      if (problems.isEmpty()) {
        return "";
      }
      return "\n  " + label + ": " + problems.subList(0, Math.min(20, problems.size()))
          + (problems.size() > 20 ? " ... (" + problems.size() + " in all)" : "");
    }

    /** Per client, how many messages are missing and the first few of them. */
    String missingSummary() {
      Map<String, List<String>> byClient = new java.util.TreeMap<>();
      for (Problem p : missing) {
        byClient.computeIfAbsent(p.client(), k -> new ArrayList<>()).add(p.text());
      }
      StringBuilder out = new StringBuilder("missing per client:");
      byClient.forEach((client, texts) -> out.append(' ').append(client).append('=').append(texts.size())
          .append(' ').append(texts.subList(0, Math.min(10, texts.size()))));
      return out.toString();
    }

    @Override
    public String toString() {
      return "Report[cells=" + checkedCells + ", duplicated=" + duplicates.size() + " (" + duplicateCopies
          + " surplus), missing=" + missing.size() + ", unexpected=" + unexpected.size() + "]";
    }
  }

  /**
   * Checks every client against every declared message. {@code inScope} selects which delivered texts are examined
   * for "unexpected" (any in-scope text that was never declared is an unexpected delivery too).
   */
  Report check(Collection<TestClient> clients, Predicate<String> inScope) {
    List<Problem> duplicates = new ArrayList<>();
    List<Problem> missing = new ArrayList<>();
    List<Problem> unexpected = new ArrayList<>();
    int surplus = 0;
    int cells = 0;
    for (TestClient client : clients) {
      Map<String, Integer> counts = new HashMap<>();
      for (String text : client.deliveries()) {
        if (inScope.test(text) || intended.containsKey(text)) {
          counts.merge(text, 1, Integer::sum);
        }
      }
      for (Map.Entry<String, Set<TestClient>> e : intended.entrySet()) {
        cells++;
        int expected = e.getValue().contains(client) ? 1 : 0;
        int actual = counts.getOrDefault(e.getKey(), 0);
        if (actual > 1) {
          duplicates.add(new Problem(client.label(), e.getKey(), expected, actual));
          surplus += actual - 1;
        }
        if (expected == 1 && actual == 0) {
          missing.add(new Problem(client.label(), e.getKey(), 1, 0));
        } else if (expected == 0 && actual > 0) {
          unexpected.add(new Problem(client.label(), e.getKey(), 0, actual));
        }
      }
      for (Map.Entry<String, Integer> e : counts.entrySet()) {
        if (!intended.containsKey(e.getKey())) {
          unexpected.add(new Problem(client.label(), e.getKey(), 0, e.getValue()));
          if (e.getValue() > 1) {
            duplicates.add(new Problem(client.label(), e.getKey(), 0, e.getValue()));
            surplus += e.getValue() - 1;
          }
        }
      }
    }
    return new Report(cells, surplus, duplicates, missing, unexpected);
  }
}
