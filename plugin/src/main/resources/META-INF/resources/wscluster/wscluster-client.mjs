// wscluster browser client: a WebSocket that reconnects to any node of the cluster and resumes where it
// left off. One ES module, no dependencies. Shipped inside the wscluster jar under META-INF/resources, so a
// webapp with the jar in WEB-INF/lib serves it at <context path>/wscluster/wscluster-client.mjs.
//
// The wire contract (the server side is in the jar too):
// - The client opts in with the query parameter `wscluster`: base64url (no padding) of the UTF-8 JSON
//   {"v":1,"e":<epoch or null>,"o":{<stream>:<offset>,...}}, the last offset it has of each history stream.
// - Text frames that start with U+001E come from wscluster:
//     "\u001e" + {"o":{<stream>:<offset>,...}} + "\n" + payload   a message; its offset in each stream
//     "\u001e" + {"t":"hello","e":<epoch>,"node":<node id>}         first frame of a connection
//     "\u001e" + {"t":"resumed","s":<stream>,"recovered":<bool>}    a stream resumed after a reconnect
//   Any other text frame (and every binary frame) is passed to the app as it is, untracked.
// - Offsets are Redis stream ids "<ms>-<seq>", ordered numerically by ms, then seq. The epoch changes when
//   the server lost its history: offsets of another epoch mean nothing.

const RS = '\u001e';
const TOKEN_VERSION = 1;
const POLICY_VIOLATION = 1008;

/**
 * The value of the `wscluster` query parameter for `epoch` (a string or null) and `offsets` (stream name to
 * offset): base64url without padding of the UTF-8 JSON {"v":1,"e":epoch,"o":offsets}.
 */
export function encodeToken(epoch, offsets) {
  const json = JSON.stringify({ v: TOKEN_VERSION, e: epoch == null ? null : String(epoch), o: offsets || {} });
  const bytes = new TextEncoder().encode(json);
  let binary = '';
  for (let i = 0; i < bytes.length; i++) {
    binary += String.fromCharCode(bytes[i]);
  }
  return btoa(binary).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

/** The object a token encodes ({v, e, o}); throws on a string that is not one. */
export function decodeToken(token) {
  let b64 = String(token).replace(/-/g, '+').replace(/_/g, '/');
  while (b64.length % 4 !== 0) {
    b64 += '=';
  }
  const binary = atob(b64);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) {
    bytes[i] = binary.charCodeAt(i);
  }
  return JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
}

const OFFSET = /^(\d+)-(\d+)$/;

/**
 * Compares two stream offsets "<ms>-<seq>" numerically: negative when a is before b, 0 when equal, positive
 * when after. Both parts may exceed 2^53 (Redis allows 64-bit sequence numbers), so they are compared as
 * BigInts. Throws on a string that is not an offset.
 */
export function compareOffsets(a, b) {
  const x = OFFSET.exec(a);
  const y = OFFSET.exec(b);
  if (!x || !y) {
    throw new TypeError('not a stream offset: ' + (x ? b : a));
  }
  const ms = BigInt(x[1]) - BigInt(y[1]);
  if (ms !== 0n) {
    return ms < 0n ? -1 : 1;
  }
  const seq = BigInt(x[2]) - BigInt(y[2]);
  return seq === 0n ? 0 : seq < 0n ? -1 : 1;
}

/**
 * What a text frame is:
 *   {kind:'message', offsets, data}    a wscluster message (offsets {} for one outside any stream)
 *   {kind:'hello', epoch, node}        the first frame of a connection
 *   {kind:'resumed', stream, recovered}
 *   {kind:'control', header}           a wscluster frame of a type this client does not know (ignored)
 *   {kind:'plain', data}               anything else, for the app as it is
 * A frame that starts with U+001E but whose header is not the JSON the contract describes is 'plain': it is
 * passed on rather than lost.
 */
