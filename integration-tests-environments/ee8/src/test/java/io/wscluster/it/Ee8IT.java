package io.wscluster.it;

import io.wscluster.it.EnvironmentNode.Environment;

/** {@link EnvironmentContract} on Jetty 12 ee8 with wscluster-ee8 in the ee8 legacy and Guice example WARs. */
class Ee8IT extends EnvironmentContract {
  @Override
  Environment environment() {
    return Environment.EE8;
  }
}
