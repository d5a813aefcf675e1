package io.wscluster;

import java.util.ArrayDeque;
import java.util.PriorityQueue;
import java.util.concurrent.Executor;
import java.util.concurrent.FutureTask;
import java.util.concurrent.TimeUnit;
import java.util.function.LongSupplier;

/**
 * Time for a test to turn by hand: a clock, a {@link Scheduler} and an {@link Executor} (a
 * single "thread") in one. Nothing runs until the test calls {@link #runReady} or
 * {@link #advance}, always on the test's thread, so an actor's timing is tested without sleeps.
 */
final class VirtualTime implements LongSupplier, Scheduler, Executor {
  private long now = TimeUnit.HOURS.toNanos(1);
  private long order;
  private final ArrayDeque<Runnable> ready = new ArrayDeque<>();
  private final PriorityQueue<Timed> timers = new PriorityQueue<>();

  private final class Timed implements Comparable<Timed> {
    final long at;
    final long seq = order++;
    final FutureTask<Void> task;

    Timed(long at, Runnable r) {
      this.at = at;
      this.task = new FutureTask<>(r, null);
    }

    @Override
    public int compareTo(Timed o) {
      return at != o.at ? Long.compare(at, o.at) : Long.compare(seq, o.seq);
    }
  }

  @Override
  public long getAsLong() {
    return now;
  }

  @Override
  public void execute(Runnable task) {
    ready.add(task);
  }

  @Override
  public java.util.concurrent.Future<?> schedule(Runnable task, long delayNanos) {
    Timed t = new Timed(now + Math.max(0, delayNanos), task);
    timers.add(t);
    return t.task;
  }

  /** Runs what is ready to run, and what that makes ready, until nothing is. */
  void runReady() {
    Runnable r;
    while ((r = ready.poll()) != null) {
      r.run();
    }
  }

  /** Moves the clock forward by {@code millis}, running every task that falls due, in order. */
  void advance(long millis) {
    long until = now + TimeUnit.MILLISECONDS.toNanos(millis);
    runReady();
    Timed t;
    while ((t = timers.peek()) != null && t.at <= until) {
      timers.poll();
      now = t.at;
      if (!t.task.isCancelled()) {
        t.task.run();
      }
      runReady();
    }
    now = until;
    runReady();
  }
}
