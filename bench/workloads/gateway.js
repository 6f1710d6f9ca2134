// The scale-out gateway (issue 16) against its ceiling, the S3 engine itself: the same PUTs
// through `upcall server` in gateway mode (signed OSS requests → PostgreSQL + Swift s3api) and
// straight to the engine through upcall's own S3 client (s3-engine.js's `engineSide`, the client
// the gateway's blob store uses), paired in one run. Each shape runs through one gateway and through
// two (the client splits its concurrency between them, as a load balancer would), and the peak
// RSS of every gateway is recorded. Needs the services' env (`source /tmp/upcall-svc/env`); the
// gateways get a database of their own, dropped at the end, and every blob they wrote is deleted
// from the engine (bench/lib/gateway-blobs.js).
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { Pool } from 'undici';
import { pairedAB } from '../lib/paired.js';
import { recordLoad, recordRss } from '../lib/proc-sampler.js';
import { describeLoad } from '../lib/report.js';
import { pooled, Unavailable } from '../lib/side.js';
import { mibPerSec, opsPerSec, runSlice } from '../lib/slice.js';
import { send } from '../lib/target.js';
import { REPO_ROOT } from '../lib/upcall.js';
import { engineConfig, engineSide } from './s3-engine.js';
import { deleteGatewayBlobs } from '../lib/gateway-blobs.js';

/**
 * One side over several gateways: `concurrency` split evenly between them, results summed.
 * @param {import('../lib/target.js').Target[]} targets
 * @param {{ label: string, concurrency: number, nextOp: () => import('../lib/target.js').OpSpec }} load
 * @returns {import('../lib/paired.js').Side}
 */
function gatewaysSide(targets, load) {
  const per = load.concurrency / targets.length;
  const dispatchers = targets.map((t) => pooled(t, per));
  return {
    label: load.label,
    pid: targets[0].pid,
    slice: async (durationMs) => {
      const results = await Promise.all(
        targets.map((target, i) =>
          runSlice({ dispatcher: dispatchers[i], target, concurrency: per, durationMs, nextOp: load.nextOp }),
        ),
      );
      return {
        ops: results.reduce((n, r) => n + r.ops, 0),
        bytes: results.reduce((n, r) => n + r.bytes, 0),
        elapsedMs: Math.max(...results.map((r) => r.elapsedMs)),
        latenciesMs: results.flatMap((r) => r.latenciesMs),
      };
    },
  };
}

const MiB = 1024 * 1024;

/** Yields `total` bytes from one reused 1 MiB buffer (as memory.js): the client holds no more. */
function generated(/** @type {number} */ total) {
  const chunk = Buffer.alloc(MiB, 'g');
  return Readable.from(
    (function* () {
      for (let sent = 0; sent < total; sent += MiB)
        yield sent + MiB <= total ? chunk : chunk.subarray(0, total - sent);
    })(),
    { objectMode: false },
  );
}

/**
 * Peak RSS of a gateway of its own while one huge body (Content-Length, so one streamed blob)
 * goes through it to the engine: a fresh process, so its VmHWM belongs to this upload alone.
 * @param {import('../run.js').BenchContext} ctx @param {NodeJS.ProcessEnv} env
 */
async function rssPut(ctx, env) {
  const bytes = (ctx.quick ? 64 : 2048) * MiB;
  const { server, target } = await ctx.startUpcall({
    name: 'gateway (rss put)',
    env,
    extraArgs: ['--callback-key-bits', '1024'],
  });
  try {
    const rss = recordRss(server.pid);
    // Outside load: the machine's CPU beyond the bench's own process and this gateway.
    const load = recordLoad(() => [process.pid, server.pid]);
    const pool = new Pool(target.origin, { connections: 1, bodyTimeout: 900_000, headersTimeout: 900_000 });
    const t0 = performance.now();
    try {
      await send(pool, target, {
        method: 'PUT',
        key: 'gw-rss/huge',
        headers: { 'content-length': String(bytes) },
        body: /** @type {any} */ (generated(bytes)),
      });
    } finally {
      await pool.close();
    }
    const seconds = (performance.now() - t0) / 1000;
    const peak = rss.stop();
    const outside = load.stop();
    const peakMiB = Math.max(peak.peakSampledMiB, peak.hwmMiB);
    const cleanup = new Pool(target.origin, { connections: 1 });
    await send(cleanup, target, { method: 'DELETE', key: 'gw-rss/huge' }, [204]).catch(() => {});
    await cleanup.close();
    return {
      workload: `gateway: ${bytes / MiB} MiB PUT (streamed), 1 gateway`,
      compare: 'peak gateway RSS',
      storage: 'disk',
      figures: `${peakMiB.toFixed(0)} MiB peak RSS, ${(bytes / MiB / seconds).toFixed(0)} MiB/s`,
      load: describeLoad(outside),
      target: '≤ 200 MB',
      met: peakMiB * MiB <= 200e6,
      note: 'one signed PUT with Content-Length through a fresh gateway, streamed to Swift as one blob; RSS sampled from /proc',
    };
  } finally {
    await server.stop();
  }
}

