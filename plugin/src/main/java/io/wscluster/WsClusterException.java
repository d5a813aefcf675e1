package io.wscluster;

/** A failure of wscluster that the caller should see: a send that could not be published, a bad config. */
public class WsClusterException extends RuntimeException {
  public WsClusterException(String message) {
    super(message);
  }

  public WsClusterException(String message, Throwable cause) {
    super(message, cause);
  }
}
