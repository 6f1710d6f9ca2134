/* global document, window */
// The detail page of one upload: its facts, a preview for images, the callback request exactly
// as the receiver got it (request line, headers, raw body) and the JSON reply it sent back.
import { el, formatSize, isImage, normalize, thumbnailUrl } from './records.js';

const id = decodeURIComponent(window.location.pathname.split('/').pop() ?? '');

function decodeBody(body) {
  if (body === undefined || body === null) return '';
  if (typeof body === 'string') return body;
  if (typeof body === 'object' && typeof body.base64 === 'string') return atob(body.base64);
  if (typeof body === 'object' && body.type === 'Buffer' && Array.isArray(body.data)) {
    return new TextDecoder().decode(new Uint8Array(body.data));
  }
  return JSON.stringify(body);
}

function rawRequest(u) {
  const lines = [`${u.request.method} ${u.request.target ?? '/'} HTTP/1.1`];
  const headers = u.request.headers;
  const entries = Array.isArray(headers) ? headers : Object.entries(headers);
  for (const [name, value] of entries)
    lines.push(`${name}: ${Array.isArray(value) ? value.join(', ') : value}`);
  return `${lines.join('\n')}\n\n${decodeBody(u.request.body)}`;
}

/** A refused callback keeps only the start of its body (docs/receiver.md): say so, not silently. */
function truncationNote(u) {
  if (!u.raw?.bodyTruncated) return '';
  const kept = typeof u.raw.bodyBase64 === 'string' ? atob(u.raw.bodyBase64).length : 0;
  return `\n\n[only the first ${kept} of ${u.raw.bodySize} body bytes were kept]`;
}

/** The capture as bytes (request line, headers, raw body) for `upcall verify <file>`. */
function offerDownload(u) {
  const base64 = u.raw.bodyBase64;
  if (typeof base64 !== 'string') return;
  const head = rawRequest({ ...u, request: { ...u.request, body: '' } }).replace(/\n/g, '\r\n');
  const body = Uint8Array.from(atob(base64), (c) => c.charCodeAt(0));
  const blob = new Blob([head, body], { type: 'message/http' });
  const link = document.getElementById('download');
  link.href = URL.createObjectURL(blob);
  link.download = `callback-${u.id}.http`;
  link.hidden = false;
}

function reply(u) {
  if (u.reply === undefined) return '(not recorded)';
  if (typeof u.reply === 'string') return u.reply;
  return JSON.stringify(u.reply, null, 2);
}

async function load() {
  const response = await fetch(`/api/uploads/${encodeURIComponent(id)}`, {
    headers: { accept: 'application/json' },
  });
  if (!response.ok) {
    document.getElementById('title').textContent = `Upload ${id} not found`;
    document.getElementById('request').textContent = `HTTP ${response.status}`;
    document.getElementById('reply').textContent = '';
    return;
  }
  const body = await response.json();
  const u = normalize(body.upload ?? body.record ?? body);
  document.title = `${u.object ?? id} · upcall`;
  document.getElementById('title').textContent = u.object ?? `Upload ${id}`;
  document
    .getElementById('subtitle')
    .replaceChildren(
      el('span', { class: `badge ${u.ok ? 'ok' : 'bad'}` }, u.ok ? 'callback verified' : u.outcome),
      u.reason ? ` ${u.reason}` : '',
      u.ok
        ? el(
            'span',
            { class: 'muted' },
            u.templateIssued
              ? ' · fields from the template this app issued'
              : " · fields from the uploader's template (not vouched for)",
          )
        : '',
    );
  const facts = [
    ['Bucket', u.bucket],
    ['Object', u.object],
    ['Size', u.size === undefined ? undefined : `${formatSize(u.size)} (${u.size} bytes)`],
    ['Content type', u.mimeType],
    ['ETag', u.etag],
    ['Image', u.width && u.height ? `${u.width} × ${u.height}${u.format ? ` ${u.format}` : ''}` : undefined],
    ...Object.entries(u.vars).map(([name, value]) => [name, value]),
    ['Client IP', u.clientIp],
    ['OSS request id', u.requestId],
    ['Received', u.receivedAt === undefined ? undefined : new Date(u.receivedAt).toLocaleString()],
    ['Latency', u.latencyMs === undefined ? undefined : `${u.latencyMs} ms`],
    ['Record id', u.id],
  ];
  document
    .getElementById('facts')
    .replaceChildren(
      ...facts
        .filter(([, v]) => v !== undefined && v !== '')
        .flatMap(([k, v]) => [el('dt', {}, k), el('dd', {}, v)]),
    );
  if (isImage(u)) {
    document
      .getElementById('preview')
      .replaceChildren(el('img', { class: 'preview', src: thumbnailUrl(u), alt: u.object }));
  }
  document.getElementById('request').textContent = rawRequest(u) + truncationNote(u);
  offerDownload(u);
  document.getElementById('reply').textContent = reply(u);
}

void load();
