/* global document, window, CSS */
// The uploads table: polls GET /api/uploads every 2 s, renders new rows (with a thumbnail for
// images), the summary numbers and the SVG chart. Rows link to the detail page.
import {
  breakableKey,
  el,
  formatSize,
  formatTime,
  isImage,
  normalize,
  recordsOf,
  thumbnailUrl,
  timeOf,
} from './records.js';

const POLL_MS = 2000;
const seen = new Set();
let firstLoad = true;

function thumbnail(u) {
  if (isImage(u)) {
    const img = el('img', { class: 'thumb', src: thumbnailUrl(u), alt: '', loading: 'lazy' });
    img.addEventListener('error', () => img.replaceWith(fileIcon(u)));
    return img;
  }
  return fileIcon(u);
}

function fileIcon(u) {
  const ext = (u.object ?? '').split('.').pop()?.slice(0, 4).toUpperCase() || 'FILE';
  return el('div', { class: 'thumb file' }, ext);
}

function row(u) {
  const vars = Object.entries(u.vars).map(([name, value]) =>
    el('span', { class: 'chip' }, el('b', {}, `${name.replace(/^x:/, '')} `), value),
  );
  const dims = u.width && u.height ? ` · ${u.width}×${u.height}` : '';
  const tr = el(
    'tr',
    {
      'data-id': u.id,
      onclick: () => (window.location.href = `/dashboard/uploads/${encodeURIComponent(u.id)}`),
    },
    el('td', {}, thumbnail(u)),
    el(
      'td',
      {},
      el('div', { class: 'object' }, u.object === undefined ? '(no object in body)' : breakableKey(u.object)),
      el('div', { class: 'muted' }, `${u.bucket ?? ''}${u.mimeType ? ` · ${u.mimeType}` : ''}${dims}`),
    ),
    el('td', { class: 'nowrap' }, formatSize(u.size)),
    el('td', {}, vars.length ? vars : el('span', { class: 'muted' }, '—')),
    el(
      'td',
      {},
      el('span', { class: `badge ${u.ok ? 'ok' : 'bad'}` }, u.ok ? 'OK' : u.outcome),
      u.ok
        ? el(
            'div',
            { class: 'muted template', title: templateTitle(u) },
            u.templateIssued ? 'issued template' : "uploader's template",
          )
        : '',
    ),
    el('td', { class: 'nowrap latency' }, formatLatency(u.latencyMs)),
    el('td', { class: 'muted nowrap' }, formatTime(u.receivedAt)),
  );
  return tr;
}

function templateTitle(u) {
  return u.templateIssued
    ? 'The body renders the callback template this app binds into its credentials: the storage server filled in its fields.'
    : "The body's fields say what the uploader's callback template said; the signature does not make them true.";
}

function formatLatency(ms) {
  return typeof ms === 'number' ? `${Math.round(ms * 10) / 10} ms` : '';
}

