// `npm run bench [-- --quick] [--only a,b]`: starts every server of one run side by side (upcall,
// the raw ceiling, s3rver, a callback app server), drives them with one undici client in paired
// A/B slices, and writes RESULTS.md + results.svg. A workload whose feature upcall does not have
// yet is listed as not measured, never faked; any other failure fails the run (so CI's quick
// smoke run catches a rotting harness) after writing what was measured.
import { execFileSync } from 'node:child_process';
import { mkdtemp, mkdir, readFile, rm, writeFile, access } from 'node:fs/promises';
import { constants, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { startChildServer } from './lib/child-server.js';
import { resultsMarkdown, resultsSvg } from './lib/report.js';
import { closePools, pooled, Unavailable } from './lib/side.js';
import { S3RVER_DIALECT } from './lib/sign.js';
import { send } from './lib/target.js';
import { startUpcall, upcallMissing } from './lib/upcall.js';
import { smallPut } from './workloads/small-put.js';
import { largePut } from './workloads/large-put.js';
import { smallGet } from './workloads/small-get.js';
import { list } from './workloads/list.js';
import { callback } from './workloads/callback.js';
import { callbackLog } from './workloads/callback-log.js';
import { memoryPut, memoryMultipart } from './workloads/memory.js';
import { receiver } from './workloads/receiver.js';
import { receiverApp } from './workloads/receiver-app.js';
import { s3Engine } from './workloads/s3-engine.js';
import { verifyImport } from './workloads/verify-import.js';
import { gateway } from './workloads/gateway.js';
import { gatewayRead } from './workloads/gateway-read.js';

const HERE = fileURLToPath(new URL('.', import.meta.url));

/**
 * @typedef {'tmpfs' | 'disk'} Storage
 * @typedef {{ ceiling: import('./lib/target.js').Target, upcall: import('./lib/target.js').Target,
 *   s3rver?: import('./lib/target.js').Target }} ServerSet
 * @typedef {object} BenchContext
 * @property {boolean} quick
 * @property {number} pairs
 * @property {number} sliceMs
 * @property {Storage[]} storages
 * @property {Record<Storage, ServerSet>} servers
 * @property {string} appOrigin
 * @property {import('./lib/child-server.js').ChildServer} app  the minimal app server
 * @property {Record<Storage, string>} scratch  where a workload's own servers keep data, per storage
 * @property {(s: import('./lib/child-server.js').ChildServer) => import('./lib/child-server.js').ChildServer} track  stops a workload's server at the end of the run
 * @property {string} tmpfsDir  scratch space on tmpfs for a workload's own servers
 * @property {(o: { name: string, dataDir?: string, env?: NodeJS.ProcessEnv, extraArgs?: string[] }) => ReturnType<typeof startUpcall>} startUpcall
 * @property {(t: import('./lib/target.js').Target) => Promise<void>} createBucket
 */

const WORKLOADS = {
  smallPut,
  largePut,
  smallGet,
  list,
  callback,
  callbackLog,
  memoryPut,
  memoryMultipart,
  receiver,
  receiverApp,
  s3Engine,
  verifyImport,
  gateway,
  gatewayRead,
};

const { values: args } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    only: { type: 'string' },
    out: { type: 'string' },
  },
});
const quick = args.quick ?? false;
const only = args.only?.split(',');
const outDir = args.out ?? (quick ? join(tmpdir(), 'upcall-bench-quick') : HERE);

// The peer (s3rver) is the only bench-only dependency; install it on first use so a clean clone
// needs nothing but `npm ci && npm run bench`.
if (!existsSync(join(HERE, 'node_modules', 's3rver'))) {
  execFileSync('npm', ['ci', '--no-audit', '--no-fund', '--loglevel=error'], { cwd: HERE, stdio: 'inherit' });
}

const startedAt = new Date();
/** @type {import('./lib/report.js').Row[]} */
const rows = [];
/** @type {{ workload: string, why: string }[]} */
const unavailable = [];
/** @type {Array<() => Promise<void>>} */
const cleanups = [];
let failed = false;

