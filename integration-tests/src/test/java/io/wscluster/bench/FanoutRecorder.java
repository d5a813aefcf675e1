package io.wscluster.bench;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.List;
import java.util.concurrent.atomic.AtomicIntegerArray;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicLongArray;
import java.util.concurrent.locks.LockSupport;
import java.util.function.ToLongFunction;
import org.HdrHistogram.Histogram;

/**
 * What the fan-out clients received, per (client, message id): duplicates, loss and latency.
 * Message ids run from 0 to {@code messages - 1}; ids below {@code warmup} count for duplicates
 * and loss but not for latency.
 *
 * <p>Threads: each client belongs to one {@link Worker} (one I/O thread), which alone writes that
 * client's bits and its own counters and histogram; other threads may read the volatile counters
 * and {@link #completedMessages} at any time, and everything else once the workers have stopped.
 */
final class FanoutRecorder {
  /** Latencies above an hour are clamped; three significant digits. */
  static final long MAX_LATENCY_MICROS = 3_600_000_000L;
  private static final int MAX_NOTED = 10;
  private static final byte[] ID = "\"id\":".getBytes(StandardCharsets.US_ASCII);
  private static final byte[] T = "\"t\":".getBytes(StandardCharsets.US_ASCII);

  private final int clients;
  private final int messages;
  private final int warmup;
  private final BitSet[] seen;
  /** Per message id: how many clients have it. */
  private final AtomicIntegerArray receipts;
  private final AtomicLong completed = new AtomicLong();
  private final List<Worker> workers = new ArrayList<>();
  /** Unparked whenever a message has reached every client (the windowed publisher), or null. */
  private volatile Thread waiter;
  /**
   * With {@link #trackTimes}: per id, when it reached its last client ({@link System#nanoTime},
   * 0 while not), written by the worker that completed it; and when it first reached a client on a
   * node other than the publisher's (client index not a multiple of {@code nodes}).
   */
  private long[] completedNanos;
  private AtomicLongArray firstRemoteNanos;
  private int nodes;

  FanoutRecorder(int clients, int messages, int warmup) {
    this.clients = clients;
    this.messages = messages;
    this.warmup = warmup;
    this.seen = new BitSet[clients];
    for (int c = 0; c < clients; c++) {
      seen[c] = new BitSet(messages);
    }
    this.receipts = new AtomicIntegerArray(messages);
  }

  /** A new worker: the recording side of one I/O thread. Call before the threads start. */
  Worker newWorker() {
    Worker w = new Worker();
    workers.add(w);
    return w;
  }

  /**
   * Records per id the time it completed and the time it first reached a client of another node
   * than client 0's, with {@code nodes} nodes and clients round-robin over them. Call before the
   * threads start: it costs a volatile read per delivery, so only the outage phase uses it.
   */
  void trackTimes(int nodes) {
    this.nodes = nodes;
    this.completedNanos = new long[messages];
    this.firstRemoteNanos = new AtomicLongArray(messages);
  }

  /** With {@link #trackTimes}, after the workers stopped: when {@code id} completed, or 0. */
  long completedNanos(int id) {
    return completedNanos[id];
  }

  /** With {@link #trackTimes}: when {@code id} first reached a client of another node, or 0. */
  long firstRemoteNanos(int id) {
    return firstRemoteNanos.get(id);
  }

  /** (client, id) pairs never received for ids in [from, to). Call after the workers stopped. */
  long missing(int from, int to) {
    long missing = 0;
    for (int c = 0; c < clients; c++) {
      missing += (to - from) - seen[c].get(from, to).cardinality();
    }
    return missing;
  }

  void waiter(Thread thread) {
    this.waiter = thread;
  }

  /** Messages that every client has received. */
  long completedMessages() {
    return completed.get();
  }

  /** Distinct (client, id) pairs received so far. */
  long delivered() {
    return sum(w -> w.delivered);
  }

  /** Of {@link #delivered}, those of ids at or above the warm-up. */
  long measuredDelivered() {
    return sum(w -> w.measured);
  }

  /** {@link System#nanoTime} of the latest first receipt, over all workers; 0 if none. */
  long lastDeliveryNanos() {
    long last = 0;
    for (Worker w : workers) {
      long t = w.lastDeliveryNanos;
      if (last == 0 || t - last > 0) {
        last = t;
      }
    }
    return last;
  }

