/**
 * Reads the fields of a verified callback body (SPEC.md §3.2, §3.3) and picks out the well-known
 * upload facts. The body is the app's own template rendered by OSS, so field names are whatever
 * the template chose; we recognise the names the official samples use (`object`/`filename`,
 * `imageInfo.height`/`height`, …) and keep everything else in `fields`. Pure; never throws.
 */

export type CallbackFieldValue =
  string | number | boolean | null | CallbackFieldValue[] | CallbackFieldObject;
export interface CallbackFieldObject {
  [name: string]: CallbackFieldValue;
}

export type CallbackBodyFormat = 'form' | 'json' | 'unparsed';

export interface ImageInfo {
  height?: number;
  width?: number;
  format?: string;
}

export interface CallbackBodyFacts {
  format: CallbackBodyFormat;
  fields: Record<string, CallbackFieldValue>;
  /** `x:` custom variables (SPEC.md §3.1), name → value as sent. */
  vars: Record<string, string>;
  bucket?: string;
  object?: string;
  etag?: string;
  size?: number;
  mimeType?: string;
  imageInfo?: ImageInfo;
}

const FORM = 'application/x-www-form-urlencoded';
const JSON_TYPE = 'application/json';

export function parseCallbackBody(contentType: string | undefined, body: Uint8Array): CallbackBodyFacts {
  const mediaType = mediaTypeOf(contentType);
  const text = Buffer.from(body.buffer, body.byteOffset, body.byteLength).toString('utf8');
  let format: CallbackBodyFormat = 'unparsed';
  let fields: Record<string, CallbackFieldValue> = Object.create(null) as Record<string, CallbackFieldValue>;
  if (mediaType === JSON_TYPE || (mediaType.endsWith('+json') && mediaType.startsWith('application/'))) {
    const parsed = parseJsonObject(text);
    if (parsed) {
      format = 'json';
      fields = parsed;
    }
  } else if (mediaType === FORM) {
    format = 'form';
    // URLSearchParams decodes "+" as space, as form decoding must (SPEC.md §3.2 renders values
    // url-encoded); the first value of a repeated name wins.
    new URLSearchParams(text).forEach((value, name) => {
      if (!(name in fields)) fields[name] = value;
    });
  }
  const facts: CallbackBodyFacts = { format, fields, vars: {} };
  addWellKnownFacts(facts);
  return facts;
}

/** The bare media type; the two OSS sends (SPEC.md §3) skip the split and lower-casing. */
function mediaTypeOf(contentType: string | undefined): string {
  if (contentType === FORM || contentType === JSON_TYPE) return contentType;
  return (contentType ?? '').split(';')[0]!.trim().toLowerCase();
}

function parseJsonObject(text: string): Record<string, CallbackFieldValue> | undefined {
  try {
    const value = JSON.parse(text) as unknown;
    if (typeof value === 'object' && value !== null && !Array.isArray(value)) {
      return value as Record<string, CallbackFieldValue>;
    }
  } catch {
    // A template that renders invalid JSON is still an authentic callback: keep it unparsed.
  }
  return undefined;
}

/** Adds the upload facts the official templates carry, each only when present. */
function addWellKnownFacts(facts: CallbackBodyFacts): void {
  const fields = facts.fields;
  for (const name of Object.keys(fields)) {
    if (name.startsWith('x:')) facts.vars[name] = scalarText(fields[name]) ?? JSON.stringify(fields[name]);
  }
  const bucket = text(fields, 'bucket');
  if (bucket !== undefined) facts.bucket = bucket;
  const object = text(fields, 'object') ?? text(fields, 'filename') ?? text(fields, 'key');
  if (object !== undefined) facts.object = object;
  const etag = text(fields, 'etag');
  if (etag !== undefined) facts.etag = etag;
  const size = num(fields.size);
  if (size !== undefined) facts.size = size;
  const mimeType = text(fields, 'mimeType');
  if (mimeType !== undefined) facts.mimeType = mimeType;
  const nested = fields.imageInfo;
  const info = typeof nested === 'object' && nested !== null && !Array.isArray(nested) ? nested : undefined;
  const imageInfo: ImageInfo = {};
  const height = num(info?.height ?? fields['imageInfo.height'] ?? fields.height);
  if (height !== undefined) imageInfo.height = height;
  const width = num(info?.width ?? fields['imageInfo.width'] ?? fields.width);
  if (width !== undefined) imageInfo.width = width;
  const format = scalarText(info?.format ?? fields['imageInfo.format'] ?? fields.format);
  if (format !== undefined && format !== '') imageInfo.format = format;
  if (Object.keys(imageInfo).length > 0) facts.imageInfo = imageInfo;
}

function text(fields: Record<string, CallbackFieldValue>, name: string): string | undefined {
  const value = scalarText(fields[name]);
  return value === undefined || value === '' ? undefined : value;
}

function scalarText(value: CallbackFieldValue | undefined): string | undefined {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return undefined;
}

function num(value: CallbackFieldValue | undefined): number | undefined {
  if (typeof value === 'number') return Number.isFinite(value) ? value : undefined;
  if (typeof value === 'string' && /^\d+$/.test(value)) return Number(value);
  return undefined;
}
