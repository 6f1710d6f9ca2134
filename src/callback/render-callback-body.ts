/**
 * Renders a callbackBody template into the bytes OSS posts to the app server (SPEC.md §3).
 *
 * Owns: the system variables of §3.1, `${x:…}` custom variables, and the two encodings: form mode
 * URL-encodes every substituted value (§3.2), JSON mode inserts values as JSON (§3.3).
 * Template text outside placeholders is copied verbatim in both modes.
 * Pure and total: rendering never throws, whatever the template, facts or vars.
 */
import { RecentMap } from '../shared/recent-map.ts';
import type { CallbackBodyType } from './parse-callback.ts';

export type CallbackOperation = 'PutObject' | 'PostObject' | 'CompleteMultipartUpload';

export interface ImageInfo {
  width: number;
  height: number;
  /** Lower-case, as OSS spells it: jpg, png, gif, webp, bmp, … */
  format: string;
}

/** What the storage server knows about the upload once it is stored (§3.1). */
export interface UploadFacts {
  bucket: string;
  object: string;
  /** As returned to the client, without quotes, upper-case hex (§3.1). */
  etag: string;
  size: number;
  mimeType: string;
  /** Absent for non-images: the imageInfo variables render empty. */
  imageInfo?: ImageInfo | undefined;
  /** Decimal CRC-64/ECMA-182, as in `x-oss-hash-crc64ecma`; may be empty (§7.3). */
  crc64: string;
  /** base64 MD5; only PutObject and PostObject have one (§3.1). */
  contentMd5?: string | undefined;
  vpcId?: string | undefined;
  clientIp: string;
  reqId: string;
  operation: CallbackOperation;
}

export interface RenderInput {
  body: string;
  bodyType: CallbackBodyType;
  vars: Readonly<Record<string, string>>;
}

/** The system variables of §3.1 (case-sensitive, §3.1), and whether JSON mode inserts them bare. */
const SYSTEM_VARIABLES: Record<string, { bare: boolean; value: (f: UploadFacts) => string }> = {
  bucket: { bare: false, value: (f) => f.bucket },
  object: { bare: false, value: (f) => f.object },
  etag: { bare: false, value: (f) => f.etag },
  // §3.3 [V*]: size is a bare number in JSON mode.
  size: { bare: true, value: (f) => String(f.size) },
  mimeType: { bare: false, value: (f) => f.mimeType },
  // §3.3 [V]: width and height are raw digits in JSON mode, empty for non-images.
  'imageInfo.height': { bare: true, value: (f) => (f.imageInfo ? String(f.imageInfo.height) : '') },
  'imageInfo.width': { bare: true, value: (f) => (f.imageInfo ? String(f.imageInfo.width) : '') },
  'imageInfo.format': { bare: false, value: (f) => f.imageInfo?.format ?? '' },
  // FIDELITY: crc64 is a quoted string in JSON mode (SPEC §3.3 [U]): values above 2^53 would lose
  // precision as a JSON number in most parsers.
  crc64: { bare: false, value: (f) => f.crc64 },
  contentMd5: { bare: false, value: (f) => f.contentMd5 ?? '' },
  vpcId: { bare: false, value: (f) => f.vpcId ?? '' },
  clientIp: { bare: false, value: (f) => f.clientIp },
  reqId: { bare: false, value: (f) => f.reqId },
  operation: { bare: false, value: (f) => f.operation },
};

/** The system variable names, for callers that want to know what a template references. */
export const SYSTEM_VARIABLE_NAMES: readonly string[] = Object.keys(SYSTEM_VARIABLES);

/** True when the template references `${imageInfo.…}`, so image facts are worth computing. */
export function templateUsesImageInfo(template: string): boolean {
  return template.includes('${imageInfo.');
}

/** Renders the body of one callback, compiling its template anew (see createCallbackBodyRenderer). */
export function renderCallbackBody(input: RenderInput, facts: UploadFacts): string {
  const json = input.bodyType === 'application/json';
  return renderParts(compile(input.body, json), json, input.vars, facts);
}

/**
 * renderCallbackBody for a caller that renders many callbacks (the server's dispatcher owns one):
 * templates repeat from upload to upload, so each is split into text and placeholders once per
 * mode and kept, the 64 most recent per mode. The kept parts depend on the template text alone,
 * so the output is renderCallbackBody's for every input.
 */
export function createCallbackBodyRenderer(): (input: RenderInput, facts: UploadFacts) => string {
  const compiledJson = new RecentMap<string, readonly (string | Placeholder)[]>(64);
  const compiledForm = new RecentMap<string, readonly (string | Placeholder)[]>(64);
  return (input, facts) => {
    const json = input.bodyType === 'application/json';
    const kept = json ? compiledJson : compiledForm;
    let parts = kept.get(input.body);
    if (parts === undefined) {
      parts = compile(input.body, json);
      kept.set(input.body, parts);
    }
    return renderParts(parts, json, input.vars, facts);
  };
}

