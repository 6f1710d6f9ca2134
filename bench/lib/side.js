// A Side of a paired comparison: one target under one load shape (concurrency, request mix).
// Pools are kept per target and concurrency so keep-alive connections survive across slices.
import { poolFor } from './target.js';
import { runSlice } from './slice.js';

/** @type {Map<string, import('undici').Pool>} */
const pools = new Map();

/** @param {import('./target.js').Target} target @param {number} connections */
export function pooled(target, connections) {
  const id = `${target.origin}#${connections}`;
  let pool = pools.get(id);
  if (!pool) {
    pool = poolFor(target, connections);
    pools.set(id, pool);
  }
  return pool;
}

export async function closePools() {
  await Promise.all([...pools.values()].map((p) => p.close()));
  pools.clear();
}

/**
 * @param {import('./target.js').Target} target
 * @param {{ label?: string, concurrency: number, nextOp: (t: import('./target.js').Target) => import('./target.js').OpSpec,
 *   okStatuses?: number[] }} load
 * @returns {import('./paired.js').Side}
 */
export function side(target, load) {
  const dispatcher = pooled(target, load.concurrency);
  return {
    label: load.label ?? target.name,
    pid: target.pid,
    slice: (durationMs) =>
      runSlice({
        dispatcher,
        target,
        concurrency: load.concurrency,
        durationMs,
        nextOp: load.nextOp,
        ...(load.okStatuses ? { okStatuses: load.okStatuses } : {}),
      }),
  };
}

/** Thrown by a workload whose feature the server does not have yet: reported, never faked. */
export class Unavailable extends Error {}
