// The S3 engine as the ceiling of the scale-out gateway (issue 16): PutObject straight to the engine
// (Swift s3api from scripts/services/start-services.sh) through upcall's own S3 client, the one
// the gateway's blob store uses, so a gateway row (ali-oss → upcall server → engine) can be paired
// against `engineSide` under the same load. Until the gateway lands, each shape runs A/A against
// itself: the engine's absolute figures and the noise of the method on it. Needs the services' env
// (`source /tmp/upcall-svc/env`); without it the workload is reported as not measured.
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { randomBytes } from 'node:crypto';
import { REPO_ROOT } from '../lib/upcall.js';
import { pairedAB } from '../lib/paired.js';
import { describeLoad } from '../lib/report.js';
import { Unavailable } from '../lib/side.js';
import { mibPerSec, opsPerSec, timedSlice } from '../lib/slice.js';

/** The engine from the services' env (the Swift the tests use), or undefined. */
export function engineConfig(env = process.env) {
  if (env.UPCALL_TEST_S3_ENDPOINT === undefined) return undefined;
  return {
    endpoint: env.UPCALL_TEST_S3_ENDPOINT,
    bucket: env.UPCALL_TEST_S3_BUCKET ?? 'upcall-test',
    region: env.UPCALL_TEST_S3_REGION ?? 'us-east-1',
    accessKeyId: env.UPCALL_TEST_S3_ACCESS_KEY ?? '',
    secretAccessKey: env.UPCALL_TEST_S3_SECRET_KEY ?? '',
    pathStyle: env.UPCALL_TEST_S3_FORCE_PATH_STYLE !== '0',
  };
}

/**
 * A paired-A/B side that PUTs `body` to the engine through the blob store, `concurrency` at a
 * time, under `prefix` (keys reused round-robin, `keys` of them, so the engine's data stays small).
 * @param {import('../../src/store/gateway/blob-store.ts').BlobStore} store
 * @param {{ label: string, concurrency: number, body: Buffer, prefix: string, keys: number }} load
 * @returns {import('../lib/paired.js').Side}
 */
export function engineSide(store, load) {
  let n = 0;
  return {
    label: load.label,
    // The engine runs as many processes outside the benchmark; its CPU counts as outside load.
    pid: process.pid,
    slice: (durationMs) =>
      timedSlice(load.concurrency, durationMs, async () => {
        await store.put(`${load.prefix}${n++ % load.keys}`, Readable.from([load.body]), load.body.length);
        return load.body.length;
      }),
  };
}

/** @param {import('../run.js').BenchContext} ctx */
export async function s3Engine(ctx) {
  const config = engineConfig();
  if (config === undefined) {
    throw new Unavailable(
      'no S3 engine configured (start scripts/services/start-services.sh, source its env)',
    );
  }
  const { register } = await import('tsx/esm/api');
  register();
  const { createS3BlobStore } = await import(join(REPO_ROOT, 'src', 'store', 'gateway', 's3-blob-store.ts'));
  /** @type {import('../../src/store/gateway/blob-store.ts').BlobStore} */
  const store = createS3BlobStore(config);
  const prefix = `bench-engine-${randomBytes(4).toString('hex')}/`;
  const rows = [];
  const shapes = [
    {
      workload: '4 KiB PUT, c16',
      body: Buffer.alloc(4096, 'u'),
      concurrency: 16,
      keys: 5000,
      metric: opsPerSec,
      unit: 'ops/s',
    },
    {
      workload: `${ctx.quick ? 4 : 64} MiB PUT, c1`,
      body: Buffer.alloc((ctx.quick ? 4 : 64) * 1024 * 1024, 'L'),
      concurrency: 1,
      keys: 4,
      metric: mibPerSec,
      unit: 'MiB/s',
    },
  ];
  try {
    for (const shape of shapes) {
      const load = { concurrency: shape.concurrency, body: shape.body, prefix, keys: shape.keys };
      const r = await pairedAB({
        baseline: engineSide(store, { ...load, label: 'engine' }),
        candidate: engineSide(store, { ...load, label: 'engine again' }),
        pairs: ctx.pairs,
        sliceMs: shape.concurrency === 1 ? ctx.sliceMs * 2 : ctx.sliceMs,
        metric: shape.metric,
        unit: shape.unit,
      });
      rows.push({
        workload: `S3 engine direct: ${shape.workload}`,
        compare: 'A/A: engine / engine',
        storage: 'disk',
        ratio: r.ratio,
        min: r.min,
        max: r.max,
        figures: `${r.b.value.toFixed(0)} vs ${r.a.value.toFixed(0)} ${shape.unit}; p50 ${r.b.p50.toFixed(2)} vs ${r.a.p50.toFixed(2)} ms, p99 ${r.b.p99.toFixed(2)} vs ${r.a.p99.toFixed(2)} ms`,
        load: describeLoad(r.load),
        note: `Swift s3api (${config.endpoint}) through upcall's S3 client: the ceiling a gateway row pairs against`,
      });
    }
  } finally {
    const keys = [];
    for await (const entry of store.list(prefix)) keys.push(entry.key);
    await store.delete(keys);
    await store.close();
  }
  return rows;
}
