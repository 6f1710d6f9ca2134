// What an app server pays to take the verifier alone (issue 19): `import 'upcall-verify'` in an
// empty project, paired against bare node. Each sample is a fresh `node` process; in each pair one
// only starts (an empty module) and one imports the package, in ABBA order, and the row shows the
// median of the per-pair differences in wall time (spawn to exit; what the target is about), in
// CPU time (user + system, reported by the process itself: steadier than wall time when other
// work shares the cores) and in peak resident memory (VmHWM, also reported by the process). The
// package is copied as npm installs it (package.json + dist/) into node_modules of a temp project,
// so nothing of the repository is on its path.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { cp, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { REPO_ROOT } from '../lib/upcall.js';
import { Unavailable } from '../lib/side.js';
import { median, range } from '../lib/stats.js';

const PACKAGE = join(REPO_ROOT, 'packages', 'verify');
/** Issue 19's targets: what the import may add to bare node's start, in wall time and peak RSS. */
const TARGET_MS = 30;
const TARGET_BYTES = 10e6;

// Both scripts end the same way: report the process's peak RSS, then exit.
const REPORT = `
import { readFileSync } from 'node:fs';
const hwm = Number(/^VmHWM:\\s+(\\d+)/m.exec(readFileSync('/proc/self/status', 'utf8'))?.[1] ?? NaN);
const cpu = process.cpuUsage();
process.stdout.write(JSON.stringify({ hwm: hwm * 1024, cpuMs: (cpu.user + cpu.system) / 1000 }));
`;

/** @param {import('../run.js').BenchContext} ctx */
export async function verifyImport(ctx) {
  if (!existsSync(join(PACKAGE, 'dist', 'index.js'))) {
    throw new Unavailable('packages/verify/dist is not built (npm run build)');
  }
  if (!existsSync('/proc/self/status')) throw new Unavailable('needs /proc for peak RSS');
  const project = await mkdtemp(join(ctx.tmpfsDir, 'verify-import-'));
  try {
    const installed = join(project, 'node_modules', 'upcall-verify');
    await mkdir(installed, { recursive: true });
    await cp(join(PACKAGE, 'package.json'), join(installed, 'package.json'));
    await cp(join(PACKAGE, 'dist'), join(installed, 'dist'), { recursive: true });
    await writeFile(join(project, 'package.json'), '{ "private": true, "type": "module" }\n');
    await writeFile(join(project, 'bare.mjs'), REPORT);
    await writeFile(
      join(project, 'import.mjs'),
      `import { verifyOssCallback } from 'upcall-verify';\nif (typeof verifyOssCallback !== 'function') process.exit(1);\n${REPORT}`,
    );

    // 40 pairs: one process start varies by tens of ms on this shared machine, and the median of
    // the per-pair differences needs that many to settle within a few ms of the quiet figure.
    const pairs = ctx.quick ? 4 : 40;
    await sample(project, 'bare.mjs'); // warm the page cache for both
    await sample(project, 'import.mjs');
    const bare = [];
    const imported = [];
    for (let i = 0; i < pairs; i++) {
      const first = i % 2 === 0;
      const a = await sample(project, first ? 'bare.mjs' : 'import.mjs');
      const b = await sample(project, first ? 'import.mjs' : 'bare.mjs');
      bare.push(first ? a : b);
      imported.push(first ? b : a);
    }
    const ms = imported.map((s, i) => s.ms - /** @type {{ ms: number }} */ (bare[i]).ms);
    const cpuMs = imported.map((s, i) => s.cpuMs - /** @type {{ cpuMs: number }} */ (bare[i]).cpuMs);
    const mib = imported.map((s, i) => (s.hwm - /** @type {{ hwm: number }} */ (bare[i]).hwm) / 2 ** 20);
    const msRange = range(ms);
    const mibRange = range(mib);
    const extraMs = median(ms);
    const extraMiB = median(mib);
    // Each target judged on its own, so the row says which one a miss is about.
    const timeMet = extraMs <= TARGET_MS;
    const rssMet = extraMiB * 2 ** 20 <= TARGET_BYTES;
    const verdict = (/** @type {boolean} */ met) => (met ? 'met' : 'NOT met');
    return [
      {
        workload: 'import upcall-verify in an empty project',
        compare: 'over bare node (process start to exit)',
        storage: 'memory',
        figures: `time +${extraMs.toFixed(1)} ms (${msRange.min.toFixed(1)}..${msRange.max.toFixed(1)}; target ≤ ${TARGET_MS} ms: ${verdict(timeMet)}), CPU +${median(cpuMs).toFixed(1)} ms; peak RSS +${extraMiB.toFixed(1)} MiB (${mibRange.min.toFixed(1)}..${mibRange.max.toFixed(1)}; target ≤ 10 MB: ${verdict(rssMet)}); bare node ${median(bare.map((s) => s.ms)).toFixed(0)} ms (CPU ${median(bare.map((s) => s.cpuMs)).toFixed(0)} ms), ${(median(bare.map((s) => s.hwm)) / 2 ** 20).toFixed(1)} MiB; median of ${pairs} pairs`,
        target: `≤ ${TARGET_MS} ms, ≤ 10 MB`,
        met: timeMet && rssMet,
        load: `load ${loadavg()[0]?.toFixed(1) ?? '?'} on ${cpus().length} cores`,
      },
    ];
  } finally {
    await rm(project, { recursive: true, force: true });
  }
}

/** One fresh node process running `script`: wall time from spawn to exit, and its peak RSS. */
async function sample(cwd, script) {
  const t0 = performance.now();
  const child = spawn(process.execPath, [script], { cwd, stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.on('data', (chunk) => (out += chunk));
  const [code] = await once(child, 'close');
  const ms = performance.now() - t0;
  if (code !== 0) throw new Error(`node ${script} exited ${code}`);
  const { hwm, cpuMs } = /** @type {{ hwm: number, cpuMs: number }} */ (JSON.parse(out));
  return { ms, hwm, cpuMs };
}
