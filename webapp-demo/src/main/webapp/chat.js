// wscluster demo chat: one connection to /chat/{room}?user=<nick> through the wscluster browser client
// (wscluster/wscluster-client.mjs, served from the plugin jar), which reconnects and resumes.
// Protocol (see ChatEndpoint.java): the server sends welcome / msg / ack / receipt / deliveryError /
// presence / error frames; the page sends {"op":"say"}, {"op":"deliver"} (direct messages, with a
// receipt) and {"op":"presence"} (the room's users, polled every PRESENCE_POLL_MS).
// Reconnecting: the client retries with back-off, each time to the next node of the welcome's "nodes"
// list (the launcher's nodes, this page's own node first), or to this page's node when the list is
// empty; it hands the node its offsets and the node replays what the tab missed (the room's messages,
// the user's direct messages). The line #recovery says how that went. A WebSocket may go to another
// origin, so the page keeps working from whichever node it was loaded. Offsets are kept in
// sessionStorage per room and nick, so a reload of the tab resumes too.
// Test hooks (BrowserIT, BrowserRecoveryIT): every chat message is an li.msg whose span.text holds its
// text, direct ones also have the class direct; a direct message sent from here gets span.receipt.ok
// when its receipt came; #status has the class of the connection state; #recovery has data-state
// (recovered | lost) and data-missed (the messages recovered) after a reconnect.
import { WsClusterClient } from './wscluster/wscluster-client.mjs';

