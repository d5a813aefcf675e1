package io.wscluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.wscluster.spi.Transport;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.function.Supplier;
import org.junit.jupiter.api.Test;

/** The outage-hold-off hook: whatever the real publish did, the node hears everyone received it. */
class UnheldTransportTest {

  private static Transport publishing(Supplier<CompletionStage<Long>> outcome) {
    return new Transport() {
      @Override
      public void start(Receiver receiver) {
      }

      @Override
      public CompletionStage<Void> subscribe(String channel) {
        return CompletableFuture.completedFuture(null);
      }

      @Override
      public CompletionStage<Long> publish(String channel, byte[] frame) {
        return outcome.get();
      }

      @Override
      public void stop() {
      }
    };
  }

  private static long publish(Transport real) {
    return new UnheldTransport(real).publish("p:all", new byte[] {1}).toCompletableFuture()
        .join();
  }

  @Test
  void publish_refused_reportsEveryoneReached() {
    IllegalStateException down = new IllegalStateException("down");
    assertEquals(UnheldTransport.EVERYONE,
        publish(publishing(() -> CompletableFuture.failedFuture(down))));
  }

  @Test
  void publish_throws_reportsEveryoneReached() {
    assertEquals(UnheldTransport.EVERYONE, publish(publishing(() -> {
      throw new IllegalStateException("not started");
    })));
  }

  @Test
  void publish_noSubscriber_reportsEveryoneReached() {
    assertEquals(UnheldTransport.EVERYONE,
        publish(publishing(() -> CompletableFuture.completedFuture(0L))));
  }

  /** Unanswered (a dead master's connection): reported reached before the publisher would hold it. */
  @Test
  void publish_unanswered_reportsEveryoneReachedBeforeThePublishersWait_andCancelsIt() {
    CompletableFuture<Long> never = new CompletableFuture<>();
    long start = System.nanoTime();
    assertEquals(UnheldTransport.EVERYONE, publish(publishing(() -> never)));
    long took = System.nanoTime() - start;
    assertTrue(took < PublishAttempt.WAIT_NANOS, "took " + took / 1_000_000 + " ms");
    assertTrue(never.isCancelled());
  }
}
