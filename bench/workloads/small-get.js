// 4 KiB GetObject at concurrency 16 over 100 stored objects: the read path's fixed cost.
import { pairedAB } from '../lib/paired.js';
import { describeLoad } from '../lib/report.js';
import { pooled, side } from '../lib/side.js';
import { opsPerSec } from '../lib/slice.js';
import { send } from '../lib/target.js';

const BODY = Buffer.alloc(4096, 'g');
const KEYS = 100;

/** @param {import('../run.js').BenchContext} ctx */
export async function smallGet(ctx) {
  const { ceiling, upcall, s3rver } = ctx.servers.tmpfs;
  for (const t of [ceiling, upcall, s3rver]) {
    if (!t) continue;
    const pool = pooled(t, 16);
    await Promise.all(
      Array.from({ length: KEYS }, (_, i) => send(pool, t, { method: 'PUT', key: `get/${i}`, body: BODY })),
    );
  }
  let n = 0;
  const get = () => ({ method: 'GET', key: `get/${n++ % KEYS}` });
  const rows = [];
  for (const baseline of [ceiling, s3rver]) {
    if (!baseline) continue;
    const r = await pairedAB({
      baseline: side(baseline, { concurrency: 16, nextOp: get }),
      candidate: side(upcall, { concurrency: 16, nextOp: get }),
      pairs: ctx.pairs,
      sliceMs: ctx.sliceMs,
      metric: opsPerSec,
      unit: 'ops/s',
    });
    rows.push({
      workload: '4 KiB GET, c16',
      compare: `upcall / ${baseline.name}`,
      storage: 'tmpfs',
      ratio: r.ratio,
      min: r.min,
      max: r.max,
      figures: `${r.b.value.toFixed(0)} vs ${r.a.value.toFixed(0)} ops/s; p99 ${r.b.p99.toFixed(2)} vs ${r.a.p99.toFixed(2)} ms`,
      load: describeLoad(r.load),
    });
  }
  return rows;
}
