// wscluster demo chat: one WebSocket to /chat/{room}?user=<nick>, reconnecting with backoff.
// Protocol (see ChatEndpoint.java): the server sends welcome / msg / ack / receipt / deliveryError /
// presence / error frames; the page sends {"op":"say"}, {"op":"deliver"} (direct messages, with a
// receipt) and {"op":"presence"} (the room's users, polled every PRESENCE_POLL_MS).
// Reconnecting: to the same node first; after FAILOVER_AFTER failed attempts to the next node of the
// welcome's "nodes" list (the launcher's nodes), if there is one. A WebSocket may go to another
// origin, so the page keeps working from whichever node it was loaded.
// Test hooks (BrowserIT): every chat message is an li.msg whose span.text holds its text, direct
// ones also have the class direct; a direct message sent from here gets span.receipt.ok when its
// receipt came; #status has the class of the connection state.
(function () {
  'use strict';

  var MAX_LOG_ENTRIES = 500;
  var BACKOFF_FIRST_MS = 500;
  var BACKOFF_MAX_MS = 5000;         // a restarted node is back within seconds: keep looking often
  var PRESENCE_POLL_MS = 2000;
  var FAILOVER_AFTER = 2;

  var $ = function (id) { return document.getElementById(id); };
  var els = {
    status: $('status'), where: $('where'), log: $('log'), node: $('node'),
    join: $('join'), nick: $('nick'), room: $('room'), connect: $('connect'), disconnect: $('disconnect'),
    say: $('say'), text: $('text'), dm: $('dm'), dmUser: $('dm-user'), dmText: $('dm-text'),
    presence: $('presence'), presenceRoom: $('presence-room')
  };

  var socket = null;        // the current WebSocket, or null
  var wanted = false;       // whether the user asked to be connected
  var attempt = 0;          // failed connects since the last welcome, for the backoff
  var retryTimer = null;
  var decoder = new TextDecoder();
  var room = null;          // the room of the current connection, once welcomed
  var presenceTimer = null;
  var nextId = 1;           // ids of deliver requests, to match their receipts
  var pending = {};         // deliver id -> the span showing its outcome
  var home = location.pathname.replace(/[^/]*$/, '');   // this page's base path: any context path
  var base = null;          // base URL of the node to connect to; null: the page's own node
  var nodes = [];           // base URLs of every node, from the last welcome (may be empty)
  var failures = 0;         // failed connects to `base` in a row

  // remembered between visits; a random guest name the first time
  els.nick.value = localStorage.getItem('wscluster.nick') || 'guest-' + Math.random().toString(36).slice(2, 6);
  els.room.value = localStorage.getItem('wscluster.room') || 'lobby';

  function setStatus(state, text) {
    els.status.className = 'status ' + state;
    els.status.textContent = text || state;
  }

  function setChatEnabled(on) {
    [els.text, els.dmUser, els.dmText].forEach(function (el) { el.disabled = !on; });
    els.say.querySelector('button').disabled = !on;
    els.dm.querySelector('button').disabled = !on;
  }

  function setFormLocked(locked) {
    els.nick.disabled = locked;
    els.room.disabled = locked;
    els.connect.disabled = locked;
    els.disconnect.disabled = !locked;
  }

  // Appends one line to the log; parts are [className, text] pairs, written as text (never HTML).
  function log(kind, parts) {
    var li = document.createElement('li');
    if (kind) { li.className = kind; }
    var meta = document.createElement('span');
    meta.className = 'meta';
    meta.textContent = new Date().toLocaleTimeString();
    li.appendChild(meta);
    parts.forEach(function (part) {
      var span = document.createElement('span');
      if (part[0]) { span.className = part[0]; }
      span.textContent = part[1];
      li.appendChild(span);
    });
    var atBottom = els.log.scrollTop + els.log.clientHeight >= els.log.scrollHeight - 4;
    els.log.appendChild(li);
    while (els.log.children.length > MAX_LOG_ENTRIES) { els.log.removeChild(els.log.firstChild); }
    if (atBottom) { els.log.scrollTop = els.log.scrollHeight; }
  }

  function system(text) { log('system', [['', text]]); }

  // Node names are the node id less its random part (node-1-3f9c2e1b is node node-1).
  function nodeName(id) { return String(id).replace(/-[0-9a-f]{8}$/, ''); }

  // One of six colours per node, from the digits of its name (node-2 and n2 get colour 2).
  function colour(id) { return parseInt(nodeName(id).replace(/\D+/g, ''), 10) % 6 || 0; }

  function chatUrl(room, nick) {
    var http = base || (location.protocol + '//' + location.host + home);
    return http.replace(/^http/, 'ws') + 'chat/' + encodeURIComponent(room) +
        '?user=' + encodeURIComponent(nick);
  }

  function hostOf(url) { return url ? url.replace(/^https?:\/\//, '').replace(/\/.*$/, '') : location.host; }

  // After FAILOVER_AFTER failures in a row, the next node of the list (when it names others).
  function chooseNode() {
    if (failures < FAILOVER_AFTER || nodes.length < 2) { return; }
    var current = base || (location.protocol + '//' + location.host + home);
    var at = nodes.indexOf(current);
    base = nodes[(at + 1) % nodes.length];
    failures = 0;
  }

  function connect() {
    clearTimeout(retryTimer);
    retryTimer = null;
    var nick = els.nick.value.trim();
    var room = els.room.value.trim();
    setStatus(attempt === 0 ? 'connecting' : 'reconnecting', attempt === 0 ? 'connecting'
        : 'reconnecting to ' + hostOf(base) + ' (attempt ' + (attempt + 1) + ')');
    var ws = new WebSocket(chatUrl(room, nick));
    ws.binaryType = 'arraybuffer';
    socket = ws;

    ws.onmessage = function (event) {
      if (ws !== socket) { return; }
      if (typeof event.data !== 'string') {
        log('', [['from', '[binary ' + event.data.byteLength + ' bytes]'], ['', decoder.decode(event.data)]]);
        return;
      }
      var frame;
      try { frame = JSON.parse(event.data); } catch (e) { log('', [['', event.data]]); return; }
      onFrame(frame);
    };

    ws.onclose = function (event) {
      if (ws !== socket) { return; }
      socket = null;
      stopPresence();
      Object.keys(pending).forEach(function (id) {
        settle(id, '\u2717 disconnected', 'failed', 'the connection closed before the receipt came');
      });
      setChatEnabled(false);
      if (els.node.textContent !== 'no node' && wanted) {
        system('disconnected from ' + els.node.textContent + (event.code === 1000 ? '' : ' (' + (event.reason ||
            'code ' + event.code) + ')') + ', reconnecting');
      }
      els.where.textContent = 'not connected';
      els.node.textContent = 'no node';
      els.node.className = 'node none';
      if (event.code === 1008) {              // invalid room or user name: retrying cannot help
        wanted = false;
        setFormLocked(false);
        setStatus('disconnected', 'refused: ' + (event.reason || 'policy violation'));
        return;
      }
      if (!wanted) {
        setStatus('disconnected');
        return;
      }
      // exponential backoff with jitter, so that a restarted node is not hit by every tab at once
      var delay = Math.min(BACKOFF_MAX_MS, BACKOFF_FIRST_MS * Math.pow(2, attempt));
      delay = Math.round(delay / 2 + Math.random() * delay / 2);
      attempt++;
      failures++;
      chooseNode();
      // 1001 going away: the node is stopping (a restart, an undeploy)
      setStatus('reconnecting', (event.code === 1001 ? 'node left' : 'connection lost') + ', reconnecting to ' +
          hostOf(base) + ' in ' + (delay / 1000).toFixed(1) + ' s');
      retryTimer = setTimeout(connect, delay);
    };
  }

  function onFrame(frame) {
    switch (frame.type) {
      case 'welcome':
        attempt = 0;
        failures = 0;
        if (frame.nodes && frame.nodes.length) { nodes = frame.nodes; }
        setStatus('connected', 'connected');
        setChatEnabled(true);
        els.node.textContent = nodeName(frame.node);
        els.node.className = 'node n' + colour(frame.node);
        els.node.title = 'node id ' + frame.node + ' at ' + hostOf(base);
        els.where.textContent = '';
        els.where.append('connected to node ');
        var code = document.createElement('code');
        code.textContent = frame.node;
        els.where.append(code, ' at ' + hostOf(base) + ' as ' + (frame.user || '(anonymous)') +
            ' in room ' + frame.room);
        system('joined ' + frame.room + ' on ' + frame.node + ' (session ' + frame.session + ')');
        startPresence(frame.room);
        break;
      case 'msg':
        log(frame.direct ? 'msg direct' : 'msg', [['via c' + colour(frame.node), (frame.direct ? 'direct via ' : '') +
            nodeName(frame.node)], ['from', (frame.from || '(anonymous)') + ':'], ['text', frame.text]]);
        break;
      case 'ack':
        break;                                 // the page does not track acks
      case 'receipt':
        var missed = Object.keys(frame.failed).length;
        settle(frame.id, '\u2713' + (missed ? ' (partly)' : ''), 'ok', 'delivered to ' +
            frame.delivered.length + (frame.delivered.length === 1 ? ' session' : ' sessions') +
            (missed ? ', not to ' + missed : ''));
        break;
      case 'deliveryError':
        settle(frame.id, '\u2717 ' + frame.reason, 'failed', frame.message);
        break;
      case 'presence':
        if (frame.query === 'roomUsers' && frame.name === room) { showPresence(frame.result); }
        break;
      case 'error':
        if (frame.id && pending[frame.id]) {
          settle(frame.id, '\u2717 ' + frame.message, 'failed', frame.message);
        } else {
          log('error', [['', 'error: ' + frame.message]]);
        }
        break;
      default:
        log('', [['', JSON.stringify(frame)]]);
    }
  }

  // Marks a direct message: a check when its receipt came ("partly" when some sessions missed it),
  // a cross with the reason otherwise; the details show on hover.
  function settle(id, label, outcome, detail) {
    var mark = pending[id];
    if (!mark) { return; }
    delete pending[id];
    mark.className = 'receipt ' + outcome;
    mark.textContent = label;
    mark.title = detail;
  }

  function startPresence(name) {
    stopPresence();
    room = name;
    els.presenceRoom.textContent = name;
    var poll = function () { send({ op: 'presence', query: 'roomUsers', name: name }, true); };
    poll();
    presenceTimer = setInterval(poll, PRESENCE_POLL_MS);
  }

  function stopPresence() {
    clearInterval(presenceTimer);
    presenceTimer = null;
    room = null;
    showPresence(null);
  }

  function showPresence(users) {
    els.presence.textContent = '';
    if (!users || users.length === 0) {
      var none = document.createElement('li');
      none.className = 'empty';
      none.textContent = users ? 'nobody (with a name)' : 'not connected';
      els.presence.appendChild(none);
      return;
    }
    users.forEach(function (user) {
      var li = document.createElement('li');
      li.textContent = user;
      els.presence.appendChild(li);
    });
  }

  function send(op, quiet) {
    if (socket && socket.readyState === WebSocket.OPEN) {
      socket.send(JSON.stringify(op));
      return true;
    }
    if (!quiet) { log('error', [['', 'not connected; message not sent']]); }
    return false;
  }

  showPresence(null);

  els.join.addEventListener('submit', function (event) {
    event.preventDefault();
    if (!els.nick.value.trim() || !els.room.value.trim()) { return; }
    localStorage.setItem('wscluster.nick', els.nick.value.trim());
    localStorage.setItem('wscluster.room', els.room.value.trim());
    wanted = true;
    attempt = 0;
    failures = 0;
    setFormLocked(true);
    connect();
  });

  els.disconnect.addEventListener('click', function () {
    wanted = false;
    clearTimeout(retryTimer);
    setFormLocked(false);
    if (socket) { socket.close(1000, 'bye'); } else { setStatus('disconnected'); }
  });

  els.say.addEventListener('submit', function (event) {
    event.preventDefault();
    var text = els.text.value;
    if (text && send({ op: 'say', text: text })) { els.text.value = ''; }
  });

  els.dm.addEventListener('submit', function (event) {
    event.preventDefault();
    var user = els.dmUser.value.trim();
    var text = els.dmText.value;
    if (!user || !text) { return; }
    var id = 'd' + (nextId++);
    if (send({ op: 'deliver', users: [user], text: text, id: id })) {
      log('sent-direct', [['via', 'direct'], ['from', 'to ' + user + ':'], ['', text], ['receipt', '\u2026']]);
      pending[id] = els.log.lastChild.lastChild;
      els.dmText.value = '';
    }
  });
})();
