package io.wscluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;

import io.wscluster.spi.History;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import org.junit.jupiter.api.Test;

/**
 * When this node's recorded messages reach its tracked sessions, on virtual time: with their
 * echo, in the channel's order; one second after the history's answer when no echo comes; at
 * once when there is no history or no answer. See {@link HistoryPublish}.
 */
class HistoryPublishTest {
  private static final String NODE = "n-1";
  private final VirtualTime time = new VirtualTime();
  private final EnvelopeCodec codec = new EnvelopeCodec(1 << 20);
  private final HistoryPublish publish = new HistoryPublish(NODE, null, codec, time);
  /** What went to the tracked sessions: "payload@id". */
  private final List<String> written = new ArrayList<>();
  private History history = new Answering();
  private boolean tracking = true;

  /** A history that takes every write and gives ids 7-0, 7-1, ... */
  private static class Answering implements History {
    @Override
    public CompletionStage<Published> publish(List<String> channels, List<byte[]> frames,
        List<Message> messages, String writer, String token) {
      List<String> ids = new ArrayList<>();
      for (int i = 0; i < messages.size(); i++) {
        ids.add("7-" + i);
      }
      return CompletableFuture.completedFuture(new Published(List.of(1L), ids, "e"));
    }

    @Override
    public CompletionStage<Page> read(String stream, String after, int count) {
      throw new UnsupportedOperationException();
    }

    @Override
    public CompletionStage<String> epoch() {
      return CompletableFuture.completedFuture("e");
    }
  }

  /** A history whose writes never answer (lost replies, a Redis that stopped answering). */
  private static final class Silent extends Answering {
    @Override
    public CompletionStage<Published> publish(List<String> channels, List<byte[]> frames,
        List<Message> messages, String writer, String token) {
      return new CompletableFuture<>();
    }
  }

  private void wire(boolean echoOrder) {
    publish.recordWith(() -> history, e -> { }, (own, id) -> written.add(
        own.payload().text() + "@" + id), () -> tracking, echoOrder);
  }

  private static Pending recorded(long seq, String text) {
    return new Pending(new byte[] {1}, new CompletableFuture<>(), null, null, true,
        new Pending.Own(seq, Target.all(), Payload.text(text), List.of(Streams.ALL)));
  }

  private static Frame frame(Pending... batch) {
    return new Frame(List.of(batch), new byte[][] {{1}}, List.of("p:all"), new long[] {0},
        Frame.Kind.NEW, 0);
  }

  private Frame written(Pending... batch) {
    Frame f = frame(batch);
    publish.attempt(f);
    time.runReady();
    return f;
  }

  @Test
  void echoBeforeTheAnswer_takesTheMessage_theAnswerAndTheTimerWriteNothing() {
    wire(true);
    Pending p = recorded(5, "a");
    Frame f = written(p);

    assertSame(p.own, publish.echoed(5));
    publish.deliverOwn(f);
    time.advance(5_000);

    assertEquals(List.of(), written);
    assertNull(publish.echoed(5), "taken once");
  }

  @Test
  void answerThenEcho_theEchoTakesIt_andTheTimerWritesNothing() {
    wire(true);
    Pending p = recorded(5, "a");
    Frame f = written(p);
    publish.deliverOwn(f);

    assertEquals(List.of(), written, "waits for the echo");
    assertSame(p.own, publish.echoed(5));
    time.advance(5_000);
    assertEquals(List.of(), written);
  }

  @Test
  void noEcho_writtenOneSecondAfterTheAnswer_withItsId_andALateEchoFindsNothing() {
    wire(true);
    Frame f = written(recorded(5, "a"), recorded(6, "b"));
    publish.deliverOwn(f);

    time.advance(999);
    assertEquals(List.of(), written);
    time.advance(1);
    assertEquals(List.of("a@7-0", "b@7-1"), written);
    assertNull(publish.echoed(5));
    assertNull(publish.echoed(6));
  }

  @Test
  void givenUpWithoutAnAnswer_writtenAtOnceWithoutAnId() {
    wire(true);
    history = new Silent();
    Frame f = written(recorded(5, "a"));
    publish.deliverOwn(f);

    assertEquals(List.of("a@null"), written);
    assertNull(publish.echoed(5));
  }

  @Test
  void noHistory_writtenAtOnceWithoutAnId() {
    history = null;
    wire(true);
    Frame f = frame(recorded(5, "a"));
    publish.deliverOwn(f);

    assertEquals(List.of("a@null"), written);
  }

  @Test
  void retryOfAnEchoedFrame_isNotWaitedForAgain() {
    wire(true);
    History answering = history;
    history = new Silent(); // the write runs, its answer is lost
    Pending p = recorded(5, "a");
    Frame f = written(p);
    assertSame(p.own, publish.echoed(5));
    history = answering;
    publish.attempt(f); // the same frame again, under the same token
    time.runReady();
    publish.deliverOwn(f);
    time.advance(5_000);

    assertEquals(List.of(), written);
    assertNull(publish.echoed(5));
  }

  @Test
  void noTrackedSessionYet_writtenOnTheAnswer_nothingWaits() {
    tracking = false;
    wire(true);
    Frame f = written(recorded(5, "a"));
    assertNull(publish.echoed(5));
    publish.deliverOwn(f);

    assertEquals(List.of("a@7-0"), written);
  }

  /** The control: written when the history answered, whatever comes back on the channels. */
  @Test
  void negativeControl_echoOrderOff_writtenOnTheAnswer() {
    wire(false);
    Frame f = written(recorded(5, "a"));
    assertNull(publish.echoed(5));
    publish.deliverOwn(f);

    assertEquals(List.of("a@7-0"), written);
  }
}
