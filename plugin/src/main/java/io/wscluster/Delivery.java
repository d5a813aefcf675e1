package io.wscluster;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.Map;
import java.util.Set;

/**
 * The receipt of {@link WsCluster#deliver}: which sessions the message was written to, and which
 * it could not be written to, with the reason (session closed, outbox full, node gone, ...).
 * Immutable.
 */
public final class Delivery {
  private final Set<String> delivered;
  private final Map<String, String> failed;

  Delivery(Set<String> delivered, Map<String, String> failed) {
    this.delivered = Collections.unmodifiableSet(new LinkedHashSet<>(delivered));
    this.failed = Collections.unmodifiableMap(new LinkedHashMap<>(failed));
  }

  /** Ids of the sessions whose socket the message was written to. */
  public Set<String> delivered() {
    return delivered;
  }

  /** Ids of the targeted sessions the message could not be written to, with the reason. */
  public Map<String, String> failed() {
    return failed;
  }

  @Override
  public String toString() {
    // bounded: a receipt may list thousands of sessions, and this text goes into messages
    return "Delivery{delivered " + delivered.size() + " " + first(delivered) + ", failed "
        + failed.size() + " " + first(failed.entrySet()) + "}";
  }

  private static String first(java.util.Collection<?> items) {
    StringBuilder sb = new StringBuilder("[");
    int n = 0;
    for (Object item : items) {
      if (n++ == 10) {
        sb.append(", ...");
        break;
      }
      sb.append(n > 1 ? ", " : "").append(item);
    }
    return sb.append(']').toString();
  }
}
