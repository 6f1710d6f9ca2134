// 4 KiB PutObject with an upload callback against the same PutObject without one, on the same
// upcall, at concurrency 1 (added latency) and 16 (throughput kept). The app server answers at
// once and verifies nothing, so the difference is upcall's own callback cost: render, sign
// (RSA, off the event loop), POST over a keep-alive pool, relay the reply.
import { pairedAB } from '../lib/paired.js';
import { describeLoad } from '../lib/report.js';
import { pooled, side, Unavailable } from '../lib/side.js';
import { opsPerSec } from '../lib/slice.js';
import { send } from '../lib/target.js';

const BODY = Buffer.alloc(4096, 'c');

/** @param {string} appOrigin */
function callbackHeader(appOrigin) {
  return Buffer.from(
    JSON.stringify({
      callbackUrl: `${appOrigin}/callback`,
      callbackBody: 'bucket=${bucket}&object=${object}&etag=${etag}&size=${size}&mimeType=${mimeType}',
      callbackBodyType: 'application/x-www-form-urlencoded',
    }),
  ).toString('base64');
}

/** @param {import('../run.js').BenchContext} ctx */
export async function callback(ctx) {
  const rows = [];
  for (const { bits, target } of await ctx.callbackUpcalls()) {
    const header = callbackHeader(ctx.appOrigin);
    const probe = await send(
      pooled(target, 1),
      target,
      { method: 'PUT', key: 'cb/probe', body: BODY, headers: { 'x-oss-callback': header } },
      [200, 203, 400, 501],
    );
    if (probe.status !== 200 || !probe.text().includes('"Status":"OK"')) {
      throw new Unavailable(
        `PutObject with x-oss-callback answered ${probe.status} ${probe.text().slice(0, 120)}`,
      );
    }
    let n = 0;
    const plain = () => ({ method: 'PUT', key: `cb/${n++ % 1000}`, body: BODY });
    const withCallback = () => ({ ...plain(), headers: { 'x-oss-callback': header } });
    for (const concurrency of [1, 16]) {
      const r = await pairedAB({
        baseline: side(target, { label: 'no callback', concurrency, nextOp: plain }),
        candidate: side(target, { label: `callback (RSA-${bits})`, concurrency, nextOp: withCallback }),
        pairs: ctx.pairs,
        sliceMs: ctx.sliceMs,
        metric: opsPerSec,
        unit: 'ops/s',
      });
      const addedP50 = r.b.p50 - r.a.p50;
      const addedP99 = r.b.p99 - r.a.p99;
      rows.push({
        workload: `4 KiB PUT with callback, c${concurrency}`,
        compare: `callback RSA-${bits} / no callback`,
        storage: 'tmpfs',
        ratio: r.ratio,
        min: r.min,
        max: r.max,
        figures: `${r.b.value.toFixed(0)} vs ${r.a.value.toFixed(0)} ops/s; adds ${addedP50.toFixed(2)} ms p50, ${addedP99.toFixed(2)} ms p99`,
        target: concurrency === 16 ? '≥ 0.7' : '+≤ 0.5 ms p50, +≤ 3 ms p99',
        met: concurrency === 16 ? r.ratio >= 0.7 : addedP50 <= 0.5 && addedP99 <= 3,
        load: describeLoad(r.load),
      });
    }
  }
  return rows;
}