(function () {
  var MAX_LOG_ENTRIES = 500;
  var BACKOFF = { initial: 500, max: 5000 };   // a restarted node is back within seconds: keep looking often
  var PRESENCE_POLL_MS = 2000;

  var $ = function (id) { return document.getElementById(id); };
  var els = {
    status: $('status'), where: $('where'), log: $('log'), node: $('node'),
    join: $('join'), nick: $('nick'), room: $('room'), connect: $('connect'), disconnect: $('disconnect'),
    say: $('say'), text: $('text'), dm: $('dm'), dmUser: $('dm-user'), dmText: $('dm-text'),
    presence: $('presence'), presenceRoom: $('presence-room'), recovery: $('recovery')
  };

  var client = null;        // the WsClusterClient while the user wants to be connected, else null
  var decoder = new TextDecoder();
  var room = null;          // the room of the current connection, once welcomed
  var presenceTimer = null;
  var nextId = 1;           // ids of deliver requests, to match their receipts
  var pending = {};         // deliver id -> the span showing its outcome
  var home = location.pathname.replace(/[^/]*$/, '');   // this page's base path: any context path
  var own = location.protocol + '//' + location.host + home;   // this page's node
  var nodes = [];           // base URLs of every node, from the last welcome (may be empty)
  var recovery = null;      // after a reconnect: {node, missed, lost}, what #recovery shows
  var stored = false;       // whether the client started from offsets kept by an earlier page (a reload)

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

  function chatUrl(base, room, nick) {
    return base.replace(/^http/, 'ws') + 'chat/' + encodeURIComponent(room) + '?user=' + encodeURIComponent(nick);
  }

  function hostOf(url) { return url ? url.replace(/^wss?:\/\/|^https?:\/\//, '').replace(/\/.*$/, '') : location.host; }

  // The nodes to try, this page's own first: the client moves to the next one when one fails.
  function nodeList() {
    var at = nodes.indexOf(own);
    if (nodes.length === 0) { return [own]; }
    return at < 0 ? [own].concat(nodes) : nodes.slice(at).concat(nodes.slice(0, at));
  }

  function connect(room, nick) {
    recovery = null;
    showRecovery();
    client = new WsClusterClient(function () {
      return nodeList().map(function (base) { return chatUrl(base, room, nick); });
    }, {
      backoff: BACKOFF,
      storage: sessionStorage,
      storageKey: 'wscluster.chat.' + room + '.' + nick,
      onStatus: onStatus,
      onRecovered: onRecovered,
      onMessage: function (data) {
        if (typeof data !== 'string') {
          log('', [['from', '[binary ' + data.byteLength + ' bytes]'], ['', decoder.decode(data)]]);
          return;
        }
        var frame;
        try { frame = JSON.parse(data); } catch (e) { log('', [['', data]]); return; }
        onFrame(frame);
      }
    });
    stored = Object.keys(client.offsets).length > 0;
  }

  function onStatus(state, info) {
    switch (state) {
      case 'connecting':
        setStatus('connecting', 'connecting');
        break;
      case 'open':
        if (info.reconnected || stored) {
          recovery = { node: info.node, missed: 0, lost: false };
          stored = false;
          showRecovery();
        }
        break;                                 // 'connected' once the welcome came
      case 'reconnecting':
        lost(info.code, info.reason);
        // 1001 going away: the node is stopping (a restart, an undeploy)
        setStatus('reconnecting', (info.code === 1001 ? 'node left' : 'connection lost') + ', reconnecting to ' +
            hostOf(info.url) + ' in ' + (info.delay / 1000).toFixed(1) + ' s (attempt ' + info.attempt + ')');
        break;
      case 'closed':
        client = null;
        lost(info.code, info.reason);
        if (info.code === 1008) {              // invalid room or user name: retrying cannot help
          setFormLocked(false);
          setStatus('disconnected', 'refused: ' + (info.reason || 'policy violation'));
        } else {
          setStatus('disconnected');
        }
        break;
    }
  }

  // The tab lost its connection: what depended on it stops.
  function lost(code, reason) {
    stopPresence();
    Object.keys(pending).forEach(function (id) {
      settle(id, '\u2717 disconnected', 'failed', 'the connection closed before the receipt came');
    });
    setChatEnabled(false);
    if (els.node.textContent !== 'no node') {
      system('disconnected from ' + els.node.textContent + (code === 1000 ? '' : ' (' + (reason ||
          'code ' + code) + ')') + (client ? ', reconnecting' : ''));
    }
    els.where.textContent = 'not connected';
    els.node.textContent = 'no node';
    els.node.className = 'node none';
  }

  // A stream the node resumed after a reconnect: the room's, or the user's (direct messages).
  function onRecovered(stream, ok, info) {
    if (!recovery) { return; }
    recovery.missed += info.count;
    if (!ok && !recovery.lost) {
      recovery.lost = true;
      // nothing in this demo keeps older messages than the history: "reloading" is saying so
      system('messages sent while this tab was away are missing: the history no longer covers the gap');
      if (room) { startPresence(room); }
    }
    showRecovery();
  }

  function showRecovery() {
    if (!recovery) {
      els.recovery.textContent = '';
      delete els.recovery.dataset.state;
      delete els.recovery.dataset.missed;
      return;
    }
    var where = 'reconnected to ' + nodeName(recovery.node || '?');
    els.recovery.dataset.state = recovery.lost ? 'lost' : 'recovered';
    els.recovery.dataset.missed = String(recovery.missed);
    els.recovery.className = 'recovery ' + els.recovery.dataset.state;
    els.recovery.textContent = recovery.lost ? where + ' \u2013 could not recover the missed messages, reloaded'
        : where + ' \u2013 recovered ' + recovery.missed + ' missed message' + (recovery.missed === 1 ? '' : 's');
  }

  function onFrame(frame) {
    switch (frame.type) {
      case 'welcome':
        if (frame.nodes && frame.nodes.length) { nodes = frame.nodes; }
        setStatus('connected', 'connected');
        setChatEnabled(true);
        els.node.textContent = nodeName(frame.node);
        els.node.className = 'node n' + colour(frame.node);
        els.node.title = 'node id ' + frame.node + ' at ' + hostOf(client && client.url);
        els.where.textContent = '';
        els.where.append('connected to node ');
        var code = document.createElement('code');
        code.textContent = frame.node;
        els.where.append(code, ' at ' + hostOf(client && client.url) + ' as ' + (frame.user || '(anonymous)') +
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
    if (client && client.send(JSON.stringify(op))) {
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
    setFormLocked(true);
    connect(els.room.value.trim(), els.nick.value.trim());
  });

  els.disconnect.addEventListener('click', function () {
    setFormLocked(false);
    if (client) { client.close(1000, 'bye'); } else { setStatus('disconnected'); }
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
