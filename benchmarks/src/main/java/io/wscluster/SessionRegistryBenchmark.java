package io.wscluster;

import jakarta.websocket.Session;
import java.lang.reflect.Proxy;
import java.security.Principal;
import java.util.Collection;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;

/**
 * {@link SessionRegistry#resolve}, once per delivered envelope on every node: a room of 100 local
 * sessions, a user (2 sessions) and one session id.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
public class SessionRegistryBenchmark {
  private static final String NODE = "node-8081-1a2b3c4d";

  private SessionRegistry registry;
  private Target room;
  private Target user;
  private Target session;

  @Setup
  public void setUp() {
    WsClusterConfig config = WsClusterConfig.builder().build();
    Stats stats = new Stats();
    registry = new SessionRegistry(NODE,
        s -> new Outbox(s, config.outboxMaxFrames(), config.outboxOverflow(), stats, NODE));
    String sessionId = null;
    for (int i = 0; i < 100; i++) {
      String id = UUID.randomUUID().toString();
      registry.join(registry.register(fakeSession(id, "user-" + i % 50)), "room");
      sessionId = i == 42 ? id : sessionId;
    }
    room = Target.room("room");
    user = Target.user("user-7");
    session = Target.session(sessionId);
  }

  @Benchmark
  public Collection<LocalSession> resolveRoom() {
    return registry.resolve(room);
  }

  @Benchmark
  public Collection<LocalSession> resolveUser() {
    return registry.resolve(user);
  }

  @Benchmark
  public Collection<LocalSession> resolveSession() {
    return registry.resolve(session);
  }

  /**
   * An open session with an id and a principal, and nothing else: all the registry asks of one.
   * Other calls fail, so a registry that starts asking for more shows up here.
   */
  static Session fakeSession(String id, String principal) {
    Principal p = () -> principal;
    return (Session) Proxy.newProxyInstance(Session.class.getClassLoader(),
        new Class<?>[] {Session.class}, (proxy, method, args) -> {
          switch (method.getName()) {
            case "getId": return id;
            case "isOpen": return true;
            case "getUserPrincipal": return p;
            case "hashCode": return System.identityHashCode(proxy);
            case "equals": return proxy == args[0];
            case "toString": return "Session[" + id + "]";
            default: throw new UnsupportedOperationException(method.toString());
          }
        });
  }
}
