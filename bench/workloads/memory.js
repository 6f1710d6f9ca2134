// Peak server RSS while one huge object streams in: a 2 GiB PutObject and a 1 GiB multipart
// upload (8 MiB parts, 4 in flight), each on a freshly started upcall so the kernel's high-water
// mark (VmHWM) belongs to that upload alone. Data goes to disk (the temp dir), not tmpfs.
import { Readable } from 'node:stream';
import { mkdtemp, rm, statfs } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Pool } from 'undici';
import { recordRss } from '../lib/proc-sampler.js';
import { send } from '../lib/target.js';
import { Unavailable } from '../lib/side.js';

const MiB = 1024 * 1024;

/** Yields `total` bytes from one reused 1 MiB buffer: the client holds no more than that. */
function generated(/** @type {number} */ total) {
  const chunk = Buffer.alloc(MiB, 'm');
  return Readable.from(
    (function* () {
      for (let sent = 0; sent < total; sent += MiB)
        yield sent + MiB <= total ? chunk : chunk.subarray(0, total - sent);
    })(),
    { objectMode: false },
  );
}

/**
 * Runs `body` against a fresh upcall whose data dir is on disk, after checking free space.
 * @param {import('../run.js').BenchContext} ctx @param {string} name @param {number} bytes
 * @param {(s: { server: import('../lib/child-server.js').ChildServer, target: import('../lib/target.js').Target }) => Promise<object>} body
 */
async function onFreshUpcall(ctx, name, bytes, body) {
  const dir = await mkdtemp(join(tmpdir(), 'upcall-bench-rss-'));
  try {
    const fs = await statfs(dir);
    if (fs.bavail * fs.bsize < bytes + 2048 * MiB) {
      throw new Unavailable(`needs ${(bytes / 2 ** 30 + 2).toFixed(0)} GiB free disk in ${tmpdir()}`);
    }
    const started = await ctx.startUpcall({ name, dataDir: join(dir, 'data') });
    try {
      await ctx.createBucket(started.target);
      return [await body(started)];
    } finally {
      await started.server.stop();
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** @param {import('../run.js').BenchContext} ctx */
export async function memoryPut(ctx) {
  const putBytes = ctx.quick ? 64 * MiB : 2048 * MiB;
  return onFreshUpcall(ctx, 'upcall (rss put)', putBytes, async ({ server, target }) => {
    const rss = recordRss(server.pid);
    const pool = new Pool(target.origin, { connections: 1, bodyTimeout: 600_000, headersTimeout: 600_000 });
    const t0 = performance.now();
    await send(pool, target, {
      method: 'PUT',
      key: 'huge',
      headers: { 'content-length': String(putBytes) },
      body: /** @type {any} */ (generated(putBytes)),
    });
    const seconds = (performance.now() - t0) / 1000;
    await pool.close();
    const peak = rss.stop();
    return {
      workload: `${putBytes / MiB} MiB PUT (streamed)`,
      compare: 'peak server RSS',
      storage: 'disk',
      figures: `${peak.hwmMiB.toFixed(0)} MiB peak RSS, ${(putBytes / MiB / seconds).toFixed(0)} MiB/s`,
      target: '≤ 200 MB',
      met: peak.hwmMiB * MiB <= 200e6,
    };
  });
}

/** @param {import('../run.js').BenchContext} ctx */
export async function memoryMultipart(ctx) {
  const multipartBytes = ctx.quick ? 32 * MiB : 1024 * MiB;
  return onFreshUpcall(ctx, 'upcall (rss multipart)', multipartBytes, async ({ server, target }) => {
    const pool = new Pool(target.origin, { connections: 4, bodyTimeout: 600_000, headersTimeout: 600_000 });
    try {
      const init = await send(
        pool,
        target,
        { method: 'POST', key: 'huge-mp', subresource: 'uploads' },
        [200, 501, 405],
      );
      if (init.status !== 200) throw new Unavailable('InitiateMultipartUpload is not implemented yet');
      const uploadId = /<UploadId>([^<]+)<\/UploadId>/.exec(init.text())?.[1] ?? '';
      const rss = recordRss(server.pid);
      const partSize = 8 * MiB;
      const part = Buffer.alloc(partSize, 'p');
      const parts = Math.ceil(multipartBytes / partSize);
      /** @type {string[]} */
      const etags = [];
      let next = 1;
      const t0 = performance.now();
      await Promise.all(
        Array.from({ length: 4 }, async () => {
          while (next <= parts) {
            const n = next++;
            const res = await send(pool, target, {
              method: 'PUT',
              key: 'huge-mp',
              subresource: `partNumber=${n}&uploadId=${uploadId}`,
              body: part,
            });
            etags[n - 1] = String(res.headers.etag);
          }
        }),
      );
      const xml = `<CompleteMultipartUpload>${etags
        .map((e, i) => `<Part><PartNumber>${i + 1}</PartNumber><ETag>${e}</ETag></Part>`)
        .join('')}</CompleteMultipartUpload>`;
      await send(pool, target, {
        method: 'POST',
        key: 'huge-mp',
        subresource: `uploadId=${uploadId}`,
        body: Buffer.from(xml),
      });
      const seconds = (performance.now() - t0) / 1000;
      const peak = rss.stop();
      return {
        workload: `${(parts * partSize) / MiB} MiB multipart (8 MiB parts, 4 in flight)`,
        compare: 'peak server RSS',
        storage: 'disk',
        figures: `${peak.hwmMiB.toFixed(0)} MiB peak RSS, ${((parts * partSize) / MiB / seconds).toFixed(0)} MiB/s`,
        target: '≤ 200 MB',
        met: peak.hwmMiB * MiB <= 200e6,
      };
    } finally {
      await pool.close();
    }
  });
}
