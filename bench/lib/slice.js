// One load slice: `concurrency` workers issue requests back to back until the deadline; no
// request starts after it, and every started one is waited for, so the slice's elapsed time
// covers all the bytes it counts.
import { send } from './target.js';

/**
 * @typedef {object} SliceResult
 * @property {number} ops
 * @property {number} bytes  request plus response payload bytes
 * @property {number} elapsedMs
 * @property {number[]} latenciesMs
 */

/**
 * The loop every slice runs: `concurrency` workers call `op` back to back until `durationMs` has
 * passed (or `maxOps` have started), each call timed from its start to its end; `op` resolves
 * the payload bytes it moved.
 * @param {number} concurrency
 * @param {number} durationMs
 * @param {() => Promise<number>} op
 * @param {number} [maxOps]
 * @returns {Promise<SliceResult>}
 */
export async function timedSlice(concurrency, durationMs, op, maxOps = Infinity) {
  const latenciesMs = [];
  let ops = 0;
  let bytes = 0;
  let started = 0;
  const t0 = performance.now();
  const deadline = t0 + durationMs;
  const worker = async () => {
    // At least one op per worker, so a slice shorter than one request still measures something.
    let first = true;
    while ((first || performance.now() < deadline) && started < maxOps) {
      first = false;
      started += 1;
      const s = performance.now();
      const moved = await op();
      latenciesMs.push(performance.now() - s);
      ops += 1;
      bytes += moved;
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return { ops, bytes, elapsedMs: performance.now() - t0, latenciesMs };
}

/**
 * A slice of requests to one target. Each latency includes `nextOp` (building the request: a few
 * object spreads at most, well under a microsecond against a request's milliseconds).
 * @param {{
 *   dispatcher: import('undici').Dispatcher,
 *   target: import('./target.js').Target,
 *   concurrency: number,
 *   durationMs: number,
 *   nextOp: (target: import('./target.js').Target) => import('./target.js').OpSpec,
 *   okStatuses?: number[],
 *   maxOps?: number,
 * }} spec
 * @returns {Promise<SliceResult>}
 */
export function runSlice(spec) {
  return timedSlice(
    spec.concurrency,
    spec.durationMs,
    async () => {
      const op = spec.nextOp(spec.target);
      const res = await send(spec.dispatcher, spec.target, op, spec.okStatuses);
      return res.bytes + (op.body?.length ?? 0);
    },
    spec.maxOps,
  );
}

/** @param {SliceResult} r */
export const opsPerSec = (r) => (1000 * r.ops) / r.elapsedMs;
/** @param {SliceResult} r */
export const mibPerSec = (r) => (1000 * r.bytes) / r.elapsedMs / 1024 / 1024;
