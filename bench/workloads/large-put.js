// 64 MiB PutObject at concurrency 1 and 4 against the ceiling: streaming throughput, where
// hashing (MD5 + CRC-64) and copying dominate and per-request overhead does not.
import { pairedAB } from '../lib/paired.js';
import { describeLoad } from '../lib/report.js';
import { side } from '../lib/side.js';
import { mibPerSec } from '../lib/slice.js';

/** @param {import('../run.js').BenchContext} ctx */
export async function largePut(ctx) {
  const size = ctx.quick ? 4 * 1024 * 1024 : 64 * 1024 * 1024;
  const body = Buffer.alloc(size, 'L');
  let n = 0;
  const put = () => ({ method: 'PUT', key: `large/${n++ % 8}`, body });
  const rows = [];
  for (const concurrency of [1, 4]) {
    const { ceiling, upcall } = ctx.servers.tmpfs;
    const r = await pairedAB({
      baseline: side(ceiling, { concurrency, nextOp: put }),
      candidate: side(upcall, { concurrency, nextOp: put }),
      pairs: ctx.pairs,
      sliceMs: ctx.sliceMs * 2,
      metric: mibPerSec,
      unit: 'MiB/s',
    });
    rows.push({
      workload: `${size / 1024 / 1024} MiB PUT, c${concurrency}`,
      compare: 'upcall / ceiling',
      storage: 'tmpfs',
      ratio: r.ratio,
      min: r.min,
      max: r.max,
      figures: `${r.b.value.toFixed(0)} vs ${r.a.value.toFixed(0)} MiB/s`,
      target: '≥ 0.8',
      met: r.ratio >= 0.8,
      load: describeLoad(r.load),
    });
  }
  return rows;
}
