package io.wscluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.Test;

/**
 * Both sides of deliver() with the node's real actors ({@link ActorRig}): the origin writes to its
 * own sessions, publishes to the owners the directory names and completes on their receipts, a
 * node gone, or the timeout on virtual time; an owner writes and answers with a receipt. The
 * outcome in every part is covered by {@link PendingDeliveryTest}.
 */
class ReceiptsTest {
  private static final String B = "b";
  private final ActorRig rig = new ActorRig();
  private final FakeSession here = rig.connect();
  private final String local = rig.id(here);

  /** The directory places {@code sessions} on node b. */
  private void onB(String... sessions) {
    rig.owners = target -> CompletableFuture.completedFuture(
        new HashMap<>(Map.of(B, Set.of(sessions))));
  }

  /** deliver() to {@code sessions}, published at once. */
  private CompletableFuture<Delivery> deliver(String... sessions) {
    CompletableFuture<Delivery> d = rig.receipts.deliver(Target.sessions(sessions),
        ActorRig.utf8("m"), false, Payload.text("m"));
    rig.time.runReady();
    return d;
  }

  /** Node b's receipt for this node's message {@code ref}. */
  private void receiptFromB(long ref, Map<String, String> results, boolean more) {
    rig.receipts.onReceipt(Envelope.receipt(B, 100, ref, results, more));
  }

  private static DeliveryException failure(CompletableFuture<Delivery> d) {
    return assertInstanceOf(DeliveryException.class, d.handle((v, e) -> e).join());
  }

  // ================================================================ the origin's side

  @Test
  void everyOwnerConfirms_completesWithWhatWasDeliveredAndWhatFailed() throws Exception {
    onB("b1", "b2");
    CompletableFuture<Delivery> d = deliver(local, "b1", "b2");
    assertEquals(List.of("m"), here.received());
    assertEquals(List.of("t:node:b [m]"), rig.publishes(), "to the owner's channel only");
    long seq = rig.published(0).envelopes.get(0).seq;
    assertFalse(d.isDone(), "b has not confirmed");

    receiptFromB(seq, Map.of("b1", "", "b2", PendingDelivery.NOT_CONNECTED), false);
    assertEquals(Set.of(local, "b1"), d.join().delivered());
    assertEquals(Map.of("b2", PendingDelivery.NOT_CONNECTED), d.join().failed());
  }

  @Test
  void ownerGone_itsSessionsFailedAsGone() {
    onB("b1");
    CompletableFuture<Delivery> d = deliver(local, "b1");
    rig.receipts.onNodeGone(B);
    assertEquals(Set.of(local), d.join().delivered());
    assertEquals(Map.of("b1", PendingDelivery.GONE), d.join().failed());
  }

  @Test
  void onlyOwnerGone_failsWithNodeGone() {
    onB("b1");
    CompletableFuture<Delivery> d = deliver("b1");
    rig.receipts.onNodeGone(B);
    DeliveryException e = failure(d);
    assertEquals(DeliveryException.Reason.NODE_GONE, e.reason());
    assertEquals(Map.of("b1", PendingDelivery.GONE), e.delivery().failed());
  }

  @Test
  void nobodyConnected_failsWithNotConnected_namingEverySession() throws Exception {
    CompletableFuture<Delivery> d = deliver("x1", "x2");
    DeliveryException e = failure(d);
    assertEquals(DeliveryException.Reason.NOT_CONNECTED, e.reason());
    assertEquals(Map.of("x1", PendingDelivery.NOT_CONNECTED, "x2",
        PendingDelivery.NOT_CONNECTED), e.delivery().failed());
    assertEquals(List.of(), rig.publishes(), "no owner: published nowhere");
  }

  @Test
  void noReceiptWithinTheTimeout_failsWithTimeout_andWhatIsKnown() {
    onB("b1");
    CompletableFuture<Delivery> d = deliver(local, "b1");
    long timeout = rig.config.receiptTimeout().toMillis();
    rig.time.advance(timeout - 1);
    assertFalse(d.isDone());
    rig.time.advance(1);
    DeliveryException e = failure(d);
    assertEquals(DeliveryException.Reason.TIMEOUT, e.reason());
    assertEquals(Set.of(local), e.delivery().delivered());
    assertEquals(Map.of("b1", "no receipt in time"), e.delivery().failed());
    assertTrue(e.getMessage().contains(WsClusterConfig.RECEIPT_TIMEOUT + "=" + timeout + "ms"),
        e.getMessage());
  }

  @Test
  void confirmedInTime_theTimeoutChangesNothing() throws Exception {
    onB("b1");
    CompletableFuture<Delivery> d = deliver("b1");
    receiptFromB(rig.published(0).envelopes.get(0).seq, Map.of("b1", ""), false);
    rig.time.advance(rig.config.receiptTimeout().toMillis() * 2);
    assertEquals(Set.of("b1"), d.join().delivered());
  }