export function parseFrame(text) {
  if (typeof text !== 'string' || text.charAt(0) !== RS) {
    return { kind: 'plain', data: text };
  }
  const newline = text.indexOf('\n');
  let header;
  try {
    header = JSON.parse(newline < 0 ? text.slice(1) : text.slice(1, newline));
  } catch (e) {
    return { kind: 'plain', data: text };
  }
  if (header === null || typeof header !== 'object' || Array.isArray(header)) {
    return { kind: 'plain', data: text };
  }
  if (newline >= 0) {
    const offsets = header.o;
    if (offsets === null || typeof offsets !== 'object' || Array.isArray(offsets)
        || !Object.values(offsets).every((o) => typeof o === 'string' && OFFSET.test(o))) {
      return { kind: 'plain', data: text };
    }
    return { kind: 'message', offsets, data: text.slice(newline + 1) };
  }
  if (header.t === 'hello') {
    return { kind: 'hello', epoch: header.e == null ? null : String(header.e), node: header.node == null ? null : String(header.node) };
  }
  if (header.t === 'resumed' && typeof header.s === 'string') {
    return { kind: 'resumed', stream: header.s, recovered: header.recovered === true };
  }
  return { kind: 'control', header };
}

/**
 * The delay before reconnect attempt `attempt` (0 for the first): exponential from `initial` ms, capped at
 * `max` ms, with "equal jitter" (a random point in the upper half), so that the tabs of a node that went
 * away do not all come back at the same instant.
 */
export function backoffDelay(attempt, backoff, random = Math.random) {
  const initial = backoff && backoff.initial > 0 ? backoff.initial : 500;
  const max = backoff && backoff.max >= initial ? backoff.max : Math.max(initial, 10000);
  const full = Math.min(max, initial * Math.pow(2, Math.min(attempt, 30)));
  return Math.round(full / 2 + random() * full / 2);
}

/** `url` with the `wscluster` query parameter set to `token` (before any #fragment). */
export function withToken(url, token) {
  const hash = url.indexOf('#');
  const base = hash < 0 ? url : url.slice(0, hash);
  return base + (base.indexOf('?') < 0 ? '?' : '&') + 'wscluster=' + token + (hash < 0 ? '' : url.slice(hash));
}

/**
 * A connection to a wscluster app that survives the loss of its node.
 *
 *   const client = new WsClusterClient(urls, options);
 *
 * `urls`: a WebSocket URL, an array of them (the nodes of the cluster, for the same endpoint), or a function
 * returning either, called before every attempt (for a list that changes). The first attempt goes to the
 * first URL; after a failure the next attempt goes to the next URL of the list (rotating away from the one
 * that failed), after a back-off delay.
 *
 * `options` (all optional):
 *   onMessage(data, meta)        every message for the app: data a string (or an ArrayBuffer for binary
 *                                frames); meta {offsets, tracked, node}: offsets the message's stream
 *                                offsets, tracked false for frames outside the contract (plain text, binary)
 *   onRecovered(stream, ok, info) after a reconnect, per stream the server resumed: ok true when nothing
 *                                was missed (the missed messages came through onMessage before this call),
 *                                false when the server's history no longer covers the gap or was lost
 *                                (the app should reload its state); info {count}: the messages of that
 *                                stream that came on this connection before the call
 *   onStatus(state, info)        'connecting' {url}; 'open' {url, node, reconnected} when the server's hello
 *                                came (node: its node id); 'reconnecting' {url, delay, attempt, code,
 *                                reason}: the connection closed or failed with code, the next attempt goes
 *                                to url in delay ms; 'closed' {code, reason}: close() was called, or the
 *                                server closed with 1008 (policy violation: retrying cannot help)
 *   backoff {initial, max}       reconnect delays in ms (default 500 and 10000)
 *   resume                       false: connect as a fresh client every time (nothing is replayed)
 *   storage, storageKey          a Storage (e.g. sessionStorage) where epoch and offsets are kept under
 *                                storageKey (default 'wscluster'), so that a reloaded page resumes
 *   protocols                    WebSocket sub-protocols
 *   WebSocket                    the WebSocket constructor (default globalThis.WebSocket)
 *
 * Callbacks run on the page's event loop, one at a time; an exception in one is reported to the console
 * and does not stop the client. Messages that come again at or below an offset this client already has,
 * in any of their streams, are dropped: the app sees each tracked message at most once.
 */
