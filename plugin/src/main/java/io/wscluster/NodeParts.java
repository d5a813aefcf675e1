package io.wscluster;

/**
 * Which components a node is built with. Production always runs {@link #DEFAULT}; every other
 * choice is a test's control that breaks a guarantee on purpose, to show a test sees the failure
 * it guards against. Chosen by ServletContext attributes named {@code io.wscluster.test.*} (set by
 * code, never by configuration) or by a unit test, and applied once, when the node is wired: no
 * protocol class checks a switch. Immutable.
 */
final class NodeParts {
  private static final int DEDUP = 1;
  private static final int CORE_WRITES = 1 << 1;
  private static final int REPLAY = 1 << 2;
  private static final int CHAINS = 1 << 3;
  private static final int FLOW_CONTROL = 1 << 4;
  private static final int ROOM_CHANNELS = 1 << 5;
  private static final int ROOM_GATE = 1 << 6;
  private static final int SEAM = 1 << 7;
  private static final int ECHO_ORDER = 1 << 8;

  static final NodeParts DEFAULT = new NodeParts(0);

  /** The switches turned off. */
  private final int off;

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
  /**
   * This node's recorded messages reach its tracked sessions with their echo, in the channel's
   * order ({@link HistoryPublish#echoed}), else (the control) as soon as the history answered:
   * they overtake other nodes' earlier messages and the offsets a client keeps go backwards.
   */
  final boolean echoOrder;

  private NodeParts(int off) {
    this.off = off;
    this.dedup = on(DEDUP);
    this.coreWrites = on(CORE_WRITES);
    this.replay = on(REPLAY);
    this.chains = on(CHAINS);
    this.flowControl = on(FLOW_CONTROL);
    this.roomChannels = on(ROOM_CHANNELS);
    this.roomGate = on(ROOM_GATE);
    this.seam = on(SEAM);
    this.echoOrder = on(ECHO_ORDER);
  }

  private boolean on(int part) {
    return (off & part) == 0;
  }

  private NodeParts with(int part, boolean on) {
    return new NodeParts(on ? off & ~part : off | part);
  }

  NodeParts dedup(boolean on) {
    return with(DEDUP, on);
  }

  NodeParts coreWrites(boolean on) {
    return with(CORE_WRITES, on);
  }

  NodeParts replay(boolean on) {
    return with(REPLAY, on);
  }

  NodeParts chains(boolean on) {
    return with(CHAINS, on);
  }

  NodeParts flowControl(boolean on) {
    return with(FLOW_CONTROL, on);
  }

  NodeParts roomChannels(boolean on) {
    return with(ROOM_CHANNELS, on);
  }

  NodeParts roomGate(boolean on) {
    return with(ROOM_GATE, on);
  }

  NodeParts seam(boolean on) {
    return with(SEAM, on);
  }

  NodeParts echoOrder(boolean on) {
    return with(ECHO_ORDER, on);
  }

  boolean isDefault() {
    return off == 0;
  }
}
