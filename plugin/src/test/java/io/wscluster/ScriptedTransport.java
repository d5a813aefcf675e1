package io.wscluster;

import io.wscluster.spi.Transport;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;

/**
 * A transport whose publishes a test answers: each one is recorded, and answered at once with
 * {@link #receivers} subscriptions, with {@link #failure} if set, or never if {@link #silent}
 * (the test completes {@link Published#answer} itself).
 */
final class ScriptedTransport implements Transport {
  /** One publish: its channel, its bytes, and the answer the publisher waits for. */
  record Published(String channel, byte[] frame, CompletableFuture<Long> answer) { }

  final List<Published> published = new ArrayList<>();
  final List<String> subscribed = new ArrayList<>();
  final List<String> unsubscribed = new ArrayList<>();
  volatile long receivers = 1;
  volatile RuntimeException failure;
  volatile boolean silent;

  @Override
  public void start(Receiver receiver) {
  }

  @Override
  public CompletionStage<Void> subscribe(String channel) {
    subscribed.add(channel);
    return CompletableFuture.completedFuture(null);
  }

  @Override
  public CompletionStage<Void> unsubscribe(String channel) {
    unsubscribed.add(channel);
    return CompletableFuture.completedFuture(null);
  }

  @Override
  public CompletionStage<Long> publish(String channel, byte[] frame) {
    CompletableFuture<Long> answer = new CompletableFuture<>();
    published.add(new Published(channel, frame, answer));
    if (failure != null) {
      answer.completeExceptionally(failure);
    } else if (!silent) {
      answer.complete(receivers);
    }
    return answer;
  }

  @Override
  public void stop() {
  }
}
