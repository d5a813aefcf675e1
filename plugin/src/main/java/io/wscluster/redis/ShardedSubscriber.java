package io.wscluster.redis;

import io.wscluster.spi.Transport;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.redisson.client.ChannelName;
import org.redisson.client.RedisClient;
import org.redisson.client.RedisPubSubConnection;
import org.redisson.client.RedisPubSubListener;
import org.redisson.client.codec.ByteArrayCodec;
import org.redisson.client.protocol.RedisCommands;
import org.redisson.client.protocol.pubsub.PubSubType;
import org.redisson.connection.ConnectionManager;
import org.redisson.connection.MasterSlaveEntry;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Sharded subscriptions (SSUBSCRIBE) on pub/sub connections of our own, one to each master that
 * serves a subscribed channel's slot, placed by Redisson's current slot map.
 *
 * <p>Why not Redisson's sharded topics: in Redisson 4.3.1, when a slot moves, its re-subscription
 * first unsubscribes on the old owner, which answers MOVED; the status it waits for never comes,
 * the channel's lock stays taken, and every later subscribe of the channel times out. The channel
 * stays unsubscribed for good. Here a channel follows its slot instead: Redis telling a
 * subscription it ended ({@code sunsubscribe}, sent when the slot left the server), a
 * subscription not confirmed in time, or Redisson's slot map naming another master (a move or a
 * failover, read every {@code scanInterval}) each place the channel again on the slot's master
 * now. Placing subscribes on the new master before leaving the old one, so a channel is never
 * unsubscribed on purpose while its slot is served.
 *
 * <p>Each subscription is {@link ChannelProbe probed} when its channel is quiet; one found dead
 * has its connection closed (which ends every subscription on it, so the senders see fewer
 * receivers and hold their frames) and its channels subscribed again on a new connection.
 *
 * <p>Threads: all state lives on one thread ({@code wscluster-shards-n}); Redisson's threads
 * only hand status events over to it. Frames go from Redisson's thread straight to the receiver,
 * as with classic topics (the receiver only queues them).
 */
final class ShardedSubscriber {
  private static final Logger LOG = LoggerFactory.getLogger(ShardedSubscriber.class);
  /** How often placements are checked against the slot map, and the wait before a retry. */
  static final long CHECK_MILLIS = 200;
  /** A subscription not confirmed by Redis within this time is placed again. */
  static final long CONFIRM_MILLIS = 1_000;
  private final ConnectionManager connections;
  private final Transport.Receiver receiver;
  private final int extraListeners;
  private final boolean probes;
  private final ScheduledExecutorService thread;
  /** Thread-confined: the subscribed channels. */
  private final Map<String, Sub> subs = new HashMap<>();
  /** Thread-confined: our pub/sub connection to each master client in use. */
  private final Map<RedisClient, ShardLink> links = new HashMap<>();
  private boolean stopped;
  /** Connections closed because a probe did not come back. */
  private final AtomicLong replaced = new AtomicLong();
  private final AtomicLong probesSent = new AtomicLong();

  /**
   * @param extraListeners test hook: deliver each frame this many more times (a doubled
   *     subscription)
   * @param probes whether quiet channels are probed; false only as a test's control
   */
  ShardedSubscriber(ConnectionManager connections, Transport.Receiver receiver,
      int extraListeners, boolean probes, ThreadFactory threads) {
    this.connections = connections;
    this.receiver = receiver;
    this.extraListeners = extraListeners;
    this.probes = probes;
    this.thread = Executors.newSingleThreadScheduledExecutor(threads);
    thread.scheduleWithFixedDelay(this::check, CHECK_MILLIS, CHECK_MILLIS, TimeUnit.MILLISECONDS);
  }

  /**
   * Subscribes {@code channel}, or places it again when it is subscribed (a subscription that
   * Redis stopped serving without telling is re-established). Completes when Redis confirmed the
   * subscription on the master of the channel's slot; until then it keeps trying.
   */
  CompletionStage<Void> subscribe(String channel) {
    CompletableFuture<Void> done = new CompletableFuture<>();
    run(() -> {
      // subscribed already: SSUBSCRIBE again where it is (Redis takes it as a no-op when it still
      // serves the subscription), or where its slot is now
      Sub sub = subs.computeIfAbsent(channel, Sub::new);
      sub.waiting.add(done);
      place(sub);
    }, done);
    return done;
  }

