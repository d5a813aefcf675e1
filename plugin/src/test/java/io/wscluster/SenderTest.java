package io.wscluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.Test;

/**
 * Sending on the application's threads with the node's real actors ({@link ActorRig}), whose
 * membership never joins, so there is no directory: where a message is published, the local
 * sessions getting it whatever the outage buffer holds, and the size bound.
 */
class SenderTest {
  private ActorRig rig = new ActorRig();

  private CompletableFuture<Void> send(Target target, String text) {
    return rig.sender.send(target, ActorRig.utf8(text), false, text);
  }

  /** Where the one queued message goes: null for the broadcast channel, else its channels. */
  private List<String> route() {
    List<Pending> queued = rig.publisher.outgoing.queued();
    assertEquals(1, queued.size());
    CompletableFuture<List<String>> channels = queued.get(0).channels;
    return channels == null ? null : channels.join();
  }

  // ================================================================ routing

  @Test
  void all_toTheBroadcastChannel_batchedWithWhatIsQueued() throws Exception {
    send(Target.all(), "a");
    assertNull(route());
    CompletableFuture<Void> done = send(Target.all(), "b");
    assertNull(rig.publisher.outgoing.queued().get(1).channels);
    rig.time.runReady();
    assertEquals(List.of("t:all [a, b]"), rig.publishes());
    assertTrue(done.isDone() && !done.isCompletedExceptionally(), "Redis took it");
  }

  @Test
  void rooms_toTheirChannels_batchedOnlyWithMessagesToTheSameRooms() throws Exception {
    send(Target.room("r"), "a");
    assertNull(route(), "known at once: no lookup");
    send(Target.room("r"), "b");
    send(Target.room("s"), "c");
    CompletableFuture<Void> both = send(Target.rooms(java.util.Set.of("s", "r")), "d");
    send(Target.all(), "e");
    rig.time.runReady();
    assertEquals(List.of("t:room:r [a, b]", "t:room:s [c]", "t:room:r [d]", "t:room:s [d]",
        "t:all [e]"), rig.publishes());
    assertTrue(both.isDone() && !both.isCompletedExceptionally(), "Redis took it on both");
    assertEquals(rig.published(2).envelopes.get(0).seq, rig.published(3).envelopes.get(0).seq,
        "one envelope on both channels: a node in both rooms drops the second copy");
  }

  @Test
  void roomsWithUsersOrSessions_toTheBroadcastChannel() throws Exception {
    send(Target.room("r").andUsers("u"), "a");
    rig.time.runReady();
    assertEquals(List.of("t:all [a]"), rig.publishes());
  }

  @Test
  void sessionNotHere_noDirectory_toEveryNode() throws Exception {
    FakeSession here = rig.connect();
    send(Target.sessions(rig.id(here), "elsewhere"), "a");
    assertEquals(List.of("t:all"), route());
    assertEquals(List.of("a"), here.received(), "the local one, at once");
    rig.time.runReady();
    assertEquals(List.of("t:all [a]"), rig.publishes());
  }

  @Test
  void user_noDirectory_toEveryNode_whoeverHasItsSessionsHere() {
    rig.registry.register(FakeSession.withPrincipal("u").session);
    send(Target.user("u"), "a");
    assertEquals(List.of("t:all"), route(), "others may have sessions of the user");
  }

  @Test
  void everyNamedSessionHere_publishedNowhere() throws Exception {
    FakeSession one = rig.connect();
    FakeSession two = rig.connect();
    CompletableFuture<Void> done = send(Target.sessions(rig.id(one), rig.id(two)), "a");
    assertEquals(List.of(), route());
    rig.time.runReady();
    assertEquals(List.of(), rig.publishes());
    assertEquals(List.of("a"), one.received());
    assertEquals(List.of("a"), two.received());
    assertTrue(done.isDone() && !done.isCompletedExceptionally());
  }

  // ================================================================ bounds

  @Test
  void outageBufferFull_theStageFailsNamingTheBound_theLocalSessionsGetItAnyway() {
    rig = new ActorRig(WsClusterConfig.builder().set(WsClusterConfig.OUTAGE_BUFFER, "1")
        .build(), true);
    FakeSession here = rig.connect();
    send(Target.all(), "a"); // waits to be published: the buffer is full
    Throwable e = send(Target.all(), "b").handle((v, t) -> t).join();
    assertInstanceOf(WsClusterException.class, e);
    assertTrue(e.getMessage().contains(WsClusterConfig.OUTAGE_BUFFER + "=1"), e.getMessage());
    assertTrue(e.getMessage().endsWith("this node's sessions got it"), e.getMessage());
    assertEquals(List.of("a", "b"), here.received());
    assertEquals(1, rig.publisher.outgoing.queued().size(), "b is not published");
    assertEquals(1, rig.stats.get(Stats.OUTAGE_DROPPED));
  }

  @Test
  void tooLarge_refusedNamingTheBound_sentNowhere() {
    rig = new ActorRig(WsClusterConfig.builder().set(WsClusterConfig.MESSAGE_MAX_BYTES, "4")
        .build(), true);
    FakeSession here = rig.connect();
    send(Target.all(), "four");
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> send(Target.all(), "fiver"));
    assertEquals("message of 5 bytes exceeds " + WsClusterConfig.MESSAGE_MAX_BYTES + "=4",
        e.getMessage());
    assertEquals(List.of("four"), here.received());
    assertEquals(1, rig.publisher.outgoing.queued().size());
  }

  @Test
  void tooLargeText_countedInUtf8Bytes() {
    rig = new ActorRig(WsClusterConfig.builder().set(WsClusterConfig.MESSAGE_MAX_BYTES, "4")
        .build(), true);
    rig.sender.checkSize("abcd");
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> rig.sender.checkSize("\u00e9\u00e9\u00e9"));
    assertTrue(e.getMessage().startsWith("message of 6 bytes"), e.getMessage());
  }

  @Test
  void deliverToARoom_refused() {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> rig.sender.deliver(Target.room("r"), ActorRig.utf8("a"), false, "a"));
    assertTrue(e.getMessage().startsWith("deliver takes sessions and users only"),
        e.getMessage());
  }
}
