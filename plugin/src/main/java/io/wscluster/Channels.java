package io.wscluster;

import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.TreeSet;

/**
 * The channel names of one cluster, under its prefix p: {@code p:all}, which every node
 * subscribes to (messages to all); {@code p:node:<node id>}, which only that node subscribes to
 * (routed messages, receipts, resend requests and copies for it, its liveness probe); and
 * {@code p:room:<room>}, which a node subscribes to while the room has members on it (messages
 * to that room). Immutable.
 */
final class Channels {
  private static final String NODE = ":node:";
  private static final String ROOM = ":room:";
  final String prefix;
  final String broadcast;
  /** Whether messages to rooms go on the rooms' channels (else on the broadcast channel). */
  private final boolean roomChannels;

  Channels(String prefix) {
    this(prefix, true);
  }

  /**
   * @param roomChannels false: messages to rooms go on the broadcast channel, as every node's
   *     did before room channels; a test's and the benchmark's control, never configuration
   */
  Channels(String prefix, boolean roomChannels) {
    this.prefix = prefix;
    this.broadcast = prefix + ":all";
    this.roomChannels = roomChannels;
  }

  /**
   * The channels a message to {@code target} goes on when they follow from the target alone: its
   * rooms' channels for a target of rooms only (minus sessions excepted). Null for anything else:
   * all goes on the broadcast channel, sessions and users to their owners' channels, and a
   * target mixing rooms with sessions or users on the broadcast channel (the same envelope on a
   * room channel and a node channel would pass two dedup windows on a node that gets both).
   */
  List<String> ofTarget(Target target) {
    return roomChannels && !target.isAll() && !target.rooms().isEmpty()
        && target.users().isEmpty() && target.sessions().isEmpty()
        ? ofRooms(target.rooms()) : null;
  }

  String ofNode(String node) {
    return prefix + NODE + node;
  }

  String ofRoom(String room) {
    return prefix + ROOM + room;
  }

  /** The channels of {@code rooms}, in the rooms' order by name (equal sets, equal lists). */
  List<String> ofRooms(Collection<String> rooms) {
    List<String> out = new ArrayList<>(rooms.size());
    for (String room : new TreeSet<>(rooms)) {
      out.add(ofRoom(room));
    }
    return out;
  }

  /** The channels of {@code nodes}, but {@code except}'s. */
  List<String> ofNodes(Collection<String> nodes, String except) {
    List<String> out = new ArrayList<>(nodes.size());
    for (String node : nodes) {
      if (!node.equals(except)) {
        out.add(ofNode(node));
      }
    }
    return out;
  }

  /** The node whose channel {@code channel} is (a node channel of this prefix). */
  String nodeOf(String channel) {
    return channel.substring(prefix.length() + NODE.length());
  }

  /** The room whose channel {@code channel} is, or null for another channel. */
  String roomOf(String channel) {
    return channel.startsWith(ROOM, prefix.length()) && channel.startsWith(prefix)
        ? channel.substring(prefix.length() + ROOM.length()) : null;
  }
}
