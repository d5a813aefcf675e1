package io.wscluster.spi;

import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.CompletionStage;

/**
 * A backend's message history: bounded streams of recent messages (the broadcast stream
 * {@code all}, {@code room:<name>}, {@code user:<id>}) that outlive any node, so a client that
 * reconnects to another node can be sent what it missed. Offered by {@link Backend#history()}; a backend without
 * one leaves recovery off.
 *
 * <p>Ids: every message has one id, a Redis stream id {@code <ms>-<seq>}, the same in each stream
 * it is written to, increasing across all streams of the cluster in the order the messages were
 * published. Publishing and writing are one atomic step, so history order is live order and a live
 * frame carries the ids of its messages ({@link #wrap}).
 *
 * <p>Epoch: an opaque value kept with the history; a new one when the history was lost (Redis
 * flushed or replaced), so offsets of another epoch are known to be void.
 *
 * <p>Threads: every method is called from the core's threads, must not block, and completes its
 * stage on any thread (the core hops to its own). Failures complete the stage exceptionally.
 */
public interface History {

  /** The first byte of a frame that carries the ids of its messages: see {@link #wrap}. */
  byte WRAPPED = 0x1F;

  /**
   * Publishes {@code frames.get(i)} on {@code channels.get(i)}, each {@link #wrap wrapped} with the
   * ids of {@code messages}, after writing each message to its streams under one new id, all in
   * one atomic step. {@code writer} and {@code token} name this publish: a second call with the
   * same pair within a minute (a retry whose first outcome is unknown) writes nothing again and
   * publishes with the ids of the first.
   */
  CompletionStage<Published> publish(List<String> channels, List<byte[]> frames,
      List<Message> messages, String writer, String token);

  /**
   * Up to {@code count} entries of {@code stream} after id {@code after}, oldest first, with
   * whether the stream still holds every entry after {@code after} (nothing after it was trimmed)
   * and the current epoch.
   */
  CompletionStage<Page> read(String stream, String after, int count);

  /** The current epoch, made if there is none. */
  CompletionStage<String> epoch();

  /** A message to write: its streams and the bytes kept for it (a frame of the core's codec). */
  record Message(List<String> streams, byte[] value) {
  }

  /** What a publish did: the subscriptions each frame reached, the ids, the epoch. */
  record Published(List<Long> receivers, List<String> ids, String epoch) {
  }

  /** One entry of a stream. */
  record Entry(String id, byte[] value) {
  }

  /**
   * A read: {@code epoch} is the current one (null when the history has none: it was lost);
   * {@code covered} whether no entry after the read's start was trimmed (false too when the stream
   * is gone).
   */
  record Page(String epoch, boolean covered, List<Entry> entries) {
  }

  /**
   * A frame as published with the ids of its messages: {@link #WRAPPED}, the ids separated by
   * spaces, a newline, then the frame. The core reads it; a Redis script builds the same bytes.
   */
  static byte[] wrap(List<String> ids, byte[] frame) {
    byte[] head = String.join(" ", ids).getBytes(StandardCharsets.US_ASCII);
    byte[] out = new byte[head.length + 2 + frame.length];
    out[0] = WRAPPED;
    System.arraycopy(head, 0, out, 1, head.length);
    out[head.length + 1] = '\n';
    System.arraycopy(frame, 0, out, head.length + 2, frame.length);
    return out;
  }
}
