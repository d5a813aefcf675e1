package io.wscluster;

import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;

/**
 * {@link Deduplicator#check} on the dispatcher's path, with the default window and TTL and the
 * real clock: sequences of one origin in order, and reordered inside blocks of 16 (every sequence
 * still comes exactly once, so every verdict is NEW).
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
public class DeduplicatorBenchmark {
  private static final String ORIGIN = "node-8081-1a2b3c4d";
  /** A fixed shuffle of 0..15: the order sequences of one block arrive in. */
  private static final int[] SHUFFLE = {3, 0, 1, 7, 2, 5, 4, 6, 11, 8, 15, 9, 10, 13, 12, 14};

  private Deduplicator dedup;
  private long next;

  @Setup(Level.Iteration)
  public void setUp() {
    WsClusterConfig config = WsClusterConfig.builder().build();
    dedup = new Deduplicator(config.dedupWindow(), config.dedupOriginTtl().toNanos(),
        System::nanoTime);
    next = 1;
  }

  @Benchmark
  public Deduplicator.Verdict inOrder() {
    return dedup.check(ORIGIN, next++);
  }

  @Benchmark
  public Deduplicator.Verdict reordered() {
    long n = next++;
    return dedup.check(ORIGIN, (n & ~15L) + SHUFFLE[(int) (n & 15)] + 1);
  }
}
