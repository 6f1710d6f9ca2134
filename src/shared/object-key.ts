/**
 * Object key rules (OSS "Object naming conventions"): a key is 1..1023 bytes of valid UTF-8 and
 * must not start with `/` or `\`. Anything else is allowed: spaces, `+`, `%`, `..` segments,
 * unicode, trailing slashes. Keys are never used as file paths (the fs store names blobs by id),
 * so `..` is harmless here.
 *
 * Invariant: a key that passes `validateObjectKey` is stored and listed byte-for-byte as given.
 */
import { ossError } from './oss-error.ts';

export const MAX_OBJECT_KEY_BYTES = 1023;

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** @throws InvalidObjectName (empty, leading `/` or `\`, lone surrogate) | KeyTooLong (> 1023 bytes) */
export function validateObjectKey(key: string): void {
  if (key.length === 0 || key.startsWith('/') || key.startsWith('\\')) {
    throw ossError('InvalidObjectName', { details: { ObjectName: key } });
  }
  // A lone surrogate cannot be encoded as UTF-8; Buffer would silently write U+FFFD instead.
  if (LONE_SURROGATE.test(key)) throw ossError('InvalidObjectName');
  if (Buffer.byteLength(key, 'utf8') > MAX_OBJECT_KEY_BYTES) {
    throw ossError('KeyTooLong', { details: { MaxKeyLength: String(MAX_OBJECT_KEY_BYTES) } });
  }
}

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/**
 * Percent-decodes a raw URL path segment into a key, byte-wise, then as strict UTF-8. Unlike
 * decodeURIComponent this never throws a URIError: bad escapes or invalid UTF-8 are
 * InvalidObjectName. `+` stays a plus sign (it is not form encoding).
 */
export function decodeObjectKey(raw: string): string {
  if (!raw.includes('%')) return raw;
  const bytes: number[] = [];
  const encoded = Buffer.from(raw, 'utf8');
  for (let i = 0; i < encoded.length; i++) {
    const byte = encoded[i] ?? 0;
    if (byte === 0x25 /* % */) {
      const hex = encoded.subarray(i + 1, i + 3).toString('latin1');
      if (!/^[0-9a-fA-F]{2}$/.test(hex)) throw ossError('InvalidObjectName');
      bytes.push(parseInt(hex, 16));
      i += 2;
    } else {
      bytes.push(byte);
    }
  }
  try {
    return utf8.decode(Uint8Array.from(bytes));
  } catch (cause) {
    throw ossError('InvalidObjectName', { cause });
  }
}
