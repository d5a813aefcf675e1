package io.wscluster;

import java.util.concurrent.ThreadFactory;
import java.util.concurrent.atomic.AtomicInteger;

/** Names threads {@code wscluster-<role>-<n>}; daemon, so a forgotten stop never holds the JVM. */
final class NamedThreadFactory implements ThreadFactory {
  private static final AtomicInteger SEQUENCE = new AtomicInteger();
  private final String role;

  NamedThreadFactory(String role) {
    this.role = role;
  }

  @Override
  public Thread newThread(Runnable r) {
    Thread t = new Thread(r, "wscluster-" + role + "-" + SEQUENCE.getAndIncrement());
    t.setDaemon(true);
    return t;
  }
}
