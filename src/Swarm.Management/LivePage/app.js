// Swarm's live page: the verdicts in words, the bees, a target × bee matrix and a Smokeping-style chart, kept
// current by the node's event stream. Plain DOM and SVG; the matrix draws only the rows in view, and an update
// redraws only its own row, once per frame at most.
'use strict';

const ROW = 18;          // px per matrix row (keep in step with .row in app.css)
const OVERSCAN = 10;     // rows drawn above and below the view
const STATES = { ok: 'ok', slow: 'slow', lossy: 'lossy', down: 'down' };

const state = {
  token: sessionStorage.getItem('swarm-token'),
  bees: [],              // matrix columns
  column: new Map(),     // bee → column index
  rows: new Map(),       // target → matrix row
  order: [],             // targets, degraded first
  links: new Map(),      // bee → link verdict
  chart: null,           // { target, bee, points }
  stream: null,
  dirty: new Set(),      // targets whose row changed since the last frame
  frame: 0,
  loading: false,        // the matrix is being fetched: events are held in `held` meanwhile
  held: [],
  lost: false,           // the stream broke: when it is back, the matrix is fetched again
};

// What a test or a benchmark reads: how long the first load took, and each frame's render time.
window.swarmStats = { loaded: false, loadMs: 0, renders: [], events: 0, rounds: 0 };

const $ = (id) => document.getElementById(id);
const plural = (n, word) => `${n} ${word}${n === 1 ? '' : 's'}`;
const esc = (s) => String(s).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }[c]));

async function api(path) {
  const headers = state.token ? { Authorization: `Bearer ${state.token}` } : {};
  const response = await fetch(path, { headers });
  if (response.status === 401) { askToken(); throw new Error('token wanted'); }
  if (!response.ok) throw new Error(`${path}: ${response.status} ${(await response.json().catch(() => ({}))).error || ''}`);
  return response.json();
}

function askToken(message) {
  $('main').hidden = true;
  $('login').hidden = false;
  $('login-error').textContent = message || (state.token ? 'that token was refused' : '');
}

$('login').addEventListener('submit', (e) => {
  e.preventDefault();
  state.token = $('token').value;
  sessionStorage.setItem('swarm-token', state.token);
  $('login').hidden = true;
  start();
});

// ---- the matrix ---------------------------------------------------------------------------------------------

function setMatrix(view) {
  state.bees = view.bees;
  state.column = new Map(view.bees.map((b, i) => [b, i]));
  state.rows = new Map(view.rows.map((r) => [r.target, r]));
  state.order = view.rows.map((r) => r.target);
  state.links = new Map(view.links.map((l) => [l.bee, l]));
  $('matrix-space').style.height = `${state.order.length * ROW}px`;
  counts();
  $('matrix-head').innerHTML = `<span>target</span><span>verdict</span><span title="${esc(state.bees.join(', '))}">${plural(state.bees.length, 'bee')}, in name order</span>`;
  renderMatrix();
  renderVerdicts();
  // Nothing charted yet (the page opened before the first verdict, or before a round was kept): chart the first row.
  if ((!state.chart || !state.chart.bee) && state.order.length > 0 && window.swarmStats.loaded) {
    const first = state.order[0];
    openChart(first, worstBee(state.rows.get(first)));
  }
}

function rowHtml(row) {
  const cells = new Array(state.bees.length);
  for (let i = 0; i < cells.length; i++) cells[i] = '<span class="cell none" data-state="none"></span>';
  for (const [bee, s] of Object.entries(row.states)) {
    const i = state.column.get(bee);
    if (i === undefined) continue;
    const [pair, own] = s.split('/');
    const kind = STATES[pair] || 'none';
    cells[i] = `<span class="cell ${kind}" data-bee="${esc(bee)}" data-state="${kind}"${own ? ' data-own="1"' : ''} title="${esc(bee)}: ${esc(s)}"></span>`;
  }
  const selected = state.chart && state.chart.target === row.target ? ' selected' : '';
  return `<div class="row${selected}" data-target="${esc(row.target)}" data-verdict="${esc(row.verdict)}">`
    + `<span class="name" title="${esc(row.text)}">${esc(row.target)}</span><span class="verdict ${esc(row.verdict)}">${esc(row.verdict)}</span>`
    + `<span class="cells">${cells.join('')}</span></div>`;
}

