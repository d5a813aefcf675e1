package io.wscluster.testbackend;

import io.wscluster.spi.Backend;
import io.wscluster.spi.BackendContext;
import io.wscluster.spi.BackendProvider;

/**
 * A backend written the way a third party would: public SPI only, in a package of its own, listed
 * in this test tree's {@code META-INF/services/io.wscluster.spi.BackendProvider} and chosen by
 * {@code wscluster.transport=test-loop}. Nodes of one class loader share one {@link LoopTransport}
 * bus and one {@link LoopDirectory}. Its publish counts no receivers, so nodes on it run the
 * core's "count unknown" path.
 */
public final class LoopBackendProvider implements BackendProvider {
  public static final String NAME = "test-loop";

  @Override
  public String name() {
    return NAME;
  }

  @Override
  public Backend create(BackendContext context) {
    return Backend.of(new LoopTransport(context.threadFactory("loop")),
        () -> LoopDirectory.SHARED, false, false);
  }
}