  /**
   * Unsubscribes {@code channel}: nothing is delivered from it afterwards. Completes when its
   * master confirmed, or at once when there is no live subscription to end.
   */
  CompletionStage<Void> unsubscribe(String channel) {
    CompletableFuture<Void> done = new CompletableFuture<>();
    run(() -> {
      Sub sub = subs.remove(channel);
      if (sub == null) {
        done.complete(null);
        return;
      }
      sub.gone = true;
      sub.waiting.forEach(w -> w.completeExceptionally(
          new IllegalStateException("unsubscribed from " + channel + " before Redis confirmed")));
      sub.waiting.clear();
      leave(sub).whenComplete((v, e) -> done.complete(null));
    }, done);
    return done;
  }

  /** Closes our connections; nothing is delivered afterwards. */
  void stop() {
    CompletableFuture<Void> done = new CompletableFuture<>();
    run(() -> {
      stopped = true;
      for (Sub sub : subs.values()) {
        sub.gone = true;
        sub.waiting.forEach(w -> w.completeExceptionally(new IllegalStateException("stopped")));
      }
      subs.clear();
      links.values().forEach(ShardLink::close);
      links.clear();
      done.complete(null);
    }, done);
    try {
      done.get(5, TimeUnit.SECONDS);
    } catch (Exception e) {
      LOG.debug("sharded subscriptions did not stop in time", e);
    }
    thread.shutdownNow();
  }

  /** Runs {@code task} on our thread; fails {@code done} when the thread is gone. */
  private void run(Runnable task, CompletableFuture<Void> done) {
    try {
      thread.execute(() -> {
        if (stopped) {
          done.completeExceptionally(new IllegalStateException("stopped"));
        } else {
          task.run();
        }
      });
    } catch (RejectedExecutionException e) {
      done.completeExceptionally(new IllegalStateException("stopped"));
    }
  }

  /**
   * Our thread: subscribes {@code sub} on the master of its slot now, if Redisson knows one,
   * leaving the master it was on if that is another.
   */
  private void place(Sub sub) {
    RedisClient master = masterOf(sub.channel);
    ShardLink link = master == null ? null : links.computeIfAbsent(master, ShardLink::new);
    if (!sub.listeners.isEmpty() && sub.listeners.get(0).link != link) {
      leave(sub);
    }
    sub.placedAtNanos = System.nanoTime();
    sub.confirmed = false;
    sub.link = link;
    if (link == null) {
      return;
    }
    link.connection.whenComplete((connection, error) -> run(() -> {
      if (sub.link != link || sub.gone) {
        return;
      }
      if (error != null) {
        LOG.debug("no pub/sub connection to {} yet", master.getAddr(), error);
        links.remove(master, link);
        sub.link = null;
        return;
      }
      ChannelName name = new ChannelName(sub.channel);
      if (sub.listeners.isEmpty()) {
        for (int i = 0; i <= extraListeners; i++) {
          Listener l = new Listener(sub, link, i == 0);
          sub.listeners.add(l);
          connection.addListener(name, l);
        }
      }
      connection.ssubscribe(ByteArrayCodec.INSTANCE, name);
    }, new CompletableFuture<>()));
  }

