/**
 * The `Range` header of GetObject, resolved against the object's size.
 *
 * OSS (without `x-oss-range-behavior: standard`) serves one range: `bytes=a-b`, `bytes=a-` and the
 * suffix form `bytes=-n`; an end past the object is clamped. A start at or past the end of the
 * object is unsatisfiable (416 InvalidRange). A header it cannot parse, or one with several
 * ranges, is ignored and the whole object is returned with 200.
 */
import { ossError } from '../shared/oss-error.ts';
import type { ByteRange } from '../store/object-store.ts';

const SINGLE_RANGE = /^bytes=(\d*)-(\d*)$/;

/**
 * @returns the range to serve, or undefined for the whole object
 * @throws InvalidRange (syntactically valid but unsatisfiable)
 */
export function resolveRange(header: string | undefined, size: number): ByteRange | undefined {
  if (header === undefined) return undefined;
  // FIDELITY: invalid syntax and multi-range requests are ignored (200, whole object), as OSS does
  // by default; `x-oss-range-behavior: standard` is not implemented.
  const match = SINGLE_RANGE.exec(header.trim());
  if (match === null) return undefined;
  const [, first = '', last = ''] = match;
  if (first === '' && last === '') return undefined;
  if (first === '') {
    const suffix = Number(last);
    if (!Number.isSafeInteger(suffix)) return undefined;
    if (suffix === 0 || size === 0) throw unsatisfiable(header, size);
    return { start: Math.max(0, size - suffix), end: size - 1 };
  }
  const start = Number(first);
  const end = last === '' ? Number.MAX_SAFE_INTEGER : Number(last);
  if (!Number.isSafeInteger(start) || !Number.isSafeInteger(end) || end < start) return undefined;
  if (start >= size) throw unsatisfiable(header, size);
  return { start, end: Math.min(end, size - 1) };
}

function unsatisfiable(header: string, size: number) {
  return ossError('InvalidRange', { details: { RangeRequested: header, ActualObjectSize: String(size) } });
}
