package io.wscluster;

import io.wscluster.spi.Transport;
import java.util.concurrent.CompletionStage;

/**
 * A transport that forwards every call to another: the base of the wrappers that change one
 * call (a test hook that loses frames, tests' transports that fail or hold). Its name is the
 * other's.
 */
abstract class ForwardingTransport implements Transport {
  protected final Transport delegate;

  ForwardingTransport(Transport delegate) {
    this.delegate = delegate;
  }

  @Override
  public void start(Receiver receiver) throws Exception {
    delegate.start(receiver);
  }

  @Override
  public CompletionStage<Void> subscribe(String channel) {
    return delegate.subscribe(channel);
  }

  @Override
  public CompletionStage<Void> unsubscribe(String channel) {
    return delegate.unsubscribe(channel);
  }

  @Override
  public CompletionStage<Long> publish(String channel, byte[] frame) {
    return delegate.publish(channel, frame);
  }

  @Override
  public void stop() throws Exception {
    delegate.stop();
  }

  @Override
  public String toString() {
    return delegate.toString();
  }
}
