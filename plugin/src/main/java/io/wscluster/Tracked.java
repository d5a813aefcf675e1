package io.wscluster;

import java.util.ArrayDeque;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;

/**
 * The recovery state of one session that asked for it: which of its token's streams are still
 * to be resumed, the live messages held back meanwhile, and what keeps the seam exact. Every
 * frame wscluster writes to such a session passes here, under this object's lock, so the order
 * of decisions is the order of writes.
 *
 * <p>The seam, per stream s of the token: from the session's registration until s's replay is
 * over, live messages the session gets through s are held (so the replay, which is older, goes
 * first); a replayed entry sets {@code replayedUpTo(s)}; once over, held and later live messages
 * with an id at or below it are dropped (the replay had them: history order is publish order),
 * the others written. A message recorded in several streams has one id in all of them: the ids
 * of such messages written to the session are remembered (the last {@value #RECENT}), so a replay
 * of another of its streams skips them.
 */
final class Tracked {
  /** Live messages held behind a replay at most; beyond, the session is closed (1013). */
  static final int MAX_HELD = 10_000;
  /** Ids of multi-stream messages remembered per session. */
  static final int RECENT = 1024;
  static final char MARK = '\u001e';
  private static final String NO_OFFSETS = MARK + "{\"o\":{}}\n";

  final ResumeToken token;
  /** Streams of the token not yet resumed (or never: the app did not join them). */
  private final Set<String> pending;
  /** Streams of the token whose resume started. */
  private final Set<String> started = new HashSet<>();
  private final Map<String, String> replayedUpTo = new HashMap<>();
  private final ArrayDeque<Held> held = new ArrayDeque<>();
  private final LinkedHashSet<String> recent = new LinkedHashSet<>();
  /** Per stream of the token whose resume started: whether it recovered everything. */
  final Map<String, CompletableFuture<Boolean>> results =
      new java.util.concurrent.ConcurrentHashMap<>();
  private boolean helloSent;
  private boolean overrun;

  private record Held(String id, List<String> streams, List<String> via, Payload payload,
      CompletableFuture<Void> written) {
  }

  /** False only as a test's control ({@link NodeParts#seam}): nothing held, nothing dropped. */
  private final boolean seam;

  Tracked(ResumeToken token, boolean seam) {
    this.token = token;
    this.seam = seam;
    this.pending = new HashSet<>(token.offsets.keySet());
  }

  /** The text frame of a message outside any stream: an empty header, then the payload. */
  static Payload untracked(Payload p) {
    return p.binary ? p : Payload.text(NO_OFFSETS + p.text());
  }

  /** Starts the resume of {@code stream} if the token has it and it did not start: its offset. */
  synchronized String start(String stream) {
    String offset = token.offsets.get(stream);
    if (offset == null || !started.add(stream)) {
      return null;
    }
    results.put(stream, new CompletableFuture<>());
    return offset;
  }

  private boolean begun;

  /** True the first time: the hello and the resumes are started once. */
  synchronized boolean begin() {
    boolean first = !begun;
    begun = true;
    return first;
  }

  synchronized boolean helloSent() {
    return helloSent;
  }

  /** Whether a live write to the session waits: before its hello, or a stream it is in resumes. */
  private boolean mustHold(List<String> via) {
    if (!helloSent || !held.isEmpty() && via == null) {
      return true;
    }
    if (via != null && seam) {
      for (String s : via) {
        if (pending.contains(s)) {
          return true;
        }
      }
    }
    return false;
  }

  /**
   * A message for the session: recorded ({@code id} and {@code streams} not null) or not. Written
   * now (into {@code batch} when not null: the dispatcher's open batch, which starts the writes;
   * else at once), held, or dropped when the session already has it.
   */
  synchronized void write(LocalSession ls, String id, List<String> streams, Payload payload,
      CompletableFuture<Void> written, java.util.Set<Outbox> batch, Stats stats) {
    if (payload.binary) {
      offer(ls, payload, written, batch);
      return;
    }
    List<String> via = id == null ? null : Streams.via(streams, ls);
    if (mustHold(via)) {
      hold(ls, new Held(id, streams, via, payload, written), stats);
      return;
    }
    writeNow(ls, id, streams, via, payload, written, batch, stats);
  }

