package io.wscluster;

import io.wscluster.spi.Transport;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Test hook ({@code io.wscluster.test.lose-incoming}, a ServletContext attribute): loses every
 * n-th frame that arrives on the broadcast channel, silently, as a subscriber connection Redis
 * dropped after counting it (or a client library dropping a message) would. Never in production:
 * only that attribute, set by a test harness, puts it in front of the real transport.
 */
final class LosingTransport extends ForwardingTransport {
  private final int every;
  private final AtomicLong seen = new AtomicLong();

  LosingTransport(Transport delegate, int every) {
    super(delegate);
    if (every < 2) {
      throw new IllegalArgumentException("every must be at least 2, was " + every);
    }
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
}
