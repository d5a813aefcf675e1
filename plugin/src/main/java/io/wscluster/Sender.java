package io.wscluster;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.CompletableFuture;

/**
 * The application's side of sending, on its threads: gives a message the next sequence number,
 * admits it to the outage buffer, queues it for the {@link Publisher} and, local-first, for this
 * node's sessions ({@link LocalDelivery}), all under {@link Outgoing#lock} so that sequence order
 * = local delivery order = publish order for concurrent senders. A targeted message goes to
 * the owning nodes' channels only.
 */
final class Sender {
  private final String nodeId;
  private final int maxBytes;
  private final Channels channels;
  private final EnvelopeCodec codec;
  private final Publisher publisher;
  private final OutageBuffer buffer;
  private final LocalDelivery local;
  private final Receipts receipts;
  private final Membership membership;
  private final SessionRegistry registry;
  private final Stats stats;

  Sender(String nodeId, int maxBytes, Channels channels, EnvelopeCodec codec,
      Publisher publisher, OutageBuffer buffer, LocalDelivery local, Receipts receipts,
      Membership membership, SessionRegistry registry, Stats stats) {
    this.nodeId = nodeId;
    this.maxBytes = maxBytes;
    this.channels = channels;
    this.codec = codec;
    this.publisher = publisher;
    this.buffer = buffer;
    this.local = local;
    this.receipts = receipts;
    this.membership = membership;
    this.registry = registry;
    this.stats = stats;
  }

  /**
   * Sends to every session {@code target} matches. The stage completes once Redis took the
   * message, or fails when the outage buffer is full (the local sessions have it regardless) or
   * the node stopped first.
   */
  CompletableFuture<Void> send(Target target, byte[] payload, boolean binary, String text) {
    Objects.requireNonNull(target, "target");
    checkSize(payload.length);
    Payload frame = binary ? Payload.binary(payload) : Payload.text(text, payload);
    CompletableFuture<Void> done = new CompletableFuture<>();
    synchronized (publisher.outgoing.lock) {
      long seq = publisher.outgoing.nextSeq();
      byte[] encoded = codec.encode(new Envelope(Envelope.KIND_MESSAGE, nodeId, seq, target,
          binary, payload));
      if (!buffer.admit(encoded.length)) {
        local.queue(target, frame);
        stats.increment(Stats.PUBLISH_FAILED);
        done.completeExceptionally(buffer.full());
        return done;
      }
      List<String> streams = Streams.of(target, binary);
      publisher.outgoing.add(new Pending(encoded, done,
          routes(target, streams != null),
          channels.ofTarget(target), true,
          streams == null ? null : new Pending.Own(seq, target, frame, streams)));
      // publish first: the other nodes write to their sessions while this node writes here
      publisher.schedulePublish();
      local.queue(target, frame, streams != null);
    }
    stats.increment(Stats.PUBLISHED);
    return done;
  }

  /** Sends to the sessions of {@code target}, which names sessions and users only, with receipts. */
  CompletableFuture<Delivery> deliver(Target target, byte[] payload, boolean binary, String text) {
    Objects.requireNonNull(target, "target");
    if (!isRoutable(target)) {
      throw new IllegalArgumentException(target.isAll() || !target.rooms().isEmpty()
          ? "deliver takes sessions and users only (no rooms, not all), was " + target
          : "deliver needs at least one session or user, was " + target);
    }
    checkSize(payload.length);
    Payload frame = binary ? Payload.binary(payload) : Payload.text(text, payload);
    return receipts.deliver(target, payload, binary, frame);
  }

  /** {@link #checkSize(int)} of a text's UTF-8 bytes, counted only when they may be too many. */
  void checkSize(String text) {
    Objects.requireNonNull(text, "text");
    checkSize(text.length() > maxBytes / 3 ? text.getBytes(StandardCharsets.UTF_8).length
        : text.length());
  }

  void checkSize(int bytes) {
    if (bytes > maxBytes) {
      throw new IllegalArgumentException("message of " + bytes + " bytes exceeds "
          + WsClusterConfig.MESSAGE_MAX_BYTES + "=" + maxBytes);
    }
  }

  /**
   * Where a message for {@code target} is published when the directory decides: null (the
   * broadcast or rooms' channels, see {@link Channels#ofTarget}) for rooms and all; for sessions
   * and users the owners' channels only. If the directory knows no owner (a
   * session that opened a moment ago may not be written there yet), cannot answer or is not
   * there yet (the node runs local-only): to every node, unless every session it names is here.
   * A {@code recorded} message (see {@link HistoryPublish#deliverOwn}) to users with sessions
   * here, while own messages wait for their echo: on this node's channel too, where another
   * node's message to them comes.
   */
  private CompletableFuture<List<String>> routes(Target target, boolean recorded) {
    if (!isRoutable(target)) {
      return null;
    }
    boolean echo = recorded && !target.users().isEmpty() && publisher.recording.waitsForEcho();
    ClusterPresence p = membership.presence();
    return (p == null ? CompletableFuture.completedFuture(new HashMap<String, Set<String>>())
        : p.queries().owners(target).toCompletableFuture()).thenApply(owners -> {
          boolean here = owners.remove(nodeId) != null;
          List<String> to = owners.isEmpty() && !localOnly(target) ? List.of(channels.broadcast)
              : channels.ofNodes(owners.keySet(), nodeId);
          if (echo && here) {
            to = new ArrayList<>(to);
            to.add(channels.ofNode(nodeId));
          }
          return to;
        });
  }

  /** Whether every session the target names explicitly is one of ours (nothing to look for). */
  private boolean localOnly(Target target) {
    if (!target.users().isEmpty()) {
      return false;
    }
    for (String sid : target.sessions()) {
      if (registry.byId(sid) == null) {
        return false;
      }
    }
    return true;
  }

  /** Sessions and users only: the owners can be found in the directory. */
  static boolean isRoutable(Target target) {
    return !target.isAll() && target.rooms().isEmpty()
        && (!target.sessions().isEmpty() || !target.users().isEmpty());
  }
}
