package io.wscluster;

import io.wscluster.spi.History;
import io.wscluster.spi.Transport;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.function.BiConsumer;
import java.util.function.Consumer;
import java.util.function.Supplier;

/**
 * How the {@link Publisher} hands a frame to the backend: a frame with recorded messages (see
 * {@link Streams}) is written to the message history, which publishes it and gives the messages
 * their ids; any other frame is published as it is. Once a recorded frame's ids are known, its
 * messages go to this node's tracked sessions ({@link #deliverOwn}).
 *
 * <p>Threads: the publisher thread, except {@link #recordWith} (wiring).
 */
final class HistoryPublish {
  private final String nodeId;
  private final Transport transport;
  private final EnvelopeCodec codec;
  private final Scheduler timer;
  /** The history recorded messages are written to, once there is one (see {@link #recordWith}). */
  private volatile Supplier<History> messageHistory = () -> null;
  private volatile Consumer<String> epochs = e -> { };
  private volatile BiConsumer<Pending.Own, String> own = (o, id) -> { };
  /** The last {@link Frame#historyToken} given. */
  private long historyTokens;

  HistoryPublish(String nodeId, Transport transport, EnvelopeCodec codec, Scheduler timer) {
    this.nodeId = nodeId;
    this.transport = transport;
    this.codec = codec;
    this.timer = timer;
  }

  /**
   * At wiring: recorded messages go to {@code history}'s current value (none while it is null),
   * the epochs it reports to {@code epochs}, and once a message's id is known (or it was
   * published without one) it goes to this node's tracked sessions through {@code own}.
   */
  void recordWith(Supplier<History> history, Consumer<String> epochs,
      BiConsumer<Pending.Own, String> own) {
    this.messageHistory = history;
    this.epochs = epochs;
    this.own = own;
  }

  /** Whether publishing {@code frame} writes it to a history (so it must go out even unrouted). */
  boolean records(Frame frame) {
    return messageHistory.get() != null && frame.recordsHistory();
  }

  /**
   * One attempt at {@code frame}: a new frame with recorded messages and no ids yet is written to
   * the history (the same token on every attempt, so a retry after a lost reply is not written
   * twice); anything else is published to its channels. Completes with the receivers per channel.
   */
  CompletableFuture<List<Long>> attempt(Frame frame) {
    History h = messageHistory.get();
    if (h == null || frame.kind != Frame.Kind.NEW || frame.ids != null
        || !frame.recordsHistory()) {
      return PublishAttempt.of(frame, transport, timer);
    }
    if (frame.historyToken == 0) {
      frame.historyToken = ++historyTokens;
    }
    List<History.Message> messages = new ArrayList<>();
    for (Pending p : frame.batch) {
      if (p.own != null) {
        messages.add(new History.Message(p.own.streams(), codec.frame(List.of(p.envelope))));
      }
    }
    return PublishAttempt.ofHistory(frame, h, messages, nodeId, epochs, timer);
  }

  /**
   * Once per new frame, when Redis took it (its ids known if it was recorded) or it was given up:
   * its recorded messages go to this node's tracked sessions, which the local-first write left
   * out because their frames carry the ids.
   */
  void deliverOwn(Frame frame) {
    if (frame.ownDelivered || frame.kind != Frame.Kind.NEW) {
      return;
    }
    frame.ownDelivered = true;
    List<String> ids = frame.ids;
    int k = 0;
    for (Pending p : frame.batch) {
      if (p.own != null) {
        own.accept(p.own, ids != null && k < ids.size() ? ids.get(k++) : null);
      }
    }
  }
}
