package io.wscluster.bench;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.List;
import java.util.concurrent.atomic.AtomicIntegerArray;
import java.util.concurrent.atomic.AtomicLong;
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
      if (i >= warmup) {
        measured++;
        int tAt = indexOf(data, idAt, end, T);
        long sent = tAt < 0 ? -1 : digits(data, tAt, end);
        if (sent >= 0) {
          latency.recordValue(Math.min(MAX_LATENCY_MICROS, Math.max(0, nowMicros - sent)));
        }
      }
      if (receipts.incrementAndGet(i) == clients) {
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
