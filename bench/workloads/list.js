// ListObjects over a bucket prefix of 10k keys, 1000 per page: one op is a full listing (10
// requests following the marker). The ceiling has no index, so the peer is s3rver.
import { pairedAB } from '../lib/paired.js';
import { describeLoad } from '../lib/report.js';
import { pooled } from '../lib/side.js';
import { send } from '../lib/target.js';

/** @param {import('../run.js').BenchContext} ctx */
export async function list(ctx) {
  const keys = ctx.quick ? 1000 : 10_000;
  const { upcall, s3rver } = ctx.servers.tmpfs;
  const empty = Buffer.alloc(0);
  for (const t of [upcall, s3rver]) {
    if (!t) continue;
    const pool = pooled(t, 16);
    let next = 0;
    await Promise.all(
      Array.from({ length: 16 }, async () => {
        while (next < keys) {
          const i = next++;
          await send(pool, t, { method: 'PUT', key: `list/${String(i).padStart(6, '0')}`, body: empty });
        }
      }),
    );
  }
  /** @param {import('../lib/target.js').Target} t */
  const listing = (t) => ({
    label: t.name,
    pid: t.pid,
    async slice(/** @type {number} */ durationMs) {
      const pool = pooled(t, 1);
      const latenciesMs = [];
      const t0 = performance.now();
      let ops = 0;
      do {
        const s = performance.now();
        let marker = '';
        let seen = 0;
        for (;;) {
          const query = `prefix=list%2F&max-keys=1000${marker ? `&marker=${encodeURIComponent(marker)}` : ''}`;
          const res = await send(pool, t, { method: 'GET', query });
          const text = res.text();
          const found = [...text.matchAll(/<Key>([^<]*)<\/Key>/g)].map((m) => m[1] ?? '');
          seen += found.length;
          if (!/<IsTruncated>true<\/IsTruncated>/.test(text) || found.length === 0) break;
          marker = /<NextMarker>([^<]*)<\/NextMarker>/.exec(text)?.[1] ?? found.at(-1) ?? '';
        }
        if (seen !== keys) throw new Error(`${t.name} listed ${seen} keys, expected ${keys}`);
        latenciesMs.push(performance.now() - s);
        ops += 1;
      } while (performance.now() - t0 < durationMs);
      return { ops, bytes: 0, elapsedMs: performance.now() - t0, latenciesMs };
    },
  });
  if (!s3rver) return [];
  const r = await pairedAB({
    baseline: listing(s3rver),
    candidate: listing(upcall),
    pairs: ctx.pairs,
    sliceMs: ctx.sliceMs,
    metric: (x) => (1000 * x.ops) / x.elapsedMs,
    unit: 'listings/s',
  });
  return [
    {
      workload: `LIST ${keys} keys (1000 per page)`,
      compare: 'upcall / s3rver',
      storage: 'tmpfs',
      ratio: r.ratio,
      min: r.min,
      max: r.max,
      figures: `${r.b.p50.toFixed(1)} vs ${r.a.p50.toFixed(1)} ms per full listing (p50)`,
      load: describeLoad(r.load),
    },
  ];
}
