package io.wscluster;

import jakarta.websocket.Session;
import java.security.Principal;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/** What this node knows of one of its own sessions. Fields are safe to read from any thread. */
final class LocalSession {
  final Session session;
  final String id;
  final Outbox outbox;
  final Set<String> rooms = ConcurrentHashMap.newKeySet();
  /** The user the app assigned, or null for the principal's name. Guarded by the registry. */
  volatile String assignedUser;
  volatile boolean closed;
  /** Set once when the session asked for recovery ({@link Recovery}); null for plain sessions. */
  volatile Tracked tracked;

  LocalSession(Session session, String id, Outbox outbox) {
    this.session = session;
    this.id = id;
    this.outbox = outbox;
  }

  String user() {
    String assigned = assignedUser;
    if (assigned != null) {
      return assigned;
    }
    try {
      Principal p = session.getUserPrincipal();
      return p == null ? null : p.getName();
    } catch (RuntimeException e) {
      return null; // a closed session may refuse
    }
  }
}
