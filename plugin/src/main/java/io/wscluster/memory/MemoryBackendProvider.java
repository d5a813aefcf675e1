package io.wscluster.memory;

import io.wscluster.spi.Backend;
import io.wscluster.spi.BackendContext;
import io.wscluster.spi.BackendProvider;

/**
 * {@code wscluster.transport=memory}: nodes of one JVM on a bus and a directory store in JDK maps
 * (see {@link InMemoryTransport}, {@link InMemoryDirectory}), shared through the context
 * attributes {@value InMemoryTransport#BUS_ATTRIBUTE} and
 * {@value InMemoryDirectory#STORE_ATTRIBUTE}, else by every node of this class loader. For tests
 * and demos; PUBLISH counts receivers as Redis's does; the history ({@link InMemoryHistory}) is
 * shared likewise through {@value InMemoryHistory#STORE_ATTRIBUTE}.
 */
public final class MemoryBackendProvider implements BackendProvider {
  static final String NAME = "memory";

  @Override
  public String name() {
    return NAME;
  }

  @Override
  public Backend create(BackendContext context) {
    InMemoryTransport transport = new InMemoryTransport(
        InMemoryTransport.busFrom(context.attribute(InMemoryTransport.BUS_ATTRIBUTE)),
        context.extraSubscriptions(), context.threadFactory("memory"));
    InMemoryDirectory directory = new InMemoryDirectory(
        InMemoryDirectory.storeFrom(context.attribute(InMemoryDirectory.STORE_ATTRIBUTE)),
        context.config().channelPrefix());
    InMemoryHistory history = new InMemoryHistory(
        InMemoryHistory.storeFrom(context.attribute(InMemoryHistory.STORE_ATTRIBUTE)), transport,
        context.config().channelPrefix(), context.config().historyMaxLength(),
        context.config().historyMaxAge().toMillis(), System::currentTimeMillis);
    return Backend.of(transport, () -> directory, true, () -> history);
  }
}