function visibleRange() {
  const box = $('matrix');
  const first = Math.max(0, Math.floor(box.scrollTop / ROW) - OVERSCAN);
  const last = Math.min(state.order.length, Math.ceil((box.scrollTop + box.clientHeight) / ROW) + OVERSCAN);
  return [first, last];
}

function renderMatrix() {
  const t0 = performance.now();
  const [first, last] = visibleRange();
  const html = [];
  for (let i = first; i < last; i++) html.push(rowHtml(state.rows.get(state.order[i])));
  // Rows flow from the first one drawn; the block is moved to where that row is. Set through the CSSOM: the page's
  // Content-Security-Policy refuses style attributes in markup.
  $('matrix-rows').style.transform = `translateY(${first * ROW}px)`;
  $('matrix-rows').innerHTML = html.join('');
  return performance.now() - t0;
}

// An event changes one row: redraw that row alone, if it is in view, at the next frame.
function renderDirty() {
  state.frame = 0;
  const t0 = performance.now();
  const [first, last] = visibleRange();
  const container = $('matrix-rows');
  for (const target of state.dirty) {
    const index = state.order.indexOf(target);
    if (index < first || index >= last) continue;
    const old = container.querySelector(`[data-target="${CSS.escape(target)}"]`);
    const fresh = document.createElement('template');
    if (!old) { renderMatrix(); break; } // a row new to the view: draw the view again
    fresh.innerHTML = rowHtml(state.rows.get(target));
    old.replaceWith(fresh.content.firstChild);
  }
  state.dirty.clear();
  renderVerdicts();
  window.swarmStats.renders.push(performance.now() - t0);
  if (window.swarmStats.renders.length > 1000) window.swarmStats.renders.shift();
}

function schedule() {
  if (!state.frame) state.frame = requestAnimationFrame(renderDirty);
}

$('matrix').addEventListener('scroll', () => requestAnimationFrame(renderMatrix), { passive: true });
$('matrix').addEventListener('click', (e) => {
  const row = e.target.closest('.row');
  if (!row || !state.rows.has(row.dataset.target)) return;
  const target = row.dataset.target;
  openChart(target, e.target.dataset.bee || worstBee(state.rows.get(target)));
});

function worstBee(row) {
  const rank = { down: 0, lossy: 1, slow: 2, ok: 3 };
  return Object.entries(row.states).sort((a, b) => (rank[a[1].split('/')[0]] ?? 9) - (rank[b[1].split('/')[0]] ?? 9))[0]?.[0];
}

// ---- verdicts in words ---------------------------------------------------------------------------------------

function renderVerdicts() {
  const items = [];
  for (const target of state.order) {
    const row = state.rows.get(target);
    if (row.verdict !== 'ok') items.push(`<li class="${esc(row.verdict)}" data-target="${esc(target)}">${esc(row.text)}</li>`);
    if (items.length >= 50) break;
  }
  for (const link of state.links.values()) if (link.verdict !== 'ok') items.push(`<li class="one-bee" data-bee="${esc(link.bee)}">${esc(link.text)}</li>`);
  if (items.length === 0) items.push(`<li>Everything is ok: ${plural(state.order.length, 'target')}, ${plural(state.bees.length, 'bee')}.</li>`);
  $('verdicts').innerHTML = items.join('');
}

// ---- bees -----------------------------------------------------------------------------------------------------

async function loadBees() {
  try {
    const bees = await api('api/bees');
    const ago = (t) => (t ? `${Math.max(0, Math.round((Date.now() - Date.parse(t)) / 1000))} s ago` : 'never');
    $('bees').tBodies[0].innerHTML = bees.filter((b) => !b.error).map((b) => {
      const link = state.links.get(b.bee);
      return `<tr data-bee="${esc(b.bee)}"><td>${esc(b.bee)}</td><td>${esc(b.kind)}</td><td>${esc(b.status)}</td><td>${esc(b.location || '-')}</td>`
        + `<td>${esc(b.connection || '-')}</td><td>${esc(link ? link.verdict : '-')}</td><td>${esc(ago(b.lastResult))}</td></tr>`;
    }).join('');
    $('bee-count').textContent = `${bees.filter((b) => !b.error).length}`;
  } catch (e) {
    if (e.message !== 'token wanted') $('bee-count').textContent = `(${e.message})`;
  }
}

