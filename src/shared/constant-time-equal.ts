/**
 * Constant-time string comparison for signatures (STYLE.md §3.5): the length check comes first
 * (lengths are public), then `crypto.timingSafeEqual` over the UTF-8 bytes, so the time taken never
 * depends on how many leading characters of a guessed signature were right.
 */
import { timingSafeEqual } from 'node:crypto';

export function constantTimeEqual(expected: string, provided: string): boolean {
  const a = Buffer.from(expected, 'utf8');
  const b = Buffer.from(provided, 'utf8');
  if (a.length !== b.length) return false;
  return timingSafeEqual(a, b);
}
