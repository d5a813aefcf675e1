package io.wscluster;

import io.wscluster.spi.History;
import io.wscluster.spi.Transport;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.function.BiConsumer;
import java.util.function.BooleanSupplier;
import java.util.function.Consumer;
import java.util.function.Supplier;

/**
 * How the {@link Publisher} hands a frame to the backend: a frame with recorded messages (see
 * {@link Streams}) is written to the message history, which publishes it and gives the messages
 * their ids; any other frame is published as it is.
 *
 * <p>This node's recorded messages reach its tracked sessions (which the local-first write left
 * out: their frames carry the ids) with their echo: the dispatcher takes them when the frame comes
 * back on one of its channels ({@link #echoed}), so they are written in that channel's order, the
 * order of the history, between the other nodes' messages before and after them. Written as soon
 * as the history answered, they would overtake other nodes' earlier messages still on their way,
 * and a client that keeps the last offset it got would skip those when it resumes. A message whose
 * echo does not come within {@link #ECHO_WAIT_NANOS} of the answer (its channel not subscribed
 * yet, the subscription lost) is written then, out of that order; one that was never written to
 * the history, at once, without an id.
 *
 * <p>Threads: the publisher thread, except {@link #recordWith} (wiring), {@link #echoed} (the
 * dispatcher) and the late writes (the timer).
 */
final class HistoryPublish {
  /** How long after the history's answer an own recorded message waits for its echo. */
  static final long ECHO_WAIT_NANOS = TimeUnit.SECONDS.toNanos(1);
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
  /**
   * This node's recorded messages written to the history and not yet to its tracked sessions, by
   * envelope seq: put when their frame is first written, taken once by the first of their echo,
   * the late write, or the give-up of a frame that never had an answer.
   */
  private final Map<Long, Pending.Own> unechoed = new ConcurrentHashMap<>();
  /** False: a test's control ({@link NodeParts#echoOrder}): written when the history answered. */
  private volatile boolean echoOrder = true;
  /** Whether this node has (had) tracked sessions: until then nothing waits for an echo. */
  private volatile BooleanSupplier tracking = () -> false;

  HistoryPublish(String nodeId, Transport transport, EnvelopeCodec codec, Scheduler timer) {
    this.nodeId = nodeId;
    this.transport = transport;
    this.codec = codec;
    this.timer = timer;
  }

  /**
   * At wiring: recorded messages go to {@code history}'s current value (none while it is null),
   * the epochs it reports to {@code epochs}, and once a message's id is known (or it was
   * published without one) it goes to this node's tracked sessions through {@code own}; messages
   * wait for their echo once {@code tracking} says this node has tracked sessions.
   */
  void recordWith(Supplier<History> history, Consumer<String> epochs,
      BiConsumer<Pending.Own, String> own, BooleanSupplier tracking, boolean echoOrder) {
    this.messageHistory = history;
    this.epochs = epochs;
    this.own = own;
    this.tracking = tracking;
    this.echoOrder = echoOrder;
  }

  /**
   * Whether this node's recorded messages wait for their echo: then a message to users this node
   * has sessions of is published on this node's channel as well ({@link Sender}).
   */
  boolean waitsForEcho() {
    return echoOrder && messageHistory.get() != null && tracking.getAsBoolean();
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
    boolean first = frame.historyToken == 0;
    if (first) {
      frame.historyToken = ++historyTokens;
      frame.echoAwaited = echoOrder && tracking.getAsBoolean();
    }
    List<History.Message> messages = new ArrayList<>();
    for (Pending p : frame.batch) {
      if (p.own != null) {
        messages.add(new History.Message(p.own.streams(), codec.frame(List.of(p.envelope))));
        if (first && frame.echoAwaited) {
          // before the write: its echo may come before its answer
          unechoed.put(p.own.seq(), p.own);
        }
      }
    }
    return PublishAttempt.ofHistory(frame, h, messages, nodeId, epochs, timer);
  }

  /**
   * Once per new frame, when Redis took it (its ids known if it was recorded) or it was given up:
   * its recorded messages go to this node's tracked sessions now if they were never written to the
   * history (no id, no echo) or no answer came (no id), else on their echo, or
   * {@link #ECHO_WAIT_NANOS} from now if it does not come.
   */
  void deliverOwn(Frame frame) {
    if (frame.ownDelivered || frame.kind != Frame.Kind.NEW) {
      return;
    }
    frame.ownDelivered = true;
    List<String> ids = frame.ids;
    List<Late> waiting = null;
    int k = 0;
    for (Pending p : frame.batch) {
      Pending.Own o = p.own;
      if (o == null) {
        continue;
      }
      String id = ids != null && k < ids.size() ? ids.get(k++) : null;
      if (!frame.echoAwaited) {
        own.accept(o, id);
      } else if (id == null) {
        // no answer: no id to wait with; unless its echo came after all
        if (unechoed.remove(o.seq(), o)) {
          own.accept(o, null);
        }
      } else if (unechoed.containsKey(o.seq())) {
        if (waiting == null) {
          waiting = new ArrayList<>();
        }
        waiting.add(new Late(o, id));
      }
    }
    if (waiting == null) {
      return;
    }
    List<Late> late = waiting;
    try {
      timer.schedule(() -> {
        for (Late l : late) {
          if (unechoed.remove(l.own.seq(), l.own)) {
            own.accept(l.own, l.id);
          }
        }
      }, ECHO_WAIT_NANOS);
    } catch (RejectedExecutionException stopped) {
      // the node stops: its sessions close
    }
  }

  /** An own message still waiting for its echo, with the id the history gave it. */
  private record Late(Pending.Own own, String id) {
  }

  /**
   * Dispatcher thread: this node's envelope {@code seq}, recorded, came back on a channel. The
   * message for its tracked sessions if they are still to get it (the caller writes it there, in
   * the channel's order), else null.
   */
  Pending.Own echoed(long seq) {
    return unechoed.isEmpty() ? null : unechoed.remove(seq);
  }
}
