package io.wscluster;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.Test;

class NodeThreadsTest {

  /**
   * A timeout still pending when the node stops (a receipt's, a publish attempt's, the probe's) is
   * dropped: stop neither runs it nor waits for it, so an undeploy is not held by it.
   */
  @Test
  void stop_dropsPendingDelays_withoutRunningThem() throws Exception {
    NodeThreads threads = new NodeThreads(false);
    CountDownLatch started = new CountDownLatch(1);
    threads.timer.execute(started::countDown);
    assertTrue(started.await(5, TimeUnit.SECONDS));
    AtomicBoolean ran = new AtomicBoolean();
    threads.timer.schedule(() -> ran.set(true), 300, TimeUnit.MILLISECONDS);

    threads.stop();

    assertTrue(threads.timer.isTerminated(), "the timer thread must have ended when stop returns");
    Thread.sleep(500);
    assertFalse(ran.get(), "a delay pending at stop must not run");
  }
}
