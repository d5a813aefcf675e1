package io.wscluster.bench;

import static io.wscluster.bench.FrameDecoderTest.concat;
import static io.wscluster.bench.FrameDecoderTest.feed;
import static io.wscluster.bench.FrameDecoderTest.text;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The negative control of the fan-out benchmark: frame streams with a repeated id and a missing
 * id, through the same decoder and recorder the load generator uses, must report exactly those.
 */
class FanoutRecorderTest {

  private static String message(int id, long sentMicros) {
    byte[] out = new byte[300];
    int n = FanoutBench.message(out, id, sentMicros, 200);
    return new String(out, 0, n, StandardCharsets.US_ASCII);
  }

  /** Feeds the client's frame stream through a decoder into the recorder, in reads of chunk bytes. */
  private static void receive(FanoutRecorder.Worker worker, int client, byte[] stream, int chunk,
      long nowMicros) throws IOException {
    feed(new FrameDecoder(64), stream, chunk, new FrameDecoder.Listener() {
      @Override
      public void onText(byte[] data, int offset, int length) {
        worker.onText(client, data, offset, length, nowMicros, System.nanoTime());
      }

      @Override
      public void onPing(byte[] data, int offset, int length) {}

      @Override
      public void onClose(int code) {}
    });
  }

  @Test
  void message_isJsonOfTheAskedSize() {
    String m = message(12, 1_700_000_000_123_456L);
    assertEquals(200, m.length());
    assertEquals("{\"id\":12,\"t\":1700000000123456,\"p\":\"x", m.substring(0, 36));
    assertEquals("xx\"}", m.substring(196));
  }

  @Test
  void onText_repeatedAndMissingIds_reportedExactly() throws IOException {
    // 2 clients, ids 0..4; client 0 gets 0 1 1 3 4 (1 twice, 2 never), client 1 gets all once
    byte[] client0 = concat(text(message(0, 0)), text(message(1, 0)), text(message(1, 0)),
        text(message(3, 0)), text(message(4, 0)));
    byte[] client1 = concat(text(message(0, 0)), text(message(1, 0)), text(message(2, 0)),
        text(message(3, 0)), text(message(4, 0)));
    for (int chunk : new int[] {1, 13, 205, client0.length}) {
      FanoutRecorder recorder = new FanoutRecorder(2, 5, 0);
      FanoutRecorder.Worker worker = recorder.newWorker();
      receive(worker, 0, client0, chunk, 0);
      receive(worker, 1, client1, chunk, 0);
      String reads = "reads of " + chunk + " bytes";
      assertEquals(10, recorder.expected(), reads);
      assertEquals(9, recorder.delivered(), reads);
      assertEquals(1, recorder.duplicates(), reads);
      assertEquals(1, recorder.lost(), reads);
      assertEquals(List.of("client 0 id 1"), recorder.duplicateList(), reads);
      assertEquals(List.of("client 0 id 2"), recorder.lostList(), reads);
      // id 2 never reached client 0: complete on every client are 0, 1, 3 and 4
      assertEquals(4, recorder.completedMessages(), reads);
      assertEquals(0, recorder.unexpected(), reads);
    }
  }

  @Test
  void onText_latencyOfMeasuredIdsOnly() throws IOException {
    FanoutRecorder recorder = new FanoutRecorder(1, 4, 2); // ids 0 and 1 are the warm-up
    FanoutRecorder.Worker worker = recorder.newWorker();
    long now = 1_700_000_000_000_000L;
    byte[] stream = concat(text(message(0, now - 900_000)), text(message(1, now - 900_000)),
        text(message(2, now - 2_000)), text(message(3, now - 4_000)));
    receive(worker, 0, stream, 50, now);
    assertEquals(2, recorder.latency().getTotalCount());
    assertEquals(2_000, recorder.latency().getMinValue(), 2);
    assertEquals(4_000, recorder.latency().getMaxValue(), 4);
    assertEquals(2, recorder.measuredDelivered());
    assertEquals(4, recorder.delivered());
  }

  @Test
  void onText_noIdOrIdOutOfRange_unexpected() throws IOException {
    FanoutRecorder recorder = new FanoutRecorder(1, 3, 0);
    receive(recorder.newWorker(), 0, concat(text("{\"hello\":1}"), text(message(3, 0)),
        text(message(0, 0))), 10, 0);
    assertEquals(2, recorder.unexpected());
    assertEquals(1, recorder.delivered());
    assertEquals(Arrays.asList("client 0 id 1", "client 0 id 2"), recorder.lostList());
  }

  @Test
  void trackTimes_completionFirstRemoteDeliveryAndMissingCells() {
    // 4 clients on 2 nodes (0 and 2 on the publisher's node), ids 0..2; id 2 never reaches 2 and 3
    FanoutRecorder recorder = new FanoutRecorder(4, 3, 0);
    recorder.trackTimes(2);
    FanoutRecorder.Worker worker = recorder.newWorker();
    byte[][] m = new byte[3][];
    for (int id = 0; id < 3; id++) {
      m[id] = message(id, 0).getBytes(StandardCharsets.US_ASCII);
    }
    worker.onText(0, m[0], 0, m[0].length, 0, 100);
    worker.onText(2, m[0], 0, m[0].length, 0, 110);
    worker.onText(1, m[0], 0, m[0].length, 0, 120);
    worker.onText(3, m[0], 0, m[0].length, 0, 130);
    worker.onText(3, m[1], 0, m[1].length, 0, 140);
    worker.onText(0, m[1], 0, m[1].length, 0, 150);
    worker.onText(1, m[1], 0, m[1].length, 0, 160);
    worker.onText(2, m[1], 0, m[1].length, 0, 170);
    worker.onText(0, m[2], 0, m[2].length, 0, 180);
    worker.onText(1, m[2], 0, m[2].length, 0, 190);
    assertEquals(130, recorder.completedNanos(0));
    assertEquals(170, recorder.completedNanos(1));
    assertEquals(0, recorder.completedNanos(2));
    assertEquals(120, recorder.firstRemoteNanos(0));
    assertEquals(140, recorder.firstRemoteNanos(1));
    assertEquals(190, recorder.firstRemoteNanos(2));
    assertEquals(0, recorder.missing(0, 2));
    assertEquals(2, recorder.missing(2, 3));
    assertEquals(2, recorder.lost());
  }
}
