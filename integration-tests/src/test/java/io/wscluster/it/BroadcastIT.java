package io.wscluster.it;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.wscluster.it.TestClient.Send;
import java.util.List;
import java.util.UUID;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInfo;
import org.junit.jupiter.api.TestInstance;

/**
 * Every targeting mode on 3 nodes sharing one Redis, with real clients on every node including the origin node:
 * each message reaches exactly its intended clients, once each, and nobody else (absence is asserted after a fence
 * message from the same origin has reached every client).
 *
 * <pre>
 *   client   node  url room  user   extra rooms   → rooms: red = alice0, carol1, dave2
 *   alice0   n0    red       alice                         blue = bob0, dave2
 *   bob0     n0    blue      bob    green                  green = alice1, erin2, bob0
 *   carol1   n1    red       carol                  users: alice = alice0, alice1 (two nodes)
 *   alice1   n1    green     alice
 *   dave2    n2    blue      dave   red
 *   erin2    n2    green     erin
 * </pre>
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class BroadcastIT {

  private static final int MESSAGES_PER_CASE = 3;

  private Cluster cluster;
  private TestClient alice0;
  private TestClient bob0;
  private TestClient carol1;
  private TestClient alice1;
  private TestClient dave2;
  private TestClient erin2;
  private List<TestClient> everyone;
  private String caseName;

  @BeforeAll
  void startCluster() throws Exception {
    cluster = Cluster.start("broadcast", 3);
    alice0 = cluster.chat(0, "red", "alice");
    bob0 = cluster.chat(0, "blue", "bob");
    carol1 = cluster.chat(1, "red", "carol");
    alice1 = cluster.chat(1, "green", "alice");
    dave2 = cluster.chat(2, "blue", "dave");
    erin2 = cluster.chat(2, "green", "erin");
    bob0.join("green");
    dave2.join("red");
    everyone = List.of(alice0, bob0, carol1, alice1, dave2, erin2);
    // the membership changes are visible cluster-wide before the cases start
    cluster.fence(alice0, everyone);
  }

  @AfterAll
  void stopCluster() {
    if (cluster != null) {
      cluster.close();
    }
  }

  @BeforeEach
  void name(TestInfo info) {
    caseName = info.getTestMethod().orElseThrow().getName();
  }

  /** An action that sends one message with text T. */
  interface Action {
    void send(String text) throws Exception;
  }

  /**
   * Sends {@link #MESSAGES_PER_CASE} messages through the action, waits for them at the intended clients, fences,
   * then asserts exactly-once / never per client, the frame kind, and the origin fields of text deliveries.
   */
  private void verify(TestClient sender, Action action, List<TestClient> intended, boolean binary) throws Exception {
    String scope = "m:" + caseName + ":" + UUID.randomUUID().toString().substring(0, 8) + ":";
    ExactlyOnceChecker checker = new ExactlyOnceChecker();
    for (int i = 0; i < MESSAGES_PER_CASE; i++) {
      String text = scope + i;
      checker.expect(text, intended);
      action.send(text);
    }
    for (String text : checker.texts()) {
      for (TestClient c : intended) {
        c.awaitDelivery(text);
      }
    }
    cluster.fence(sender, everyone);
    checker.check(everyone, t -> t.startsWith(scope)).assertExactlyOnce(caseName + " from " + sender);

    for (TestClient c : intended) {
      for (TestClient.Frame f : c.deliveriesMatching(t -> t.startsWith(scope))) {
        assertEquals(binary, f.binary(), c + " got the wrong frame kind for " + f.text());
        if (!binary) {
          assertEquals(sender.user(), f.json().get("from"), c + ": 'from' of " + f.text());
          assertEquals(sender.nodeId(), f.json().get("node"), c + ": 'node' (origin) of " + f.text());
          assertEquals(sender.room(), f.json().get("room"), c + ": 'room' of " + f.text());
        }
      }
    }
  }

  // ---- all ----

  @Test
  void all_reachesEveryClientOnce() throws Exception {
    verify(alice0, t -> alice0.send(Send.text(t).all()), everyone, false);
  }

  @Test
  void all_fromEveryNode_reachesEveryClientOnce() throws Exception {
    verify(carol1, t -> carol1.send(Send.text(t).all()), everyone, false);
    verify(erin2, t -> erin2.send(Send.text(t).all()), everyone, false);
  }

  // ---- rooms ----

  @Test
  void oneRoom_reachesOnlyItsMembers() throws Exception {
    verify(carol1, t -> carol1.send(Send.text(t).rooms("green")), List.of(alice1, erin2, bob0), false);
  }

  @Test
  void severalRooms_sessionInTwoTargetedRoomsGetsItOnce() throws Exception {
    // dave2 is in red and blue
    verify(alice0, t -> alice0.send(Send.text(t).rooms("red", "blue")), List.of(alice0, bob0, carol1, dave2), false);
    // bob0 (on another node than the sender) is in blue and green
    verify(erin2, t -> erin2.send(Send.text(t).rooms("blue", "green")), List.of(bob0, dave2, alice1, erin2), false);
  }

  @Test
  void say_reachesTheSendersUrlRoom() throws Exception {
    verify(carol1, carol1::say, List.of(alice0, carol1, dave2), false);
  }

  @Test
  void leave_removesSessionFromRoomCluster_wide() throws Exception {
    dave2.leave("red");
    try {
      verify(alice0, t -> alice0.send(Send.text(t).rooms("red")), List.of(alice0, carol1), false);
    } finally {
      dave2.join("red");
    }
    verify(alice0, t -> alice0.send(Send.text(t).rooms("red")), List.of(alice0, carol1, dave2), false);
  }

  // ---- users ----

  @Test
  void user_withSessionsOnTwoNodes_getsItOnEachSessionOnce() throws Exception {
    verify(bob0, t -> bob0.send(Send.text(t).users("alice")), List.of(alice0, alice1), false);
  }

  @Test
  void usersAndRooms_overlapping_unionDeliveredOnce() throws Exception {
    // alice0 is in red and is user alice
    verify(dave2, t -> dave2.send(Send.text(t).rooms("red").users("alice")),
        List.of(alice0, carol1, dave2, alice1), false);
  }

  @Test
  void dm_reachesEverySessionOfTheUser() throws Exception {
    verify(erin2, t -> erin2.dm("alice", t), List.of(alice0, alice1), false);
  }

  // ---- sessions ----

  @Test
  void oneSessionById_onAnotherNode_onlyThatSession() throws Exception {
    verify(alice0, t -> alice0.send(Send.text(t).sessions(erin2.sessionId())), List.of(erin2), false);
  }

  @Test
  void sessionsById_onTwoNodes_onlyThoseSessions() throws Exception {
    verify(dave2, t -> dave2.send(Send.text(t).sessions(carol1.sessionId(), bob0.sessionId())),
        List.of(carol1, bob0), false);
  }

  @Test
  void sessionAlsoInTargetedRoom_getsItOnce() throws Exception {
    verify(carol1, t -> carol1.send(Send.text(t).rooms("blue").sessions(dave2.sessionId(), alice0.sessionId())),
        List.of(bob0, dave2, alice0), false);
  }

  // ---- except ----

  @Test
  void except_excludesThoseSessionsOnAnyNode() throws Exception {
    verify(alice0, t -> alice0.send(Send.text(t).all().except(carol1.sessionId(), erin2.sessionId())),
        List.of(alice0, bob0, alice1, dave2), false);
  }

  @Test
  void except_winsOverRoomAndUserTargets() throws Exception {
    verify(erin2, t -> erin2.send(Send.text(t).rooms("red").users("alice").except(alice0.sessionId())),
        List.of(carol1, dave2, alice1), false);
  }

  @Test
  void exceptSelf_all_everyoneButTheSender() throws Exception {
    verify(alice0, t -> alice0.send(Send.text(t).all().exceptSelf()),
        List.of(bob0, carol1, alice1, dave2, erin2), false);
  }

  @Test
  void exceptSelf_room_membersButTheSender() throws Exception {
    verify(dave2, t -> dave2.send(Send.text(t).rooms("red").exceptSelf()), List.of(alice0, carol1), false);
  }

  @Test
  void exceptSelf_userOfSender_otherSessionsOfThatUserStillGetIt() throws Exception {
    verify(alice1, t -> alice1.send(Send.text(t).users("alice").exceptSelf()), List.of(alice0), false);
  }

  // ---- binary ----

  @Test
  void binary_all_everyClientGetsOneBinaryFrame() throws Exception {
    verify(carol1, t -> carol1.send(Send.text(t).all().binary()), everyone, true);
  }

  @Test
  void binary_user_everySessionOfUserOnce() throws Exception {
    verify(erin2, t -> erin2.send(Send.text(t).users("alice").binary()), List.of(alice0, alice1), true);
  }

  @Test
  void binary_roomsExceptSelf() throws Exception {
    verify(bob0, t -> bob0.send(Send.text(t).rooms("blue", "green").exceptSelf().binary()),
        List.of(dave2, alice1, erin2), true);
  }
}
