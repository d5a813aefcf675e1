package io.wscluster.it;

/** A cluster fixture that connects {@link TestClient#plain} clients to its nodes by index and closes them itself. */
interface PlainClients {

  /** Connects a client to {@code path} on node {@code node} that takes every text frame as a delivery. */
  TestClient plain(int node, String path, String label) throws Exception;
}
