package io.wscluster.it;

import io.wscluster.it.EnvironmentNode.Environment;

/** {@link EnvironmentContract} on Jetty 12 ee11 with the main wscluster jar in the unchanged example WARs. */
class Ee11IT extends EnvironmentContract {
  @Override
  Environment environment() {
    return Environment.EE11;
  }
}
