package io.wscluster;

import jakarta.websocket.CloseReason;
import jakarta.websocket.RemoteEndpoint;
import jakarta.websocket.SendHandler;
import jakarta.websocket.SendResult;
import jakarta.websocket.Session;
import java.io.IOException;
import java.lang.reflect.InvocationHandler;
import java.lang.reflect.Proxy;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.Principal;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Deque;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A jakarta.websocket {@link Session} for tests, built from {@link Proxy}s: records every frame the
 * plugin writes through {@code getAsyncRemote()}, and completes each write either inline (inside
 * {@code sendText}, as Jetty sometimes does) or when the test says so ({@link #completeNext}).
 *
 * <p>Thread-safe: writes may come from the node's threads while the test reads.
 */
final class FakeSession {

  /** How a write's {@link SendHandler} is completed. */
  enum Completion {
    /** Inside the send call, before it returns. */
    INLINE,
    /** Later, by {@link #completeNext}/{@link #failNext}, on the test's thread. */
    MANUAL
  }

  final String id;
  final Session session;
  private final List<String> received = new ArrayList<>();
  private final Deque<SendHandler> pending = new ArrayDeque<>();
  private final AtomicInteger inFlight = new AtomicInteger();
  private final AtomicInteger maxInFlight = new AtomicInteger();
  private volatile boolean open = true;
  private volatile Principal principal;
  private volatile Completion completion = Completion.INLINE;
  private volatile int failInlineWrites;
  private volatile RuntimeException throwOnSend;
  private volatile CloseReason closeReason;
  private volatile int closeCalls;
  private volatile java.util.Map<String, List<String>> parameters = java.util.Map.of();

  FakeSession() {
    this(UUID.randomUUID().toString(), null);
  }

  FakeSession(String id, String principalName) {
    this.id = id;
    this.principal = principalName == null ? null : () -> principalName;
    RemoteEndpoint.Async async = (RemoteEndpoint.Async) Proxy.newProxyInstance(
        FakeSession.class.getClassLoader(), new Class<?>[] {RemoteEndpoint.Async.class},
        asyncHandler());
    this.session = (Session) Proxy.newProxyInstance(FakeSession.class.getClassLoader(),
        new Class<?>[] {Session.class}, sessionHandler(async));
  }

  static FakeSession withPrincipal(String name) {
    return new FakeSession(UUID.randomUUID().toString(), name);
  }

  // ---------------------------------------------------------------- test controls

  FakeSession completion(Completion c) {
    this.completion = c;
    return this;
  }

  /** The next {@code n} inline writes complete with an IOException. */
  FakeSession failInlineWrites(int n) {
    this.failInlineWrites = n;
    return this;
  }

  /** Every send call throws this (null: stop throwing). */
  FakeSession throwOnSend(RuntimeException e) {
    this.throwOnSend = e;
    return this;
  }

  /** The handshake's query parameters ({@code Session.getRequestParameterMap()}). */
  FakeSession parameter(String name, String value) {
    this.parameters = java.util.Map.of(name, List.of(value));
    return this;
  }

  void markClosed() {
    open = false;
  }

  /** Completes the oldest pending write successfully; false if none was pending. */
  boolean completeNext() {
    return finishNext(new SendResult());
  }

  /** Completes the oldest pending write with a failure; false if none was pending. */
  boolean failNext() {
    return finishNext(new SendResult(new IOException("fake write failure")));
  }

  /** Completes the oldest pending write with this failure; false if none was pending. */
  boolean failNext(Throwable failure) {
    return finishNext(new SendResult(failure));
  }

  private boolean finishNext(SendResult result) {
    SendHandler h;
    synchronized (this) {
      h = pending.poll();
    }
    if (h == null) {
      return false;
    }
    inFlight.decrementAndGet();
    h.onResult(result);
    return true;
  }

  synchronized int pendingWrites() {
    return pending.size();
  }

  // ---------------------------------------------------------------- what the test reads

  /** Frames written, in order: text as is, binary as {@code "bin:" + utf8 of the bytes}. */
  synchronized List<String> received() {
    return new ArrayList<>(received);
  }

  synchronized int receivedCount() {
    return received.size();
  }

  synchronized int count(String frame) {
    return Collections.frequency(received, frame);
  }

  /** The largest number of writes that were started and not yet completed at any moment. */
  int maxInFlight() {
    return maxInFlight.get();
  }

  CloseReason closeReason() {
    return closeReason;
  }

  int closeCalls() {
    return closeCalls;
  }

  boolean isOpen() {
    return open;
  }

  @Override
  public String toString() {
    return "FakeSession[" + id + "]";
  }

  // ---------------------------------------------------------------- proxies

  /** Runs on every send, on the writing thread (null: nothing). */
  FakeSession onSend(Runnable probe) {
    this.sendProbe = probe;
    return this;
  }

  private volatile Runnable sendProbe;

  private void onSend(String frame, SendHandler handler) {
    Runnable probe = sendProbe;
    if (probe != null) {
      probe.run();
    }
    RuntimeException t = throwOnSend;
    if (t != null) {
      throw t;
    }
    int now = inFlight.incrementAndGet();
    maxInFlight.accumulateAndGet(now, Math::max);
    synchronized (this) {
      received.add(frame);
      if (completion == Completion.MANUAL) {
        pending.add(handler);
        return;
      }
    }
    inFlight.decrementAndGet();
    SendResult result;
    synchronized (this) {
      if (failInlineWrites > 0) {
        failInlineWrites--;
        result = new SendResult(new IOException("fake write failure"));
      } else {
        result = new SendResult();
      }
    }
    handler.onResult(result);
  }

  private InvocationHandler asyncHandler() {
    return (proxy, method, args) -> {
      switch (method.getName()) {
        case "sendText":
          if (args.length == 2 && args[1] instanceof SendHandler) {
            onSend((String) args[0], (SendHandler) args[1]);
            return null;
          }
          break;
        case "sendBinary":
          if (args.length == 2 && args[1] instanceof SendHandler) {
            ByteBuffer buf = (ByteBuffer) args[0];
            byte[] bytes = new byte[buf.remaining()];
            buf.get(bytes); // consumes the buffer, as a real write does
            onSend("bin:" + new String(bytes, StandardCharsets.UTF_8), (SendHandler) args[1]);
            return null;
          }
          break;
        case "equals":
          return proxy == args[0];
        case "hashCode":
          return System.identityHashCode(proxy);
        case "toString":
          return "FakeAsync[" + id + "]";
        default:
          break;
      }
      throw new UnsupportedOperationException("FakeSession does not implement async "
          + method);
    };
  }

  private InvocationHandler sessionHandler(RemoteEndpoint.Async async) {
    return (proxy, method, args) -> {
      switch (method.getName()) {
        case "getId":
          return id;
        case "isOpen":
          return open;
        case "getUserPrincipal":
          return principal;
        case "getRequestParameterMap":
          return parameters;
        case "getAsyncRemote":
          return async;
        case "close":
          closeCalls++;
          closeReason = args == null || args.length == 0
              ? new CloseReason(CloseReason.CloseCodes.NORMAL_CLOSURE, null)
              : (CloseReason) args[0];
          open = false;
          return null;
        case "equals":
          return proxy == args[0];
        case "hashCode":
          return System.identityHashCode(proxy);
        case "toString":
          return "FakeSession[" + id + "]";
        default:
          throw new UnsupportedOperationException("FakeSession does not implement " + method);
      }
    };
  }
}
