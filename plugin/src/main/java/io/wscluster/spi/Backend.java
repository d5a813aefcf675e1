package io.wscluster.spi;

import java.util.Objects;
import java.util.function.Supplier;

/**
 * What carries a cluster: the {@link Transport} that moves frames between nodes, the
 * {@link Directory} that records who is connected where, and what they can do. Made by a
 * {@link BackendProvider} for one node.
 *
 * <p>Lifecycle: the core starts {@link #transport()}, then asks for {@link #directory()} once,
 * uses both, and stops the transport when the node stops; stopping the transport must release
 * everything the backend holds (a shared client, threads). If the transport never starts
 * (servers unreachable), the directory is not asked for until it does. The core calls these
 * methods from its own threads, not concurrently.
 */
public interface Backend {

  /** The transport; the same instance on every call, not yet started. */
  Transport transport();

  /**
   * The directory, asked for once, after {@link #transport()} started: a directory may share the
   * transport's client (the Redis one does). Keys and names it writes are under the config's
   * channel prefix ({@code wscluster.channel.prefix}).
   */
  Directory directory();

  /**
   * Whether {@link Transport#publish} completes with the number of subscriptions that received
   * the frame, as Redis's PUBLISH does. If so, the core holds and publishes again a frame that
   * reached fewer subscriptions than there are live nodes to receive it, and subscribes its own
   * channel again when a publish to it reaches none. If not, the count is ignored: frames are held
   * for publish errors only, and a lost subscription shows only as a missed liveness probe.
   */
  boolean publishCountsReceivers();

  /**
   * Whether the backend keeps a {@link History} of messages ({@link #history()} is not null), so a
   * client that reconnects can be sent what it missed.
   */
  boolean keepsHistory();

  /**
   * The message history, asked for once, after {@link #transport()} started, when
   * {@link #keepsHistory()} and {@code wscluster.history.enabled}; null (the default) for none.
   * Its streams are bounded by {@code wscluster.history.max-length} and
   * {@code wscluster.history.max-age}, under the config's channel prefix.
   */
  default History history() {
    return null;
  }

  /**
   * A backend of a transport and the directory {@code directory} makes when asked (once, after
   * the transport started), without a {@link History}.
   */
  static Backend of(Transport transport, Supplier<Directory> directory,
      boolean publishCountsReceivers, boolean keepsHistory) {
    return of(transport, directory, publishCountsReceivers, keepsHistory, null);
  }

  /**
   * A backend of a transport, the directory {@code directory} makes and the history
   * {@code history} makes when asked (each once, after the transport started); {@code history}
   * null: none.
   */
  static Backend of(Transport transport, Supplier<Directory> directory,
      boolean publishCountsReceivers, Supplier<History> history) {
    return of(transport, directory, publishCountsReceivers, history != null, history);
  }

  private static Backend of(Transport transport, Supplier<Directory> directory,
      boolean publishCountsReceivers, boolean keepsHistory, Supplier<History> history) {
    Objects.requireNonNull(transport, "transport");
    Objects.requireNonNull(directory, "directory");
    return new Backend() {
      @Override
      public Transport transport() {
        return transport;
      }

      @Override
      public Directory directory() {
        return directory.get();
      }

      @Override
      public boolean publishCountsReceivers() {
        return publishCountsReceivers;
      }

      @Override
      public boolean keepsHistory() {
        return keepsHistory;
      }

      @Override
      public History history() {
        return history == null ? null : history.get();
      }

      @Override
      public String toString() {
        return transport.toString();
      }
    };
  }
}
