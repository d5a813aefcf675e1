package io.wscluster.spi;

/**
 * Makes the {@link Backend} of a node, found by its {@link #name()}: the core loads every
 * provider with {@link java.util.ServiceLoader} from the webapp's class loader (a jar lists its
 * providers in {@code META-INF/services/io.wscluster.spi.BackendProvider}) and uses the one whose
 * name is the value of {@code wscluster.transport}. The plugin has two: {@code redis} (the
 * default) and {@code memory} (nodes in one JVM: tests, demos; also what a node with
 * {@code wscluster.enabled=false} runs on, with a bus of its own).
 *
 * <p>A provider needs a public no-argument constructor and must be cheap to make: the core
 * instantiates every provider on the class path to find one name. It must be thread-safe;
 * {@link #create} is called once per node start, on the thread that deploys the webapp.
 */
public interface BackendProvider {

  /**
   * The value of {@code wscluster.transport} that selects this provider: lower case, 1 to 64
   * characters from a-z 0-9 . _ -, unique on the class path.
   */
  String name();

  /**
   * A new backend for one node; nothing is connected yet (that is {@link Transport#start}'s job).
   *
   * @throws io.wscluster.ConfigException when the configuration does not fit this backend (the
   *     message names the key, the value and what was expected); it fails the deployment
   */
  Backend create(BackendContext context);
}
