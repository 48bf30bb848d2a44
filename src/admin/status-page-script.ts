// The status page's script, sent inline (no build step, no external asset: the page works in an
// air-gapped cluster). Plain ES2020 for the browser, kept as a string: it fetches only relative
// URLs of the admin port it came from, and the page's Content-Security-Policy forbids any other.
// No template literals or `${` inside: this text sits in a TypeScript template string.
export const STATUS_SCRIPT = `
'use strict';
(function () {
  var REFRESH_MS = 5000;
  var MAX_ROWS = 200;
  var STATES = ['NACKED', 'STALE', 'NOT_SENT', 'SYNCED'];
  var RANK = { NACKED: 3, STALE: 2, NOT_SENT: 1, SYNCED: 0 };
  var paused = false;
  var timer = null;
  var lastJson = {};
  var serviceFilter = '';
  var lastServices = null;

  function byId(id) { return document.getElementById(id); }
  function el(tag, attrs) {
    var e = document.createElement(tag);
    if (attrs) for (var k in attrs) if (attrs[k] !== undefined && attrs[k] !== null) {
      if (k === 'class') e.className = attrs[k]; else e.setAttribute(k, attrs[k]);
    }
    for (var i = 2; i < arguments.length; i++) append(e, arguments[i]);
    return e;
  }
  function append(parent, child) {
    if (child === undefined || child === null || child === false) return;
    if (Array.isArray(child)) { child.forEach(function (c) { append(parent, c); }); return; }
    parent.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  function link(path, params, text) {
    var q = params ? '?' + new URLSearchParams(params).toString() : '';
    return el('a', { href: path + q }, text);
  }
  function badge(state) { return el('span', { class: 'badge s-' + String(state).toLowerCase() }, state); }
  function ms(seconds) {
    if (seconds === null || seconds === undefined) return '–';
    var v = seconds * 1000;
    return v < 10 ? v.toFixed(1) + ' ms' : v < 1000 ? Math.round(v) + ' ms' : (v / 1000).toFixed(2) + ' s';
  }
  function ago(iso) {
    if (!iso) return 'never';
    var s = Math.max(0, Math.round((Date.now() - Date.parse(iso)) / 1000));
    return s < 120 ? s + ' s ago' : s < 7200 ? Math.round(s / 60) + ' min ago' : Math.round(s / 3600) + ' h ago';
  }
  function table(caption, headers, rows, emptyText) {
    if (rows.length === 0) return el('p', { class: 'empty' }, emptyText);
    var head = el('tr', null, headers.map(function (h) { return el('th', { scope: 'col' }, h); }));
    var body = rows.slice(0, MAX_ROWS).map(function (cells) {
      return el('tr', null, cells.map(function (c, i) { return i === 0 ? el('th', { scope: 'row' }, c) : el('td', null, c); }));
    });
    var t = el('table', null, el('caption', null, caption), el('thead', null, head), el('tbody', null, body));
    var more = rows.length > MAX_ROWS ? el('p', { class: 'note' }, 'Showing ' + MAX_ROWS + ' of ' + rows.length + '; the JSON page has all.') : null;
    // Wide tables scroll inside their own box on a narrow screen; the box takes keyboard focus.
    return [el('div', { class: 'scroll', role: 'region', 'aria-label': caption, tabindex: '0' }, t), more];
  }
  function fill(id, content) {
    var node = byId(id);
    node.replaceChildren();
    append(node, content);
  }

  async function getJson(path) {
    var res = await fetch(path, { cache: 'no-store', credentials: 'same-origin', headers: { accept: 'application/json' } });
    var text = await res.text();
    try { return JSON.parse(text); } catch (e) { throw new Error(path + ': HTTP ' + res.status); }
  }

  // Re-renders a section only when its data changed, so keyboard focus inside it survives refreshes.
  function changed(key, data) {
    var s = JSON.stringify(data);
    if (lastJson[key] === s) return false;
    lastJson[key] = s;
    return true;
  }

  function worstState(p) {
    var worst = 'SYNCED';
    Object.keys(p.types).forEach(function (t) { if (RANK[p.types[t].state] > RANK[worst]) worst = p.types[t].state; });
    return worst;
  }

  function renderSummary(d) {
    var zk = d.ready && d.ready.zookeeper;
    var counts = { NACKED: 0, STALE: 0, NOT_SENT: 0, SYNCED: 0 };
    (d.proxies ? d.proxies.proxies : []).forEach(function (p) { counts[worstState(p)]++; });
    var items = [
      ['Ready', d.ready ? (d.ready.ready ? 'yes' + (d.ready.catalogStaleSeconds > 0 ? ' (ZooKeeper out of reach: state ' + Math.round(d.ready.catalogStaleSeconds) + ' s stale)' : '') : 'no (' + (d.ready.notReady || []).map(function (r) { return r.ensemble + (r.root ? ' ' + r.root : '') + ': ' + r.reason; }).join('; ') + ')') : '?'],
      ['ZooKeeper', zk ? zk.state + (zk.ensembles && zk.ensembles.length > 1 ? ' (primary of ' + zk.ensembles.length + ' ensembles)' : '') : '?'],
      ['Services', d.services ? d.services.services.length : '?'],
      ['Proxies', d.proxies ? STATES.map(function (s) { return counts[s] + ' ' + s; }).join(', ') : '?'],
      ['Convergence p50 / p99', d.convergence ? ms(d.convergence.p50) + ' / ' + ms(d.convergence.p99) + ' (' + d.convergence.count + ' ACKs, last ' + Math.round(d.convergence.windowSeconds / 60) + ' min)' : '?'],
      ['ServiceEntry writer', d.writer ? (d.writer.enabled ? (d.writer.election.leader ? 'this replica leads and writes' : 'standing by (another replica leads)') : 'off') : '?'],
    ];
    fill('summary', el('dl', null, items.map(function (it) { return el('div', null, el('dt', null, it[0]), el('dd', null, it[1])); })));
  }

  function renderZooKeeper(ready) {
    var zk = ready.zookeeper;
    var rows = (zk.ensembles || []).map(function (e) {
      return [e.name, e.connect + (e.chroot ? e.chroot : ''), badge(e.state), e.initialSyncDone ? 'done' : 'reading', ago(e.lastFullSyncAt), e.sessionsOpened, e.services, e.invalidRegistrations, link('/readyz', null, 'JSON')];
    });
    fill('zookeeper-body', table('ZooKeeper ensembles and their sessions', ['Ensemble', 'Connect', 'Session', 'First read', 'Last full read', 'Sessions opened', 'Services', 'Skipped', 'Details'], rows, 'No ensemble configured.'));
  }

  function renderProxies(data) {
    var groups = { NACKED: [], STALE: [], NOT_SENT: [], SYNCED: [] };
    data.proxies.forEach(function (p) { groups[worstState(p)].push(p); });
    var out = [];
    STATES.forEach(function (state) {
      var list = groups[state];
      var id = 'proxies-' + state.toLowerCase();
      out.push(el('h3', { id: id }, badge(state), ' ', list.length + (list.length === 1 ? ' proxy' : ' proxies')));
      if (list.length === 0) return;
      var rows = list.map(function (p) {
        var types = Object.keys(p.types).sort().map(function (t) { return t + ' ' + p.types[t].state; }).join(', ');
        var nacks = Object.keys(p.types).sort().filter(function (t) { return p.types[t].lastNack; }).map(function (t) {
          var n = p.types[t].lastNack;
          return el('div', { class: 'nack' }, el('strong', null, t + ': '), n.message);
        });
        return [link('/debug/config_dump', { node: p.node }, p.node), p.kind, p.protocol, p.userAgent || '–', types || 'nothing asked yet', nacks.length ? nacks : '–'];
      });
      out.push(table(state + ' proxies', ['Node id', 'Kind', 'Protocol', 'Client', 'Types', 'Last NACK'], rows, ''));
    });
    fill('proxies-body', out);
  }

  function svg(tag, attrs) {
    var e = document.createElementNS('http://www.w3.org/2000/svg', tag);
    for (var k in attrs) e.setAttribute(k, attrs[k]);
    return e;
  }

  function renderConvergence(c) {
    var W = 600, H = 160, L = 52, R = 8, T = 10, B = 24;
    var max = 0;
    c.buckets.forEach(function (b) { if (b.p99 !== null && b.p99 > max) max = b.p99; });
    max = max > 0 ? max * 1.15 : 0.01;
    var x = function (i) { return L + (i + 0.5) * (W - L - R) / c.buckets.length; };
    var y = function (v) { return T + (H - T - B) * (1 - v / max); };
    var label = c.count === 0 ? 'No proxy acknowledged a change in the last ' + Math.round(c.windowSeconds / 60) + ' minutes.'
      : 'Change to proxy ACK over the last ' + Math.round(c.windowSeconds / 60) + ' minutes: p50 ' + ms(c.p50) + ', p99 ' + ms(c.p99) + ' over ' + c.count + ' ACKs.';
    var chart = svg('svg', { viewBox: '0 0 ' + W + ' ' + H, role: 'img', 'aria-label': label, class: 'chart' });
    var title = svg('title', {}); title.textContent = label; chart.append(title);
    [0, 0.5, 1].forEach(function (f) {
      var v = max * f;
      chart.append(svg('line', { x1: L, x2: W - R, y1: y(v), y2: y(v), stroke: 'currentColor', 'stroke-opacity': '0.2' }));
      var t = svg('text', { x: L - 4, y: y(v) + 4, 'text-anchor': 'end', 'font-size': '11', fill: 'currentColor' });
      t.textContent = ms(v); chart.append(t);
    });
    var axis = svg('text', { x: W - R, y: H - 6, 'text-anchor': 'end', 'font-size': '11', fill: 'currentColor' });
    axis.textContent = 'now'; chart.append(axis);
    var start = svg('text', { x: L, y: H - 6, 'font-size': '11', fill: 'currentColor' });
    start.textContent = '-' + Math.round(c.windowSeconds / 60) + ' min'; chart.append(start);
    [['p99', 'var(--p99)'], ['p50', 'var(--p50)']].forEach(function (s) {
      var pts = [];
      c.buckets.forEach(function (b, i) {
        if (b[s[0]] === null) return;
        pts.push(x(i).toFixed(1) + ',' + y(b[s[0]]).toFixed(1));
        chart.append(svg('circle', { cx: x(i).toFixed(1), cy: y(b[s[0]]).toFixed(1), r: '2.5', class: 'pt-' + s[0] }));
      });
      if (pts.length > 1) chart.insertBefore(svg('polyline', { points: pts.join(' '), fill: 'none', class: 'line-' + s[0], 'stroke-width': '2' }), title.nextSibling);
    });
    var legend = el('p', { class: 'legend' }, el('span', { class: 'key k-p50' }, 'p50'), ' ', el('span', { class: 'key k-p99' }, 'p99'), ' ', label, ' ', link('/debug/convergence', null, 'JSON'));
    var rows = c.buckets.filter(function (b) { return b.count > 0; }).map(function (b) {
      return [new Date(b.from).toLocaleTimeString(), b.count, ms(b.p50), ms(b.p99)];
    });
    var details = el('details', null, el('summary', null, 'Numbers'), table('Convergence per ' + c.bucketSeconds + ' s', ['From', 'ACKs', 'p50', 'p99'], rows, 'No samples yet.'));
    fill('convergence-body', [chart, legend, details]);
  }

  function renderServices(data) {
    lastServices = data;
    var f = serviceFilter.toLowerCase();
    var list = data.services.filter(function (s) { return !f || s.name.toLowerCase().indexOf(f) >= 0; });
    var rows = list.map(function (s) {
      return [link('/debug/catalog', { service: s.name }, s.name), s.serving + ' / ' + s.instances,
        s.skipped ? el('span', { class: 'warn' }, s.skipped + ' skipped') : '0',
        s.policyRejected ? el('span', { class: 'warn' }, 'rejected') : 'ok',
        link('/debug/resources', { service: s.name }, 'resources')];
    });
    fill('services-body', table('Services (' + list.length + ')', ['Service', 'Serving / instances', 'Skipped registrations', 'Policy', 'xDS'], rows, f ? 'No service matches.' : 'No service read from ZooKeeper yet.'));
  }

  function renderProblems(reg, pol, istio) {
    var skipped = reg.invalid.map(function (s) { return [link('/debug/catalog', { service: s.service }, s.service), s.ensemble, el('code', null, s.path), s.reason]; });
    var policies = pol.invalid.map(function (p) {
      return [link('/debug/catalog', { service: p.service }, p.service), el('code', null, p.path), p.errors.map(function (e) { return el('div', null, (e.field ? e.field + ': ' : '') + e.message); }), ago(p.at)];
    });
    var conflicts = Object.keys(pol.sidecarConflicts).sort().map(function (s) { return [link('/debug/catalog', { service: s }, s), pol.sidecarConflicts[s]]; });
    var collisions = reg.nameCollisions.map(function (c) { return [c.name, c.identities.join(', ')]; });
    var rejected = Object.keys(istio.rejected).sort().map(function (s) { return [link('/debug/catalog', { service: s }, s), istio.rejected[s].join('; ')]; });
    fill('skipped-body', [table('Registrations skipped', ['Service', 'Ensemble', 'znode', 'Why'], skipped, 'No registration skipped.'), el('p', null, link('/debug/registrations', null, 'JSON'))]);
    fill('policies-body', [
      table('Policies rejected (the previous good policy stays in force)', ['Service', 'znode', 'Errors', 'Read'], policies, 'No policy rejected.'),
      conflicts.length ? table('Sidecar port conflicts', ['Service', 'Why'], conflicts, '') : null,
      collisions.length ? table('Mesh names claimed twice', ['Name', 'Identities (served first)'], collisions, '') : null,
      rejected.length ? table('ServiceEntries Istio would reject (not served)', ['Service', 'Why'], rejected, '') : null,
      el('p', null, link('/debug/policies', null, 'policies JSON'), ' · ', link('/debug/istio', null, 'Istio JSON')),
    ]);
  }

  function renderWriter(w) {
    if (!w.enabled) { fill('writer-body', [el('p', null, 'The ServiceEntry writer is off (no --k8s-service-entries): nothing is written to Kubernetes, so there is no leader election.'), el('p', null, link('/debug/writer', null, 'JSON'))]); return; }
    var rows = [
      ['Leader', w.election.leader ? 'this replica' : 'another replica (or none yet)'],
      ['Identity', w.election.identity],
      ['Candidate znode', w.election.candidateNode || 'not entered yet'],
      ['Writer', w.writer.active ? (w.writer.synced ? 'writing' : 'listing what exists') : 'standing by'],
      ['ServiceEntries desired', w.writer.desired],
      ['Queued / retrying', w.writer.pending + ' / ' + w.writer.retrying],
      ['Rejected by the API server', w.writer.rejected.length ? w.writer.rejected.join(', ') : 'none'],
    ];
    fill('writer-body', [table('Leader election and ServiceEntry writer', ['', 'State'], rows, ''), el('p', null, link('/debug/writer', null, 'JSON'))]);
  }

  function settle(p) { return p.then(function (v) { return { ok: true, v: v }; }, function (e) { return { ok: false, e: e }; }); }

  async function refresh() {
    clearTimeout(timer);
    var names = ['ready', 'services', 'registrations', 'policies', 'istio', 'proxies', 'convergence', 'writer'];
    var paths = ['/readyz', '/debug/services', '/debug/registrations', '/debug/policies', '/debug/istio', '/debug/proxies', '/debug/convergence', '/debug/writer'];
    var results = await Promise.all(paths.map(function (p) { return settle(getJson(p)); }));
    var d = {};
    var errors = [];
    results.forEach(function (r, i) { if (r.ok) d[names[i]] = r.v; else errors.push(r.e.message); });
    try {
      renderSummary(d);
      if (d.ready && changed('zk', d.ready.zookeeper)) renderZooKeeper(d.ready);
      if (d.proxies && changed('proxies', d.proxies)) renderProxies(d.proxies);
      if (d.convergence && changed('conv', d.convergence)) renderConvergence(d.convergence);
      if (d.services && changed('services', d.services)) renderServices(d.services);
      if (d.registrations && d.policies && d.istio && changed('problems', [d.registrations, d.policies, d.istio])) renderProblems(d.registrations, d.policies, d.istio);
      if (d.writer && changed('writer', d.writer)) renderWriter(d.writer);
    } catch (e) {
      errors.push(String(e && e.message || e));
    }
    byId('updated').textContent = (errors.length ? 'Some pages could not be read: ' + errors.join('; ') + '. ' : '') + 'Updated ' + new Date().toLocaleTimeString() + (paused ? ' (paused)' : '');
    document.body.setAttribute('data-loaded', String(Number(document.body.getAttribute('data-loaded') || '0') + 1));
    if (!paused) timer = setTimeout(refresh, REFRESH_MS);
  }

  byId('pause').addEventListener('click', function () {
    paused = !paused;
    this.setAttribute('aria-pressed', String(paused));
    this.textContent = paused ? 'Resume updates' : 'Pause updates';
    if (!paused) refresh(); else clearTimeout(timer);
  });
  byId('filter').addEventListener('input', function () {
    serviceFilter = this.value;
    if (lastServices) renderServices(lastServices);
  });
  document.addEventListener('visibilitychange', function () { if (!document.hidden && !paused) refresh(); });
  refresh();
})();
`;
