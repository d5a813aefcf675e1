package io.wscluster.spi;

import io.wscluster.WsClusterConfig;
import java.util.concurrent.ThreadFactory;

/** What the core hands a {@link BackendProvider} to make a node's backend. */
public interface BackendContext {

  /** The node's configuration, checked; a backend reads its own keys from it. */
  WsClusterConfig config();

  /**
   * The raw text of {@code key} when it was set explicitly (any source), or null when it has its
   * default: for a backend whose rules depend on whether a setting was given. Secrets included:
   * never log it.
   */
  String explicitValue(String key);

  /**
   * An attribute of the webapp's ServletContext, or null: how nodes of one JVM are handed a
   * shared object (the memory backend's bus in {@code io.wscluster.memory.bus} and directory
   * store in {@code io.wscluster.memory.directory}).
   */
  Object attribute(String name);

  /** The webapp's class loader, for a backend that loads classes or resources by name. */
  ClassLoader classLoader();

  /**
   * Names the threads a backend makes {@code wscluster-<role>-<n>}, daemon, like the core's own.
   */
  ThreadFactory threadFactory(String role);

  /**
   * Test switch, 0 in production: register each subscription this many more times, so frames
   * arrive twice and a test sees the core drop the copies. A backend may ignore it.
   */
  int extraSubscriptions();
}
