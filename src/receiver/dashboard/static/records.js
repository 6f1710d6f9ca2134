/* global document, Node */
// Shared by the dashboard pages: reads upload records from the receiver's REST API
// (GET /api/uploads, GET /api/uploads/:id) and formats them. Tolerant of field spellings so the
// page keeps working if the record shape grows.

/** @param {unknown} body the JSON of GET /api/uploads */
export function recordsOf(body) {
  if (Array.isArray(body)) return body;
  if (body && typeof body === 'object') {
    for (const name of ['uploads', 'items', 'records', 'data']) {
      if (Array.isArray(body[name])) return body[name];
    }
  }
  return [];
}

function first(...values) {
  for (const value of values) if (value !== undefined && value !== null && value !== '') return value;
  return undefined;
}

function varsOf(r) {
  const vars = first(r.vars, r.customVars, r.variables);
  if (vars && typeof vars === 'object') return vars;
  const out = {};
  for (const [name, value] of Object.entries(r.fields ?? {}))
    if (name.startsWith('x:')) out[name] = String(value);
  return out;
}

export function normalize(r) {
  const image = first(r.imageInfo, r.image) ?? {};
  const request = first(r.request, r.callbackRequest) ?? {};
  const verified = first(r.verified, r.verify?.ok, r.verification?.ok);
  const outcome = String(
    first(r.outcome, r.result, verified === false ? (r.rejectReason ?? 'rejected') : 'ok'),
  );
  return {
    id: first(r.id, r.uploadId),
    bucket: first(r.bucket, r.oss?.bucket, r.headers?.['x-oss-bucket']),
    object: first(r.object, r.key, r.filename),
    size: first(r.size),
    etag: first(r.etag),
    mimeType: first(r.mimeType, r.mime_type, r.contentType),
    width: first(image.width, r.imageWidth, r.width),
    height: first(image.height, r.imageHeight, r.height),
    format: first(image.format, r.imageFormat),
    vars: varsOf(r),
    receivedAt: first(r.receivedAt, r.received_at, r.createdAt, r.created_at, r.time),
    latencyMs: first(
      r.latencyMs,
      r.durationMs,
      r.handledMs,
      r.replyMs,
      typeof r.repliedAt === 'number' && typeof r.receivedAt === 'number'
        ? r.repliedAt - r.receivedAt
        : undefined,
    ),
    ok: !/^(rejected|failed|error|invalid)/i.test(outcome) && verified !== false,
    // The body renders a template this app issued; otherwise its fields are the uploader's words.
    templateIssued: r.templateIssued === true,
    outcome,
    reason: first(r.rejectReason, r.reason, r.error, r.verify?.reason),
    clientIp: first(r.clientIp, r.client_ip, r.ip),
    requestId: first(r.requestId, r.oss?.requestId, r.headers?.['x-oss-request-id']),
    request: {
      method: first(request.method, r.method, 'POST'),
      target: first(request.target, request.url, r.target, r.path),
      headers: first(request.headers, r.headers) ?? {},
      body: first(request.body, r.rawBody, r.rawBodyBase64 && { base64: r.rawBodyBase64 }, r.body),
    },
    reply: first(r.reply, r.response, r.replyBody),
    raw: r,
  };
}

export function isImage(u) {
  return typeof u.mimeType === 'string' && u.mimeType.startsWith('image/');
}

export function thumbnailUrl(u) {
  return `/dashboard/object?bucket=${encodeURIComponent(u.bucket ?? '')}&key=${encodeURIComponent(u.object ?? '')}`;
}

export function formatSize(bytes) {
  if (typeof bytes !== 'number') return '';
  if (bytes < 1024) return `${bytes} B`;
  const units = ['KiB', 'MiB', 'GiB'];
  let value = bytes / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value.toFixed(value < 10 ? 1 : 0)} ${units[unit]}`;
}

export function formatTime(value) {
  if (value === undefined) return '';
  const date = new Date(typeof value === 'number' && value < 1e12 ? value * 1000 : value);
  if (Number.isNaN(date.getTime())) return String(value);
  return date.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', second: '2-digit' });
}

export function timeOf(u) {
  const value = u.receivedAt;
  const date = new Date(typeof value === 'number' && value < 1e12 ? value * 1000 : value);
  return date.getTime();
}

/**
 * A key as text nodes with a line-break opportunity after each `/`, `-`, `_` and `.`, so a long
 * key wraps between its segments instead of mid-word.
 */
export function breakableKey(key) {
  return String(key)
    .split(/(?<=[/\-_.])/)
    .flatMap((part, i) => (i === 0 ? [part] : [document.createElement('wbr'), part]));
}

/** Creates an element: el('td', { class: 'x' }, child, 'text'). Text is never parsed as HTML. */
export function el(name, attrs = {}, ...children) {
  const node = document.createElement(name);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === false) continue;
    if (key.startsWith('on')) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value === true ? '' : String(value));
  }
  for (const child of children.flat()) {
    if (child === undefined || child === null || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}