// ---- the chart --------------------------------------------------------------------------------------------------

let chartRequest = 0;
async function openChart(target, bee) {
  const request = ++chartRequest;
  try {
    const view = await api(`api/history?target=${encodeURIComponent(target)}${bee ? `&bee=${encodeURIComponent(bee)}` : ''}`);
    if (request !== chartRequest) return; // a newer click won
    state.chart = { target, bee: view.bee, points: view.points };
    drawPath(view.path, view.bee);
    $('chart-title').textContent = view.bee ? `${target} from ${view.bee}`
      : `${target}: no rounds kept on this node (Swarm:History:MaxSeries; a queen keeps them)`;
    renderMatrix();
    drawChart();
  } catch (e) {
    if (request !== chartRequest) return;
    $('chart-title').textContent = `${target}: ${e.message}`;
  } finally {
    if (request === chartRequest) connect(); // the stream now carries this series' rounds too
  }
}

function lossClass(loss) { return loss <= 0 ? 0 : loss < 5 ? 1 : loss < 20 ? 2 : 3; }
const LOSS_COLOURS = ['#2e9e4f', '#2f6fd6', '#ef7d00', '#d62c2c'];

function drawChart() {
  const svg = $('chart');
  const w = Math.max(300, svg.clientWidth || 1000), h = 260, left = 50, bottom = 20;
  svg.setAttribute('viewBox', `0 0 ${w} ${h}`);
  const points = state.chart ? state.chart.points : [];
  if (points.length === 0) { svg.innerHTML = `<text x="${left}" y="40">no rounds yet</text>`; return; }
  const t0 = points[0].t, t1 = Math.max(points[points.length - 1].t, t0 + 1);
  const top = Math.max(1e-3, ...points.map((p) => p.max ?? p.median ?? 0)) * 1.1;
  const x = (t) => left + ((t - t0) / (t1 - t0)) * (w - left - 10);
  const y = (v) => h - bottom - (v / top) * (h - bottom - 10);
  const parts = [`<line class="axis" x1="${left}" y1="${h - bottom}" x2="${w}" y2="${h - bottom}"/>`];
  for (let i = 0; i <= 4; i++) {
    const v = (top / 4) * i;
    parts.push(`<text x="4" y="${y(v) + 4}">${v < 10 ? v.toFixed(2) : v.toFixed(0)} ms</text><line class="axis" x1="${left}" x2="${w}" y1="${y(v)}" y2="${y(v)}" stroke-dasharray="2 4"/>`);
  }
  parts.push(`<text x="${left}" y="${h - 4}">${new Date(t0 * 1000).toISOString().slice(11, 19)} UTC</text>`);
  parts.push(`<text x="${w - 70}" y="${h - 4}">${new Date(t1 * 1000).toISOString().slice(11, 19)}</text>`);
  const step = Math.max(1, (w - left) / points.length);
  for (const p of points) {
    if (p.min != null && p.max != null) parts.push(`<rect x="${x(p.t) - step / 2}" width="${step}" y="${y(p.max)}" height="${Math.max(1, y(p.min) - y(p.max))}" fill="#000" fill-opacity=".08"/>`);
    if (p.min != null && p.p95 != null) parts.push(`<rect x="${x(p.t) - step / 2}" width="${step}" y="${y(p.p95)}" height="${Math.max(1, y(p.min) - y(p.p95))}" fill="#000" fill-opacity=".12"/>`);
  }
  for (let i = 1; i < points.length; i++) {
    const a = points[i - 1], b = points[i];
    if (a.median == null || b.median == null) continue;
    parts.push(`<line x1="${x(a.t)}" y1="${y(a.median)}" x2="${x(b.t)}" y2="${y(b.median)}" stroke="${LOSS_COLOURS[lossClass(b.loss)]}" stroke-width="2"/>`);
  }
  for (const p of points) if (p.median == null) parts.push(`<rect x="${x(p.t) - step / 2}" width="${step}" y="10" height="${h - bottom - 10}" fill="${LOSS_COLOURS[3]}" fill-opacity=".15"/>`);
  svg.innerHTML = parts.join('');
  svg.dataset.points = String(points.length);
}

