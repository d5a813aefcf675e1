package io.wscluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;

/**
 * What one deliver() waits for, and its outcome from what the owners reported: delivered and
 * failed sessions, and the reason when none was delivered. Node "n" is the origin; the
 * directory placed s1 on b and s2 on c.
 */
class PendingDeliveryTest {
  private final PendingDelivery pd = new PendingDelivery("n", 1, Target.sessions("s1", "s2"));

  /** The origin's local writes (none here) and the lookup, as {@link Receipts#deliver} does. */
  private void lookedUp() {
    pd.expect("n", Set.of());
    pd.report("n", Map.of());
    pd.expect("b", Set.of("s1"));
    pd.expect("c", Set.of("s2"));
    pd.lookupDone();
  }

  private DeliveryException failure() {
    return assertInstanceOf(DeliveryException.class, pd.result.handle((v, e) -> e).join());
  }

  @Test
  void everyOwnerReports_completesWithDeliveredAndFailed() {
    lookedUp();
    pd.report("b", Map.of("s1", ""));
    assertFalse(pd.result.isDone(), "c has not reported");
    pd.report("c", Map.of("s2", "session s2 is closed"));
    assertEquals(Set.of("s1"), pd.result.join().delivered());
    assertEquals(Map.of("s2", "session s2 is closed"), pd.result.join().failed());
  }

  @Test
  void everyReportBeforeTheLookupEnds_completesOnlyWithIt() {
    pd.expect("n", Set.of());
    pd.report("n", Map.of());
    assertFalse(pd.result.isDone(), "the owners are not known yet");
    pd.lookupDone();
    assertEquals(Map.of("s1", PendingDelivery.NOT_CONNECTED, "s2",
        PendingDelivery.NOT_CONNECTED), failure().delivery().failed());
  }

  @Test
  void ownerSaysNotConnectedOfASessionPlacedElsewhere_notTakenAsItsResult() {
    lookedUp();
    // an owner answers for every targeted id it does not hold
    pd.report("b", Map.of("s1", "", "s2", PendingDelivery.NOT_CONNECTED));
    pd.report("c", Map.of("s2", ""));
    assertEquals(Set.of("s1", "s2"), pd.result.join().delivered());
  }

  @Test
  void receiptInParts_onlyTheLastCounts() {
    lookedUp();
    pd.report("c", Map.of("s2", ""));
    pd.report("b", Map.of(), false);
    pd.report("b", Map.of(), false);
    assertFalse(pd.result.isDone(), "b's last part has not come");
    pd.report("b", Map.of("s1", ""), true);
    assertEquals(Set.of("s1", "s2"), pd.result.join().delivered());
  }

  @Test
  void repeatReceipt_ignored() {
    lookedUp();
    pd.report("b", Map.of("s1", "outbox full"));
    pd.report("b", Map.of("s1", ""));
    pd.report("c", Map.of("s2", ""));
    assertEquals(Map.of("s1", "outbox full"), pd.result.join().failed());
  }

  @Test
  void reportOfANodeNotAsked_ignored() {
    lookedUp();
    pd.report("x", Map.of("s1", ""));
    assertEquals(List.of("b", "c"), pd.waitingOn().stream().sorted().toList());
    assertFalse(pd.result.isDone());
  }

  @Test
  void waitingOn_theOwnersNotHeardFrom_onceLookedUp() {
    pd.expect("n", Set.of());
    pd.expect("b", Set.of("s1"));
    assertEquals(List.of(), pd.waitingOn(), "before the lookup ends");
    pd.lookupDone();
    assertEquals(List.of("b"), pd.waitingOn(), "never the origin");
  }

  @Test
  void ownerGone_itsSessionsGone_aLateReportIgnored() {
    lookedUp();
    pd.report("c", Map.of("s2", ""));
    pd.nodeGone("b");
    pd.report("b", Map.of("s1", ""));
    assertEquals(Map.of("s1", PendingDelivery.GONE), pd.result.join().failed());
  }

  @Test
  void reportedOwnerGone_changesNothing() {
    lookedUp();
    pd.report("b", Map.of("s1", ""));
    pd.nodeGone("b");
    pd.report("c", Map.of("s2", ""));
    assertEquals(Set.of("s1", "s2"), pd.result.join().delivered());
  }

  @Test
  void noneDelivered_everyWriteFailed_failsWithWriteFailed() {
    lookedUp();
    pd.report("b", Map.of("s1", "outbox full"));
    pd.report("c", Map.of("s2", "session closed"));
    DeliveryException e = failure();
    assertEquals(DeliveryException.Reason.WRITE_FAILED, e.reason());
    assertTrue(e.getMessage().startsWith("wscluster could not deliver to "), e.getMessage());
  }

  @Test
  void noneDelivered_anOwnerGone_failsWithNodeGone() {
    lookedUp();
    pd.report("b", Map.of("s1", PendingDelivery.NOT_CONNECTED));
    pd.nodeGone("c");
    assertEquals(DeliveryException.Reason.NODE_GONE, failure().reason());
  }

  @Test
  void timeout_whatArrivedKept_theRestNoReceiptInTime() {
    lookedUp();
    pd.report("b", Map.of("s1", ""));
    pd.fail(DeliveryException.Reason.TIMEOUT, "too late");
    DeliveryException e = failure();
    assertEquals(DeliveryException.Reason.TIMEOUT, e.reason());
    assertEquals(Set.of("s1"), e.delivery().delivered());
    assertEquals(Map.of("s2", "no receipt in time"), e.delivery().failed());
    assertTrue(e.getMessage().startsWith("too late: Delivery{delivered 1"), e.getMessage());
  }

  @Test
  void lookupFails_failsWithAWsClusterException_namingTheTargetAndTheCause() {
    pd.failLookup(new IllegalStateException("Redis is down"));
    Throwable e = pd.result.handle((v, t) -> t).join();
    assertEquals(WsClusterException.class, e.getClass());
    assertTrue(e.getMessage().contains("Redis is down"), e.getMessage());
    assertTrue(e.getMessage().contains("s1"), e.getMessage());
  }
}