export class WsClusterClient {
  constructor(urls, options = {}) {
    if (typeof urls !== 'function' && !(typeof urls === 'string' || (Array.isArray(urls) && urls.length > 0))) {
      throw new TypeError('urls must be a URL, a non-empty array of URLs or a function returning them');
    }
    this._urls = urls;
    this._options = options;
    this._backoff = options.backoff || {};
    this._resume = options.resume !== false;
    this._storage = options.storage || null;
    this._storageKey = options.storageKey || 'wscluster';
    this._WebSocket = options.WebSocket || globalThis.WebSocket;
    this._epoch = null;
    this._offsets = {};
    this._socket = null;
    this._state = 'connecting';
    this._node = null;
    this._url = null;
    this._index = 0;          // index in the URL list of the current (or next) attempt
    this._attempt = 0;        // failed attempts since the last successful open
    this._opened = false;     // whether any connection was ever announced open: the next one is a reconnect
    this._announced = false;  // whether this connection was announced open
    this._timer = null;
    this._saveQueued = false;
    this._counts = {};        // stream -> messages through it on this connection, until it is resumed
    this._load();
    // on the next turn, so that callbacks never run before the constructor returned
    this._timer = setTimeout(() => this._connect(), 0);
  }

  /** 'connecting', 'open', 'reconnecting' or 'closed'. */
  get state() { return this._state; }

  /** The node id of the current connection (from its hello), or null. */
  get node() { return this._node; }

  /** The URL (without the token) of the current or last connection. */
  get url() { return this._url; }

  /** The epoch of the offsets, or null before the first hello. */
  get epoch() { return this._epoch; }

  /** A copy of the latest offset per stream. */
  get offsets() { return Object.assign({}, this._offsets); }

  /** Sends a text (or binary) message on the current connection; false when not connected (nothing sent). */
  send(data) {
    const ws = this._socket;
    if (!ws || ws.readyState !== 1) {
      return false;
    }
    ws.send(data);
    return true;
  }

  /** Closes the connection for good: no reconnect. The offsets stay in storage for a later client. */
  close(code = 1000, reason = '') {
    clearTimeout(this._timer);
    this._timer = null;
    const ws = this._socket;
    this._socket = null;
    this._save();
    if (ws) {
      try {
        ws.close(code, reason);
      } catch (e) {
        // already closing
      }
    }
    if (this._state !== 'closed') {
      this._setState('closed', { code, reason });
    }
  }

  /** Forgets epoch and offsets (and the stored copy): the next connection starts fresh. */
  reset() {
    this._epoch = null;
    this._offsets = {};
    if (this._storage) {
      try {
        this._storage.removeItem(this._storageKey);
      } catch (e) {
        // storage unavailable: nothing kept
      }
    }
  }

  _list() {
    let urls = typeof this._urls === 'function' ? this._urls() : this._urls;
    if (typeof urls === 'string') {
      urls = [urls];
    }
    if (!Array.isArray(urls) || urls.length === 0) {
      throw new TypeError('the urls function returned no URL');
    }
    return urls;
  }

  _connect() {
    this._timer = null;
    const urls = this._list();
    const url = urls[this._index % urls.length];
    this._url = url;
    const token = this._resume ? encodeToken(this._epoch, this._offsets) : encodeToken(null, {});
    if (this._state !== 'reconnecting') {
      this._setState('connecting', { url });
    }
    let ws;
    try {
      ws = this._options.protocols
          ? new this._WebSocket(withToken(url, token), this._options.protocols)
          : new this._WebSocket(withToken(url, token));
    } catch (e) {
      // a malformed URL: count it as a failed attempt, move on to the next URL
      console.error('wscluster: cannot connect to ' + url, e);
      this._retry(urls.length, 1006, String(e && e.message));
      return;
    }
    ws.binaryType = 'arraybuffer';
    this._socket = ws;
    this._counts = {};
    ws.onopen = () => {
      if (ws === this._socket) {
        this._attempt = 0;
        this._announced = false;
        this._state = 'open';
      }
    };
    ws.onmessage = (event) => {
      if (ws === this._socket) {
        this._onFrame(event.data);
      }
    };
    ws.onclose = (event) => {
      if (ws !== this._socket) {
        return;
      }
      this._socket = null;
      this._node = null;
      this._save();
      if (event.code === POLICY_VIOLATION) {
        // the server refused this client (a bad name, say): the same request would be refused again
        this._setState('closed', { code: event.code, reason: event.reason });
        return;
      }
      this._retry(urls.length, event.code, event.reason);
    };
  }