// ---- the path, as mtr --report shows it ----------------------------------------------------------------------------

function drawPath(path, bee) {
  const section = $('path-section');
  if (state.chart) state.chart.path = path || null;
  if (!path) { section.hidden = true; return; }
  section.hidden = false;
  const ms = (v) => (v == null ? '' : v.toFixed(1));
  $('path-title').textContent = `Path from ${bee}: ${path.hops.length} hop${path.hops.length === 1 ? '' : 's'}, ${path.reached ? 'target reached' : 'target not reached'} (${path.protocol})`;
  $('path-rows').innerHTML = path.hops.map((h) => {
    const host = h.address ? (h.name ? `${h.name} (${h.address})` : h.address) : '???';
    const kind = !h.address ? 'silent' : path.loss_from && h.hop >= path.loss_from ? 'lossy' : '';
    return `<tr class="${kind}" data-hop="${h.hop}"><td>${h.hop}.</td><td>${esc(host)}</td><td>${h.loss.toFixed(1)}%</td><td>${h.sent}</td>`
      + `<td>${ms(h.rtt_last_ms)}</td><td>${ms(h.rtt_avg_ms)}</td><td>${ms(h.rtt_best_ms)}</td><td>${ms(h.rtt_worst_ms)}</td><td>${ms(h.rtt_stddev_ms)}</td></tr>`;
  }).join('');
  const notes = [];
  if (path.loss_from) notes.push(`loss starts at hop ${path.loss_from}`);
  if (path.delay_from) notes.push(`delay starts at hop ${path.delay_from}`);
  $('path-note').textContent = notes.length ? notes.join('; ') : 'no loss or delay that lasts to the end of the path';
}

let pathPending = 0;
function pathSoon() {
  if (pathPending) return;
  pathPending = setTimeout(async () => {
    pathPending = 0;
    if (!state.chart || !state.chart.bee) return;
    try {
      const view = await api(`api/history?target=${encodeURIComponent(state.chart.target)}&bee=${encodeURIComponent(state.chart.bee)}`);
      if (state.chart && view.target === state.chart.target) drawPath(view.path, view.bee);
    } catch (e) { /* the next round tries again */ }
  }, 1000);
}

// ---- the event stream ---------------------------------------------------------------------------------------------

let failures = 0;
function backoff(retryAfter) {
  // 1 s doubling to 30 s, ±50 %: a node that restarts is not met by every page at once.
  const base = retryAfter ? retryAfter * 1000 : Math.min(30000, 1000 * 2 ** Math.min(failures, 5));
  failures++;
  return base * (0.5 + Math.random());
}

function connect() {
  if (state.stream) state.stream.abort();
  const controller = new AbortController();
  state.stream = controller;
  const chart = state.chart && state.chart.bee ? `?target=${encodeURIComponent(state.chart.target)}&bee=${encodeURIComponent(state.chart.bee)}` : '';
  (async () => {
    let retryAfter = 0;
    try {
      const headers = state.token ? { Authorization: `Bearer ${state.token}` } : {};
      let response;
      try {
        response = await fetch(`api/events${chart}`, { headers, signal: controller.signal });
      } catch (e) {
        if (e instanceof TypeError && state.token && !controller.signal.aborted && /header/i.test(e.message)) {
          askToken('that token has characters a request header cannot carry');
          return;
        }
        throw e;
      }
      if (response.status === 401) { askToken(); return; }
      if (!response.ok) { retryAfter = Number(response.headers.get('Retry-After')) || 0; throw new Error(String(response.status)); }
      live(true);
      failures = 0;
      // Whatever changed while the stream was away: the matrix again, with the events that come meanwhile held.
      if (state.lost) { state.lost = false; reload(); }
      const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
      let buffer = '';
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buffer += value;
        let end;
        while ((end = buffer.indexOf('\n\n')) >= 0) {
          handle(buffer.slice(0, end));
          buffer = buffer.slice(end + 2);
        }
      }
      throw new Error('closed');
    } catch (e) {
      if (controller.signal.aborted) return;
      live(false);
      state.lost = true;
      setTimeout(() => { if (state.stream === controller) connect(); }, backoff(retryAfter));
    }
  })();
}

