package io.wscluster;

import io.wscluster.spi.Transport;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeUnit;

/**
 * Test hook ({@code io.wscluster.test.outage-hold} "off", a ServletContext attribute): every
 * publish that completes, completes as if every subscription received it, also one Redis refused
 * or that reached fewer nodes, so the node holds no frame for those (nor subscribes again on a
 * count of 0) and what Redis did not take is lost unless the chains ask for it again. A publish
 * not answered within {@link #ANSWER_WAIT_MILLIS} (less than the publisher's own wait, after which
 * it would hold the frame) completes so too, and its real publish is cancelled. Never in
 * production: only that attribute, set by a test harness, puts it in front of the real transport.
 */
final class UnheldTransport extends ForwardingTransport {
  /** More receivers than any cluster has nodes. */
  static final long EVERYONE = Long.MAX_VALUE;
  static final long ANSWER_WAIT_MILLIS = PublishAttempt.WAIT_NANOS / 2_000_000;

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
    CompletableFuture<Long> real = published.toCompletableFuture();
    CompletableFuture<Long> out = real.handle((receivers, error) -> EVERYONE)
        .completeOnTimeout(EVERYONE, ANSWER_WAIT_MILLIS, TimeUnit.MILLISECONDS);
    out.whenComplete((v, e) -> real.cancel(false));
    return out;
  }
}