function median(values) {
  if (values.length === 0) return undefined;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

function renderStats(uploads) {
  document.getElementById('stat-count').textContent = String(uploads.length);
  const ok = uploads.filter((u) => u.ok).length;
  document.getElementById('stat-ok').textContent = uploads.length
    ? `${Math.round((ok / uploads.length) * 100)}%`
    : '–';
  const latency = median(uploads.map((u) => u.latencyMs).filter((v) => typeof v === 'number'));
  document.getElementById('stat-latency').textContent =
    latency === undefined ? '–' : `${latency.toFixed(1)} ms`;
  // Only verified callbacks: a refused (forged) one's size is whatever its sender claimed.
  document.getElementById('stat-bytes').textContent = formatSize(
    uploads.reduce((sum, u) => sum + (u.ok && typeof u.size === 'number' ? u.size : 0), 0),
  );
}

function renderChart(uploads) {
  const svg = document.getElementById('chart');
  const minutes = 30;
  const now = Date.now();
  const buckets = Array.from({ length: minutes }, () => ({ count: 0, latencies: [] }));
  for (const u of uploads) {
    const age = Math.floor((now - timeOf(u)) / 60000);
    if (age >= 0 && age < minutes) {
      const b = buckets[minutes - 1 - age];
      b.count++;
      if (typeof u.latencyMs === 'number') b.latencies.push(u.latencyMs);
    }
  }
  const maxCount = Math.max(1, ...buckets.map((b) => b.count));
  const medians = buckets.map((b) => median(b.latencies));
  const maxLatency = Math.max(1, ...medians.filter((v) => v !== undefined));
  const w = 1000 / minutes;
  // The plot spans y 30..150; the band above it holds the peak label, so no bar runs under it.
  const plot = 120;
  const parts = [];
  for (let i = 0; i <= 4; i++) {
    const y = 30 + i * 30;
    parts.push(`<line x1="0" x2="1000" y1="${y}" y2="${y}" stroke="#eef1f5" stroke-width="1"/>`);
  }
  buckets.forEach((b, i) => {
    const h = (b.count / maxCount) * plot;
    if (b.count > 0) {
      parts.push(
        `<rect x="${i * w + 3}" y="${150 - h}" width="${w - 6}" height="${h}" rx="3" fill="#ffb37a"><title>${b.count} upload(s)</title></rect>`,
      );
    }
  });
  const points = medians
    .map((m, i) => (m === undefined ? undefined : `${i * w + w / 2},${150 - (m / maxLatency) * plot}`))
    .filter(Boolean);
  if (points.length > 1)
    parts.push(`<polyline points="${points.join(' ')}" fill="none" stroke="#1d2430" stroke-width="2"/>`);
  for (const p of points) {
    const [x, y] = p.split(',');
    parts.push(`<circle cx="${x}" cy="${y}" r="3.5" fill="#1d2430"/>`);
  }
  const hasLatency = medians.some((m) => m !== undefined);
  const peakCount = Math.max(...buckets.map((b) => b.count));
  const peak =
    peakCount === 0
      ? `no uploads in the last ${minutes} min`
      : `peak ${peakCount}/min${hasLatency ? ` · ${maxLatency.toFixed(1)} ms` : ''}`;
  parts.push(`<text x="996" y="16" text-anchor="end" font-size="11" fill="#687385">${peak}</text>`);
  svg.innerHTML = parts.join('');
}

async function poll() {
  const live = document.getElementById('live');
  try {
    const response = await fetch('/api/uploads?limit=200', { headers: { accept: 'application/json' } });
    if (!response.ok) throw new Error(`HTTP ${response.status}`);
    const uploads = recordsOf(await response.json())
      .map(normalize)
      .sort((a, b) => timeOf(b) - timeOf(a));
    const tbody = document.getElementById('rows');
    const fresh = uploads.filter((u) => !seen.has(String(u.id)));
    for (const u of [...fresh].reverse()) {
      seen.add(String(u.id));
      const tr = row(u);
      if (!firstLoad) tr.classList.add('fresh');
      tbody.prepend(tr);
    }
    // A row can appear before its reply was sent; fill its latency in later.
    for (const u of uploads) {
      const cell = tbody.querySelector(`tr[data-id="${CSS.escape(String(u.id))}"] td.latency`);
      if (cell && cell.textContent === '' && u.latencyMs !== undefined)
        cell.textContent = formatLatency(u.latencyMs);
    }
    document.getElementById('empty').style.display = uploads.length ? 'none' : 'block';
    renderStats(uploads);
    renderChart(uploads);
    firstLoad = false;
    live.textContent = `live · updated ${new Date().toLocaleTimeString()}`;
    live.classList.remove('stale');
  } catch (error) {
    live.textContent = `reconnecting (${error.message})`;
    live.classList.add('stale');
  }
  setTimeout(poll, POLL_MS);
}

/**
 * The storage server's failed callbacks (its callback log, via GET /dashboard/failed-callbacks.json);
 * the section stays hidden when the dashboard cannot reach the storage server.
 */
async function pollFailed() {
  try {
    const response = await fetch('/dashboard/failed-callbacks.json', {
      headers: { accept: 'application/json' },
    });
    const data = response.ok ? await response.json() : { available: false };
    renderFailed(data);
  } catch {
    renderFailed({ available: false });
  }
  setTimeout(pollFailed, POLL_MS * 2);
}

function renderFailed(data) {
  const section = document.getElementById('failed-callbacks');
  section.hidden = !data.available;
  if (!data.available) return;
  document.getElementById('failed-count').textContent = `${data.count}${data.more ? '+' : ''}`;
  document.getElementById('redeliver-all').disabled = data.count === 0;
  const rows = data.callbacks.map((c) =>
    el(
      'tr',
      { 'data-request-id': c.requestId },
      el(
        'td',
        {},
        el('div', { class: 'object' }, c.key),
        el('div', { class: 'muted' }, `${c.bucket} · ${c.operation} · ${c.requestId}`),
      ),
      el(
        'td',
        {},
        c.reason,
        c.deliveries > 1 ? el('div', { class: 'muted' }, `${c.deliveries} deliveries`) : '',
      ),
      el('td', { class: 'muted nowrap' }, formatTime(c.createdAt)),
      el(
        'td',
        {},
        el(
          'button',
          { type: 'button', onclick: (e) => redeliver({ requestId: c.requestId }, e.target) },
          'Redeliver',
        ),
      ),
    ),
  );
  document.getElementById('failed-rows').replaceChildren(...rows);
}

async function redeliver(target, button) {
  button.disabled = true;
  try {
    await fetch('/dashboard/failed-callbacks/redeliver', {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-upcall-dashboard': '1' },
      body: JSON.stringify(target),
    });
  } finally {
    button.disabled = false;
    const response = await fetch('/dashboard/failed-callbacks.json').catch(() => undefined);
    if (response?.ok) renderFailed(await response.json());
  }
}

document
  .getElementById('redeliver-all')
  .addEventListener('click', (e) => redeliver({ failed: true }, e.target));

void poll();
void pollFailed();