function live(on) {
  $('live').className = `live ${on ? 'on' : 'off'}`;
  $('live').textContent = on ? 'live' : 'reconnecting…';
}

function handle(block) {
  let name = 'message', data = '';
  for (const line of block.split('\n')) {
    if (line.startsWith('event: ')) name = line.slice(7);
    else if (line.startsWith('data: ')) data += line.slice(6);
  }
  if (!data) return;
  const event = JSON.parse(data);
  window.swarmStats.events++;
  if (state.loading) { state.held.push([name, event]); return; }
  apply(name, event);
}

function apply(name, event) {
  if (name === 'reset') {
    reload(); // this page read too slowly and events were dropped: the matrix again
  } else if (name === 'verdict') {
    const newBees = Object.keys(event.states).filter((b) => !state.column.has(b));
    if (newBees.length > 0) addColumns(newBees); // a new bee: a column of its own, in name order
    if (!state.rows.has(event.target)) {
      state.order.push(event.target);
      $('matrix-space').style.height = `${state.order.length * ROW}px`;
      counts();
    }
    state.rows.set(event.target, event);
    state.dirty.add(event.target);
    schedule();
  } else if (name === 'gone') {
    if (event.bee) state.links.delete(event.subject);
    else if (state.rows.delete(event.subject)) { state.order = state.order.filter((t) => t !== event.subject); counts(); renderMatrix(); }
    schedule();
  } else if (name === 'bee') {
    state.links.set(event.bee, event);
    schedule();
    beesSoon();
  } else if (name === 'round' && state.chart) {
    window.swarmStats.rounds++;
    state.chart.points.push(event);
    if (state.chart.points.length > 5000) state.chart.points.shift();
    requestAnimationFrame(drawChart);
    if (state.chart.path) pathSoon(); // the round brought new hops: the table follows
  }
}

let beesPending = 0;
function beesSoon() {
  if (!beesPending) beesPending = setTimeout(() => { beesPending = 0; loadBees(); }, 1000);
}

function counts() {
  $('matrix-count').textContent = `${plural(state.order.length, 'target')} × ${plural(state.bees.length, 'bee')}`;
}

function addColumns(bees) {
  state.bees = [...state.bees, ...bees].sort();
  state.column = new Map(state.bees.map((b, i) => [b, i]));
  counts();
  $('matrix-head').lastChild.textContent = `${plural(state.bees.length, 'bee')}, in name order`;
  renderMatrix();
}

/** The matrix from the node, then the events that came while it loaded, in order. */
async function reload() {
  if (state.loading) return;
  state.loading = true;
  state.held = [];
  try {
    setMatrix(await api('api/matrix'));
  } catch (e) {
    if (e.message !== 'token wanted') $('verdicts').innerHTML = `<li class="everyone">${esc(e.message)}</li>`;
  } finally {
    state.loading = false;
    const held = state.held;
    state.held = [];
    for (const [name, event] of held) apply(name, event);
  }
}

let started = false;
async function start() {
  const t0 = performance.now();
  state.loading = true; // the stream opens first: what changes while the matrix loads is held, not lost
  state.held = [];
  connect();
  try {
    setMatrix(await api('api/matrix'));
  } catch (e) {
    state.loading = false;
    if (e.message === 'token wanted') return;
    $('verdicts').innerHTML = `<li class="everyone">${esc(e.message)}</li>`;
  }
  state.loading = false;
  for (const [name, event] of state.held.splice(0)) apply(name, event);
  $('main').hidden = false;
  renderMatrix();
  window.swarmStats.loadMs = performance.now() - t0;
  window.swarmStats.loaded = true;
  window.swarmStats.loadedAt = performance.now(); // since the navigation began
  const first = state.order[0];
  if (first) openChart(first, worstBee(state.rows.get(first)));
  loadBees();
  if (!started) setInterval(loadBees, 15000);
  started = true;
}

start();
