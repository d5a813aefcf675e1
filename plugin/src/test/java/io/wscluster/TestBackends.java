package io.wscluster;

import java.util.function.Function;

/** What tests of the backends in other packages need from the core's package. */
public final class TestBackends {
  private TestBackends() {
  }

  /** The raw text of the keys {@code config} was given explicitly, as a backend's context has. */
  public static Function<String, String> explicit(WsClusterConfig config) {
    return config.explicitValues()::get;
  }
}
