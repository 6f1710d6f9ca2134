// ListObjects over a bucket prefix of 10k keys, 1000 per page: one op is a full listing (10
// requests following the marker). The ceiling has no index, so the peer is s3rver.
import { pairedAB } from '../lib/paired.js';
import { describeLoad } from '../lib/report.js';
import { pooled } from '../lib/side.js';
import { timedSlice } from '../lib/slice.js';
import { send } from '../lib/target.js';

/** @param {import('../run.js').BenchContext} ctx */
export async function list(ctx) {
  const keys = ctx.quick ? 1000 : 10_000;
  const { upcall, s3rver } = ctx.servers.tmpfs;
  for (const t of [upcall, s3rver]) if (t) await fillKeys(t, 'list/', keys);
  if (!s3rver) return [];
  const r = await pairedAB({
    baseline: listingSide(s3rver, 'list/', keys),
    candidate: listingSide(upcall, 'list/', keys),
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

/** PUTs `keys` empty objects `<prefix>000000`… to `t`, 16 at a time. */
export async function fillKeys(
  /** @type {import('../lib/target.js').Target} */ t,
  /** @type {string} */ prefix,
  /** @type {number} */ keys,
) {
  const pool = pooled(t, 16);
  const empty = Buffer.alloc(0);
  let next = 0;
  await Promise.all(
    Array.from({ length: 16 }, async () => {
      while (next < keys) {
        const i = next++;
        await send(pool, t, { method: 'PUT', key: `${prefix}${String(i).padStart(6, '0')}`, body: empty });
      }
    }),
  );
}

/**
 * A side whose op is one full listing of `prefix` (1000 keys per page, following the marker),
 * checked to hold `keys` keys.
 * @param {import('../lib/target.js').Target} t @param {string} prefix @param {number} keys
 * @returns {import('../lib/paired.js').Side}
 */
export function listingSide(t, prefix, keys) {
  return {
    label: t.name,
    pid: t.pid,
    slice(/** @type {number} */ durationMs) {
      const pool = pooled(t, 1);
      // One full listing at a time, each op every page of it.
      return timedSlice(1, durationMs, async () => {
        let marker = '';
        let seen = 0;
        for (;;) {
          const query = `prefix=${encodeURIComponent(prefix)}&max-keys=1000${marker ? `&marker=${encodeURIComponent(marker)}` : ''}`;
          const res = await send(pool, t, { method: 'GET', query });
          const text = res.text();
          const found = [...text.matchAll(/<Key>([^<]*)<\/Key>/g)].map((m) => m[1] ?? '');
          seen += found.length;
          if (!/<IsTruncated>true<\/IsTruncated>/.test(text) || found.length === 0) break;
          marker = /<NextMarker>([^<]*)<\/NextMarker>/.exec(text)?.[1] ?? found.at(-1) ?? '';
        }
        if (seen !== keys) throw new Error(`${t.name} listed ${seen} keys, expected ${keys}`);
        return 0;
      });
    },
  };
}
