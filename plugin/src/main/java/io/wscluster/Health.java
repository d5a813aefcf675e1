package io.wscluster;

/**
 * A node's view of its own cluster link, from {@link WsCluster#health()}: whether messages flow
 * end to end, not merely whether a TCP connection is open. Immutable; a snapshot.
 */
public final class Health {
  private final boolean running;
  private final boolean joined;
  private final boolean delivering;
  private final long probeRoundTripMicros;
  private final int liveNodes;
  private final int queuedMessages;
  private final long heldForMillis;

  Health(boolean running, boolean joined, boolean delivering, long probeRoundTripMicros,
      int liveNodes, int queuedMessages, long heldForMillis) {
    this.running = running;
    this.joined = joined;
    this.delivering = delivering;
    this.probeRoundTripMicros = probeRoundTripMicros;
    this.liveNodes = liveNodes;
    this.queuedMessages = queuedMessages;
    this.heldForMillis = heldForMillis;
  }

  /** Running, messages flowing, nothing held back: the node is fully part of the cluster. */
  public boolean ok() {
    return running && joined && delivering && heldForMillis == 0;
  }

  /** The node is started and not yet stopped. */
  public boolean running() {
    return running;
  }

  /**
   * The node reached Redis and subscribed: false while it runs local-only because Redis was
   * unreachable when it started (its sends reach its own sessions and wait in
   * {@link #queuedMessages} to be published; it keeps trying to join).
   */
  public boolean joined() {
    return joined;
  }

  /**
   * The last liveness probe (a message this node publishes to itself every heartbeat) was taken
   * by Redis and came back through the node's subscription in time.
   */
  public boolean delivering() {
    return delivering;
  }

  /** Round trip of the last probe that came back, in microseconds; -1 before the first. */
  public long probeRoundTripMicros() {
    return probeRoundTripMicros;
  }

  /** Nodes the last lease read listed as live, this one included. */
  public int liveNodes() {
    return liveNodes;
  }

  /** Messages waiting to be published (the outage buffer's fill). */
  public int queuedMessages() {
    return queuedMessages;
  }

  /**
   * How long the oldest held message has waited for Redis or for every node's subscription, in
   * milliseconds; 0 when none is held.
   */
  public long heldForMillis() {
    return heldForMillis;
  }

  @Override
  public String toString() {
    return "{\"ok\":" + ok() + ",\"running\":" + running + ",\"joined\":" + joined
        + ",\"delivering\":" + delivering
        + ",\"probeRoundTripMicros\":" + probeRoundTripMicros + ",\"liveNodes\":" + liveNodes
        + ",\"queuedMessages\":" + queuedMessages + ",\"heldForMillis\":" + heldForMillis + "}";
  }
}