  private void writeNow(LocalSession ls, String id, List<String> streams, List<String> via,
      Payload payload, CompletableFuture<Void> written, java.util.Set<Outbox> batch,
      Stats stats) {
    if (id == null) {
      offer(ls, untracked(payload), written, batch);
      return;
    }
    if (seam && had(id, via)) {
      stats.increment(Stats.RECOVERY_SKIPPED);
      if (written != null) {
        written.complete(null);
      }
      return;
    }
    remember(id, streams);
    offer(ls, framed(id, via, payload), written, batch);
  }

  /**
   * Replay thread: an entry of {@code stream}'s history; written unless the session has it.
   * Returns whether it was written.
   */
  synchronized boolean replayed(LocalSession ls, String stream, String id, List<String> streams,
      Payload payload, CompletableFuture<Void> written, Stats stats) {
    List<String> via = Streams.via(streams, ls);
    if (!via.contains(stream)) {
      via.add(stream);
    }
    boolean had = seam && (recent.contains(id) || hadThroughAnother(id, via, stream));
    replayedUpTo.put(stream, id);
    if (had) {
      stats.increment(Stats.RECOVERY_SKIPPED);
      return false;
    }
    remember(id, streams);
    offer(ls, framed(id, via, payload), written, null);
    stats.increment(Stats.RECOVERY_REPLAYED);
    return true;
  }

  /** The hello is written: what waited for it (and for no resume) follows. */
  synchronized void hello(LocalSession ls, Payload hello, Stats stats) {
    if (helloSent) {
      return;
    }
    helloSent = true;
    offer(ls, hello, null, null);
    drain(ls, stats);
  }

  /** The replay of {@code stream} is over: its {@code resumed} frame, then what it held. */
  synchronized void finished(LocalSession ls, String stream, boolean recovered, Stats stats) {
    pending.remove(stream);
    offer(ls, Payload.text(MARK + "{\"t\":\"resumed\",\"s\":" + Json.quote(stream)
        + ",\"recovered\":" + recovered + "}"), null, null);
    drain(ls, stats);
  }

  private void drain(LocalSession ls, Stats stats) {
    int n = held.size();
    for (int i = 0; i < n; i++) {
      Held h = held.poll();
      if (mustHold(h.via == null ? List.of() : h.via)) {
        held.add(h); // still waiting: it keeps its place among those that wait
      } else {
        writeNow(ls, h.id, h.streams, h.via, h.payload, h.written, null, stats);
      }
    }
  }

  private void hold(LocalSession ls, Held h, Stats stats) {
    if (overrun) {
      return;
    }
    held.add(h);
    if (held.size() > MAX_HELD) {
      overrun = true;
      held.clear();
      stats.increment(Stats.OVERFLOW_CLOSED);
      try {
        ls.session.close(new jakarta.websocket.CloseReason(
            jakarta.websocket.CloseReason.CloseCodes.TRY_AGAIN_LATER,
            "resume fell behind; reconnect"));
      } catch (Exception e) {
        // closed already
      }
    }
  }

  /** Whether the session had message {@code id}: a replay of one of its streams wrote it. */
  private boolean had(String id, List<String> via) {
    return recent.contains(id) || hadThroughAnother(id, via, null);
  }

  private boolean hadThroughAnother(String id, List<String> via, String except) {
    for (String s : via) {
      String upTo = replayedUpTo.get(s);
      if (!s.equals(except) && upTo != null && Streams.compare(id, upTo) <= 0) {
        return true;
      }
    }
    return false;
  }

  private void remember(String id, List<String> streams) {
    if (streams.size() > 1 && recent.add(id) && recent.size() > RECENT) {
      recent.remove(recent.iterator().next());
    }
  }

  private static Payload framed(String id, List<String> via, Payload payload) {
    StringBuilder b = new StringBuilder(payload.length() + 32 + 24 * via.size());
    b.append(MARK).append("{\"o\":{");
    for (int i = 0; i < via.size(); i++) {
      if (i > 0) {
        b.append(',');
      }
      b.append(Json.quote(via.get(i))).append(":\"").append(id).append('"');
    }
    b.append("}}\n").append(payload.text());
    return Payload.text(b.toString());
  }

  private static void offer(LocalSession ls, Payload frame, CompletableFuture<Void> written,
      java.util.Set<Outbox> batch) {
    if (batch != null) {
      ls.outbox.offer(frame, written, true);
      batch.add(ls.outbox);
    } else {
      ls.outbox.offer(frame, written);
    }
  }
}