async function writable(/** @type {string} */ dir) {
  try {
    await access(dir, constants.W_OK);
    return true;
  } catch {
    return false;
  }
}

const tmpfsRoot = (await writable('/dev/shm')) ? '/dev/shm' : tmpdir();
const tmpfsDir = await mkdtemp(join(tmpfsRoot, 'upcall-bench-'));
const diskDir = await mkdtemp(join(tmpdir(), 'upcall-bench-disk-'));
cleanups.push(
  () => rm(tmpfsDir, { recursive: true, force: true }),
  () => rm(diskDir, { recursive: true, force: true }),
);

/** @param {import('./lib/child-server.js').ChildServer} server */
function track(server) {
  cleanups.unshift(() => server.stop());
  return server;
}

/** @param {import('./lib/target.js').Target} target */
async function createBucket(target) {
  await send(pooled(target, 1), target, { method: 'PUT' }, [200, 409]);
}

/** @param {Storage} storage @param {string} root @returns {Promise<ServerSet>} */
async function startSet(storage, root) {
  const ceiling = track(
    await startChildServer(`ceiling`, [join(HERE, 'servers', 'ceiling.js'), '--data', join(root, 'ceiling')]),
  );
  const s3 = track(
    await startChildServer(
      's3rver',
      [join(HERE, 'servers', 's3rver.js'), '--data', join(root, 's3rver'), '--bucket', 'bench-s3rver'],
      {
        env: { NODE_OPTIONS: '--openssl-legacy-provider' },
      },
    ),
  );
  const { server, target } = await startUpcall({
    name: 'upcall',
    dataDir: join(root, 'upcall'),
    bucket: 'bench',
  });
  track(server);
  await createBucket(target);
  return {
    ceiling: {
      name: 'ceiling',
      origin: ceiling.origin,
      bucket: 'ceiling',
      pid: ceiling.pid,
      dialect: undefined,
    },
    s3rver: {
      name: 's3rver',
      origin: s3.origin,
      bucket: 'bench-s3rver',
      pid: s3.pid,
      dialect: S3RVER_DIALECT,
    },
    upcall: target,
  };
}

try {
  const missing = upcallMissing();
  if (missing) throw new Unavailable(`upcall cannot start: ${missing}`);
  const storages = /** @type {Storage[]} */ (quick ? ['tmpfs'] : ['tmpfs', 'disk']);
  const servers = /** @type {Record<Storage, ServerSet>} */ ({});
  for (const storage of storages)
    servers[storage] = await startSet(storage, storage === 'tmpfs' ? tmpfsDir : diskDir);
  const app = track(await startChildServer('app', [join(HERE, 'servers', 'app.js')]));

  /** @type {BenchContext} */
  const ctx = {
    quick,
    pairs: quick ? 2 : 10,
    sliceMs: quick ? 150 : 1000,
    storages,
    servers,
    appOrigin: app.origin,
    app,
    tmpfsDir,
    track,
    scratch: { tmpfs: tmpfsDir, disk: diskDir },
    startUpcall: (o) => startUpcall({ ...o, bucket: 'bench' }),
    createBucket,
  };

  for (const [name, workload] of Object.entries(WORKLOADS)) {
    if (only && !only.includes(name)) continue;
    const t0 = performance.now();
    process.stdout.write(`bench: ${name} … `);
    try {
      const got = await workload(ctx);
      rows.push(...got);
      process.stdout.write(`${((performance.now() - t0) / 1000).toFixed(1)} s\n`);
      for (const r of got) {
        const ratio =
          r.ratio === undefined ? '' : ` ${r.ratio.toFixed(2)} [${r.min?.toFixed(2)}..${r.max?.toFixed(2)}]`;
        console.log(
          `  ${r.workload} | ${r.compare} | ${r.storage}:${ratio} ${r.figures ?? ''}${r.met === false ? '  (target missed)' : ''}`,
        );
      }
    } catch (err) {
      if (!(err instanceof Unavailable)) throw err;
      process.stdout.write(`not measured: ${err.message}\n`);
      unavailable.push({ workload: name, why: err.message });
    }
  }
} catch (err) {
  if (err instanceof Unavailable) {
    console.log(`bench: ${err.message}`);
    unavailable.push({ workload: 'all upcall workloads', why: err.message });
  } else {
    failed = true;
    console.error('bench failed:', err);
  }
} finally {
  await closePools();
  for (const cleanup of cleanups) await cleanup().catch((e) => console.error('cleanup:', e));
}

