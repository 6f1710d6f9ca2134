// 4 KiB PutObject with an upload callback against the same PutObject without one, on the same
// upcall, at concurrency 1 (added latency) and 16 (throughput kept), for three ways of signing:
// none (`--unsigned-callbacks`: the cost of the callback exchange itself), RSA-1024 and RSA-2048.
// On tmpfs every microsecond of CPU shows; on disk the fsync sets the pace, as deployed, and the
// signature (started once the body is hashed) runs while the object is made durable: this bench is
// where that overlap is claimed and checked (the RSA rows' added latency on disk against the
// signature's own time, bench/findings.md); the tests assert only what a client can see. The app
// server answers at once and verifies nothing, so the difference is upcall's own callback cost:
// render, sign (off the event loop), POST over a keep-alive pool, relay the reply.
import { join } from 'node:path';
import { pairedAB } from '../lib/paired.js';
import { describeLoad } from '../lib/report.js';
import { pooled, side, Unavailable } from '../lib/side.js';
import { opsPerSec } from '../lib/slice.js';
import { send } from '../lib/target.js';

const BODY = Buffer.alloc(4096, 'c');

/** The signing variants: a label and the `upcall server` flags that make it. */
const SIGNING = [
  { label: 'unsigned', args: ['--unsigned-callbacks'] },
  { label: 'RSA-1024', args: ['--callback-key-bits', '1024'] },
  { label: 'RSA-2048', args: ['--callback-key-bits', '2048'] },
];

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

/**
 * The targets: at c1 a callback adds ≤ 0.5 ms p50 and ≤ 3 ms p99; at c16 an unsigned
 * callback keeps ≥ 0.7× of the rate without one (signed rows are reported, without a target: the
 * RSA signature's CPU is the key's, see findings).
 * @param {number} concurrency @param {string} signing
 * @param {{ ratio: number, addedP50: number, addedP99: number }} r
 */
function judge(concurrency, signing, r) {
  if (concurrency === 1)
    return { target: '+≤ 0.5 ms p50, +≤ 3 ms p99', met: r.addedP50 <= 0.5 && r.addedP99 <= 3 };
  if (signing === 'unsigned') return { target: '≥ 0.7', met: r.ratio >= 0.7 };
  return { target: '', met: undefined };
}

/** @param {import('../run.js').BenchContext} ctx */
export async function callback(ctx) {
  const rows = [];
  const header = callbackHeader(ctx.appOrigin);
  const variants = ctx.quick ? SIGNING.slice(0, 2) : SIGNING;
  for (const storage of ctx.storages) {
    for (const signing of variants) {
      const { server, target } = await ctx
        .startUpcall({
          name: `upcall (${signing.label}, ${storage})`,
          dataDir: join(ctx.scratch[storage], `upcall-cb-${signing.label}`),
          extraArgs: signing.args,
        })
        .catch((/** @type {Error} */ err) => {
          throw new Unavailable(
            `upcall server ${signing.args.join(' ')} did not start: ${err.message.split('\n')[0]}`,
          );
        });
      ctx.track(server);
      await ctx.createBucket(target);
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
      // A fresh server (and a quiet app server) runs its callback path cold for the first few
      // thousand uploads; a running deployment does not. Warm both paths before measuring.
      for (const nextOp of [withCallback, plain]) {
        await side(target, { label: 'warm-up', concurrency: 16, nextOp }).slice(ctx.quick ? 200 : 2000);
      }
      for (const concurrency of [1, 16]) {
        const r = await pairedAB({
          baseline: side(target, { label: 'no callback', concurrency, nextOp: plain }),
          candidate: side(target, {
            label: `callback (${signing.label})`,
            concurrency,
            nextOp: withCallback,
          }),
          pairs: ctx.pairs,
          sliceMs: ctx.sliceMs,
          metric: opsPerSec,
          unit: 'ops/s',
        });
        const addedP50 = r.b.p50 - r.a.p50;
        const addedP99 = r.b.p99 - r.a.p99;
        rows.push({
          workload: `4 KiB PUT with callback, c${concurrency}`,
          compare: `callback ${signing.label} / no callback`,
          storage,
          ratio: r.ratio,
          min: r.min,
          max: r.max,
          figures: `${r.b.value.toFixed(0)} vs ${r.a.value.toFixed(0)} ops/s; adds ${addedP50.toFixed(2)} ms p50, ${addedP99.toFixed(2)} ms p99`,
          ...judge(concurrency, signing.label, { ratio: r.ratio, addedP50, addedP99 }),
          load: describeLoad(r.load),
        });
      }
      // This variant's server is done: stop it now so it does not idle beside the next ones.
      await server.stop();
    }
  }
  return rows;
}
