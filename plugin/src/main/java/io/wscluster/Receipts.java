package io.wscluster;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;
import java.util.concurrent.Future;
import java.util.concurrent.RejectedExecutionException;
import java.util.function.Function;

/**
 * Targeted delivery with receipts, both sides: {@link #deliver} sends a message to the nodes that
 * own its sessions and waits for one receipt from each (see {@link PendingDelivery}); a node that
 * receives such a message writes it to its sessions and answers with a receipt listing them
 * ({@link #deliverAndConfirm}).
 *
 * <p>Threads: {@link #deliver} on app threads; receipts and messages on the dispatcher; node
 * changes on the presence heartbeat; timeouts on the timer. Thread-safe.
 */
final class Receipts {
  private final String nodeId;
  private final Channels channels;
  private final EnvelopeCodec codec;
  private final Publisher publisher;
  private final OutageBuffer buffer;
  private final LocalDelivery local;
  private final Stats stats;
  private final Scheduler timer;
  private final long timeoutNanos;
  /** The owning nodes of a target and their sessions there; fails while not joined. */
  private final Function<Target, CompletableFuture<Map<String, Set<String>>>> owners;
  private final ConcurrentMap<Long, PendingDelivery> deliveries = new ConcurrentHashMap<>();
  private volatile boolean running = true;

  Receipts(String nodeId, Channels channels, EnvelopeCodec codec, Publisher publisher,
      OutageBuffer buffer, LocalDelivery local, Stats stats, Scheduler timer, long timeoutNanos,
      Function<Target, CompletableFuture<Map<String, Set<String>>>> owners) {
    this.nodeId = nodeId;
    this.channels = channels;
    this.codec = codec;
    this.publisher = publisher;
    this.buffer = buffer;
    this.local = local;
    this.stats = stats;
    this.timer = timer;
    this.timeoutNanos = timeoutNanos;
    this.owners = owners;
  }

  /**
   * App thread: writes the message to this node's sessions of {@code target}, looks up the
   * owners of the others and publishes it to their channels; the result completes once every
   * owner confirmed or is known gone, or fails on the timeout.
   */
  CompletableFuture<Delivery> deliver(Target target, byte[] payload, boolean binary,
      Payload frame) {
    PendingDelivery pd;
    synchronized (publisher.outgoing.lock) {
      long seq = publisher.outgoing.nextSeq();
      byte[] encoded = codec.encode(new Envelope(Envelope.KIND_MESSAGE, nodeId, seq, target,
          binary, payload, true));
      pd = new PendingDelivery(nodeId, seq, target);
      deliveries.put(seq, pd);
      pd.expect(nodeId, Set.of());
      Map<String, String> here = new ConcurrentHashMap<>();
      local.writeRecording(target, frame, here).thenRun(() -> pd.report(nodeId, here));
      CompletableFuture<List<String>> to = owners.apply(target).handle((found, error) -> {
        if (error != null) {
          pd.failLookup(error);
          return List.of();
        }
        found.remove(nodeId);
        found.forEach(pd::expect);
        pd.lookupDone();
        return channels.ofNodes(found.keySet(), nodeId);
      });
      buffer.admitted(encoded.length);
      publisher.outgoing.add(new Pending(encoded, new CompletableFuture<>(), to, true));
    }
    stats.increment(Stats.PUBLISHED);
    publisher.schedulePublish();
    try {
      Future<?> timeout = timer.schedule(() -> pd.fail(DeliveryException.Reason.TIMEOUT,
          "not every owning node confirmed within " + WsClusterConfig.RECEIPT_TIMEOUT + "="
              + timeoutNanos / 1_000_000 + "ms"), timeoutNanos);
      pd.result.whenComplete((d, e) -> timeout.cancel(false));
    } catch (RejectedExecutionException stopping) {
      pd.fail(DeliveryException.Reason.NODE_GONE, "wscluster node " + nodeId + " stopped");
    }
    pd.result.whenComplete((d, e) -> deliveries.remove(pd.seq));
    return pd.result;
  }

  /** Dispatcher thread: a receipt (or one part of it) for one of this node's deliveries. */
  void onReceipt(Envelope e) {
    PendingDelivery pd = deliveries.get(e.ref);
    if (pd != null) {
      pd.report(e.origin, e.results, !e.binary);
    }
  }

  /**
   * Dispatcher thread: writes a message that asked for a receipt to the local sessions it
   * targets, then (when every write completed) sends the origin one receipt listing them, plus
   * the targeted session ids that are not here.
   */
  void deliverAndConfirm(Envelope e, Payload frame) {
    Map<String, String> results = new ConcurrentHashMap<>();
    CompletableFuture<Void> written = local.writeRecording(e.target, frame, results);
    for (String sid : e.target.sessions()) {
      if (!e.target.except().contains(sid)) {
        results.putIfAbsent(sid, PendingDelivery.NOT_CONNECTED); // a write's result replaces it
      }
    }
    written.thenRun(() -> sendReceipt(e.origin, e.seq, results));
  }

  /** Any thread: queues a receipt for {@code origin}'s message {@code ref} on its channel. */
  private void sendReceipt(String origin, long ref, Map<String, String> results) {
    if (!running) {
      return;
    }
    // a receipt carries at most MAX_SET_SIZE results: larger ones go in several, the last marked
    List<Map<String, String>> chunks = new ArrayList<>();
    Map<String, String> chunk = new LinkedHashMap<>();
    for (Map.Entry<String, String> r : results.entrySet()) {
      if (chunk.size() == EnvelopeCodec.MAX_SET_SIZE) {
        chunks.add(chunk);
        chunk = new LinkedHashMap<>();
      }
      chunk.put(r.getKey(), r.getValue());
    }
    chunks.add(chunk);
    CompletableFuture<List<String>> to =
        CompletableFuture.completedFuture(List.of(channels.ofNode(origin)));
    synchronized (publisher.outgoing.lock) { // the chunks one after another
      for (int i = 0; i < chunks.size(); i++) {
        Map<String, String> part = chunks.get(i);
        boolean more = i < chunks.size() - 1;
        publisher.outgoing.add(seq -> Envelope.receipt(nodeId, seq, ref, part, more), to,
            true);
      }
    }
    stats.add(Stats.RECEIPTS_SENT, chunks.size());
    publisher.schedulePublish();
  }

  /**
   * Presence heartbeat: the live nodes, read from a start time. A delivery whose lookup finished
   * before that read and which still waits on a node the read did not list waits on a node that
   * is gone (a node's lease is written before any of its sessions, so the read would have listed
   * it): a node that joined and left between two heartbeats is never reported otherwise.
   */
  void onLeases(Set<String> live, long readStartedNanos) {
    for (PendingDelivery pd : deliveries.values()) {
      if (pd.lookedUpBefore(readStartedNanos)) {
        for (String node : pd.waitingOn()) {
          if (!live.contains(node)) {
            pd.nodeGone(node);
          }
        }
      }
    }
  }

  /** Presence heartbeat: a node left; deliveries waiting on it fail its part at once. */
  void onNodeGone(String node) {
    for (PendingDelivery pd : deliveries.values()) {
      pd.nodeGone(node);
    }
  }

  /** The node stops: no more receipts, and every delivery still waiting fails. */
  void stop() {
    running = false;
    for (PendingDelivery pd : deliveries.values()) {
      pd.fail(DeliveryException.Reason.NODE_GONE, "wscluster node " + nodeId + " stopped");
    }
  }
}
