package io.wscluster;

import java.util.concurrent.Future;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * Runs a task once after a delay: the node's timer thread, or a test's virtual time. Throws
 * {@link java.util.concurrent.RejectedExecutionException} once stopped.
 */
@FunctionalInterface
interface Scheduler {
  Future<?> schedule(Runnable task, long delayNanos);

  static Scheduler of(ScheduledExecutorService timer) {
    return (task, delayNanos) -> timer.schedule(task, delayNanos, TimeUnit.NANOSECONDS);
  }
}