  long duplicates() {
    return sum(w -> w.duplicates);
  }

  /** Texts that were no message of this run (no id, or an id out of range). */
  long unexpected() {
    return sum(w -> w.unexpected);
  }

  private long sum(ToLongFunction<Worker> counter) {
    long sum = 0;
    for (Worker w : workers) {
      sum += counter.applyAsLong(w);
    }
    return sum;
  }

  long expected() {
    return (long) clients * messages;
  }

  long lost() {
    return expected() - delivered();
  }

  /** The first few duplicates, "client C id N (k times)", in the order the workers saw them. */
  List<String> duplicateList() {
    List<String> out = new ArrayList<>();
    for (Worker w : workers) {
      out.addAll(w.noted);
    }
    return out.subList(0, Math.min(out.size(), MAX_NOTED));
  }

  /** The first few (client, id) never received, "client C id N", by client then id. */
  List<String> lostList() {
    List<String> out = new ArrayList<>();
    for (int c = 0; c < clients && out.size() < MAX_NOTED; c++) {
      for (int id = seen[c].nextClearBit(0); id < messages && out.size() < MAX_NOTED;
          id = seen[c].nextClearBit(id + 1)) {
        out.add("client " + c + " id " + id);
      }
    }
    return out;
  }

  /** The latencies of the measured ids, all workers merged. Call after the workers stopped. */
  Histogram latency() {
    Histogram all = new Histogram(MAX_LATENCY_MICROS, 3);
    for (Worker w : workers) {
      all.add(w.latency);
    }
    return all;
  }

  /** The recording of one I/O thread. Written by that thread only. */
  final class Worker {
    final Histogram latency = new Histogram(MAX_LATENCY_MICROS, 3);
    final List<String> noted = new ArrayList<>();
    volatile long delivered;
    volatile long measured;
    volatile long duplicates;
    volatile long unexpected;
    volatile long lastDeliveryNanos;

    /**
     * One text message {@code data[offset, offset + length)} arrived at {@code client}, read at
     * {@code nowNanos} ({@link System#nanoTime}) = {@code nowMicros} (epoch microseconds). Reads
     * {@code "id":} and {@code "t":} straight from the bytes.
     */
    void onText(int client, byte[] data, int offset, int length, long nowMicros, long nowNanos) {
      int end = offset + length;
      int idAt = indexOf(data, offset, end, ID);
      long id = idAt < 0 ? -1 : digits(data, idAt, end);
      if (id < 0 || id >= messages) {
        unexpected++;
        return;
      }
      int i = (int) id;
      BitSet bits = seen[client];
      if (bits.get(i)) {
        duplicates++;
        if (noted.size() < MAX_NOTED) {
          noted.add("client " + client + " id " + i);
        }
        return;
      }
      bits.set(i);
      delivered++;
      lastDeliveryNanos = nowNanos;
      AtomicLongArray remote = firstRemoteNanos;
      if (remote != null && client % nodes != 0 && remote.get(i) == 0) {
        remote.compareAndSet(i, 0, nowNanos);
      }
      if (i >= warmup) {
        measured++;
        int tAt = indexOf(data, idAt, end, T);
        long sent = tAt < 0 ? -1 : digits(data, tAt, end);
        if (sent >= 0) {
          latency.recordValue(Math.min(MAX_LATENCY_MICROS, Math.max(0, nowMicros - sent)));
        }
      }
      if (receipts.incrementAndGet(i) == clients) {
        if (completedNanos != null) {
          completedNanos[i] = nowNanos;
        }
        completed.incrementAndGet();
        LockSupport.unpark(waiter);
      }
    }
  }

  /** Where the bytes after the first {@code name} in {@code data[from, end)} start, or -1. */
  static int indexOf(byte[] data, int from, int end, byte[] name) {
    outer:
    for (int i = from; i <= end - name.length; i++) {
      for (int j = 0; j < name.length; j++) {
        if (data[i + j] != name[j]) {
          continue outer;
        }
      }
      return i + name.length;
    }
    return -1;
  }

  /** The decimal number at {@code data[from]}, or -1 when there is none. */
  static long digits(byte[] data, int from, int end) {
    long v = 0;
    int i = from;
    while (i < end && data[i] >= '0' && data[i] <= '9' && i - from < 18) {
      v = v * 10 + (data[i++] - '0');
    }
    return i == from ? -1 : v;
  }
}