  @Test
  void receiptInParts_onlyTheLastCompletes() throws Exception {
    onB("b1", "b2");
    CompletableFuture<Delivery> d = deliver("b1", "b2");
    long seq = rig.published(0).envelopes.get(0).seq;
    receiptFromB(seq, Map.of("b1", ""), true);
    assertFalse(d.isDone(), "more parts follow");
    receiptFromB(seq, Map.of("b2", ""), false);
    assertEquals(Set.of("b1", "b2"), d.join().delivered());
  }

  @Test
  void lookupFails_theStageFailsWithAWsClusterException() {
    IllegalStateException down = new IllegalStateException("Redis is down");
    rig.owners = target -> CompletableFuture.failedFuture(down);
    Throwable e = deliver(local, "b1").handle((v, t) -> t).join();
    assertInstanceOf(WsClusterException.class, e);
    assertTrue(e.getMessage().startsWith("wscluster could not look up where"), e.getMessage());
    assertEquals(down, e.getCause());
  }

  @Test
  void leasesReadAfterTheLookup_withoutTheOwner_markItGone() {
    onB("b1");
    CompletableFuture<Delivery> d = deliver(local, "b1");
    rig.receipts.onLeases(Set.of(ActorRig.NODE), System.nanoTime());
    assertEquals(Map.of("b1", PendingDelivery.GONE), d.join().failed());
  }

  /** The control: a read that began before the lookup may predate the owner's lease. */
  @Test
  void leasesReadBeforeTheLookup_withoutTheOwner_stillWaitForIt() {
    onB("b1");
    long readStarted = System.nanoTime();
    CompletableFuture<Delivery> d = deliver(local, "b1");
    rig.receipts.onLeases(Set.of(ActorRig.NODE), readStarted);
    assertFalse(d.isDone());
  }

  @Test
  void leasesListingTheOwner_stillWaitForIt() {
    onB("b1");
    CompletableFuture<Delivery> d = deliver(local, "b1");
    rig.receipts.onLeases(Set.of(ActorRig.NODE, B), System.nanoTime());
    assertFalse(d.isDone());
  }

  @Test
  void stop_failsWhatWaits_withNodeGone() {
    onB("b1");
    CompletableFuture<Delivery> d = deliver(local, "b1");
    rig.receipts.stop();
    DeliveryException e = failure(d);
    assertEquals(DeliveryException.Reason.NODE_GONE, e.reason());
    assertTrue(e.getMessage().startsWith("wscluster node n stopped"), e.getMessage());
  }

  // ================================================================ an owner's side

  @Test
  void messageAskingForAReceipt_writtenHere_andConfirmedToTheOrigin() throws Exception {
    Envelope asked = new Envelope(Envelope.KIND_MESSAGE, B, 7, Target.sessions(local, "gone"),
        false, ActorRig.utf8("m"), true);
    rig.receipts.deliverAndConfirm(asked, Payload.text("m"));
    rig.time.runReady();
    assertEquals(List.of("m"), here.received());
    assertEquals(1, rig.transport.published.size());
    assertEquals("t:node:b", rig.transport.published.get(0).channel());
    Envelope receipt = rig.published(0).envelopes.get(0);
    assertEquals(Envelope.KIND_RECEIPT, receipt.kind);
    assertEquals(7, receipt.ref);
    assertEquals(Map.of(local, "", "gone", PendingDelivery.NOT_CONNECTED), receipt.results);
    assertEquals(1, rig.stats.get(Stats.RECEIPTS_SENT));
  }

  @Test
  void receiptOfMoreResultsThanASetHolds_sentInParts_allButTheLastMarkedMore() throws Exception {
    // a user's two sessions here and as many absent ids as a target holds: one result too many
    for (int i = 0; i < 2; i++) {
      rig.registry.register(FakeSession.withPrincipal("u").session);
    }
    String[] absent = new String[Target.MAX_NAMES - 1];
    for (int i = 0; i < absent.length; i++) {
      absent[i] = "s" + i;
    }
    rig.receipts.deliverAndConfirm(new Envelope(Envelope.KIND_MESSAGE, B, 7,
        Target.user("u").andSessions(absent), false, ActorRig.utf8("m"), true),
        Payload.text("m"));
    rig.time.runReady();
    assertEquals(2, rig.stats.get(Stats.RECEIPTS_SENT));
    Envelope first = rig.published(0).envelopes.get(0);
    Envelope last = rig.published(1).envelopes.get(0);
    assertEquals(EnvelopeCodec.MAX_SET_SIZE, first.results.size());
    assertTrue(first.binary, "more follow");
    assertEquals(1, last.results.size());
    assertFalse(last.binary);
  }
}
