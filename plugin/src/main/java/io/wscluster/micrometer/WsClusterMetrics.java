package io.wscluster.micrometer;

import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tag;
import io.micrometer.core.instrument.Tags;
import io.micrometer.core.instrument.TimeGauge;
import io.micrometer.core.instrument.binder.BaseUnits;
import io.micrometer.core.instrument.binder.MeterBinder;
import io.wscluster.Health;
import io.wscluster.WsCluster;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.function.ToDoubleFunction;

/**
 * Binds a node's {@link WsCluster#stats()} and {@link WsCluster#health()} to a Micrometer
 * {@link MeterRegistry}. The only plugin class that uses Micrometer: an application that never
 * names it needs no Micrometer on its classpath.
 *
 * <pre>{@code
 * new WsClusterMetrics(WsCluster.of(servletContext)).bindTo(registry);
 * }</pre>
 *
 * <p>Every meter is named under {@code wscluster.} and tagged {@code node} with the node's id
 * ({@link WsCluster#nodeId()}: its configured name plus a part chosen at each start, so a
 * restarted node is a new series, its counters starting at 0 again) and the common tags given
 * here. The meters:
 *
 * <ul>
 *   <li>each counter of {@code stats()} as a {@link FunctionCounter}, its camel-case name
 *       dot-separated: {@code published} is {@code wscluster.published}, {@code framesLost}
 *       {@code wscluster.frames.lost}. Every counter the plugin has is registered when this binds,
 *       at 0 until first bumped, so each series exists from the first scrape. The rejections,
 *       {@code rejected.<reason>} in the stats, are {@code wscluster.rejected} tagged
 *       {@code reason} (sum them for the total). A counter the stats show at bind time that this
 *       version does not list is bound under its derived name as well.
 *   <li>gauges of the local sessions: {@code wscluster.sessions}, {@code wscluster.outbox.queued}
 *       and {@code wscluster.outbox.queued.max} (frames waiting in all outboxes, in the fullest
 *       one), {@code wscluster.outbox.size} and {@code wscluster.outbox.size.max} (their bytes).
 *   <li>gauges of the health: {@code wscluster.healthy}, {@code wscluster.joined},
 *       {@code wscluster.delivering} (1 or 0), {@code wscluster.nodes.live},
 *       {@code wscluster.outage.queued} (messages waiting to be published),
 *       {@code wscluster.outage.held.age} and {@code wscluster.probe.round.trip} (time gauges;
 *       the round trip is NaN until the first probe came back).
 * </ul>
 *
 * <p>The meters read the node when the registry reads them; one {@code stats()} and one
 * {@code health()} serve every meter read within 100 ms, so a scrape costs
 * one pass over the local sessions, not one per meter. The meters hold the node strongly: when
 * the webapp stops while the registry lives on (a registry shared beyond the webapp), call
 * {@link #close()} to remove them. Thread-safe.
 */
public final class WsClusterMetrics implements MeterBinder, AutoCloseable {
  /** How long one stats or health snapshot serves the meters (see the class comment). */
  static final long SNAPSHOT_MILLIS = 100;

  private final Readings node;
  private final Tags tags;
  /** What each bindTo registered, for close(). */
  private final CopyOnWriteArrayList<Bound> bound = new CopyOnWriteArrayList<>();

  /** Meters tagged {@code node} only. */
  public WsClusterMetrics(WsCluster cluster) {
    this(cluster, Tags.empty());
  }

  /**
   * Meters tagged {@code node} and {@code tags} (such as the application's name); a {@code node}
   * tag among them replaces the node id.
   */
  public WsClusterMetrics(WsCluster cluster, Iterable<Tag> tags) {
    this.node = new Readings(Objects.requireNonNull(cluster, "cluster"),
        TimeUnit.MILLISECONDS.toNanos(SNAPSHOT_MILLIS));
    this.tags = Tags.of("node", cluster.nodeId()).and(Objects.requireNonNull(tags, "tags"));
  }

