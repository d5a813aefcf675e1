package io.wscluster.it;

import io.wscluster.it.EnvironmentNode.Environment;

/** {@link EnvironmentContract} on Jetty 12 ee9 with wscluster-ee9 in the legacy and Guice example apps. */
class Ee9IT extends EnvironmentContract {
  @Override
  Environment environment() {
    return Environment.EE9;
  }
}
