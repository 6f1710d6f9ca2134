/**
 * A multipart upload survives a server restart between its parts and its Complete (the embedded
 * fs store keeps parts on disk): nothing committed is lost, and the object assembled after the
 * restart is exactly the parts uploaded before it. Aborting after a restart cleans up the parts.
 */
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServer, type UpcallServer } from '../../../src/server/create-server.ts';
import { ACCESS_KEY_ID, ACCESS_KEY_SECRET, type OssTestClient } from '../../helpers/multipart-test-bed.ts';

type OssConstructor = new (options: Record<string, unknown>) => OssTestClient;
const OSS = createRequire(import.meta.url)('ali-oss') as OssConstructor;
const BUCKET = 'restart-bucket';

let dataDir: string;

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'upcall-multipart-restart-'));
});

afterAll(async () => {
  await rm(dataDir, { recursive: true, force: true });
});

async function start(): Promise<{ server: UpcallServer; client: OssTestClient }> {
  const server = await createServer({
    storage: { kind: 'fs', dataDir },
    credentials: { [ACCESS_KEY_ID]: ACCESS_KEY_SECRET },
    bucketsToCreate: [BUCKET],
    logger: pino({ level: 'silent' }),
  });
  const client = new OSS({
    endpoint: server.url,
    bucket: BUCKET,
    region: 'oss-cn-hangzhou',
    accessKeyId: ACCESS_KEY_ID,
    accessKeySecret: ACCESS_KEY_SECRET,
  });
  return { server, client };
}

/** Blob files the fs store keeps under `blobs/` (parts and objects alike). */
async function blobFiles(dir: string): Promise<number> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries.filter((e) => e.isFile() && /[/\\]blobs[/\\]/.test(join(e.parentPath, e.name))).length;
}

describe('multipart upload across a restart', () => {
  it('completes with the parts uploaded before the restart', async () => {
    const partA = Buffer.alloc(100 * 1024, 0x41);
    const partB = Buffer.from('the last part');
    const first = await start();
    const { uploadId } = await first.client.initMultipartUpload('restart/object.bin', {
      mime: 'text/x-restart',
    });
    const file = join(dataDir, '..', `${uploadId}.parts`);
    await writeFile(file, Buffer.concat([partA, partB]));
    const a = await first.client.uploadPart('restart/object.bin', uploadId, 1, file, 0, partA.length);
    const b = await first.client.uploadPart(
      'restart/object.bin',
      uploadId,
      2,
      file,
      partA.length,
      partA.length + partB.length,
    );
    await first.server.close();

    const second = await start();
    try {
      const listed = await second.client.listParts('restart/object.bin', uploadId);
      expect(listed.parts.map((p) => p.ETag)).toEqual([a.etag, b.etag]);
      const done = await second.client.completeMultipartUpload('restart/object.bin', uploadId, [
        { number: 1, etag: a.etag },
        { number: 2, etag: b.etag },
      ]);
      expect(done.res.status).toBe(200);
      const { body } = await second.server.store.getObject(BUCKET, 'restart/object.bin');
      const chunks: Buffer[] = [];
      for await (const chunk of body) chunks.push(chunk as Buffer);
      expect(Buffer.concat(chunks).equals(Buffer.concat([partA, partB]))).toBe(true);
      expect((await second.server.store.headObject(BUCKET, 'restart/object.bin')).meta.contentType).toBe(
        'text/x-restart',
      );
    } finally {
      await second.server.close();
      await rm(file, { force: true });
    }
  });

  it('aborting after a restart removes the parts from disk', async () => {
    const first = await start();
    const before = await blobFiles(dataDir);
    const { uploadId } = await first.client.initMultipartUpload('restart/aborted.bin');
    const file = join(dataDir, '..', `${uploadId}.part`);
    await writeFile(file, Buffer.alloc(200 * 1024, 0x42));
    await first.client.uploadPart('restart/aborted.bin', uploadId, 1, file, 0, 100 * 1024);
    await first.client.uploadPart('restart/aborted.bin', uploadId, 2, file, 100 * 1024, 200 * 1024);
    expect(await blobFiles(dataDir)).toBeGreaterThan(before);
    await first.server.close();

    const second = await start();
    try {
      await second.client.abortMultipartUpload('restart/aborted.bin', uploadId);
      await expect(second.client.listParts('restart/aborted.bin', uploadId)).rejects.toMatchObject({
        code: 'NoSuchUpload',
      });
      const uploads = await second.client.listUploads({ prefix: 'restart/' });
      expect(uploads.uploads).toHaveLength(0);
    } finally {
      await second.server.close();
      await rm(file, { force: true });
    }
    expect(await blobFiles(dataDir)).toBe(before);
  });
});