  @Override
  public void bindTo(MeterRegistry registry) {
    Map<String, Long> now = node.stats();
    for (Map.Entry<String, String> c : MeterNames.COUNTERS.entrySet()) {
      counter(registry, MeterNames.of(c.getKey()), c.getValue(), c.getKey(), Tags.empty());
    }
    for (String reason : MeterNames.REJECTION_REASONS) {
      rejected(registry, reason);
    }
    for (String name : now.keySet()) {
      if (name.startsWith(MeterNames.REJECTED_PREFIX)) {
        String reason = name.substring(MeterNames.REJECTED_PREFIX.length());
        if (!MeterNames.REJECTION_REASONS.contains(reason)) {
          rejected(registry, reason);
        }
      } else if (!MeterNames.COUNTERS.containsKey(name) && !name.equals(MeterNames.REJECTED)
          && !name.equals("sessions") && !name.startsWith("outbox.")) {
        counter(registry, MeterNames.of(name), null, name, Tags.empty());
      }
    }

    statGauge(registry, "wscluster.sessions", "Local WebSocket sessions", null, "sessions");
    statGauge(registry, "wscluster.outbox.queued",
        "Frames waiting in the local sessions' outboxes", null, "outbox.queued.total");
    statGauge(registry, "wscluster.outbox.queued.max",
        "Frames waiting in the fullest local outbox", null, "outbox.queued.max");
    statGauge(registry, "wscluster.outbox.size",
        "Bytes waiting in the local sessions' outboxes", BaseUnits.BYTES, "outbox.bytes.total");
    statGauge(registry, "wscluster.outbox.size.max",
        "Bytes waiting in the largest local outbox", BaseUnits.BYTES, "outbox.bytes.max");

    healthGauge(registry, "wscluster.healthy",
        "1 when the node runs, is joined, delivers and holds nothing back",
        r -> bit(r.health().ok()));
    healthGauge(registry, "wscluster.joined",
        "1 when the node reached the transport and subscribed; 0 while it runs local-only",
        r -> bit(r.health().joined()));
    healthGauge(registry, "wscluster.delivering",
        "1 when the last liveness probe came back through the transport in time",
        r -> bit(r.health().delivering()));
    healthGauge(registry, "wscluster.nodes.live",
        "Nodes the last lease read listed as live, this one included",
        r -> r.health().liveNodes());
    healthGauge(registry, "wscluster.outage.queued",
        "Messages waiting to be published (the outage buffer's fill)",
        r -> r.health().queuedMessages());
    keep(registry, TimeGauge.builder("wscluster.outage.held.age", node, TimeUnit.MILLISECONDS,
            r -> r.health().heldForMillis())
        .description("How long the oldest held message has waited; 0 when none is held")
        .tags(tags).strongReference(true).register(registry));
    keep(registry, TimeGauge.builder("wscluster.probe.round.trip", node, TimeUnit.MICROSECONDS,
            r -> roundTrip(r.health()))
        .description("Round trip of the last liveness probe that came back; NaN before the first")
        .tags(tags).strongReference(true).register(registry));
  }

  /**
   * Removes the meters this binder registered from every registry it was bound to. Meters read
   * after the node stopped show its last values; close when the webapp stops and the registry
   * outlives it.
   */
  @Override
  public void close() {
    for (Bound b : bound) {
      b.registry.remove(b.meter);
    }
    bound.clear();
  }

  private void counter(MeterRegistry registry, String name, String description, String stat,
      Tags extra) {
    // a function counter holds its object weakly: the function holds it strongly, so the meter
    // works as long as it is registered, whether or not the application keeps this binder
    Readings readings = node;
    keep(registry, FunctionCounter.builder(name, readings, r -> readings.stat(stat))
        .description(description).tags(tags).tags(extra).register(registry));
  }

  private void rejected(MeterRegistry registry, String reason) {
    counter(registry, MeterNames.PREFIX + MeterNames.REJECTED, MeterNames.REJECTED_DESCRIPTION,
        MeterNames.REJECTED_PREFIX + reason, Tags.of("reason", reason));
  }

  private void statGauge(MeterRegistry registry, String name, String description, String unit,
      String stat) {
    healthGauge(registry, name, description, unit, r -> r.stat(stat));
  }

  private void healthGauge(MeterRegistry registry, String name, String description,
      ToDoubleFunction<Readings> read) {
    healthGauge(registry, name, description, null, read);
  }

  private void healthGauge(MeterRegistry registry, String name, String description, String unit,
      ToDoubleFunction<Readings> read) {
    keep(registry, Gauge.builder(name, node, read).description(description).baseUnit(unit)
        .tags(tags).strongReference(true).register(registry));
  }

  private void keep(MeterRegistry registry, Meter meter) {
    bound.add(new Bound(registry, meter));
  }

  private static double bit(boolean b) {
    return b ? 1 : 0;
  }

  private static double roundTrip(Health h) {
    long micros = h.probeRoundTripMicros();
    return micros < 0 ? Double.NaN : micros;
  }

  private static final class Bound {
    final MeterRegistry registry;
    final Meter meter;

    Bound(MeterRegistry registry, Meter meter) {
      this.registry = registry;
      this.meter = meter;
    }
  }
}
