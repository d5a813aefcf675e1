package io.wscluster;

/**
 * A {@link WsCluster#deliver} that reached no session. {@link #reason()} says why; {@link
 * #delivery()} holds what is known per session (for a timeout, what did arrive in time).
 */
public final class DeliveryException extends WsClusterException {

  /** Why the delivery failed. */
  public enum Reason {
    /** No targeted session is connected on any live node. */
    NOT_CONNECTED,
    /** The owning node(s) could not write it: the session closed mid-send, its outbox was full. */
    WRITE_FAILED,
    /** The owning node left the cluster (stopped or died) before it confirmed. */
    NODE_GONE,
    /** Not every owning node confirmed within {@code wscluster.receipt.timeout}. */
    TIMEOUT
  }

  private final Reason reason;
  private final Delivery delivery;

  DeliveryException(Reason reason, String message, Delivery delivery) {
    super(message);
    this.reason = reason;
    this.delivery = delivery;
  }

  public Reason reason() {
    return reason;
  }

  public Delivery delivery() {
    return delivery;
  }
}
