/**
 * Key order every backend shares. OSS lists keys in UTF-8 byte order (not UTF-16 code-unit order,
 * which JS string comparison gives: they differ for characters above U+FFFF versus
 * U+E000..U+FFFF), so keys are compared as their UTF-8 bytes, and the SQL backends (fs, gateway)
 * keep them as those bytes, listing a prefix as the range from it up to prefixEnd.
 */

/** A key as the SQL backends store, compare and range-scan it: its UTF-8 bytes. */
export const utf8 = (key: string): Buffer => Buffer.from(key, 'utf8');

/** Exclusive upper bound of every key starting with `prefix`: UTF-8 never contains byte 0xFF. */
export function prefixEnd(prefix: Buffer): Buffer {
  return Buffer.concat([prefix, Buffer.from([0xff])]);
}

/** Compares two keys by their UTF-8 bytes (Buffer.compare order). */
export function compareKeys(a: string, b: string): number {
  if (a === b) return 0;
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}
