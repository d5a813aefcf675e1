package io.wscluster;

import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.LongFunction;

/**
 * This node's envelopes waiting for the {@link Publisher}, in sequence order.
 *
 * <p>Threads: any thread queues, under {@link #lock}, which also hands out the sequence numbers
 * ({@link #nextSeq}): a sender that takes a number, writes its local sessions and queues the
 * envelope under the lock keeps sequence order = local delivery order = publish order. Only the
 * publisher thread takes envelopes out ({@link #peek}, {@link #poll}, {@link #batch}).
 */
final class Outgoing {
  /** Orders sends: held while a sequence number is taken and its envelope queued. */
  final Object lock = new Object();
  private final String nodeId;
  private final EnvelopeCodec codec;
  private final OutageBuffer buffer;
  private final AtomicLong sequence = new AtomicLong();
  private final ConcurrentLinkedQueue<Pending> queue = new ConcurrentLinkedQueue<>();

  Outgoing(String nodeId, EnvelopeCodec codec, OutageBuffer buffer) {
    this.nodeId = nodeId;
    this.codec = codec;
    this.buffer = buffer;
  }

  /** The next sequence number of this node; under {@link #lock} where order matters. */
  long nextSeq() {
    return sequence.incrementAndGet();
  }

  /** Under {@link #lock}: queues an envelope; the publisher must be told to publish it. */
  void add(Pending p) {
    queue.add(p);
  }

  /**
   * Queues an envelope of this node's own (a receipt or a sync; no application message) for
   * {@code to} (null: the broadcast channel) with the next sequence number. {@code counted}: in
   * the outage buffer, whatever it holds (receipts); syncs are not, as they are no messages.
   */
  void add(LongFunction<Envelope> envelope, CompletableFuture<List<String>> to, boolean counted) {
    synchronized (lock) {
      byte[] encoded = codec.encode(envelope.apply(nextSeq()));
      if (counted) {
        buffer.admitted(encoded.length);
      }
      queue.add(new Pending(encoded, new CompletableFuture<>(), to, counted));
    }
  }

  /** A sync for a room channel: queued like a room message, with the channel known at once. */
  void addSync(String roomChannel) {
    synchronized (lock) {
      queue.add(new Pending(codec.encode(Envelope.sync(nodeId, nextSeq())),
          new CompletableFuture<>(), null, List.of(roomChannel), false, null));
    }
  }

  /** What is queued, oldest first: a snapshot, for tests. */
  List<Pending> queued() {
    return List.copyOf(queue);
  }

  Pending peek() {
    return queue.peek();
  }

  Pending poll() {
    return queue.poll();
  }

  boolean isEmpty() {
    return queue.isEmpty();
  }

  int size() {
    return queue.size();
  }

  /**
   * Publisher thread: takes the head and the envelopes behind it for the same channels (a burst
   * to one room, or to all), which share a frame: at most
   * {@link EnvelopeCodec#MAX_ENVELOPES_PER_FRAME} and, past the first, {@code maxBytes} in all. The head must have no lookup
   * ({@link Pending#channels} null); a routed envelope ends the batch.
   */
  List<Pending> batch(int maxBytes) {
    List<String> to = queue.peek().to;
    List<Pending> batch = new ArrayList<>();
    int bytes = EnvelopeCodec.HEADER_BYTES;
    Pending p;
    while (batch.size() < EnvelopeCodec.MAX_ENVELOPES_PER_FRAME && (p = queue.peek()) != null) {
      if (p.channels != null || !Objects.equals(p.to, to)
          || !batch.isEmpty() && bytes + p.envelope.length > maxBytes) {
        break;
      }
      queue.poll();
      batch.add(p);
      bytes += p.envelope.length;
    }
    return batch;
  }

  /** Once the publisher thread ended: everything still queued, which is forgotten. */
  List<Pending> drain() {
    List<Pending> all = new ArrayList<>(queue);
    queue.clear();
    return all;
  }
}