const previous = await readFile(join(HERE, 'RESULTS.md'), 'utf8').catch(() => '');
// Profiling findings are written by hand in findings.md and carried into every report.
const findings = await readFile(join(HERE, 'findings.md'), 'utf8').catch(() => '');
await mkdir(outDir, { recursive: true });
await writeFile(
  join(outDir, 'RESULTS.md'),
  resultsMarkdown({
    rows,
    unavailable,
    quick,
    startedAt,
    durationS: (Date.now() - startedAt.getTime()) / 1000,
    method: [
      `Paired A/B: both servers run at once (child processes) and one undici client alternates the same load between them in slices of ${quick ? 150 : 1000} ms, ${quick ? 2 : 10} pairs in ABBA order; each pair gives one ratio candidate/baseline and the table shows the median with min..max. The A/A row runs the ceiling against itself: the noise floor of the method.`,
      `"tmpfs" rows keep every data dir in /dev/shm (CPU cost, fsync nearly free); "disk" rows use ${tmpdir()} (durability cost). The ceiling is a raw node:http server that streams the body to a temp file with MD5, fsyncs and renames; s3rver 3.7 is the peer (it does not fsync). Requests are path-style and signed (OSS V1 for upcall, AWS V2 for s3rver; the ceiling takes none), except in the rows marked anonymous, which PUT unsigned to a public-read-write bucket. Small PUTs overwrite 5 000 keys in turn (upcall unlinks each replaced blob and updates its row; the ceiling's rename replaces the old file in the same call), except in the rows marked new keys. Gateway rows: upcall servers in gateway mode (metadata in PostgreSQL, blobs in the services' Swift s3api) against upcall's own S3 client doing the same straight to the same Swift; with 2 gateways, PUT rows split the client's concurrency between them and GET rows send each request to the next one in turn. Outside CPU load is machine CPU busy outside the benchmark's processes, sampled from /proc every 250 ms.`,
    ].join('\n\n'),
    changes: changesSince(previous, rows),
  }) + (findings ? `\n${findings}` : ''),
);
await writeFile(join(outDir, 'results.svg'), resultsSvg(rows));
console.log(`bench: wrote ${join(outDir, 'RESULTS.md')}`);
process.exit(failed ? 1 : 0);

/**
 * Compares this run's ratios with the committed RESULTS.md, row by row.
 * @param {string} previousMarkdown @param {import('./lib/report.js').Row[]} current
 */
function changesSince(previousMarkdown, current) {
  /** @type {Map<string, string>} */
  const before = new Map();
  for (const line of previousMarkdown.split('\n')) {
    const cells = line.split('|').map((c) => c.trim());
    if (cells.length < 6 || !cells[4]?.startsWith('**')) continue;
    before.set(`${cells[1]}|${cells[2]}|${cells[3]}`, cells[4].replace(/\*/g, ''));
  }
  if (before.size === 0) return ['First recorded run.'];
  const out = [];
  for (const r of current) {
    const old = before.get(`${r.workload}|${r.compare}|${r.storage}`);
    if (r.ratio !== undefined && old !== undefined)
      out.push(`${r.workload} (${r.compare}, ${r.storage}): ${old} → ${r.ratio.toFixed(2)}`);
  }
  return out.length > 0 ? out : ['No row in common with the previous run.'];
}
