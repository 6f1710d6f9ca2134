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
export async function runSlice(spec) {
  const latenciesMs = [];
  let ops = 0;
  let bytes = 0;
  let started = 0;
  const maxOps = spec.maxOps ?? Infinity;
  const t0 = performance.now();
  const deadline = t0 + spec.durationMs;
  const worker = async () => {
    // At least one op per worker, so a slice shorter than one request still measures something.
    let first = true;
    while ((first || performance.now() < deadline) && started < maxOps) {
      first = false;
      started += 1;
      const op = spec.nextOp(spec.target);
      const s = performance.now();
      const res = await send(spec.dispatcher, spec.target, op, spec.okStatuses);
      latenciesMs.push(performance.now() - s);
      ops += 1;
      bytes += res.bytes + (op.body?.length ?? 0);
    }
  };
  await Promise.all(Array.from({ length: spec.concurrency }, worker));
  return { ops, bytes, elapsedMs: performance.now() - t0, latenciesMs };
}

/** @param {SliceResult} r */
export const opsPerSec = (r) => (1000 * r.ops) / r.elapsedMs;
/** @param {SliceResult} r */
export const mibPerSec = (r) => (1000 * r.bytes) / r.elapsedMs / 1024 / 1024;
