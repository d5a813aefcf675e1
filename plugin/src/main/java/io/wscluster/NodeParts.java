package io.wscluster;

/**
 * Which components a node is built with. Production always runs {@link #DEFAULT}; every other
 * choice is a test's control that breaks a guarantee on purpose, to show a test sees the failure
 * it guards against. Chosen by ServletContext attributes named {@code io.wscluster.test.*} (set by
 * code, never by configuration) and applied once, when the node is wired: no protocol class
 * checks a switch. Immutable.
 */
final class NodeParts {
  static final NodeParts DEFAULT = new NodeParts(true, true, true, true, true, true, true, true);

  /** {@link Dedup#perOrigin}, else {@link Dedup#OFF}: clients see own echoes and repeats. */
  final boolean dedup;
  /** Writes through Jetty's core session where there is one, else the Jakarta API only. */
  final boolean coreWrites;
  /** An outage publishes again what Redis took in the second before ({@link FrameHistory}). */
  final boolean replay;
  /** {@link ChainSender#chained}, else {@link ChainSender#unchained}: a lost frame stays lost. */
  final boolean chains;
  /**
   * Outboxes judge clients by their byte bound and stall time ({@link OutboxLimits#of}), else
   * {@link OutboxLimits#unjudged}: a frame bound that a burst overruns.
   */
  final boolean flowControl;
  /**
   * Messages to rooms go on the rooms' channels ({@link Channels#ofTarget}), else on the
   * broadcast channel as before room channels existed (the benchmark's "before").
   */
  final boolean roomChannels;
  /**
   * A join is recorded in the directory once the room's channel is subscribed
   * ({@link Membership#onPresenceChange}), else at once: other nodes may find the member before
   * its node receives the room.
   */
  final boolean roomGate;
  /**
   * {@link Tracked} holds live messages behind a replay and drops the copies a session has, else
   * (the control) it writes them as they come: a resumed client sees repeats and disorder.
   */
  final boolean seam;

  private NodeParts(boolean dedup, boolean coreWrites, boolean replay, boolean chains,
      boolean flowControl, boolean roomChannels, boolean roomGate, boolean seam) {
    this.dedup = dedup;
    this.coreWrites = coreWrites;
    this.replay = replay;
    this.chains = chains;
    this.flowControl = flowControl;
    this.roomChannels = roomChannels;
    this.roomGate = roomGate;
    this.seam = seam;
  }

  NodeParts dedup(boolean on) {
    return new NodeParts(on, coreWrites, replay, chains, flowControl, roomChannels, roomGate, seam);
  }

  NodeParts coreWrites(boolean on) {
    return new NodeParts(dedup, on, replay, chains, flowControl, roomChannels, roomGate, seam);
  }

  NodeParts replay(boolean on) {
    return new NodeParts(dedup, coreWrites, on, chains, flowControl, roomChannels, roomGate, seam);
  }

  NodeParts chains(boolean on) {
    return new NodeParts(dedup, coreWrites, replay, on, flowControl, roomChannels, roomGate, seam);
  }

  NodeParts flowControl(boolean on) {
    return new NodeParts(dedup, coreWrites, replay, chains, on, roomChannels, roomGate, seam);
  }

  NodeParts roomChannels(boolean on) {
    return new NodeParts(dedup, coreWrites, replay, chains, flowControl, on, roomGate, seam);
  }

  NodeParts roomGate(boolean on) {
    return new NodeParts(dedup, coreWrites, replay, chains, flowControl, roomChannels, on, seam);
  }

  NodeParts seam(boolean on) {
    return new NodeParts(dedup, coreWrites, replay, chains, flowControl, roomChannels,
        roomGate, on);
  }

  boolean isDefault() {
    return dedup && coreWrites && replay && chains && flowControl && roomChannels && roomGate
        && seam;
  }
}
