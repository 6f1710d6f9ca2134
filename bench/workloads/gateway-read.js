// Reads through upcall in gateway mode (issue 16), beside gateway.js's PUT rows: 4 KiB GETs through
// 1 gateway and through 2 gateways the bench's client addresses in turn, paired against upcall's own
// S3 client reading the same bodies straight from the engine (Swift s3api from
// scripts/services/start-services.sh); and a full LIST of 10 000 keys through a gateway, paired
// against the fs backend (the engine has no index of upcall's keys). Needs the services' env
// (`source /tmp/upcall-svc/env`); without it the workload is reported as not measured. Each run
// gets its own database (dropped at the end), and every blob its gateways wrote is deleted from
// the engine afterwards.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { randomBytes } from 'node:crypto';
import { REPO_ROOT } from '../lib/upcall.js';
import { pairedAB } from '../lib/paired.js';
import { describeLoad } from '../lib/report.js';
import { pooled, Unavailable } from '../lib/side.js';
import { opsPerSec, timedSlice } from '../lib/slice.js';
import { send } from '../lib/target.js';
import { engineConfig } from './s3-engine.js';
import { fillKeys, listingSide } from './list.js';
import { deleteGatewayBlobs } from '../lib/gateway-blobs.js';

/**
 * A side that spreads `concurrency` workers' requests over `targets` in turn (the bench's client
 * as the load balancer), each target through its own keep-alive pool.
 * @param {import('../lib/target.js').Target[]} targets
 * @param {{ label: string, concurrency: number, nextOp: () => import('../lib/target.js').OpSpec, bodyBytes: number }} load
 * @returns {import('../lib/paired.js').Side}
 */
function roundRobinSide(targets, load) {
  let turn = 0;
  return {
    label: load.label,
    // The first gateway's pid; with two, the second one's CPU counts as outside load.
    pid: /** @type {import('../lib/target.js').Target} */ (targets[0]).pid,
    slice: (durationMs) =>
      timedSlice(load.concurrency, durationMs, async () => {
        const t = /** @type {import('../lib/target.js').Target} */ (targets[turn++ % targets.length]);
        const res = await send(pooled(t, load.concurrency), t, load.nextOp());
        return res.bytes + load.bodyBytes;
      }),
  };
}

/**
 * GETs `keys` blobs `<prefix>0`… straight from the engine through the blob store, reading each
 * body to its end.
 * @param {import('../../src/store/gateway/blob-store.ts').BlobStore} store
 * @param {{ label: string, concurrency: number, prefix: string, keys: number }} load
 * @returns {import('../lib/paired.js').Side}
 */
function engineGetSide(store, load) {
  let n = 0;
  return {
    label: load.label,
    pid: process.pid,
    slice: (durationMs) =>
      timedSlice(load.concurrency, durationMs, async () => {
        let bytes = 0;
        const body = await store.get(`${load.prefix}${n++ % load.keys}`);
        for await (const chunk of body) bytes += chunk.length;
        return bytes;
      }),
  };
}

