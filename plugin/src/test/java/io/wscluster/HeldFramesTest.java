package io.wscluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

/**
 * The outage hold's order: the refused frame first, an outage's replays in front of it, copies a
 * node asked for in front of everything but the frame in flight; when the head is due, when the
 * outage ends ({@link HeldFrames#sinceNanos}).
 */
class HeldFramesTest {
  private static final long PAUSE = 200;
  private static final String ALL = "t:all";
  private static final String X = "t:node:x";
  private final EnvelopeCodec codec = new EnvelopeCodec(1 << 20);
  private final ChainSender chains = ChainSender.chained(codec);
  private final HeldFrames held = new HeldFrames();
  private long seq;

  /** A new frame of message {@code text} to the broadcast channel, first tried at {@code now}. */
  private Frame frame(String text, long now) {
    return chains.frame(List.of(ActorRig.pending(codec, ++seq, text)), List.of(ALL), now);
  }

  private Frame replay(String text) {
    return chains.replayOf(frame(text, 0), 0);
  }

  private Frame resent(String text, String to, boolean ofBroadcast) {
    return chains.resentTo(frame(text, 0), 0, to, ofBroadcast ? "" : null, 0);
  }

  /** What is held, head first, as "text" or "kind text"; passes each in turn to see them. */
  private List<String> drain(long now) throws EnvelopeCodec.Rejection {
    List<String> out = new ArrayList<>();
    Frame f;
    while ((f = held.peek()) != null) {
      String text = ActorRig.describe(codec.decodeFrame(f.bytes[0]).envelopes);
      out.add(f.kind == Frame.Kind.NEW ? text : f.kind.name().toLowerCase() + " " + text);
      held.passed(f, now);
    }
    return out;
  }

  @Test
  void refused_headsTheHold_dueAfterThePause_theOutageBeginsOnce() {
    Frame a = frame("a", 10);
    assertTrue(held.refused(a, 50, PAUSE), "an outage begins");
    assertEquals(10, held.sinceNanos(), "since the frame was first tried");
    assertFalse(held.due(50 + PAUSE - 1));
    assertTrue(held.due(50 + PAUSE));
    assertFalse(held.refused(a, 300, PAUSE), "the same outage");
    assertFalse(held.due(300 + PAUSE - 1), "each refusal sets the next try");
  }

  @Test
  void refusedAgain_notHeldTwice() throws Exception {
    Frame a = frame("a", 0);
    held.refused(a, 0, PAUSE);
    held.refused(a, PAUSE, PAUSE);
    assertEquals(List.of("[a]"), drain(0));
  }

  @Test
  void replays_goInFrontOfTheRefusedFrame_oldestFirst() throws Exception {
    Frame c = frame("c", 0);
    held.refused(c, 0, PAUSE);
    // the history hands them newest first
    held.replayFirst(replay("b"));
    held.replayFirst(replay("a"));
    assertEquals(List.of("replay [a]", "replay [b]", "[c]"), drain(0));
  }

  @Test
  void resends_goInFrontOfWhatIsHeld_butBehindTheFrameInFlight() throws Exception {
    held.refused(frame("a", 0), 0, PAUSE);
    Frame replay = replay("p");
    held.replayFirst(replay); // the head, being published again
    held.resendFirst(List.of(resent("r1", X, true), resent("r2", X, true)), replay, 0);
    assertEquals(List.of("replay [p]", "resent [r1]", "resent [r2]", "[a]"), drain(0));
  }

  @Test
  void resends_withNoFrameInFlight_goFirst() throws Exception {
    held.refused(frame("a", 0), 0, PAUSE);
    held.resendFirst(List.of(resent("r", X, true)), null, 0);
    assertEquals(List.of("resent [r]", "[a]"), drain(0));
  }

  @Test
  void resends_withNothingHeld_dueAtOnce() {
    held.resendFirst(List.of(resent("r", X, true)), null, 40);
    assertTrue(held.due(40));
    assertEquals(0, held.sinceNanos(), "no outage: nothing was refused");
  }

  @Test
  void resendsWaiting_theLinksOfCopiesForThatNodeAndChain() {
    Frame forX = resent("r1", X, true);
    held.resendFirst(List.of(forX, resent("r2", X, false), resent("r3", "t:node:y", true)),
        null, 0);
    assertEquals(Set.of(forX.links[0]), held.resendsWaiting(X, ""));
  }

  @Test
  void passed_theRestDueAtOnce_theOutageEndsWithTheLast() {
    Frame a = frame("a", 5);
    Frame b = frame("b", 5);
    held.refused(a, 5, PAUSE);
    held.replayFirst(replay("r"));
    held.passed(held.peek(), 6);
    assertTrue(held.due(6), "Redis takes frames again");
    held.passed(a, 7);
    assertEquals(0, held.sinceNanos());
    assertTrue(held.isEmpty());
    held.passed(b, 8); // a frame that was never held: nothing to take off
    assertTrue(held.isEmpty());
  }

  @Test
  void dropReplays_keepsTheRest_andEndsAnOutageOfReplaysOnly() throws Exception {
    held.refused(frame("a", 1), 1, PAUSE);
    held.replayFirst(replay("r1"));
    held.replayFirst(replay("r2"));
    held.resendFirst(List.of(resent("s", X, true)), null, 1);
    held.dropReplays();
    assertEquals(1, held.sinceNanos());
    assertEquals(List.of("resent [s]", "[a]"), drain(1));

    Frame r = replay("r3");
    held.refused(r, 2, PAUSE); // a replay Redis refused
    held.dropReplays();
    assertTrue(held.isEmpty());
    assertEquals(0, held.sinceNanos());
  }

  @Test
  void clear_handsBackTheMessagesOfEverythingHeld() {
    held.refused(frame("a", 0), 0, PAUSE);
    held.replayFirst(replay("r"));
    assertEquals(2, held.clear().size());
    assertTrue(held.isEmpty());
  }
}