  _retry(urlCount, code, reason) {
    const delay = backoffDelay(this._attempt, this._backoff);
    this._attempt++;
    if (urlCount > 1) {
      this._index = (this._index + 1) % urlCount;
    }
    const next = this._list()[this._index % this._list().length];
    this._setState('reconnecting', { url: next, delay, attempt: this._attempt, code, reason });
    this._timer = setTimeout(() => this._connect(), delay);
  }

  _onFrame(data) {
    if (typeof data !== 'string') {
      this._announce();
      this._deliver(data, { offsets: {}, tracked: false, node: this._node });
      return;
    }
    const frame = parseFrame(data);
    if (frame.kind !== 'hello') {
      this._announce(); // a server that sends no hello: open from its first frame
    }
    switch (frame.kind) {
      case 'plain':
        this._deliver(frame.data, { offsets: {}, tracked: false, node: this._node });
        break;
      case 'hello':
        if (this._epoch !== null && frame.epoch !== this._epoch) {
          // history was lost: offsets of the old epoch say nothing about the new one's ids
          this._offsets = {};
        }
        this._epoch = frame.epoch;
        this._node = frame.node;
        this._announce();
        this._queueSave();
        break;
      case 'message':
        this._onMessage(frame);
        break;
      case 'resumed': {
        const count = this._counts[frame.stream] || 0;
        delete this._counts[frame.stream];
        this._call('onRecovered', frame.stream, frame.recovered, { count });
        break;
      }
      default:
        break; // a control frame of a newer server: nothing for the app
    }
  }

  /** Reports 'open' once per connection: at its hello, which names the node. */
  _announce() {
    if (this._announced) {
      return;
    }
    this._announced = true;
    const reconnected = this._opened;
    this._opened = true;
    this._call('onStatus', 'open', { url: this._url, node: this._node, reconnected });
  }

  _onMessage(frame) {
    const streams = Object.keys(frame.offsets);
    for (const stream of streams) {
      const known = this._offsets[stream];
      if (known !== undefined && compareOffsets(frame.offsets[stream], known) <= 0) {
        return; // had it already, through this stream
      }
    }
    for (const stream of streams) {
      this._offsets[stream] = frame.offsets[stream];
      this._counts[stream] = (this._counts[stream] || 0) + 1;
    }
    if (streams.length > 0) {
      this._queueSave();
    }
    this._deliver(frame.data, { offsets: frame.offsets, tracked: true, node: this._node });
  }

  _deliver(data, meta) {
    this._call('onMessage', data, meta);
  }

  _setState(state, info) {
    this._state = state;
    this._call('onStatus', state, info);
  }

  _call(name, ...args) {
    const callback = this._options[name];
    if (typeof callback !== 'function') {
      return;
    }
    try {
      callback.apply(this, args);
    } catch (e) {
      console.error('wscluster: ' + name + ' threw', e);
    }
  }

  _load() {
    if (!this._storage || !this._resume) {
      return;
    }
    try {
      const saved = JSON.parse(this._storage.getItem(this._storageKey) || 'null');
      if (saved && typeof saved.o === 'object' && saved.o !== null) {
        this._epoch = saved.e == null ? null : String(saved.e);
        this._offsets = Object.assign({}, saved.o);
      }
    } catch (e) {
      // unreadable: start fresh
    }
  }

  /** Writes the offsets once per turn of the event loop, however many messages came in it. */
  _queueSave() {
    if (!this._storage || this._saveQueued) {
      return;
    }
    this._saveQueued = true;
    setTimeout(() => this._save(), 0);
  }

  _save() {
    this._saveQueued = false;
    if (!this._storage || !this._resume) {
      return;
    }
    try {
      this._storage.setItem(this._storageKey, JSON.stringify({ e: this._epoch, o: this._offsets }));
    } catch (e) {
      // storage full or unavailable: a reload then starts fresh
    }
  }
}