/** @param {import('../run.js').BenchContext} ctx */
export async function gatewayRead(ctx) {
  const config = engineConfig();
  const pgUrl = process.env.UPCALL_TEST_PG_URL;
  if (config === undefined || pgUrl === undefined) {
    throw new Unavailable(
      'no PostgreSQL + S3 engine configured (start scripts/services/start-services.sh, source its env)',
    );
  }
  if (!existsSync(join(REPO_ROOT, 'src', 'cli', 'gateway-options.ts'))) {
    throw new Unavailable('this upcall has no gateway mode (`upcall server --database-url …`) yet');
  }
  const { register } = await import('tsx/esm/api');
  register();
  const { createS3BlobStore } = await import(join(REPO_ROOT, 'src', 'store', 'gateway', 's3-blob-store.ts'));
  const { createTestDatabase } = await import(join(REPO_ROOT, 'test', 'helpers', 'services.ts'));
  /** @type {import('../../src/store/gateway/blob-store.ts').BlobStore} */
  const store = createS3BlobStore(config);
  const db = await createTestDatabase(pgUrl, 'bench_gateway');
  const prefix = `bench-gateway-${randomBytes(4).toString('hex')}/`;
  const env = {
    UPCALL_DATABASE_URL: db.url,
    UPCALL_S3_ENDPOINT: config.endpoint,
    UPCALL_S3_BUCKET: config.bucket,
    UPCALL_S3_REGION: config.region,
    UPCALL_S3_ACCESS_KEY_ID: config.accessKeyId,
    UPCALL_S3_SECRET_ACCESS_KEY: config.secretAccessKey,
  };
  /** @type {import('../lib/child-server.js').ChildServer[]} */
  const started = [];
  const startGateway = async (/** @type {number} */ i) => {
    const { server, target } = await ctx.startUpcall({ name: `gateway ${i}`, env });
    started.push(server);
    return target;
  };
  const rows = [];
  try {
    const gw = [await startGateway(1), await startGateway(2)];
    await ctx.createBucket(/** @type {any} */ (gw[0]));
    const one = [gw[0]];
    const both = gw;

    /** @param {string} workload @param {import('../lib/paired.js').Side} a @param {import('../lib/paired.js').Side} b */
    const compare = async (
      workload,
      a,
      b,
      /** @type {{ unit: string, metric: any, target: number, sliceMs?: number }} */ how,
    ) => {
      const r = await pairedAB({
        baseline: a,
        candidate: b,
        pairs: ctx.pairs,
        sliceMs: how.sliceMs ?? ctx.sliceMs,
        metric: how.metric,
        unit: how.unit,
      });
      rows.push({
        workload,
        compare: `${r.candidate} / ${r.baseline}`,
        storage: 'disk',
        ratio: r.ratio,
        min: r.min,
        max: r.max,
        figures: `${r.b.value.toFixed(0)} vs ${r.a.value.toFixed(0)} ${how.unit}; p50 ${r.b.p50.toFixed(2)} vs ${r.a.p50.toFixed(2)} ms, p99 ${r.b.p99.toFixed(2)} vs ${r.a.p99.toFixed(2)} ms`,
        target: `≥ ${how.target}`,
        met: r.ratio >= how.target,
        load: describeLoad(r.load),
      });
    };

    const small = Buffer.alloc(4096, 'g');
    // GET: the same 1000 4 KiB objects through the gateway and as blobs straight from the engine.
    const getKeys = ctx.quick ? 200 : 1000;
    await Promise.all(
      Array.from({ length: 16 }, async (_, w) => {
        for (let i = w; i < getKeys; i += 16) {
          await send(pooled(gw[0], 16), gw[0], { method: 'PUT', key: `get/${i}`, body: small });
          await store.put(`${prefix}get/${i}`, Readable.from([small]), small.length);
        }
      }),
    );
    let g = 0;
    const smallGet = () => ({ method: 'GET', key: `get/${g++ % getKeys}` });
    for (const targets of [one, both]) {
      await compare(
        `gateway: 4 KiB GET, c16`,
        engineGetSide(store, {
          label: 'S3 engine direct',
          concurrency: 16,
          prefix: `${prefix}get/`,
          keys: getKeys,
        }),
        roundRobinSide(targets, {
          label: `${targets.length} gateway${targets.length > 1 ? 's' : ''}`,
          concurrency: 16,
          nextOp: smallGet,
          bodyBytes: 0,
        }),
        { unit: 'ops/s', metric: opsPerSec, target: 0.7 },
      );
    }

    // LIST: a full listing of 10 000 keys, one gateway against the fs backend (tmpfs).
    const listKeys = ctx.quick ? 1000 : 10_000;
    const fs = ctx.servers.tmpfs.upcall;
    await fillKeys(gw[0], 'gwlist/', listKeys);
    await fillKeys(fs, 'gwlist/', listKeys);
    const gwList = listingSide(gw[0], 'gwlist/', listKeys);
    const fsList = listingSide(fs, 'gwlist/', listKeys);
    await compare(
      `gateway: LIST ${listKeys} keys (1000 per page)`,
      { ...fsList, label: 'fs backend (tmpfs)' },
      { ...gwList, label: '1 gateway' },
      { unit: 'listings/s', metric: (/** @type {any} */ x) => (1000 * x.ops) / x.elapsedMs, target: 0.5 },
    );
  } finally {
    for (const s of started) await s.stop();
    await deleteGatewayBlobs({ databaseUrl: db.url, store, prefix, label: 'gatewayRead' });
    await store.close();
    await db.drop();
  }
  return rows;
}
