// Paired A/B: both servers are up at once and the same load alternates between them in short
// slices (ABBA order, so a drift in machine state hits both sides equally). Each pair gives one
// ratio candidate/baseline; the median of those ratios, with min..max, is the result. Running
// the same target on both sides (A/A) measures the noise floor of the method itself.
import { median, percentile, range } from './stats.js';
import { recordLoad } from './proc-sampler.js';

/**
 * @typedef {object} Side
 * @property {string} label
 * @property {number} pid
 * @property {(durationMs: number) => Promise<import('./slice.js').SliceResult>} slice
 */

/**
 * @typedef {object} PairedResult
 * @property {string} baseline
 * @property {string} candidate
 * @property {string} unit
 * @property {number[]} ratios  candidate / baseline, one per pair
 * @property {number} ratio  median of ratios
 * @property {number} min
 * @property {number} max
 * @property {{ value: number, p50: number, p99: number, ops: number }} a  baseline: median metric, latency ms
 * @property {{ value: number, p50: number, p99: number, ops: number }} b  candidate
 * @property {import('./proc-sampler.js').LoadReport} load
 */

/**
 * @param {{
 *   baseline: Side, candidate: Side, pairs: number, sliceMs: number,
 *   metric: (r: import('./slice.js').SliceResult) => number, unit: string,
 *   warmupMs?: number,
 * }} spec
 * @returns {Promise<PairedResult>}
 */
export async function pairedAB(spec) {
  const { baseline, candidate } = spec;
  const warm = spec.warmupMs ?? Math.min(spec.sliceMs, 500);
  await baseline.slice(warm);
  if (candidate !== baseline) await candidate.slice(warm);

  const load = recordLoad(() => [process.pid, baseline.pid, candidate.pid]);
  const ratios = [];
  const values = { a: /** @type {number[]} */ ([]), b: /** @type {number[]} */ ([]) };
  const latencies = { a: /** @type {number[]} */ ([]), b: /** @type {number[]} */ ([]) };
  const ops = { a: 0, b: 0 };
  for (let i = 0; i < spec.pairs; i++) {
    const order = i % 2 === 0 ? /** @type {const} */ (['a', 'b']) : /** @type {const} */ (['b', 'a']);
    /** @type {Record<'a' | 'b', number>} */
    const v = { a: 0, b: 0 };
    for (const side of order) {
      const r = await (side === 'a' ? baseline : candidate).slice(spec.sliceMs);
      v[side] = spec.metric(r);
      values[side].push(v[side]);
      for (const l of r.latenciesMs) latencies[side].push(l);
      ops[side] += r.ops;
    }
    ratios.push(v.b / v.a);
  }
  const summary = (/** @type {'a' | 'b'} */ s) => ({
    value: median(values[s]),
    p50: percentile(latencies[s], 50),
    p99: percentile(latencies[s], 99),
    ops: ops[s],
  });
  return {
    baseline: baseline.label,
    candidate: candidate.label,
    unit: spec.unit,
    ratios,
    ratio: median(ratios),
    ...range(ratios),
    a: summary('a'),
    b: summary('b'),
    load: load.stop(),
  };
}