  /**
   * Our thread: ends {@code sub}'s subscription where it is, if the connection is up; completes
   * when that master confirmed or could not (the slot left it: it answers MOVED).
   */
  private CompletableFuture<Void> leave(Sub sub) {
    List<Listener> listeners = new ArrayList<>(sub.listeners);
    sub.listeners.clear();
    sub.confirmed = false;
    CompletableFuture<Void> left = new CompletableFuture<>();
    ShardLink link = listeners.isEmpty() ? null : listeners.get(0).link;
    if (link == null) {
      left.complete(null);
      return left;
    }
    link.connection.whenComplete((connection, error) -> run(() -> {
      if (error != null || connection.isClosed()) {
        left.complete(null);
        return;
      }
      ChannelName name = new ChannelName(sub.channel);
      if (!connection.isActive()) {
        // reconnecting: the client forgets the channel, so it does not subscribe it again once
        // connected, and our listeners go now (the write fails, no status will come)
        connection.unsubscribe(PubSubType.SUNSUBSCRIBE, name);
        listeners.forEach(l -> connection.removeListener(name, l));
        left.complete(null);
        return;
      }
      sub.leaving = left;
      connection.unsubscribe(PubSubType.SUNSUBSCRIBE, name).addListener(f -> {
        if (!f.isSuccess()) {
          left.complete(null);
        }
      });
      // a MOVED answer is not a status: do not wait for one longer than a confirmation
      thread.schedule(() -> left.complete(null), CONFIRM_MILLIS, TimeUnit.MILLISECONDS);
      left.whenComplete((v, e) -> listeners.forEach(l -> connection.removeListener(name, l)));
    }, left));
    return left;
  }

  /**
   * Our thread, every {@link #CHECK_MILLIS}: places again each channel whose slot another master
   * serves now, or whose subscription was not confirmed in time; closes connections nothing uses.
   */
  private void check() {
    try {
      long now = System.nanoTime();
      for (Sub sub : subs.values()) {
        RedisClient master = masterOf(sub.channel);
        boolean moved = master != null && (sub.link == null || sub.link.client != master);
        boolean late = !sub.confirmed
            && now - sub.placedAtNanos > TimeUnit.MILLISECONDS.toNanos(CONFIRM_MILLIS);
        if (moved || late) {
          if (moved && sub.link != null) {
            LOG.info("sharded channel {} follows its slot to {}", sub.channel, master.getAddr());
          }
          place(sub);
        } else if (probes && sub.confirmed && sub.link != null) {
          probe(sub, now);
        }
      }
      List<RedisClient> unused = new ArrayList<>();
      links.forEach((client, link) -> {
        if (subs.values().stream().noneMatch(s -> s.link == link)) {
          unused.add(client);
        }
      });
      for (RedisClient client : unused) {
        links.remove(client).close();
      }
    } catch (RuntimeException e) {
      LOG.warn("checking sharded subscriptions failed", e);
    }
  }

  /** Our thread: the next step of {@code sub}'s probe: nothing, a probe, or a new connection. */
  private void probe(Sub sub, long now) {
    ChannelProbe.Step step = sub.probe.next(now,
        ThreadLocalRandom.current().nextLong(ChannelProbe.QUIET_MILLIS / 2 + 1));
    if (step == ChannelProbe.Step.DEAD) {
      replace(sub.link, sub.channel, sub.probe.why());
    } else if (step == ChannelProbe.Step.SEND) {
      probesSent.incrementAndGet();
      ShardLink link = sub.link;
      link.commands().thenCompose(c -> c.<Long, Long>async(ByteArrayCodec.INSTANCE,
              RedisCommands.SPUBLISH, sub.channel, ChannelProbe.FRAME).toCompletableFuture())
          .whenComplete((count, error) -> run(() -> {
            if (error != null) {
              LOG.debug("probe on {} not taken by {}", sub.channel, link.client.getAddr(), error);
              sub.probe.failed(now);
            } else {
              sub.probe.answered(now, count == null ? 0 : count, System.nanoTime());
            }
          }, new CompletableFuture<>()));
    }
  }

  /**
   * Our thread: {@code link}'s connection does not deliver: closes it and places each channel on
   * it again, on a new connection to the same master.
   */
  private void replace(ShardLink link, String channel, String why) {
    if (links.get(link.client) != link) {
      return;
    }
    replaced.incrementAndGet();
    LOG.warn("sharded subscriptions on {} stopped delivering ({}, channel {}): subscribing them "
        + "again on a new connection", link.client.getAddr(), why, channel);
    links.remove(link.client);
    link.close();
    for (Sub sub : subs.values()) {
      if (sub.link == link) {
        sub.listeners.clear(); // they go with the closed connection
        sub.link = null;
        place(sub);
      }
    }
  }

