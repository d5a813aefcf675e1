package io.wscluster;

import io.wscluster.spi.History;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Connection-state recovery, the server side (see docs/recovery.md): sessions that ask for it
 * (query parameter {@value ResumeToken#PARAMETER}, or {@link WsCluster#resume}) get a hello, each
 * message with its history offsets, and what they missed, replayed from the backend's
 * {@link History} when the stream is resumed (at open for {@code all}, when joined for a room,
 * when the user is set for a user). The seam between replay and live messages is
 * {@link Tracked}'s.
 *
 * <p>Threads: registration, join and user changes on the app's (or container's) threads; replays
 * on the one replay thread ({@code wscluster-replay-n}), one page of {@value #PAGE} entries at a
 * time, the next page read only once the session's outbox wrote the last one, so a long replay
 * takes one page of memory and never blocks Redisson's or Jetty's threads.
 */
final class Recovery {
  private static final Logger LOG = LoggerFactory.getLogger(Recovery.class);
  /** Entries read from history per round trip. */
  static final int PAGE = 100;
  /** A failed history read is tried again after this pause, this many times. */
  static final long RETRY_MILLIS = 500;
  static final int RETRIES = 20;

  private final String nodeId;
  /**
   * Null until the node joined, and when it keeps no history: sessions that ask are told nothing
   * is recovered.
   */
  private volatile History history;
  private final EnvelopeCodec codec;
  private final Stats stats;
  private final ExecutorService thread;
  private final ScheduledExecutorService timer;
  private final boolean seam;
  private volatile String epoch;

  /** @param seam false only as a test's control: see {@link NodeParts#seam} */
  Recovery(String nodeId, EnvelopeCodec codec, Stats stats, ExecutorService thread,
      ScheduledExecutorService timer, boolean seam) {
    this.nodeId = nodeId;
    this.seam = seam;
    this.codec = codec;
    this.stats = stats;
    this.thread = thread;
    this.timer = timer;
  }

  /** The history recorded messages are written to, or null (none, or not joined yet). */
  History history() {
    return history;
  }

  /** The epoch a publish or read reported. */
  void onEpoch(String current) {
    if (current != null && !current.equals(epoch)) {
      if (epoch != null) {
        LOG.warn("[{}] the message history's epoch changed (Redis lost it): resuming clients "
            + "of the old one are told nothing was recovered", nodeId);
      }
      epoch = current;
    }
  }

  /**
   * The node joined: messages are recorded in {@code joined} (null: no history) from now on, and
   * its epoch is learnt.
   */
  void start(History joined) {
    history = joined;
    if (joined != null) {
      fetchEpoch();
    }
  }

  private CompletableFuture<String> fetchEpoch() {
    History history = this.history;
    try {
      return history.epoch().toCompletableFuture().thenApply(e -> {
        onEpoch(e);
        return e;
      });
    } catch (RuntimeException e) {
      return CompletableFuture.failedFuture(e);
    }
  }

  // ---------------------------------------------------------------- session events (any thread)

  /** Set once this node tracks a session: from then on its own messages wait for their echo. */
  private volatile boolean tracking;

  /** Whether this node has tracked a session (see {@link HistoryPublish#deliverOwn}). */
  boolean tracking() {
    return tracking;
  }

  /**
   * A session's entry is being made, before any message can resolve to it: tracked if its URL has
   * the parameter, so no message reaches it without its header.
   */
  void prepare(LocalSession ls) {
    String parameter;
    try {
      List<String> values = ls.session.getRequestParameterMap().get(ResumeToken.PARAMETER);
      parameter = values == null || values.isEmpty() ? null : values.get(0);
    } catch (RuntimeException e) {
      return; // a closed session may refuse
    }
    if (parameter == null) {
      return;
    }
    ResumeToken token;
    try {
      token = ResumeToken.parse(parameter);
    } catch (IllegalArgumentException e) {
      stats.increment(Stats.RECOVERY_BAD_TOKENS);
      LOG.debug("[{}] session {}: unreadable recovery token ({}); tracked as fresh", nodeId,
          ls.id, e.getMessage());
      token = ResumeToken.FRESH;
    }
    ls.tracked = new Tracked(token, seam);
    tracked();
  }

  /** A session got its {@link Tracked}. */
  private void tracked() {
    tracking = true;
    stats.increment(Stats.RECOVERY_SESSIONS);
  }

  /** A session registered: a tracked one gets its hello and the resume of its streams. */
  void onOpen(LocalSession ls) {
    Tracked t = ls.tracked;
    if (t != null) {
      begin(ls, t);
    }
  }

  /**
   * {@link WsCluster#resume}: tracks the session (if the parameter did not already) with these
   * offsets, and resumes now the streams it is in.
   */
  CompletionStage<Map<String, Boolean>> resume(LocalSession ls, String tokenEpoch,
      Map<String, String> offsets) {
    ResumeToken token = ResumeToken.of(tokenEpoch, offsets);
    Tracked t = ls.tracked;
    if (t == null) {
      t = track(ls, token);
    } else if (!t.token.offsets.equals(token.offsets)
        || !java.util.Objects.equals(t.token.epoch, token.epoch)) {
      throw new IllegalStateException("session " + ls.id + " is already resuming with other "
          + "offsets (from its " + ResumeToken.PARAMETER + " parameter or an earlier resume)");
    }
    Map<String, CompletableFuture<Boolean>> results = new LinkedHashMap<>();
    for (String stream : token.offsets.keySet()) {
      CompletableFuture<Boolean> r = t.results.get(stream);
      if (r != null) {
        results.put(stream, r);
      }
    }
    return CompletableFuture.allOf(results.values().toArray(new CompletableFuture<?>[0]))
        .thenApply(v -> {
          Map<String, Boolean> out = new LinkedHashMap<>();
          results.forEach((s, r) -> out.put(s, r.join()));
          return out;
        });
  }

  private Tracked track(LocalSession ls, ResumeToken token) {
    Tracked t;
    synchronized (ls) {
      if (ls.tracked != null) {
        return ls.tracked;
      }
      t = new Tracked(token, seam);
      ls.tracked = t;
    }
    tracked();
    begin(ls, t);
    return t;
  }

  /** Once per tracked session: its hello, then the resume of the streams it is in. */
  private void begin(LocalSession ls, Tracked t) {
    if (!t.begin()) {
      return;
    }
    onThread(() -> hello(ls, t, 0));
    onStream(ls, Streams.ALL);
    for (String room : ls.rooms) {
      onStream(ls, Streams.ROOM + room);
    }
    String user = ls.user();
    if (user != null) {
      onStream(ls, Streams.USER + user);
    }
  }

  /** The session now gets the messages of {@code stream}: resumed if its token has it. */
  void onStream(LocalSession ls, String stream) {
    Tracked t = ls.tracked;
    if (t == null) {
      return;
    }
    String after = t.start(stream);
    if (after != null) {
      CompletableFuture<Boolean> result = t.results.get(stream);
      onThread(() -> replay(ls, t, stream, after, 0, result));
    }
  }

  // ---------------------------------------------------------------- replay thread

  private void hello(LocalSession ls, Tracked t, int attempt) {
    String e = epoch;
    if (e == null && history != null && attempt <= RETRIES) {
      fetchEpoch().whenComplete((v, x) -> later(() -> hello(ls, t, attempt + 1),
          x == null ? 0 : RETRY_MILLIS));
      return;
    }
    t.hello(ls, Payload.text(Tracked.MARK + "{\"t\":\"hello\",\"e\":"
        + (e == null ? "null" : Json.quote(e)) + ",\"node\":" + Json.quote(nodeId) + "}"), stats);
  }

  /** One page of {@code stream} after {@code after}, then the next once it is written. */
  private void replay(LocalSession ls, Tracked t, String stream, String after, int attempt,
      CompletableFuture<Boolean> result) {
    if (ls.closed) {
      result.complete(false);
      return;
    }
    if (!t.helloSent()) {
      later(() -> replay(ls, t, stream, after, attempt, result), 50);
      return;
    }
    History history = this.history;
    if (history == null || t.token.epoch == null) {
      finish(ls, t, stream, false, result);
      return;
    }
    CompletableFuture<History.Page> read;
    try {
      read = history.read(stream, after, PAGE).toCompletableFuture();
    } catch (RuntimeException e) {
      read = CompletableFuture.failedFuture(e);
    }
    read.whenComplete((page, error) -> onThread(() -> {
      if (error != null) {
        if (attempt < RETRIES) {
          later(() -> replay(ls, t, stream, after, attempt + 1, result), RETRY_MILLIS);
        } else {
          LOG.warn("[{}] session {}: history of {} could not be read: {}", nodeId, ls.id, stream,
              error.toString());
          finish(ls, t, stream, false, result);
        }
        return;
      }
      onEpoch(page.epoch());
      if (!t.token.epoch.equals(page.epoch()) || !page.covered()) {
        finish(ls, t, stream, false, result);
        return;
      }
      CompletableFuture<Void> last = null;
      String cursor = after;
      for (History.Entry entry : page.entries()) {
        cursor = entry.id();
        Envelope e;
        try {
          e = codec.decodeFrame(entry.value()).envelopes.get(0);
        } catch (EnvelopeCodec.Rejection r) {
          stats.increment(Stats.REJECTED);
          stats.increment(Stats.REJECTED + "." + r.reason.name().toLowerCase());
          continue;
        }
        List<String> streams = Streams.of(e);
        if (streams == null) {
          continue;
        }
        CompletableFuture<Void> written = new CompletableFuture<>();
        if (t.replayed(ls, stream, entry.id(), streams, Payload.text(e.payload), written,
            stats)) {
          last = written;
        }
      }
      if (page.entries().size() < PAGE) {
        finish(ls, t, stream, true, result);
        return;
      }
      String next = cursor;
      (last == null ? CompletableFuture.<Void>completedFuture(null) : last).whenComplete(
          (v, x) -> {
            if (x != null) {
              result.complete(false); // the session closed or overflowed
            } else {
              onThread(() -> replay(ls, t, stream, next, 0, result));
            }
          });
    }));
  }

  private void finish(LocalSession ls, Tracked t, String stream, boolean recovered,
      CompletableFuture<Boolean> result) {
    stats.increment(recovered ? Stats.RECOVERY_RECOVERED : Stats.RECOVERY_NOT_RECOVERED);
    t.finished(ls, stream, recovered, stats);
    result.complete(recovered);
  }

  private void onThread(Runnable task) {
    try {
      thread.execute(task);
    } catch (RejectedExecutionException stopping) {
      // the node stops: its sessions are closed
    }
  }

  private void later(Runnable task, long millis) {
    try {
      timer.schedule(() -> onThread(task), millis, TimeUnit.MILLISECONDS);
    } catch (RejectedExecutionException stopping) {
      // the node stops
    }
  }
}
