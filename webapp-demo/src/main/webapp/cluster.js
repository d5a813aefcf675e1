// wscluster cluster view: one WebSocket to /cluster/feed (ClusterViewEndpoint.java). The node answers
// {"type":"hello",...} and then every node of the cluster sends {"type":"status","status":S} once a
// second, S being that node's /status JSON (NodeStatus.java) plus "liveNodes", the node ids holding
// a lease. From these the page draws the nodes, their links to Redis and their rates.
//
// A node is "live" while its status arrives, "silent" when it stopped arriving but the node still
// holds a lease (or no node could read the leases lately: Redis is unreachable), "down" when neither. Nodes are keyed by name (the id less its random part), so a
// restarted node, which has a new id, takes over its old card.
// Test hooks (BrowserIT): each card is .card[data-node=NAME][data-state=live|silent|down] with
// data-published, data-delivered, data-sessions and data-duplicates holding the node's counters.
(function () {
  'use strict';

  var SILENT_AFTER_MS = 2500;      // two missed statuses and a half
  var LEASES_FRESH_MS = 5000;      // lease lists older than this are not trusted
  var HISTORY = 60;                // rate samples per sparkline: the last minute
  var RATE_MIN_MS = 900;
  var RENDER_MS = 500;
  var BACKOFF_FIRST_MS = 500;
  var BACKOFF_MAX_MS = 8000;
  var FAILOVER_AFTER = 2;
  var RESTART_WAIT_MS = 30000;     // a restarted node not back by then is reported as such
  var NOTICE_CLEAR_MS = 6000;      // how long a notice that needs no action stays
  var SVG = 'http://www.w3.org/2000/svg';

  var $ = function (id) { return document.getElementById(id); };
  var home = location.protocol + '//' + location.host + location.pathname.replace(/[^/]*$/, '');
  var nodes = {};                  // name -> node record, see ingest()
  var leases = null;               // {ids: [...], at: ms}
  var transport = null;
  var serving = null;              // id of the node this page's feed is connected to
  var canRestart = false;
  var base = home;                 // base URL of the node to connect to
  var failures = 0;
  var attempt = 0;
  var socket = null;
  var restarting = null;           // {name, id, at}: the restart this page asked for, until it is over
  var noticeTimer = null;

  function nodeName(id) { return String(id).replace(/-[0-9a-f]{8}$/, ''); }
  function hostOf(url) { return url.replace(/^https?:\/\//, '').replace(/\/.*$/, ''); }

  function setFeed(state, text) {
    $('feed').className = 'status ' + state;
    $('feed').textContent = text;
  }

  // Shows text in the notice bar (none: hides it); with clearAfterMs, hides it after that long
  // unless another notice replaced it meanwhile.
  function notice(text, clearAfterMs) {
    clearTimeout(noticeTimer);
    noticeTimer = null;
    $('notice').hidden = !text;
    $('notice').textContent = text || '';
    if (text && clearAfterMs) { noticeTimer = setTimeout(function () { notice(null); }, clearAfterMs); }
  }

  // The noun for v of them: one for 1, else many (one + 's' when not given).
  function noun(v, one, many) { return v === 1 ? one : many || one + 's'; }
  function quantity(v, one, many) { return fmtInt(v) + ' ' + noun(v, one, many); }

  // ---- the feed ----

  function connect() {
    setFeed(attempt === 0 ? 'connecting' : 'reconnecting', (attempt === 0 ? 'connecting to ' : 'reconnecting to ') +
        hostOf(base));
    var ws = new WebSocket(base.replace(/^http/, 'ws') + 'cluster/feed');
    socket = ws;
    ws.onmessage = function (event) {
      if (ws !== socket) { return; }
      var frame;
      try { frame = JSON.parse(event.data); } catch (e) { return; }
      if (frame.type === 'hello') {
        attempt = 0;
        failures = 0;
        serving = frame.node;
        canRestart = frame.restart;
        $('restart-help').hidden = !canRestart;
        setFeed('connected', 'live, via ' + nodeName(frame.node));
        if (frame.clusterView) {
          if (!restarting) { notice(null); }     // a restart's notice ends in followRestart
          return;
        }
        notice('Node ' + nodeName(frame.node) + ' does not publish its status ' +
            '(context-param demo.cluster-view is not true), so nodes without it stay silent here: ' +
            'run the demo with its launcher, java -jar webapp-demo/target/wscluster-demo.jar.');
      } else if (frame.type === 'status') {
        ingest(frame.status);
      }
    };
    ws.onclose = function () {
      if (ws !== socket) { return; }
      socket = null;
      serving = null;
      var delay = Math.min(BACKOFF_MAX_MS, BACKOFF_FIRST_MS * Math.pow(2, attempt));
      delay = Math.round(delay / 2 + Math.random() * delay / 2);
      attempt++;
      failures++;
      if (failures >= FAILOVER_AFTER) {
        // another node this page has seen a URL for, if any
        var urls = Object.keys(nodes).map(function (n) { return nodes[n].status.url; })
            .filter(function (u) { return u && u !== base; });
        if (urls.length) { base = urls[Math.floor(Math.random() * urls.length)]; failures = 0; }
      }
      setFeed('reconnecting', 'feed lost, reconnecting to ' + hostOf(base) + ' in ' + (delay / 1000).toFixed(1) + ' s');
      setTimeout(connect, delay);
    };
  }

  function ingest(s) {
    var name = nodeName(s.node);
    var n = nodes[name];
    if (!n) {
      n = nodes[name] = { name: name, status: null, base: null, seenAt: 0, pub: [], del: [], pubRate: null,
        delRate: null, restarts: 0 };
    }
    if (n.status && n.status.node !== s.node) {
      if (s.time <= n.status.time) { return; }       // a late status of the old incarnation
      n.restarts++;
      n.status = null;
      n.base = null;
      n.pub = [];
      n.del = [];
    }
    if (n.status && s.time <= n.status.time) { return; }
    // rates over at least RATE_MIN_MS: two statuses close together (a node catching up after a
    // pause) would make a tiny count look like a huge rate
    if (!n.base) {
      n.base = s;
    } else if (s.time - n.base.time >= RATE_MIN_MS) {
      var seconds = (s.time - n.base.time) / 1000;
      n.pubRate = Math.max(0, (s.stats.published - n.base.stats.published) / seconds);
      n.delRate = Math.max(0, (s.stats.delivered - n.base.stats.delivered) / seconds);
      push(n.pub, n.pubRate);
      push(n.del, n.delRate);
      n.base = s;
    }
    n.status = s;
    n.seenAt = Date.now();
    if (s.liveNodes) { leases = { ids: s.liveNodes, at: Date.now() }; }
    transport = s.transport;
  }

  function push(list, value) {
    list.push(value);
    if (list.length > HISTORY) { list.shift(); }
  }

  function stateOf(n, now) {
    if (now - n.seenAt < SILENT_AFTER_MS) { return 'live'; }
    // no fresh lease list (Redis unreachable from every node still reporting): nothing says it is down
    if (!leasesKnown(now)) { return 'silent'; }
    return leases.ids.indexOf(n.status.node) >= 0 ? 'silent' : 'down';
  }

  function leasesKnown(now) { return leases !== null && now - leases.at < LEASES_FRESH_MS; }

  // ---- drawing ----

  function el(tag, attrs, parent, ns) {
    var e = ns ? document.createElementNS(SVG, tag) : document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) { e.setAttribute(k, attrs[k]); });
    if (parent) { parent.appendChild(e); }
    return e;
  }

  function svg(tag, attrs, parent) { return el(tag, attrs, parent, true); }

  function fmtRate(r) { return r === null || r === undefined ? '\u2013' : r < 10 ? r.toFixed(1) : Math.round(r).toString(); }
  function fmtInt(v) { return (v || 0).toLocaleString('en-US'); }

  function render() {
    var now = Date.now();
    var names = Object.keys(nodes).sort(function (a, b) {
      return a.localeCompare(b, 'en', { numeric: true });
    });
    var states = {};
    names.forEach(function (name) { states[name] = stateOf(nodes[name], now); });
    renderSummary(names, states);
    followRestart(states, now);
    renderTopology(names, states);
    renderCards(names, states);
  }

  function renderSummary(names, states) {
    if (!names.length) { return; }
    var live = names.filter(function (n) { return states[n] === 'live'; });
    var sum = function (f) { return live.reduce(function (t, n) { return t + (f(nodes[n]) || 0); }, 0); };
    var sessions = sum(function (n) { return n.status.stats.sessions; });
    var duplicates = sum(function (n) { return n.status.stats.duplicates; });
    var echoes = sum(function (n) { return n.status.stats.ownEchoes; });
    var parts = [
      ['', live.length, ' of ' + names.length + ' ' + noun(names.length, 'node') + ' live'],
      ['', fmtInt(sessions), ' ' + noun(sessions, 'session')],
      ['legend-pub', fmtRate(sum(function (n) { return n.pubRate; })), ' published/s'],
      ['legend-del', fmtRate(sum(function (n) { return n.delRate; })), ' delivered/s'],
      ['', fmtInt(duplicates), ' ' + noun(duplicates, 'duplicate') + ' dropped'],
      ['', fmtInt(echoes), ' ' + noun(echoes, 'own echo', 'own echoes') + ' dropped']
    ];
    var p = $('summary');
    p.textContent = '';
    parts.forEach(function (part, i) {
      if (i) { p.append(' \u00b7 '); }
      var b = el('b', { 'class': part[0] }, p);
      b.textContent = part[1];
      p.append(part[2]);
    });
    p.append(' \u00b7 transport ' + (transport || '?'));
  }

  var topo = { built: false, groups: {} };

  function renderTopology(names, states) {
    var root = $('topology');
    if (!topo.built) {
      topo.links = svg('g', {}, root);
      var hub = svg('g', { transform: 'translate(480,52)' }, root);
      topo.hub = svg('rect', { x: -120, y: -36, width: 240, height: 72, rx: 36, 'class': 'hub' }, hub);
      topo.hubTitle = svg('text', { y: -8, 'text-anchor': 'middle', 'class': 'title' }, hub);
      topo.hubLine = svg('text', { y: 12, 'text-anchor': 'middle', 'class': 'small' }, hub);
      topo.hubLine2 = svg('text', { y: 27, 'text-anchor': 'middle', 'class': 'small' }, hub);
      topo.boxes = svg('g', {}, root);
      topo.built = true;
    }
    var live = names.filter(function (n) { return states[n] === 'live'; });
    var delivering = live.filter(function (n) {
      var h = nodes[n].status.health;
      return h.delivering && h.heldForMillis === 0;
    });
    topo.hub.setAttribute('class', 'hub ' + (live.length && delivering.length === live.length ? 'ok'
        : delivering.length ? 'degraded' : 'down'));
    topo.hubTitle.textContent = transport === 'memory' ? 'in-memory bus' : 'Redis';
    topo.hubLine.textContent = delivering.length + ' of ' + live.length + ' ' + noun(live.length, 'live node') +
        ' delivering';
    var rtts = delivering.map(function (n) { return nodes[n].status.health.probeRoundTripMicros; })
        .filter(function (v) { return v >= 0; });
    topo.hubLine2.textContent = rtts.length ? 'probe round trip ' + (Math.max.apply(null, rtts) / 1000).toFixed(1) +
        ' ms (slowest)' : 'no probe came back';

    var count = Math.max(names.length, 1);
    var width = Math.min(200, 900 / count - 20);
    Object.keys(topo.groups).forEach(function (name) {
      if (names.indexOf(name) < 0) {
        topo.groups[name].box.remove();
        topo.groups[name].link.remove();
        delete topo.groups[name];
      }
    });
    names.forEach(function (name, i) {
      var n = nodes[name];
      var g = topo.groups[name];
      if (!g) {
        g = topo.groups[name] = {};
        g.link = svg('g', {}, topo.links);
        g.path = svg('line', {}, g.link);
        g.box = svg('g', {}, topo.boxes);
        g.rect = svg('rect', { y: -34, height: 68, rx: 8 }, g.box);
        g.title = svg('text', { y: -12, 'text-anchor': 'middle', 'class': 'title' }, g.box);
        g.line1 = svg('text', { y: 6, 'text-anchor': 'middle' }, g.box);
        g.line2 = svg('text', { y: 22, 'text-anchor': 'middle', 'class': 'small' }, g.box);
        // the rates go under the box, one a line, where no link passes whatever the number of
        // nodes (beside a link, the neighbouring nodes' links cross them)
        g.ratePub = svg('text', { y: 52, 'text-anchor': 'middle', 'class': 'rate pub' }, g.box);
        g.rateDel = svg('text', { y: 67, 'text-anchor': 'middle', 'class': 'rate del' }, g.box);
      }
      var x = 960 * (i + 0.5) / count;
      var y = 200;
      var state = states[name];
      g.box.setAttribute('transform', 'translate(' + x + ',' + y + ')');
      g.rect.setAttribute('x', -width / 2);
      g.rect.setAttribute('width', width);
      g.rect.setAttribute('class', 'box ' + state);
      g.title.textContent = name;
      g.line2.textContent = state === 'live' ? 'dup. dropped ' + fmtInt(n.status.stats.duplicates) +
          ' \u00b7 echoes ' + fmtInt(n.status.stats.ownEchoes) : state === 'silent' ? 'not reporting' : 'no lease';
      g.line1.textContent = state === 'live' ? quantity(n.status.stats.sessions, 'session') : state;
      var h = n.status.health;
      var linkState = state !== 'live' ? state : h.delivering && h.heldForMillis === 0 ? 'up' : 'down';
      g.path.setAttribute('class', 'link ' + linkState);
      g.path.setAttribute('x1', x);
      g.path.setAttribute('y1', y - 34);
      g.path.setAttribute('x2', 480 + (x - 480) * 0.35);
      g.path.setAttribute('y2', 88);
      g.path.setAttribute('stroke-width', state === 'live' ? 2 + Math.min(8, Math.log2(1 + (n.delRate || 0))) : 2);
      g.ratePub.textContent = state === 'live' ? '\u2191 ' + fmtRate(n.pubRate) + '/s' : '';
      g.rateDel.textContent = state === 'live' ? '\u2193 ' + fmtRate(n.delRate) + '/s' : '';
    });
  }

  var cards = {};

  function renderCards(names, states) {
    var section = $('nodes');
    Object.keys(cards).forEach(function (name) {
      if (names.indexOf(name) < 0) { cards[name].root.remove(); delete cards[name]; }
    });
    names.forEach(function (name) {
      var n = nodes[name];
      var c = cards[name] || (cards[name] = buildCard(name));
      section.appendChild(c.root);              // keeps the cards in name order
      var s = n.status;
      var state = states[name];
      c.root.className = 'card ' + state;
      c.root.setAttribute('data-state', state);
      c.root.setAttribute('data-published', s.stats.published);
      c.root.setAttribute('data-delivered', s.stats.delivered);
      c.root.setAttribute('data-sessions', s.stats.sessions);
      c.root.setAttribute('data-duplicates', s.stats.duplicates);
      c.state.textContent = state === 'live' ? (s.node === serving ? 'live \u00b7 this feed' : 'live')
          : state === 'down' ? 'down' : leasesKnown(Date.now()) ? 'silent, lease held' : 'no status';
      c.id.textContent = s.node + (n.restarts ? ' (restarted ' + n.restarts + '\u00d7)' : '') +
          (s.url ? ' \u00b7 ' + hostOf(s.url) : '');
      c.sessions.textContent = fmtInt(s.stats.sessions) + ' (' + fmtInt(s.chatSessions) + ' chat)';
      c.pub.textContent = fmtRate(state === 'live' ? n.pubRate : null) + ' /s';
      c.pubTotal.textContent = '(' + fmtInt(s.stats.published) + ' in all)';
      c.del.textContent = fmtRate(state === 'live' ? n.delRate : null) + ' /s';
      c.delTotal.textContent = '(' + fmtInt(s.stats.delivered) + ' in all)';
      c.dups.textContent = quantity(s.stats.duplicates, 'duplicate') + ' \u00b7 ' +
          quantity(s.stats.ownEchoes, 'own echo', 'own echoes');
      var h = s.health;
      c.redis.textContent = '';
      if (state !== 'live') {
        c.redis.textContent = 'last status ' + Math.round((Date.now() - n.seenAt) / 1000) + ' s ago';
      } else {
        var mark = el('span', { 'class': h.delivering ? 'ok' : 'bad' }, c.redis);
        mark.textContent = h.delivering ? '\u2713 delivering' : '\u2717 not delivering';
        c.redis.append(h.probeRoundTripMicros >= 0 ? ', probe ' + (h.probeRoundTripMicros / 1000).toFixed(1) + ' ms' : '');
        if (h.heldForMillis) {
          var held = el('span', { 'class': 'bad' }, c.redis);
          held.textContent = ', ' + fmtInt(h.queuedMessages) + ' held for ' + (h.heldForMillis / 1000).toFixed(1) + ' s';
        }
      }
      c.rejected.textContent = fmtInt(s.stats.rejected);
      drawSpark(c, n.pub, n.del);
      c.chat.hidden = !s.url;
      if (s.url) { c.chat.href = s.url; }
      c.restart.hidden = !canRestart || state !== 'live';
    });
  }

  function buildCard(name) {
    var c = {};
    c.root = el('article', { 'data-node': name });
    var h2 = el('h2', {}, c.root);
    var badge = el('span', { 'class': 'node n' + (parseInt(name.replace(/\D+/g, ''), 10) % 6 || 0) }, h2);
    badge.textContent = name;
    c.state = el('span', { 'class': 'state' }, h2);
    c.id = el('p', { 'class': 'id' }, c.root);
    var dl = el('dl', {}, c.root);
    var row = function (label, cls) {
      el('dt', { 'class': cls || '' }, dl).textContent = label;
      return el('dd', {}, dl);
    };
    c.sessions = row('sessions');
    var pub = row('published', 'legend-pub');
    c.pub = el('b', {}, pub);
    c.pubTotal = el('span', { 'class': 'small' }, pub);
    c.pub.after(' ');
    var del = row('delivered', 'legend-del');
    c.del = el('b', {}, del);
    c.delTotal = el('span', { 'class': 'small' }, del);
    c.del.after(' ');
    c.dups = row('dropped');
    c.redis = row('link');
    c.rejected = row('rejected');
    c.spark = svg('svg', { 'class': 'spark', viewBox: '0 0 ' + HISTORY + ' 34', preserveAspectRatio: 'none' }, c.root);
    c.sparkPub = svg('polyline', { 'class': 'pub', 'vector-effect': 'non-scaling-stroke' }, c.spark);
    c.sparkDel = svg('polyline', { 'class': 'del', 'vector-effect': 'non-scaling-stroke' }, c.spark);
    var actions = el('div', { 'class': 'actions' }, c.root);
    c.chat = el('a', { target: '_blank' }, actions);
    c.chat.textContent = 'open chat on ' + name + ' \u2197';
    c.restart = el('button', { type: 'button' }, actions);
    c.restart.textContent = 'Restart';
    c.restart.addEventListener('click', function () { restart(name); });
    return c;
  }

  function drawSpark(c, pub, del) {
    var max = Math.max.apply(null, [1].concat(pub, del));
    var points = function (list) {
      var offset = HISTORY - list.length;
      return list.map(function (v, i) { return (offset + i) + ',' + (33 - 31 * v / max).toFixed(1); }).join(' ');
    };
    c.sparkPub.setAttribute('points', points(pub));
    c.sparkDel.setAttribute('points', points(del));
  }

  // The launcher's restart hook, through this page's own node (a cross-origin request with the
  // header would need a CORS preflight, which the demo does not answer).
  function restart(name) {
    restarting = null;
    notice('restarting ' + name + '\u2026');
    fetch(home + 'cluster/restart?node=' + encodeURIComponent(name), {
      method: 'POST', headers: { 'X-Demo-Restart': '1' }
    }).then(function (response) {
      return response.json().then(function (body) {
        if (body.ok) {
          restarting = { name: name, id: nodes[name] ? nodes[name].status.node : null, at: Date.now() };
          notice(name + ' is restarting: it leaves now and comes back in about 3 s');
        } else {
          notice('restart refused: ' + body.error, NOTICE_CLEAR_MS);
        }
      });
    }).catch(function (e) {
      notice('restart failed: ' + e.message + ' (this page\'s node ' + hostOf(home) + ' must be up)');
    });
  }

  // Ends the restart notice: once the node reports live under a new id, or when it has not after
  // RESTART_WAIT_MS (then the notice says so, and stays).
  function followRestart(states, now) {
    if (!restarting) { return; }
    var n = nodes[restarting.name];
    if (n && n.status.node !== restarting.id && states[restarting.name] === 'live') {
      notice(restarting.name + ' is back, as ' + n.status.node, NOTICE_CLEAR_MS);
      restarting = null;
    } else if (now - restarting.at > RESTART_WAIT_MS) {
      notice(restarting.name + ' has not come back within ' + RESTART_WAIT_MS / 1000 +
          ' s: see the launcher\'s output');
      restarting = null;
    }
  }

  connect();
  setInterval(render, RENDER_MS);
})();
