package io.wscluster.memory;

import io.wscluster.ConfigException;
import io.wscluster.spi.TransportContractTest;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.wscluster.spi.Transport;
import java.util.List;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.BiConsumer;
import org.junit.jupiter.api.Test;

/** The transport contract on the in-memory bus, plus what is specific to it. */
class InMemoryTransportTest extends TransportContractTest {
  private final ConcurrentHashMap<String, List<BiConsumer<String, byte[]>>> bus =
      new ConcurrentHashMap<>();

  @Override
  protected Transport createTransport() {
    return TestMemory.transport(bus, 0);
  }

  // ================================================================ in-memory specifics

  @Test
  void subscribe_withExtraSubscriptions_receivesEveryFrameThatManyMoreTimes() throws Exception {
    Inbox in = new Inbox();
    Transport t = TestMemory.transport(bus, 2);
    t.start(in);
    t.subscribe(channel).toCompletableFuture().get();

    assertEquals(3L, t.publish(channel, new byte[] {7}).toCompletableFuture().get());
    for (int i = 0; i < 3; i++) {
      assertEquals(7, in.next().getValue()[0]);
    }
    in.assertNothingMore();
    t.stop();
    assertEquals(List.of(), bus.get(channel), "stop removes every copy");
  }

  @Test
  void busFrom_null_meansTheDefaultBus() {
    assertEquals(null, InMemoryTransport.busFrom(null));
  }

  @Test
  void busFrom_aConcurrentMap_isUsedAsIs() {
    assertSame(bus, InMemoryTransport.busFrom(bus));
  }

  @Test
  void busFrom_wrongType_isRefusedNamingTheAttribute() {
    ConfigException e = assertThrows(ConfigException.class,
        () -> InMemoryTransport.busFrom("not a map"));
    assertEquals("ServletContext attribute io.wscluster.memory.bus is a java.lang.String, must be "
        + "a java.util.concurrent.ConcurrentMap<String, java.util.List<java.util.function"
        + ".BiConsumer<String, byte[]>>>", e.getMessage());
  }
}
