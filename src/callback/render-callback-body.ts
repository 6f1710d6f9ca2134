/**
 * Renders a callbackBody template into the bytes OSS posts to the app server (SPEC.md §3).
 *
 * Owns: the system variables of §3.1, `${x:…}` custom variables, and the two encodings: form mode
 * URL-encodes every substituted value (§3.2), JSON mode inserts values as JSON (§3.3).
 * Template text outside placeholders is copied verbatim in both modes.
 * Pure and total: rendering never throws, whatever the template, facts or vars.
 */
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

export function renderCallbackBody(input: RenderInput, facts: UploadFacts): string {
  const json = input.bodyType === 'application/json';
  const template = input.body;
  let out = '';
  // JSON mode: whether the template text so far leaves us inside a JSON string literal.
  let inString = false;
  let i = 0;
  while (i < template.length) {
    const ch = template[i] as string;
    if (ch === '$' && template[i + 1] === '{') {
      const close = template.indexOf('}', i + 2);
      const name = close === -1 ? undefined : template.slice(i + 2, close);
      const value = name === undefined ? undefined : lookup(name, facts, input.vars);
      if (name !== undefined && value !== undefined) {
        out += json ? jsonValue(value.text, value.bare, inString) : formEncode(value.text);
        i = close + 1;
        continue;
      }
      // §3.4: unknown `${foo}` stays verbatim (FIDELITY: SPEC recommendation); copy the `$`
      // and scan the rest as ordinary text.
    }
    if (json) {
      // An escape inside a string hides the next character from the quote tracking. A `$` is
      // never part of a JSON escape, so `\${object}` still substitutes (OSS replaces text).
      if (ch === '\\' && inString && template[i + 1] !== '$') {
        out += template.slice(i, i + 2);
        i += 2;
        continue;
      }
      if (ch === '"') inString = !inString;
    }
    out += ch;
    i += 1;
  }
  return out;
}

function lookup(
  name: string,
  facts: UploadFacts,
  vars: Readonly<Record<string, string>>,
): { text: string; bare: boolean } | undefined {
  if (name.startsWith('x:')) {
    // §3.4: an unresolved custom variable is accepted and renders as an empty value
    // (FIDELITY: "presumably empty"; JSON mode gives `""`, so the body stays valid JSON).
    return { text: Object.hasOwn(vars, name) ? (vars[name] as string) : '', bare: false };
  }
  if (!Object.hasOwn(SYSTEM_VARIABLES, name)) return undefined;
  const variable = SYSTEM_VARIABLES[name] as (typeof SYSTEM_VARIABLES)[string];
  return { text: variable.value(facts), bare: variable.bare };
}

/**
 * JSON mode (§3.3): strings become JSON string literals (standard escaping, `/` not escaped,
 * non-ASCII as raw UTF-8); numbers are inserted bare.
 * FIDELITY: a string placeholder already inside a JSON string in the template (`"k":"${object}"`)
 * gets the escaped text without extra quotes, so the body stays valid JSON (SPEC §3.3 [U]).
 */
function jsonValue(text: string, bare: boolean, inString: boolean): string {
  if (bare) return text;
  const literal = JSON.stringify(text);
  return inString ? literal.slice(1, -1) : literal;
}

const UNRESERVED = /[A-Za-z0-9\-_.~]/;

/**
 * Form mode (§3.2): percent-encodes the UTF-8 bytes of everything except A–Z a–z 0–9 - _ . ~,
 * with upper-case hex; space is `%20`, never `+` (FIDELITY: SPEC §3.2 recommendation).
 * Lone surrogates are encoded as U+FFFD rather than throwing (encodeURIComponent would throw).
 */
export function formEncode(text: string): string {
  let out = '';
  for (const ch of text) {
    if (ch.length === 1 && UNRESERVED.test(ch)) {
      out += ch;
      continue;
    }
    for (const byte of Buffer.from(ch, 'utf8')) out += `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}
