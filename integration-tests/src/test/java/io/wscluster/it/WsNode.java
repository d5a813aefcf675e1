package io.wscluster.it;

import java.net.URI;

/**
 * A node test clients can connect to: an in-process {@link JettyNode} or a separate-process {@link NodeProcess}.
 */
interface WsNode {

  /** The name the node was configured with (n0, n1, ... or node-&lt;port&gt;), for labels and messages. */
  String name();

  /** {@code ws://127.0.0.1:<port><pathAndQuery>}. */
  URI wsUri(String pathAndQuery);
}
