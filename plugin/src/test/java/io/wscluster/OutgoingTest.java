package io.wscluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import org.junit.jupiter.api.Test;

/**
 * The queue between the senders and the publisher: sequence numbers under the lock, and which
 * envelopes share a frame.
 */
class OutgoingTest {
  private final Stats stats = new Stats();
  private final OutageBuffer buffer =
      new OutageBuffer("n", WsClusterConfig.builder().build(), stats);
  private final Outgoing outgoing = new Outgoing("n", new EnvelopeCodec(1 << 20), buffer);

  private Pending envelope(int bytes, List<String> to) {
    return new Pending(new byte[bytes], new CompletableFuture<>(), null, to, true, null);
  }

  @Test
  void batch_sameChannelsShareAFrame_otherChannelsStartTheNext() {
    List<String> room = List.of("t:room:r");
    outgoing.add(envelope(10, null));
    outgoing.add(envelope(10, null));
    outgoing.add(envelope(10, room));
    outgoing.add(envelope(10, room));
    outgoing.add(envelope(10, null));

    assertEquals(2, outgoing.batch(1 << 20).size());
    List<Pending> second = outgoing.batch(1 << 20);
    assertEquals(2, second.size());
    assertEquals(room, second.get(0).to);
    assertEquals(1, outgoing.batch(1 << 20).size());
    assertTrue(outgoing.isEmpty());
  }

  @Test
  void batch_aRoutedEnvelopeEndsIt() {
    outgoing.add(envelope(10, null));
    outgoing.add(new Pending(new byte[10], new CompletableFuture<>(),
        CompletableFuture.completedFuture(List.of("t:node:b")), true));
    outgoing.add(envelope(10, null));

    assertEquals(1, outgoing.batch(1 << 20).size());
    assertEquals(2, outgoing.size(), "the routed one and the one behind it wait");
    assertTrue(outgoing.peek().channels != null, "the routed one is next, in a frame of its own");
  }

  @Test
  void batch_pastMaxBytes_theRestWaits_butALargeEnvelopeStillGoesAlone() {
    outgoing.add(envelope(100, null));
    outgoing.add(envelope(100, null));
    outgoing.add(envelope(100, null));
    outgoing.add(envelope(1000, null));

    assertEquals(2, outgoing.batch(EnvelopeCodec.HEADER_BYTES + 250).size());
    assertEquals(1, outgoing.batch(EnvelopeCodec.HEADER_BYTES + 250).size());
    assertEquals(1, outgoing.batch(EnvelopeCodec.HEADER_BYTES + 250).size(), "alone, too large");
  }

  @Test
  void add_underTheLock_sequenceOrderIsQueueOrder_forConcurrentSenders() throws Exception {
    int threads = 4;
    int each = 2000;
    CountDownLatch go = new CountDownLatch(1);
    List<Thread> senders = new ArrayList<>();
    for (int t = 0; t < threads; t++) {
      Thread s = new Thread(() -> {
        try {
          go.await();
        } catch (InterruptedException e) {
          return;
        }
        for (int i = 0; i < each; i++) {
          outgoing.add(seq -> Envelope.sync("n", seq), null, false);
        }
      });
      s.start();
      senders.add(s);
    }
    go.countDown();
    for (Thread s : senders) {
      s.join();
    }

    EnvelopeCodec codec = new EnvelopeCodec(1 << 20);
    List<Pending> queued = outgoing.queued();
    assertEquals(threads * each, queued.size());
    for (int i = 0; i < queued.size(); i++) {
      assertEquals(i + 1, codec.decode(codec.frame(List.of(queued.get(i).envelope))).get(0).seq,
          "position " + i);
    }
    assertEquals(0, buffer.messages(), "syncs are not counted in the outage buffer");
  }
}
