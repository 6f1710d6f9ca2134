/**
 * Key order every backend shares. OSS lists keys in UTF-8 byte order (not UTF-16 code-unit order,
 * which JS string comparison gives: they differ for characters above U+FFFF versus
 * U+E000..U+FFFF), so keys are compared as their UTF-8 bytes.
 */

/** Compares two keys by their UTF-8 bytes (Buffer.compare order). */
export function compareKeys(a: string, b: string): number {
  if (a === b) return 0;
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}
