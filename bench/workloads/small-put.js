// 4 KiB PutObject at concurrency 1 and 16: against the ceiling (what durable writes cost with
// nothing else), against s3rver (a peer), and the ceiling against itself (the noise floor).
// s3rver never fsyncs, so on disk it is compared twice: with upcall as users run it (fsync before
// every acknowledgement) and, at the same durability setting, with `--unsafe-no-fsync`.
import { join } from 'node:path';
import { pairedAB } from '../lib/paired.js';
import { describeLoad } from '../lib/report.js';
import { pooled, side } from '../lib/side.js';
import { send } from '../lib/target.js';
import { opsPerSec } from '../lib/slice.js';

const BODY = Buffer.alloc(4096, 'u');
let counter = 0;
/** Signed PUTs that overwrite 5 000 keys in turn: the bench's row since issue 7. */
const put = () => ({
  method: 'PUT',
  key: `small/${(counter++ % 5000).toString(36)}`,
  body: BODY,
  headers: { 'content-type': 'application/octet-stream' },
});

let fresh = 0;
/** PUTs of keys never written before: no blob to replace, no row to update. */
const putNew = () => ({
  method: 'PUT',
  key: `new/${(fresh++).toString(36)}`,
  body: BODY,
  headers: { 'content-type': 'application/octet-stream' },
});

/** @param {import('../run.js').BenchContext} ctx */
export async function smallPut(ctx) {
  const rows = [];
  const fig = (/** @type {import('../lib/paired.js').PairedResult} */ r) =>
    `${r.b.value.toFixed(0)} vs ${r.a.value.toFixed(0)} ops/s; p50 ${r.b.p50.toFixed(2)} vs ${r.a.p50.toFixed(2)} ms, p99 ${r.b.p99.toFixed(2)} vs ${r.a.p99.toFixed(2)} ms`;
  const compare = async (/** @type {string} */ workload, a, b, /** @type {any} */ extra) => {
    const r = await pairedAB({
      baseline: a,
      candidate: b,
      pairs: ctx.pairs,
      sliceMs: ctx.sliceMs,
      metric: opsPerSec,
      unit: 'ops/s',
    });
    rows.push({
      workload,
      compare: `${r.candidate} / ${r.baseline}`,
      ratio: r.ratio,
      min: r.min,
      max: r.max,
      figures: fig(r),
      load: describeLoad(r.load),
      ...extra,
    });
    return r;
  };

  for (const storage of ctx.storages) {
    const { ceiling, upcall, s3rver } = ctx.servers[storage];
    const c16 = (/** @type {import('../lib/target.js').Target} */ t, label = t.name) =>
      side(t, { label, concurrency: 16, nextOp: put });
    if (storage === 'tmpfs') {
      await compare('A/A control: 4 KiB PUT, c16', c16(ceiling, 'ceiling'), c16(ceiling, 'ceiling again'), {
        storage,
        note: 'the same server on both sides: how far from 1.0 the method itself strays',
      });
    }
    await compare('4 KiB PUT, c16', c16(ceiling), c16(upcall), {
      storage,
      target: '≥ 0.6',
      met: undefined,
      note: 'signed, 5 000 keys overwritten in turn: upcall checks each signature and, per overwrite, unlinks the replaced blob and updates its row; the ceiling checks nothing and its rename replaces the old file in the same call',
    });
    rows.at(-1).met = rows.at(-1).ratio >= 0.6;
    // Like for like (issue 16): what the ceiling does, and nothing more. Anonymous PUTs to a
    // public-read-write bucket (no signature to check), each to a new key (nothing to replace).
    const anonymous = await publicBucket(ctx, upcall);
    await compare(
      '4 KiB PUT, c16, new keys, anonymous',
      side(ceiling, { concurrency: 16, nextOp: putNew }),
      side(anonymous, { concurrency: 16, nextOp: putNew }),
      {
        storage,
        note: 'like for like: no signature, no object replaced; upcall still records each object in SQLite',
      },
    );
    await compare(
      '4 KiB PUT, c1',
      side(ceiling, { concurrency: 1, nextOp: put }),
      side(upcall, { concurrency: 1, nextOp: put }),
      { storage },
    );
    if (!s3rver) continue;
    if (storage === 'tmpfs') {
      // fsync is all but free on tmpfs: the same durability setting as s3rver's.
      await compare('4 KiB PUT, c16', c16(s3rver), c16(upcall), { storage, target: '≥ 2' });
      rows.at(-1).met = rows.at(-1).ratio >= 2;
      continue;
    }
    await compare('4 KiB PUT, c16', c16(s3rver), c16(upcall), {
      storage,
      note: 's3rver never fsyncs; upcall makes each blob durable (fsync, or an O_DSYNC write for a small body): not like for like, in s3rver’s favour',
    });
    const unsynced = await unsyncedUpcall(ctx, storage);
    await compare('4 KiB PUT, c16', c16(s3rver), c16(unsynced, 'upcall --unsafe-no-fsync'), {
      storage,
      target: '≥ 2',
      note: 'the same durability setting: neither fsyncs',
    });
    rows.at(-1).met = rows.at(-1).ratio >= 2;
  }
  return rows;
}

/** An upcall that does not fsync (`--unsafe-no-fsync`), with its bucket, stopped at the end. */
async function unsyncedUpcall(
  /** @type {import('../run.js').BenchContext} */ ctx,
  /** @type {import('../run.js').Storage} */ storage,
) {
  const { server, target } = await ctx.startUpcall({
    name: 'upcall --unsafe-no-fsync',
    dataDir: join(ctx.scratch[storage], 'upcall-no-fsync'),
    extraArgs: ['--unsafe-no-fsync'],
  });
  ctx.track(server);
  await ctx.createBucket(target);
  return target;
}

/** The same upcall through a public-read-write bucket, addressed without a signature. */
async function publicBucket(
  /** @type {import('../run.js').BenchContext} */ ctx,
  /** @type {import('../lib/target.js').Target} */ upcall,
) {
  const owner = { ...upcall, bucket: 'bench-public' };
  await send(
    pooled(owner, 1),
    owner,
    { method: 'PUT', headers: { 'x-oss-acl': 'public-read-write' } },
    [200, 409],
  );
  return { ...owner, name: 'upcall (anonymous)', dialect: undefined };
}