  /** How many connections were replaced because a probe did not come back. */
  long replaced() {
    return replaced.get();
  }

  /** How many probes were sent. */
  long probesSent() {
    return probesSent.get();
  }

  /**
   * Test hook: the current placement of {@code channel} goes deaf (Redis still counts it, but
   * nothing it delivers reaches the receiver), as a wedged connection would.
   */
  void deafen(String channel) {
    CompletableFuture<Void> done = new CompletableFuture<>();
    run(() -> {
      Sub sub = subs.get(channel);
      if (sub != null) {
        sub.listeners.forEach(l -> l.deaf = true);
      }
      done.complete(null);
    }, done);
    done.join();
  }

  /** The client of the master serving {@code channel}'s slot, per Redisson; null if none now. */
  private RedisClient masterOf(String channel) {
    MasterSlaveEntry entry = connections.getWriteEntry(connections.calcSlot(channel));
    if (entry == null || !entry.isInit()) {
      return null;
    }
    RedisClient client = entry.getClient();
    // Redisson shuts a client down when it replaces the master: the replacement is due
    return client.isShutdown() ? null : client;
  }

  /** Our thread: Redis confirmed or ended a subscription of {@code from}'s placement. */
  private void status(Listener from, PubSubType type) {
    Sub sub = from.sub;
    boolean current = sub.listeners.contains(from);
    if (type == PubSubType.SSUBSCRIBE && current) {
      if (!sub.confirmed) {
        sub.probe.confirmed(System.nanoTime()); // quiet from here, not from before
      }
      sub.confirmed = true;
      sub.waiting.forEach(w -> w.complete(null));
      sub.waiting.clear();
    } else if (type == PubSubType.SUNSUBSCRIBE && !current) {
      if (sub.leaving != null) {
        sub.leaving.complete(null);
      }
    } else if (type == PubSubType.SUNSUBSCRIBE && !sub.gone) {
      // not asked for: Redis ended it because the slot left this master (a move). Place it where
      // the slot is now; until Redisson's slot map knows, the check places it again
      LOG.info("Redis ended the sharded subscription of {} on {}: placing it again",
          sub.channel, from.link.client.getAddr());
      place(sub);
    }
  }

  /** One subscribed channel. Fields: our thread. */
  private final class Sub {
    final String channel;
    /** The listeners on the current placement's connection (more than one: the test hook). */
    final List<Listener> listeners = new ArrayList<>();
    final List<CompletableFuture<Void>> waiting = new ArrayList<>();
    /** Read by Redisson's threads to tell the current placement's frames. */
    volatile ShardLink link;
    boolean confirmed;
    volatile boolean gone;
    long placedAtNanos;
    CompletableFuture<Void> leaving;
    /** Whether the current placement delivers. */
    final ChannelProbe probe = new ChannelProbe();

    Sub(String channel) {
      this.channel = channel;
    }
  }

  /** Redisson's thread: hands frames to the receiver, status to our thread. */
  private final class Listener implements RedisPubSubListener<Object> {
    final Sub sub;
    final ShardLink link;
    /** Whether this one reports status (one per placement). */
    final boolean reports;
    /** Test hook: drops everything (see {@link #deafen}). */
    volatile boolean deaf;

    Listener(Sub sub, ShardLink link, boolean reports) {
      this.sub = sub;
      this.link = link;
      this.reports = reports;
    }

    @Override
    public void onMessage(CharSequence channel, Object frame) {
      if (sub.gone || deaf || !(frame instanceof byte[] bytes)) {
        return;
      }
      if (reports && sub.link == link) {
        sub.probe.onFrame(System.nanoTime());
      }
      if (!ChannelProbe.isProbe(bytes)) {
        receiver.onFrame(sub.channel, bytes);
      }
    }

    @Override
    public void onStatus(PubSubType type, CharSequence channel) {
      if (reports) {
        run(() -> status(this, type), new CompletableFuture<>());
      }
    }
  }
}
