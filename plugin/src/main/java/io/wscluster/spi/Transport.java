package io.wscluster.spi;

import java.util.concurrent.CompletionStage;

/**
 * A byte pipe between the nodes of a cluster. The protocol (ids, dedup, targets) lives in the core;
 * a transport only moves opaque frames on named channels.
 *
 * <p>Lifecycle: {@link #start} once (again only after it threw), then any number of {@link #subscribe} and {@link #publish}
 * (and {@link #unsubscribe}) calls from any thread, then {@link #stop}. A transport stops only what it created.
 */
public interface Transport {

  /**
   * Starts the transport; frames of subscribed channels go to {@code receiver} from then on.
   * Throws when it cannot: with a {@link java.net.ConnectException},
   * {@link java.net.NoRouteToHostException} or {@link java.net.UnknownHostException} among its
   * causes when the servers cannot be reached (yet), and the node then runs local-only and calls
   * {@code start} again later, with the same receiver, until it works. A start that threw holds
   * nothing that needs a {@link #stop}.
   */
  void start(Receiver receiver) throws Exception;

  /**
   * Subscribes to a channel. Completes once frames published on it afterwards reach the receiver.
   * Must not block the caller. Subscribing a channel again replaces the subscription (one
   * delivery per frame afterwards): the core does it when its liveness probe finds that a
   * subscription no longer delivers.
   */
  CompletionStage<Void> subscribe(String channel);

  /**
   * Ends this transport's subscription of a channel: frames published on it after the stage
   * completed no longer reach the receiver (a frame in flight may still arrive). Must not block
   * the caller; a channel not subscribed is no error. The core calls it for a room channel once
   * the room has had no local member for a heartbeat, never concurrently with a
   * {@link #subscribe} of the same channel (it waits for one stage before starting the next).
   *
   * <p>The default keeps the subscription: frames keep arriving and the core drops them as they
   * match no local session, so a transport written before this method existed still works, at
   * the cost of the traffic.
   */
  default CompletionStage<Void> unsubscribe(String channel) {
    return java.util.concurrent.CompletableFuture.completedFuture(null);
  }

  /**
   * Publishes a frame to every subscriber of {@code channel}, this node's own subscription included.
   * Must not block the caller. Completes with the number of subscriptions that received it (as
   * Redis's PUBLISH reports it), or exceptionally when the frame was not published. The frame
   * must not be modified afterwards.
   */
  CompletionStage<Long> publish(String channel, byte[] frame);

  /** Stops the transport and what it created; idempotent; waits a bounded time. */
  void stop() throws Exception;

  /** Where a transport delivers frames. */
  interface Receiver {
    /**
     * A frame arrived. Called from the transport's threads, possibly concurrently for different
     * channels, in publish order for frames of one publisher on one channel. Must not block and
     * must not throw; the core hands frames to its own threads.
     */
    void onFrame(String channel, byte[] frame);
  }
}
