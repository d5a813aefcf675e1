package io.wscluster;

/**
 * A configuration value is wrong. The message names the key, the value as given (secrets masked)
 * and what was expected; it fails the webapp's deployment.
 */
public final class ConfigException extends WsClusterException {
  public ConfigException(String message) {
    super(message);
  }
}