function renderParts(
  parts: readonly (string | Placeholder)[],
  json: boolean,
  vars: Readonly<Record<string, string>>,
  facts: UploadFacts,
): string {
  let out = '';
  for (const part of parts) {
    if (typeof part === 'string') {
      out += part;
    } else {
      const text = part.text(facts, vars);
      out += json ? jsonValue(text, part.json) : formEncode(text);
    }
  }
  return out;
}

/** A `${…}` that names a variable. */
interface Placeholder {
  text: (facts: UploadFacts, vars: Readonly<Record<string, string>>) => string;
  /**
   * JSON mode only: `bare` (numbers), a `string` literal, or escaped text `inside` a string of the
   * template's own. Which one depends on the template text alone, never on the values.
   */
  json: 'bare' | 'string' | 'inside';
}

/** Splits a template into literal text and placeholders, tracking JSON strings in JSON mode. */
function compile(template: string, json: boolean): (string | Placeholder)[] {
  const parts: (string | Placeholder)[] = [];
  // JSON mode: whether the template text so far leaves us inside a JSON string literal.
  let inString = false;
  /** template[copied, i) is text not yet in `parts`. */
  let copied = 0;
  let i = 0;
  while (i < template.length) {
    const code = template.charCodeAt(i);
    if (code === DOLLAR && template.charCodeAt(i + 1) === OPEN_BRACE) {
      const close = template.indexOf('}', i + 2);
      const variable = close === -1 ? undefined : variableOf(template.slice(i + 2, close));
      if (variable !== undefined) {
        if (i > copied) parts.push(template.slice(copied, i));
        parts.push({ text: variable.text, json: variable.bare ? 'bare' : inString ? 'inside' : 'string' });
        i = copied = close + 1;
        continue;
      }
      // §3.4: unknown `${foo}` stays verbatim (FIDELITY: SPEC recommendation); the `$` is text
      // and the rest is scanned as ordinary text.
    } else if (json) {
      // An escape inside a string hides the next character from the quote tracking. A `$` is
      // never part of a JSON escape, so `\${object}` still substitutes (OSS replaces text).
      if (code === BACKSLASH && inString && template.charCodeAt(i + 1) !== DOLLAR) {
        i += 2;
        continue;
      }
      if (code === QUOTE) inString = !inString;
    }
    i += 1;
  }
  if (copied < template.length) parts.push(template.slice(copied));
  return parts;
}

const DOLLAR = 0x24;
const OPEN_BRACE = 0x7b;
const BACKSLASH = 0x5c;
const QUOTE = 0x22;

/** The variable `${name}` refers to, or undefined when it is none (rendered verbatim then). */
function variableOf(name: string): { text: Placeholder['text']; bare: boolean } | undefined {
  if (name.startsWith('x:')) {
    // §3.4: an unresolved custom variable is accepted and renders as an empty value
    // (FIDELITY: "presumably empty"; JSON mode gives `""`, so the body stays valid JSON).
    return { text: (_facts, vars) => (Object.hasOwn(vars, name) ? (vars[name] as string) : ''), bare: false };
  }
  if (!Object.hasOwn(SYSTEM_VARIABLES, name)) return undefined;
  const { value, bare } = SYSTEM_VARIABLES[name] as (typeof SYSTEM_VARIABLES)[string];
  return { text: value, bare };
}

/**
 * JSON mode (§3.3): strings become JSON string literals (standard escaping, `/` not escaped,
 * non-ASCII as raw UTF-8); numbers are inserted bare.
 * FIDELITY: a string placeholder already inside a JSON string in the template (`"k":"${object}"`)
 * gets the escaped text without extra quotes, so the body stays valid JSON (SPEC §3.3 [U]).
 */
function jsonValue(text: string, how: Placeholder['json']): string {
  if (how === 'bare') return text;
  const literal = JSON.stringify(text);
  return how === 'inside' ? literal.slice(1, -1) : literal;
}

/** Anything outside A–Z a–z 0–9 - _ . ~ */
const RESERVED = /[^A-Za-z0-9\-_.~]/;

/**
 * Form mode (§3.2): percent-encodes the UTF-8 bytes of everything except A–Z a–z 0–9 - _ . ~,
 * with upper-case hex; space is `%20`, never `+` (FIDELITY: SPEC §3.2 recommendation).
 * `encodeURIComponent` does exactly that apart from `! ' ( ) *`, which are encoded after it.
 * Lone surrogates are encoded as U+FFFD rather than throwing (encodeURIComponent would throw).
 */
export function formEncode(text: string): string {
  if (!RESERVED.test(text)) return text;
  let encoded: string;
  try {
    encoded = encodeURIComponent(text);
  } catch {
    // A lone surrogate: its UTF-8 round trip is U+FFFD, what a byte-wise encoder would emit.
    encoded = encodeURIComponent(Buffer.from(text, 'utf8').toString('utf8'));
  }
  return encoded.replace(/[!'()*]/g, (ch) => `%${ch.charCodeAt(0).toString(16).toUpperCase()}`);
}