/** @param {import('../run.js').BenchContext} ctx */
export async function gateway(ctx) {
  const s3 = engineConfig();
  const pgUrl = process.env.UPCALL_TEST_PG_URL;
  if (s3 === undefined || pgUrl === undefined) {
    throw new Unavailable(
      'no PostgreSQL / S3 engine configured (start scripts/services/start-services.sh, source its env)',
    );
  }
  const { register } = await import('tsx/esm/api');
  register();
  const { createS3BlobStore } = await import(join(REPO_ROOT, 'src', 'store', 'gateway', 's3-blob-store.ts'));
  // Its drop waits out an autovacuum worker, which DROP … WITH (FORCE) may not end (another role's).
  const { createTestDatabase } = await import(join(REPO_ROOT, 'test', 'helpers', 'services.ts'));
  const db = await createTestDatabase(pgUrl, 'bench_gateway');
  const env = {
    UPCALL_DATABASE_URL: db.url,
    UPCALL_S3_ENDPOINT: s3.endpoint,
    UPCALL_S3_BUCKET: s3.bucket,
    UPCALL_S3_REGION: s3.region,
    UPCALL_S3_ACCESS_KEY_ID: s3.accessKeyId,
    UPCALL_S3_SECRET_ACCESS_KEY: s3.secretAccessKey,
  };
  /** @type {import('../../src/store/gateway/blob-store.ts').BlobStore} */
  const engine = createS3BlobStore(s3);
  const prefix = `bench-gateway-${randomBytes(4).toString('hex')}/`;
  const gateways = [];
  const rows = [];
  try {
    for (const name of ['gateway A', 'gateway B']) {
      const { server, target } = await ctx.startUpcall({
        name,
        env,
        extraArgs: ['--callback-key-bits', '1024'],
      });
      gateways.push({ server: ctx.track(server), target });
    }
    await ctx.createBucket(gateways[0].target);
    const big = (ctx.quick ? 4 : 64) * 1024 * 1024;
    const shapes = [
      {
        workload: '4 KiB PUT, c16',
        body: Buffer.alloc(4096, 'u'),
        concurrency: 16,
        keys: 5000,
        metric: opsPerSec,
        unit: 'ops/s',
        target: 0.7, // issue 16
      },
      {
        workload: `${big >> 20} MiB PUT, c2`,
        body: Buffer.alloc(big, 'L'),
        concurrency: 2,
        keys: 4,
        metric: mibPerSec,
        unit: 'MiB/s',
        target: 0.8, // issue 16
      },
    ];
    for (const shape of shapes) {
      let n = 0;
      const nextOp = () => ({
        method: 'PUT',
        key: `gw/${(n++ % shape.keys).toString(36)}`,
        body: shape.body,
        headers: { 'content-type': 'application/octet-stream' },
      });
      const direct = engineSide(engine, {
        label: 'engine direct',
        concurrency: shape.concurrency,
        body: shape.body,
        prefix,
        keys: shape.keys,
      });
      for (const count of [1, 2]) {
        const targets = gateways.slice(0, count).map((g) => g.target);
        const rss = targets.map((t) => recordRss(t.pid));
        const r = await pairedAB({
          baseline: direct,
          candidate: gatewaysSide(targets, {
            label: `${count} gateway${count > 1 ? 's' : ''}`,
            concurrency: shape.concurrency,
            nextOp,
          }),
          pairs: ctx.pairs,
          sliceMs: shape.concurrency <= 2 ? ctx.sliceMs * 2 : ctx.sliceMs,
          metric: shape.metric,
          unit: shape.unit,
        });
        const peaks = rss.map((s) => s.stop());
        rows.push({
          workload: `gateway: ${shape.workload}, ${count} gateway${count > 1 ? 's' : ''}`,
          compare: `${r.candidate} / ${r.baseline}`,
          storage: 'disk',
          ratio: r.ratio,
          min: r.min,
          max: r.max,
          figures: `${r.b.value.toFixed(0)} vs ${r.a.value.toFixed(0)} ${shape.unit}; p50 ${r.b.p50.toFixed(2)} vs ${r.a.p50.toFixed(2)} ms, p99 ${r.b.p99.toFixed(2)} vs ${r.a.p99.toFixed(2)} ms; peak RSS per gateway ${peaks.map((p) => `${Math.max(p.peakSampledMiB, p.hwmMiB).toFixed(0)}`).join(', ')} MiB`,
          target: `≥ ${shape.target}`,
          met: r.ratio >= shape.target,
          load: describeLoad(r.load),
          note: 'signed OSS PUTs through upcall gateways (PostgreSQL commit + Swift blob PUT) vs the same bodies PUT straight to Swift through upcall’s S3 client',
        });
      }
    }
    rows.push(await rssPut(ctx, env));
  } finally {
    for (const g of gateways) await g.server.stop();
    await deleteGatewayBlobs({
      databaseUrl: env.UPCALL_DATABASE_URL,
      store: engine,
      prefix,
      label: 'gateway',
    });
    await engine.close();
    await db.drop();
  }
  return rows;
}
