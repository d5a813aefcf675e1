package io.wscluster;

/**
 * The channel names of one cluster, under its prefix p: {@code p:all}, which every node
 * subscribes to, and {@code p:node:<node id>}, which only that node subscribes to (routed
 * messages, receipts, resend requests and copies for it, its liveness probe). Immutable.
 */
final class Channels {
  private static final String NODE = ":node:";
  final String prefix;
  final String broadcast;

  Channels(String prefix) {
    this.prefix = prefix;
    this.broadcast = prefix + ":all";
  }

  String ofNode(String node) {
    return prefix + NODE + node;
  }

  /** The channels of {@code nodes}, but {@code except}'s. */
  java.util.List<String> ofNodes(java.util.Collection<String> nodes, String except) {
    java.util.List<String> out = new java.util.ArrayList<>(nodes.size());
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
}
