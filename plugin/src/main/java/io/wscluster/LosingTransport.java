package io.wscluster;

import io.wscluster.spi.Transport;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Test hook ({@code io.wscluster.test.lose-incoming}, a ServletContext attribute): loses every
 * n-th frame that arrives on the broadcast channel, silently, as a subscriber connection Redis
 * dropped after counting it (or a client library dropping a message) would. Never in production:
 * only that attribute, set by a test harness, puts it in front of the real transport.
 */
final class LosingTransport implements Transport {
  private final Transport delegate;
  private final int every;
  private final AtomicLong seen = new AtomicLong();

  LosingTransport(Transport delegate, int every) {
    if (every < 2) {
      throw new IllegalArgumentException("every must be at least 2, was " + every);
    }
    this.delegate = delegate;
    this.every = every;
  }

  @Override
  public void start(Receiver receiver) throws Exception {
    delegate.start((channel, frame) -> {
      if (!channel.endsWith(":all") || seen.incrementAndGet() % every != 0) {
        receiver.onFrame(channel, frame);
      }
    });
  }

  @Override
  public CompletionStage<Void> subscribe(String channel) {
    return delegate.subscribe(channel);
  }

  @Override
  public CompletionStage<Long> publish(String channel, byte[] frame) {
    return delegate.publish(channel, frame);
  }

  @Override
  public String toString() {
    return delegate.toString();
  }

  @Override
  public void stop() throws Exception {
    delegate.stop();
  }
}
