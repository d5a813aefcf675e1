package io.wscluster;

import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;

/**
 * The codec's work on one typical broadcast: a 200-byte text to a room, as the /bench fan-out
 * sends it. {@code encode} runs once per send on the sending node, {@code frame} once per published
 * frame (here of one envelope), {@code decode} once per frame on every node. {@code signed}: with
 * {@code wscluster.secret} set, frames carry an HMAC-SHA256 tag.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
public class EnvelopeCodecBenchmark {
  @Param({"false", "true"})
  public boolean signed;

  private EnvelopeCodec codec;
  private Envelope envelope;
  private List<byte[]> encoded;
  private byte[] frame;

  @Setup
  public void setUp() {
    WsClusterConfig config = WsClusterConfig.builder().build();
    codec = new EnvelopeCodec(config.messageMaxBytes(),
        signed ? FrameAuthenticator.of("a-benchmark-secret-of-32-characters", "") : null);
    envelope = new Envelope(Envelope.KIND_MESSAGE, "node-8081-1a2b3c4d", 123_456,
        Target.room("bench"), false, FanoutPayload.of(200));
    encoded = List.of(codec.encode(envelope));
    frame = codec.frame(encoded);
  }

  @Benchmark
  public byte[] encode() {
    return codec.encode(envelope);
  }

  @Benchmark
  public byte[] frame() {
    return codec.frame(encoded);
  }

  @Benchmark
  public List<Envelope> decode() throws EnvelopeCodec.Rejection {
    return codec.decode(frame);
  }

  /** The fan-out benchmark's message: {"id":n,"t":micros,"p":"xx…"} of a given size. */
  static final class FanoutPayload {
    private FanoutPayload() {}

    static byte[] of(int bytes) {
      String head = "{\"id\":12345,\"t\":1700000000123456,\"p\":\"";
      String text = head + "x".repeat(Math.max(0, bytes - head.length() - 2)) + "\"}";
      return text.getBytes(StandardCharsets.UTF_8);
    }
  }
}
