package io.wscluster;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.AbstractExecutorService;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;

/**
 * One node's actors wired as the node wires them, for the actors' unit tests: the publisher,
 * receipts and probe on virtual time ({@link VirtualTime}) and a transport the test answers
 * ({@link ScriptedTransport}), sessions that are {@link FakeSession}s written inline, an inbox
 * drained on the thread that hands it a frame, and a membership that never joins. So everything
 * runs on the test's thread, and only when the test turns time. Frames are signed with
 * {@link #SECRET}, as in a cluster that has one.
 */
final class ActorRig {
  static final String NODE = "n";
  static final String SECRET = "the secret of the actor tests, 32+ bytes";

  final WsClusterConfig config;
  final VirtualTime time = new VirtualTime();
  final ScriptedTransport transport = new ScriptedTransport();
  final Channels channels = new Channels("t");
  final EnvelopeCodec codec;
  final Stats stats = new Stats();
  final OutageBuffer buffer;
  final SessionRegistry registry;
  final Inbox inbox;
  final LocalDelivery local;
  final Membership membership;
  final Publisher publisher;
  final Receipts receipts;
  final Probe probe;
  final Dispatcher dispatcher;
  final Sender sender;
  /** Where the directory places a deliver()'s sessions: node to session ids; the test sets it. */
  Function<Target, CompletableFuture<Map<String, Set<String>>>> owners =
      target -> CompletableFuture.completedFuture(new HashMap<>());

  ActorRig() {
    this(WsClusterConfig.builder().build(), true);
  }

  /** @param dedup {@link Dedup#perOrigin}, else {@link Dedup#OFF} (a test's control) */
  ActorRig(WsClusterConfig config, boolean dedup) {
    this.config = config;
    codec = codec(SECRET);
    registry = new SessionRegistry(NODE, s -> new Outbox(s, 64, WsClusterConfig.Overflow.CLOSE,
        stats, NODE));
    inbox = new Inbox(stats);
    local = new LocalDelivery(NODE, registry, inbox);
    buffer = new OutageBuffer(NODE, config, stats);
    membership = new Membership(config, NODE, transport, t -> {
      throw new AssertionError("the actor tests never join");
    }, channels, registry, Runnable::run, late -> { });
    publisher = new Publisher(NODE, channels, transport, codec, ChainSender.chained(codec),
        new FrameHistory(true, true), buffer, stats, membership, time, time, time,
        TimeUnit.SECONDS.toNanos(2), true);
    receipts = new Receipts(NODE, channels, codec, publisher, buffer, local, stats, time,
        config.receiptTimeout().toNanos(), target -> owners.apply(target));
    probe = new Probe(NODE, channels.ofNode(NODE), transport, codec, stats,
        publisher.outgoing::nextSeq, time, config.nodeHeartbeat().toNanos(), true);
    long originTtl = config.dedupOriginTtl().toNanos();
    dispatcher = new Dispatcher(NODE, channels, codec,
        dedup ? Dedup.perOrigin(NODE, config.dedupWindow(), originTtl, time) : Dedup.OFF,
        inbox, stats, time, originTtl, probe, publisher, receipts, local);
    sender = new Sender(NODE, config.messageMaxBytes(), channels, codec, publisher, buffer, local,
        receipts, membership, registry, stats);
    inbox.start(new DirectExecutorService(), dispatcher::dispatch);
    publisher.open(time.getAsLong());
    time.runReady();
  }

  /** A codec of a node with {@code secret}. */
  static EnvelopeCodec codec(String secret) {
    return new EnvelopeCodec(1 << 20, FrameAuthenticator.of(secret, ""));
  }

  // ---------------------------------------------------------------- sessions

  /** A session of this node, open and registered, in {@code rooms}. */
  FakeSession connect(String... rooms) {
    FakeSession s = new FakeSession();
    LocalSession ls = registry.register(s.session);
    for (String room : rooms) {
      registry.join(ls, room);
    }
    return s;
  }

  /** The cluster-wide id of a session of this node. */
  String id(FakeSession s) {
    return registry.get(s.session).id;
  }

  // ---------------------------------------------------------------- frames

  /** A frame of another node's (signed with {@link #SECRET}) holding one text message. */
  byte[] message(String origin, long seq, Target target, String text, long link) {
    return frame(new Envelope(Envelope.KIND_MESSAGE, origin, seq, target, false, utf8(text)),
        link);
  }

  /** A frame of one envelope at {@code link} of its chain (0: unchained), signed. */
  byte[] frame(Envelope e, long link) {
    return codec.frame(List.of(codec.encode(e)), link, false);
  }

  /** What publish {@code i} carried, decoded. */
  EnvelopeCodec.Decoded published(int i) throws EnvelopeCodec.Rejection {
    return codec.decodeFrame(transport.published.get(i).frame());
  }

  /** Per publish: its channel and what it carried (see {@link #describe}). */
  List<String> publishes() throws EnvelopeCodec.Rejection {
    List<String> out = new ArrayList<>();
    for (int i = 0; i < transport.published.size(); i++) {
      out.add(transport.published.get(i).channel() + " " + describe(published(i).envelopes));
    }
    return out;
  }

  /**
   * Envelopes in a line: a message's text, {@code resend 2..3} (of the broadcast chain) or
   * {@code resend direct 2..3}, {@code receipt #7 {sid=}}, {@code sync}.
   */
  static String describe(List<Envelope> envelopes) {
    List<String> out = new ArrayList<>();
    for (Envelope e : envelopes) {
      switch (e.kind) {
        case Envelope.KIND_MESSAGE:
          out.add(new String(e.payload, StandardCharsets.UTF_8));
          break;
        case Envelope.KIND_RESEND:
          out.add("resend " + (e.binary ? "direct " : "") + e.ref + ".." + e.refEnd);
          break;
        case Envelope.KIND_RECEIPT:
          out.add("receipt #" + e.ref + " " + e.results + (e.binary ? " more" : ""));
          break;
        default:
          out.add("sync");
          break;
      }
    }
    return out.toString();
  }

  static byte[] utf8(String text) {
    return text.getBytes(StandardCharsets.UTF_8);
  }

  /** An envelope of this node's queued for the broadcast channel, as a send queues it. */
  static Pending pending(EnvelopeCodec codec, long seq, String text) {
    return new Pending(codec.encode(new Envelope(Envelope.KIND_MESSAGE, NODE, seq, Target.all(),
        false, utf8(text))), new CompletableFuture<>(), null, true);
  }

  /** A sync of this node's, queued as a heartbeat queues it (not counted). */
  static Pending sync(EnvelopeCodec codec, long seq) {
    return new Pending(codec.encode(Envelope.sync(NODE, seq)), new CompletableFuture<>(), null,
        false);
  }

  /** Runs each task at once on the calling thread: an inbox drained where a frame arrives. */
  private static final class DirectExecutorService extends AbstractExecutorService {
    @Override
    public void execute(Runnable task) {
      task.run();
    }

    @Override
    public void shutdown() {
    }

    @Override
    public List<Runnable> shutdownNow() {
      return List.of();
    }

    @Override
    public boolean isShutdown() {
      return false;
    }

    @Override
    public boolean isTerminated() {
      return false;
    }

    @Override
    public boolean awaitTermination(long timeout, TimeUnit unit) {
      return true;
    }
  }
}
