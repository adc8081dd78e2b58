// The blotcdn dashboard: reads the admin API (same origin, the login cookie authenticates it)
// every few seconds and draws the figures. Plain JavaScript and SVG, no libraries.
'use strict';

const REFRESH_MS = 5000;
const SVG = 'http://www.w3.org/2000/svg';

function fmtNumber(n) {
  return Number(n).toLocaleString('en-US');
}

function fmtBytes(n) {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  let v = Number(n);
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v.toFixed(i === 0 ? 0 : 1)} ${units[i]}`;
}

function el(tag, attrs = {}, text) {
  const node = tag.startsWith('svg:') ? document.createElementNS(SVG, tag.slice(4)) : document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, String(v));
  if (text !== undefined) node.textContent = String(text);
  return node;
}

function setText(testid, text) {
  const node = document.querySelector(`[data-testid="${testid}"]`);
  if (node) node.textContent = text;
}

async function getJson(path) {
  const res = await fetch(path, { credentials: 'same-origin', headers: { accept: 'application/json' } });
  if (res.status === 401) {
    location.href = '/dashboard';
    throw new Error('signed out');
  }
  if (!res.ok) throw new Error(`${path}: ${res.status}`);
  return res.json();
}

/**
 * Draws series (arrays of {t, v}) on a one-hour time axis in an SVG of 600x160: bars, or lines
 * with a dot on every sample (so a chart with a single sample still shows it).
 */
function chart(svg, series, { max, kind = 'line', format = (v) => v }) {
  svg.replaceChildren();
  const W = 600;
  const H = 160;
  const left = 44;
  const bottom = 18;
  const top = 8;
  const HOUR = 3_600_000;
  const now = Date.now();
  const all = series.flatMap((s) => s.points.map((p) => p.v));
  const yMax = max ?? Math.max(1, ...all);
  const x = (t) => left + (W - left - 4) * Math.min(1, Math.max(0, 1 - (now - t) / HOUR));
  const y = (v) => top + (H - top - bottom) * (1 - v / yMax);
  svg.append(el('svg:line', { class: 'axis', x1: left, y1: H - bottom, x2: W, y2: H - bottom }));
  svg.append(el('svg:line', { class: 'axis', x1: left, y1: top, x2: left, y2: H - bottom }));
  svg.append(el('svg:text', { class: 'label', x: 2, y: top + 8 }, format(yMax)));
  svg.append(el('svg:text', { class: 'label', x: 2, y: H - bottom }, format(0)));
  svg.append(el('svg:text', { class: 'label', x: left, y: H - 4 }, '-60 min'));
  svg.append(el('svg:text', { class: 'label', x: W - 30, y: H - 4 }, 'now'));
  const slot = (W - left) / 360; // one 10-second sample
  for (const s of series) {
    if (kind === 'bar') {
      for (const p of s.points) {
        const bar = el('svg:rect', { class: s.cls, x: x(p.t) - slot, y: y(p.v), width: Math.max(2, slot), height: Math.max(0, H - bottom - y(p.v)), 'data-value': p.v, 'data-t': p.t });
        bar.append(el('svg:title', {}, `${new Date(p.t).toLocaleTimeString()}: ${format(p.v)}`));
        svg.append(bar);
      }
      continue;
    }
    const d = s.points.map((p, i) => `${i === 0 ? 'M' : 'L'}${x(p.t).toFixed(1)},${y(p.v).toFixed(1)}`).join(' ');
    svg.append(el('svg:path', { class: s.cls, d, 'data-values': s.points.map((p) => p.v).join(',') }));
    for (const p of s.points) {
      const dot = el('svg:circle', { class: `${s.cls} dot`, cx: x(p.t).toFixed(1), cy: y(p.v).toFixed(1), r: 2.5 });
      dot.append(el('svg:title', {}, `${new Date(p.t).toLocaleTimeString()}: ${format(p.v)}`));
      svg.append(dot);
    }
  }
}

function fillTable(testid, rows, empty) {
  const body = document.querySelector(`[data-testid="${testid}"] tbody`);
  body.replaceChildren();
  if (rows.length === 0) {
    const tr = el('tr', { class: 'empty' });
    tr.append(el('td', { colspan: 9 }, empty));
    body.append(tr);
    return;
  }
  for (const cells of rows) {
    const tr = el('tr');
    for (const c of cells) {
      const td = el('td', c.cls ? { class: c.cls } : {}, c.text ?? c);
      tr.append(td);
    }
    body.append(tr);
  }
}

function render({ stats, origins, certs, purges }) {
  setText('node', `node ${stats.node}`);
  setText('requests', fmtNumber(stats.requests));
  setText('hit-ratio', `${(stats.hitRatio * 100).toFixed(1)}%`);
  setText('bytes-served', fmtBytes(stats.bytesServed));
  setText('bytes-origin', fmtBytes(stats.bytesFromOrigin));
  setText('origin-fetches', fmtNumber(stats.originFetches));
  setText('cache-objects', fmtNumber(stats.cache.total.entries));

  const series = stats.series;
  const secs = (i) => (i === 0 ? 10 : Math.max(1, (series[i].t - series[i - 1].t) / 1000));
  const rps = series.map((p, i) => ({ t: p.t, v: Math.round((p.requests / secs(i)) * 10) / 10 }));
  const ratio = series.map((p) => ({ t: p.t, v: p.requests === 0 ? 0 : Math.round((p.hits / p.requests) * 1000) / 10 }));
  chart(document.getElementById('chart-rps'), [{ cls: 'bar', points: rps }], { kind: 'bar', format: (v) => `${v}/s` });
  chart(document.getElementById('chart-hits'), [{ cls: 'ratio', points: ratio }], { max: 100, format: (v) => `${v}%` });
  chart(
    document.getElementById('chart-bytes'),
    [
      { cls: 'served', points: series.map((p) => ({ t: p.t, v: p.bytesServed })) },
      { cls: 'origin', points: series.map((p) => ({ t: p.t, v: p.bytesFromOrigin })) },
    ],
    { format: fmtBytes },
  );
  const inHour = series.reduce((n, p) => n + p.requests, 0);
  const hitsInHour = series.reduce((n, p) => n + p.hits, 0);
  setText('rps-total', `(${fmtNumber(inHour)} requests)`);
  setText('hits-total', `(${fmtNumber(hitsInHour)} hits)`);

  fillTable(
    'top-missed',
    stats.topMissed.map((m) => [{ text: m.url, cls: 'url' }, { text: fmtNumber(m.misses), cls: 'num' }]),
    'no misses yet',
  );
  fillTable(
    'origins',
    origins.flatMap((g) =>
      g.members.map((m) => [g.group, m.name, { text: m.state, cls: `state-${m.state}` }, { text: fmtNumber(m.failures), cls: 'num' }, m.lastError ?? '']),
    ),
    'no origins',
  );
  fillTable(
    'purges',
    purges.map((p) => [new Date(p.at).toLocaleString(), p.kind, { text: p.value, cls: 'url' }, p.soft ? 'soft' : 'hard', { text: fmtNumber(p.purged), cls: 'num' }]),
    'no purges yet',
  );
  fillTable(
    'certs',
    certs.map((c) => {
      const days = Math.floor((Date.parse(c.notAfter) - Date.now()) / 86_400_000);
      return [c.host, new Date(c.notAfter).toISOString().slice(0, 10), { text: String(days), cls: days < 14 ? 'num soon' : 'num' }];
    }),
    'no certificates',
  );
  setText('updated', `updated ${new Date().toLocaleTimeString()}`);
  document.body.dataset.loaded = 'true';
}

function fmtDuration(ms) {
  if (ms === undefined) return '–';
  return ms < 1000 ? `${ms} ms` : ms < 120_000 ? `${(ms / 1000).toFixed(1)} s` : `${Math.round(ms / 60_000)} min`;
}

/** The publishing queue (GET /jobs); the section stays hidden when the edge has none (404). */
function renderJobs(jobs) {
  const section = document.getElementById('publishing');
  section.hidden = jobs === null;
  if (jobs === null) return;
  const c = jobs.counts;
  setText('jobs-backend', `(${jobs.backend})`);
  setText('jobs-waiting', fmtNumber(c.waiting + c.delayed + c.blocked));
  setText('jobs-running', fmtNumber(c.running));
  setText('jobs-failed', fmtNumber(c.failed));
  setText('jobs-done', fmtNumber(c.done));
  fillTable(
    'publishes',
    jobs.publishes.map((p) => [
      new Date(p.createdAt).toLocaleString(),
      { text: `${p.blogID} ${p.hosts.join(' ')}`, cls: 'url' },
      { text: p.state, cls: `state-${p.state}` },
      { text: p.failedAssets ? `${p.assets} (${p.failedAssets} failed)` : String(p.assets), cls: 'num' },
      { text: p.warmed === undefined ? '–' : String(p.warmed), cls: 'num' },
      { text: fmtDuration(p.ms), cls: 'num' },
    ]),
    'no publishes yet',
  );
  fillTable(
    'failed-jobs',
    jobs.failed.map((f) => [{ text: f.id, cls: 'url' }, { text: f.subject ?? f.name, cls: 'url' }, { text: String(f.attempts), cls: 'num' }, f.error]),
    'no failed jobs',
  );
}

async function getJobs() {
  const res = await fetch('/jobs', { credentials: 'same-origin', headers: { accept: 'application/json' } });
  if (res.status === 404) return null;
  if (!res.ok) throw new Error(`/jobs: ${res.status}`);
  return res.json();
}

/** The cluster's nodes (GET /nodes) and whether Redis is reachable from this one. */
function renderNodes(report) {
  const bus = report.bus;
  setText('redis-state', bus === undefined ? '(single node)' : bus.up ? '(Redis up)' : `(Redis DOWN: ${bus.queued} purges queued)`);
  fillTable(
    'nodes',
    report.nodes.map((n) => [
      n.self ? `${n.name} (this one)` : n.name,
      { text: n.id, cls: 'url' },
      { text: n.heartbeatAgeMs < 0 ? '–' : fmtDuration(n.heartbeatAgeMs), cls: 'num' },
      { text: fmtDuration(n.lagMs), cls: n.lagMs > 0 ? 'num soon' : 'num' },
      { text: fmtNumber(n.queued), cls: 'num' },
    ]),
    'no nodes',
  );
}

async function refresh() {
  try {
    const [stats, origins, certs, purges, jobs, nodes] = await Promise.all([getJson('/stats'), getJson('/origins'), getJson('/certs'), getJson('/purges'), getJobs(), getJson('/nodes')]);
    renderJobs(jobs);
    renderNodes(nodes);
    render({ stats, origins, certs, purges });
  } catch (err) {
    setText('updated', `could not update: ${err.message}`);
  }
}

refresh();
setInterval(refresh, REFRESH_MS);
