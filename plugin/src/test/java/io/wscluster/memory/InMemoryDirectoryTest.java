package io.wscluster.memory;

import io.wscluster.ConfigException;
import io.wscluster.spi.Directory;
import io.wscluster.spi.DirectoryContractTest;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;
import org.junit.jupiter.api.Test;

/** The directory contract on the in-memory store, plus how a store is handed over. */
class InMemoryDirectoryTest extends DirectoryContractTest {
  private final ConcurrentMap<String, ConcurrentMap<String, String>> store =
      new ConcurrentHashMap<>();

  @Override
  protected Directory createDirectory(String prefix) {
    return TestMemory.directory(store, prefix);
  }

  @Override
  protected Set<String> keysUnder(String prefix) {
    Set<String> out = new TreeSet<>();
    store.forEach((key, value) -> {
      if (key.startsWith(prefix + ":")) {
        out.add(key);
      }
    });
    return out;
  }

  // ================================================================ in-memory specifics

  @Test
  void twoDirectoriesOnOneStore_seeEachOthersEntries() throws Exception {
    Directory one = TestMemory.directory(store, prefix);
    Directory two = TestMemory.directory(store, prefix);

    get(one.apply("n1", java.util.List.of(open("s1", "alice"))));

    assertEquals("n1", get(two.nodeOf("s1")));
  }

  @Test
  void nullStore_usesTheClassLoadersDefaultStore() throws Exception {
    Directory one = TestMemory.directory(null, prefix);
    Directory two = TestMemory.directory(null, prefix);
    try {
      get(one.apply("n1", java.util.List.of(open("s1", "alice"))));

      assertEquals("n1", get(two.nodeOf("s1")));
      assertEquals(Map.of(), Map.copyOf(store), "not this test's own store");
    } finally {
      get(one.removeNode("n1"));
    }
  }

  @Test
  void storeFrom_nullAttribute_isNull() {
    assertEquals(null, InMemoryDirectory.storeFrom(null));
  }

  @Test
  void storeFrom_concurrentMap_isThatMap() {
    assertSame(store, InMemoryDirectory.storeFrom(store));
  }

  @Test
  void storeFrom_anythingElse_isRefusedNamingTheAttributeAndTheType() {
    ConfigException e = assertThrows(ConfigException.class,
        () -> InMemoryDirectory.storeFrom("not a map"));

    assertEquals("ServletContext attribute io.wscluster.memory.directory is a java.lang.String,"
        + " must be a java.util.concurrent.ConcurrentMap<String,"
        + " java.util.concurrent.ConcurrentMap<String, String>>", e.getMessage());
  }
}
