package io.wscluster;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;

/**
 * The threads one node owns, each a single thread named {@code wscluster-<role>-<n>}: the
 * dispatcher, the publisher, the timer (periodic work and delays), the callbacks (where the
 * application's stages complete) and, with {@code wscluster.write.delay}, the delayed writer.
 * Created with the node, started by their first task, stopped once.
 */
final class NodeThreads {
  final ExecutorService dispatch = single("dispatch");
  final ExecutorService publish = single("publish");
  /** Recovery's replays (see {@link Recovery}). */
  final ExecutorService replay = single("replay");
  /**
   * Only delays and periodic ticks run here. What is still queued when the node stops is dropped,
   * not awaited: timeouts and retries of work that {@link ClusterNode#stop} fails or closes
   * itself; waiting for them held a stop (an undeploy) for up to 2 s. A cancelled timeout (most
   * publish attempts and receipts end before theirs) leaves the queue at once instead of at its
   * deadline.
   */
  final ScheduledExecutorService timer = timer();
  private final ExecutorService callbacks = single("callback");
  /** Null without a write delay. */
  final ScheduledExecutorService writer;

  NodeThreads(boolean delayedWrites) {
    writer = delayedWrites
        ? Executors.newSingleThreadScheduledExecutor(new NamedThreadFactory("write")) : null;
  }

  private static ScheduledExecutorService timer() {
    ScheduledThreadPoolExecutor t =
        new ScheduledThreadPoolExecutor(1, new NamedThreadFactory("timer"));
    t.setExecuteExistingDelayedTasksAfterShutdownPolicy(false);
    t.setRemoveOnCancelPolicy(true);
    return t;
  }

  private static ExecutorService single(String role) {
    return Executors.newSingleThreadExecutor(new NamedThreadFactory(role));
  }

  /** Runs a task on the dispatcher thread; nothing once it is stopping. */
  void onDispatcher(Runnable task) {
    try {
      dispatch.execute(task);
    } catch (RejectedExecutionException stopping) {
      // the node stops: nothing is dispatched any more
    }
  }

  /** Runs application continuations on the callback thread (or inline once it is stopped). */
  void callback(Runnable task) {
    try {
      callbacks.execute(task);
    } catch (RejectedExecutionException stopped) {
      task.run();
    }
  }

  /**
   * The stage to hand the application: it completes on the callback thread, so what the app
   * chains to it never runs on the publisher, dispatcher or Redisson threads.
   */
  <T> CompletionStage<T> toApp(CompletableFuture<T> internal) {
    return internal.whenCompleteAsync((v, e) -> { }, this::callback);
  }

  /** Stops every thread, waiting up to 2 s for each to finish its work. */
  void stop() {
    for (ExecutorService ex : new ExecutorService[] {publish, dispatch, replay, timer, callbacks,
        writer}) {
      if (ex == null) {
        continue;
      }
      ex.shutdown();
      try {
        if (!ex.awaitTermination(2, TimeUnit.SECONDS)) {
          ex.shutdownNow();
        }
      } catch (InterruptedException e) {
        ex.shutdownNow();
        Thread.currentThread().interrupt();
      }
    }
  }
}
