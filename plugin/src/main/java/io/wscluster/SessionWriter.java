package io.wscluster;

import jakarta.websocket.SendHandler;
import jakarta.websocket.Session;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.MethodHandles;
import java.lang.reflect.Constructor;
import java.lang.reflect.InvocationHandler;
import java.lang.reflect.Method;
import java.lang.reflect.Proxy;
import java.nio.ByteBuffer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Writes whole messages to one session, for its {@link Outbox}. Two ways, chosen once per
 * session:
 *
 * <ul>
 *   <li><b>Jetty's core session</b> (Jetty 12, found reflectively: Jetty hides its classes from
 *       webapps): the payload's shared bytes go into a frame as they are, with no per-session
 *       encoding or copy, and a run of frames is handed over with Jetty's batch flag set on all but
 *       the last, so Jetty writes the run with one system call.
 *   <li><b>The Jakarta API</b> (any container, or if the above is not found): one message per
 *       write; Jetty encodes a text message per session.
 * </ul>
 *
 * <p>Both keep the order of writes. Completions arrive on the container's threads or inline,
 * inside {@link #write}, in the order of the writes.
 */
abstract class SessionWriter {
  private static final Logger LOG = LoggerFactory.getLogger(SessionWriter.class);

  /** Told when a write ended: {@code failure} null when the message was written. */
  interface Done {
    void written(Throwable failure);
  }

  /** Whether {@link #write} takes runs ({@code more}); if not, one message at a time. */
  abstract boolean batches();

  /**
   * Starts writing one message. {@code more}: the caller writes another at once, so this one may
   * wait in Jetty's batch for it. {@code done} is called once, in write order, possibly inline.
   */
  abstract void write(Payload payload, boolean more, Done done);

  /**
   * The core writer where the container is Jetty 12 and {@code core} is true, else the Jakarta
   * one. Never throws.
   */
  static SessionWriter of(Session session, boolean core) {
    if (core) {
      SessionWriter w = JettyCore.of(session);
      if (w != null) {
        return w;
      }
    }
    return new Jakarta(session);
  }

  /** Portable: {@code getAsyncRemote()}; one message in flight per session. */
  static final class Jakarta extends SessionWriter {
    private final Session session;

    Jakarta(Session session) {
      this.session = session;
    }

    @Override
    boolean batches() {
      return false;
    }

    @Override
    void write(Payload payload, boolean more, Done done) {
      SendHandler handler = r -> done.written(r.isOK() ? null : r.getException());
      try {
        if (payload.binary) {
          session.getAsyncRemote().sendBinary(payload.buffer(), handler);
        } else {
          session.getAsyncRemote().sendText(payload.text(), handler);
        }
      } catch (RuntimeException e) {
        done.written(e);
      }
    }
  }

  /**
   * Jetty 12's {@code CoreSession.sendFrame(Frame, Callback, boolean batch)}, bound through method
   * handles found on the session's own classes: the same code serves ee10 and ee11. A run of
   * frames (all but the last with {@code more}) carries one callback, on its last frame; the others
   * get Jetty's {@code Callback.NOOP}. Jetty's flusher completes a session's frames in order and
   * fails every frame after a failed one, so the last frame's outcome is the run's: the writer then
   * tells each frame's {@link Done} in order. The callback is a {@link Proxy} of Jetty's
   * {@code Callback} made once per session and used again for each run (a session has one run in
   * flight at a time, see {@link Outbox}).
   */
  static final class JettyCore extends SessionWriter {
    private static final byte OPCODE_TEXT = 1;
    private static final byte OPCODE_BINARY = 2;
    /** The binding for the session class seen last (a container has one); null: none found. */
    private static volatile Binding binding;

    /** The handles for one Jetty session class; held by this webapp's class only. */
    private static final class Binding {
      final Class<?> sessionClass;
      final MethodHandle coreSession; // (Session) -> CoreSession
      final MethodHandle sendFrame; // (CoreSession, Frame, Callback, boolean) -> void
      final MethodHandle newFrame; // (byte, boolean, ByteBuffer) -> Frame
      final Class<?> callbackType;
      /** Jetty's Callback.NOOP. */
      final Object noop;

      Binding(Class<?> sessionClass, MethodHandle coreSession, MethodHandle sendFrame,
          MethodHandle newFrame, Class<?> callbackType, Object noop) {
        this.sessionClass = sessionClass;
        this.coreSession = coreSession;
        this.sendFrame = sendFrame;
        this.newFrame = newFrame;
        this.callbackType = callbackType;
        this.noop = noop;
      }
    }

    private final Object core;
    private final MethodHandle sendFrame;
    private final MethodHandle newFrame;
    private final Object noop;
    private final RunCallback run = new RunCallback();
    /** The proxy of {@link #run}, given to Jetty with the last frame of every run. */
    private final Object runProxy;

    private JettyCore(Binding b, Object core) {
      this.core = core;
      this.sendFrame = b.sendFrame;
      this.newFrame = b.newFrame;
      this.noop = b.noop;
      this.runProxy = Proxy.newProxyInstance(b.callbackType.getClassLoader(),
          new Class<?>[] {b.callbackType}, run);
    }

    /**
     * The Jetty callback of the run in flight: tells its frames' {@link Done}s once, in order,
     * whatever Jetty calls. Filled by the writing thread, emptied by the completing one.
     */
    private static final class RunCallback implements InvocationHandler {
      private Done[] dones = new Done[4];
      private int count;
      /** Set with the last frame of a run, cleared when the run completes. */
      private final java.util.concurrent.atomic.AtomicBoolean armed =
          new java.util.concurrent.atomic.AtomicBoolean();

      /** Writing thread: one more frame of the run being handed over. */
      synchronized void add(Done done) {
        if (count == dones.length) {
          dones = java.util.Arrays.copyOf(dones, count * 2);
        }
        dones[count++] = done;
      }

      void arm() {
        armed.set(true);
      }

      /** Tells the run's frames, once; the next run may start inside the last one. */
      void complete(Throwable failure) {
        if (!armed.compareAndSet(true, false)) {
          return; // a second call for the same run
        }
        Done[] taken;
        int n;
        synchronized (this) {
          taken = dones;
          n = count;
          dones = new Done[Math.max(4, n)];
          count = 0;
        }
        for (int i = 0; i < n; i++) {
          Done d = taken[i];
          taken[i] = null;
          d.written(failure);
        }
      }

      @Override
      public Object invoke(Object proxy, Method method, Object[] args) throws Throwable {
        switch (method.getName()) {
          case "succeeded":
            complete(null);
            return null;
          case "failed":
            complete((Throwable) args[0]);
            return null;
          case "equals":
            return proxy == args[0];
          case "hashCode":
            return System.identityHashCode(proxy);
          case "toString":
            return "wscluster write callback";
          default:
            // getInvocationType and the like: Jetty's own defaults
            return InvocationHandler.invokeDefault(proxy, method, args);
        }
      }
    }

    /** The core writer of a Jetty 12 session, or null (after one log line per class) if none. */
    static JettyCore of(Session session) {
      Binding b = binding;
      if (b == null || b.sessionClass != session.getClass()) {
        b = bind(session.getClass());
        if (b == null) {
          return null;
        }
        binding = b;
      }
      try {
        Object core = b.coreSession.invoke(session);
        return core == null ? null : new JettyCore(b, core);
      } catch (Throwable t) {
        LOG.debug("no core session for {}", session.getClass().getName(), t);
        return null;
      }
    }

    private static volatile Class<?> unbindable;

    private static Binding bind(Class<?> sessionClass) {
      if (sessionClass == unbindable) {
        return null;
      }
      try {
        MethodHandles.Lookup lookup = MethodHandles.publicLookup();
        Method getCore = sessionClass.getMethod("getCoreSession");
        Class<?> coreType = getCore.getReturnType();
        Method send = null;
        for (Method m : coreType.getMethods()) {
          if (m.getName().equals("sendFrame") && m.getParameterCount() == 3
              && m.getParameterTypes()[2] == boolean.class) {
            send = m;
          }
        }
        if (send == null) {
          throw new NoSuchMethodException(coreType.getName() + ".sendFrame(Frame, Callback, "
              + "boolean)");
        }
        Class<?> frameType = send.getParameterTypes()[0];
        Class<?> callbackType = send.getParameterTypes()[1];
        Constructor<?> frame = frameType.getConstructor(byte.class, boolean.class,
            ByteBuffer.class);
        Object noop = callbackType.getField("NOOP").get(null);
        Binding b = new Binding(sessionClass, lookup.unreflect(getCore), lookup.unreflect(send),
            lookup.unreflectConstructor(frame), callbackType, noop);
        LOG.info("wscluster writes to {} sessions through Jetty's core session: shared payloads, "
            + "batched runs", sessionClass.getSimpleName());
        return b;
      } catch (ReflectiveOperationException | RuntimeException | LinkageError e) {
        unbindable = sessionClass;
        LOG.info("wscluster writes to {} sessions through the Jakarta API (no Jetty 12 core "
            + "session: {})", sessionClass.getName(), e.toString());
        return null;
      }
    }

    @Override
    boolean batches() {
      return true;
    }

    @Override
    void write(Payload payload, boolean more, Done done) {
      run.add(done);
      if (!more) {
        run.arm();
      }
      try {
        Object frame = newFrame.invoke(payload.binary ? OPCODE_BINARY : OPCODE_TEXT, true,
            payload.buffer());
        sendFrame.invoke(core, frame, more ? noop : runProxy, more);
      } catch (Throwable t) {
        // nothing of this frame reached Jetty: the run ends here, failed (unless Jetty already
        // called back for its last frame)
        run.arm();
        run.complete(t);
      }
    }
  }
}
