package io.wscluster;

import io.wscluster.spi.Transport;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;

/**
 * Test hook ({@code io.wscluster.test.outage-hold} "off", a ServletContext attribute): every
 * publish that completes, completes as if every subscription received it, also one Redis refused
 * or that reached fewer nodes, so the node holds no frame for those (nor subscribes again on a
 * count of 0) and what Redis did not take is lost unless the chains ask for it again. (A publish
 * not answered within the publisher's own wait is still held.) Never in production: only that
 * attribute, set by a test harness, puts it in front of the real transport.
 */
final class UnheldTransport extends ForwardingTransport {
  /** More receivers than any cluster has nodes. */
  static final long EVERYONE = Long.MAX_VALUE;

  UnheldTransport(Transport delegate) {
    super(delegate);
  }

  @Override
  public CompletionStage<Long> publish(String channel, byte[] frame) {
    CompletionStage<Long> published;
    try {
      published = delegate.publish(channel, frame);
    } catch (RuntimeException e) {
      return CompletableFuture.completedFuture(EVERYONE);
    }
    return published.handle((receivers, error) -> EVERYONE);
  }
}
