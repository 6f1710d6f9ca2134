// The contract suite against the embedded fs backend (blobs + SQLite), each test in a fresh temp
// dir, plus what only the fs backend promises: persistence, the orphan sweep, blob ownership
// (no leaks, no copies on complete), and that keys never reach the file system.
import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  createFsObjectStore,
  createObjectStore,
  type ObjectMeta,
  type ObjectStore,
} from '../../src/store/index.ts';
import { body, bytes, readAll, runObjectStoreContract } from './object-store.contract.ts';
import { expectOldBucketSettingsKept, OLD_BUCKET_ROWS } from '../helpers/old-bucket-settings.ts';

// Opened as a server opens it (createObjectStore, src/store/create-object-store.ts).
runObjectStoreContract('fs', async () => {
  const dataDir = await mkdtemp(join(tmpdir(), 'upcall-store-'));
  const store = await createObjectStore({ kind: 'fs', dataDir });
  return {
    store,
    dispose: async () => {
      await store.close();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
});

const STORE_INDEX = new URL('../../src/store/index.ts', import.meta.url).href;
const META: ObjectMeta = { contentType: 'text/plain', userMeta: { who: 'fs' } };
const KiB = 1024;

/** Every blob file name under `<dataDir>/blobs/`, sorted. */
async function blobFiles(dataDir: string): Promise<string[]> {
  const names: string[] = [];
  for (const sub of await readdir(join(dataDir, 'blobs')))
    names.push(...(await readdir(join(dataDir, 'blobs', sub))));
  return names.sort();
}

describe('fs backend specifics', () => {
  let dataDir: string;
  let store: ObjectStore;

  beforeEach(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'upcall-fs-'));
    store = await createFsObjectStore({ dataDir });
    await store.createBucket('b', 'public-read');
  });
  afterEach(async () => {
    await store.close();
    await rm(dataDir, { recursive: true, force: true });
  });

  async function reopen(): Promise<void> {
    await store.close();
    store = await createFsObjectStore({ dataDir });
  }

  async function text(key: string): Promise<string> {
    return (await readAll((await store.getObject('b', key)).body)).toString();
  }

  it('keeps no plaintext of an encrypted object on disk, and reads it back after a reopen', async () => {
    const SSE = { serverSideEncryption: 'AES256' as const };
    const secret = Buffer.from('the launch code is 0000 '.repeat(400));
    await expect(stat(join(dataDir, 'master.key'))).rejects.toMatchObject({ code: 'ENOENT' });
    await store.putObject('b', 'put', body(secret), { meta: META, settings: SSE });
    let position = 0;
    for (const piece of [secret.subarray(0, 100), secret.subarray(100, 5000), secret.subarray(5000)]) {
      await store.appendObject('b', 'appended', position, body(piece), { meta: META, settings: SSE });
      position += piece.length;
    }
    const upload = await store.multipart.initiate('b', 'multipart', META, SSE);
    const ref = { bucket: 'b', key: 'multipart', uploadId: upload.uploadId };
    const part = await store.multipart.uploadPart(ref, 1, body(secret));
    await store.multipart.complete(ref, [{ partNumber: 1, etag: part.etag }]);
    // The master key was made on first use, readable by its owner only.
    expect((await stat(join(dataDir, 'master.key'))).mode & 0o777).toBe(0o600);

    const needle = Buffer.from('the launch code');
    const { readFile } = await import('node:fs/promises');
    const files = await blobFiles(dataDir);
    expect(files.length).toBe(5);
    for (const name of files) {
      const data = await readFile(join(dataDir, 'blobs', name.slice(0, 2), name));
      expect(data.includes(needle), name).toBe(false);
    }
    const db = await readFile(join(dataDir, 'meta.sqlite'));
    expect(db.includes(needle)).toBe(false);

    await reopen();
    for (const key of ['put', 'appended', 'multipart']) {
      expect(await text(key)).toBe(secret.toString());
      const { body: range } = await store.getObject('b', key, { start: 95, end: 5010 });
      expect((await readAll(range)).equals(secret.subarray(95, 5011)), key).toBe(true);
    }
  });

  it('reads encrypted objects only with the master key that wrote them', async () => {
    await store.close();
    const masterKey = Buffer.alloc(32, 7);
    store = await createFsObjectStore({ dataDir, masterKey });
    await store.putObject('b', 'k', body('secret'), {
      meta: META,
      settings: { serverSideEncryption: 'AES256' },
    });
    expect(await text('k')).toBe('secret');
    await store.close();
    store = await createFsObjectStore({ dataDir, masterKey: Buffer.alloc(32, 8) });
    await expect(store.getObject('b', 'k')).rejects.toThrow();
  });

  it('keeps buckets, objects, appends, copies, completed and pending uploads across a reopen', async () => {
    const put = await store.putObject('b', 'dir/a.txt', body('plain'), { meta: META });
    await store.appendObject('b', 'log', 0, body('one,'), { meta: META });
    await store.appendObject('b', 'log', 4, body('two'), { meta: META });
    await store.copyObject({ bucket: 'b', key: 'dir/a.txt' }, 'b', 'copy');
    const upload = await store.multipart.initiate('b', 'mp', META);
    const p1 = await store.multipart.uploadPart(upload, 1, body(bytes(100 * KiB)));
    const p2 = await store.multipart.uploadPart(upload, 2, body('tail'));
    const mp = await store.multipart.complete(upload, [
      { partNumber: 1, etag: p1.etag },
      { partNumber: 2, etag: p2.etag },
    ]);
    const pending = await store.multipart.initiate('b', 'later', META);
    await store.multipart.uploadPart(pending, 1, body('part'));
    await reopen();
    expect((await store.getBucket('b')).acl).toBe('public-read');
    expect(await store.headObject('b', 'dir/a.txt')).toEqual(put);
    expect(await text('dir/a.txt')).toBe('plain');
    expect(await text('log')).toBe('one,two');
    expect(await text('copy')).toBe('plain');
    expect(await store.headObject('b', 'mp')).toEqual(mp);
    expect(
      (
        await readAll((await store.getObject('b', 'mp', { start: 100 * KiB, end: 100 * KiB + 3 })).body)
      ).toString(),
    ).toBe('tail');
    const { parts } = await store.multipart.listParts(pending, 0, 10);
    expect(parts.map((p) => p.size)).toEqual([4]);
    expect((await store.listObjects('b', { maxKeys: 100 })).objects.map((o) => o.key)).toEqual([
      'copy',
      'dir/a.txt',
      'log',
      'mp',
    ]);
  });

  it('sweeps temp files and unreferenced blobs at open, and keeps referenced ones', async () => {
    await store.putObject('b', 'kept', body('kept'), { meta: META });
    const kept = await blobFiles(dataDir);
    expect(kept).toHaveLength(1);
    await store.close();
    await writeFile(join(dataDir, 'tmp', 'half-written'), 'x');
    await mkdir(join(dataDir, 'blobs', 'ff'), { recursive: true });
    await writeFile(join(dataDir, 'blobs', 'ff', 'ff'.repeat(16)), 'orphan');
    store = await createFsObjectStore({ dataDir });
    expect(await blobFiles(dataDir)).toEqual(kept);
    expect(await readdir(join(dataDir, 'tmp'))).toEqual([]);
    expect(await text('kept')).toBe('kept');
  });

  it('owns every blob once: overwrite, delete, abort and partial completes leave no files behind', async () => {
    await store.putObject('b', 'k', body('one'), { meta: META });
    await store.putObject('b', 'k', body('two'), { meta: META });
    await store.appendObject('b', 'log', 0, body('a'), { meta: META });
    await store.appendObject('b', 'log', 1, body('b'), { meta: META });
    await reopen();
    expect(await blobFiles(dataDir)).toHaveLength(3);
    await store.deleteObject('b', 'k');
    await store.deleteObject('b', 'log');
    const aborted = await store.multipart.initiate('b', 'x', META);
    await store.multipart.uploadPart(aborted, 1, body('x'));
    await store.multipart.abort(aborted);
    const upload = await store.multipart.initiate('b', 'y', META);
    await store.multipart.uploadPart(upload, 1, body('first'));
    await store.multipart.uploadPart(upload, 1, body('replaced'));
    await store.multipart.uploadPart(upload, 2, body('unused'));
    await store.multipart.complete(upload, [
      { partNumber: 1, etag: (await store.multipart.listParts(upload, 0, 1)).parts[0]!.etag },
    ]);
    await reopen();
    expect(await blobFiles(dataDir)).toHaveLength(1);
    expect(await text('y')).toBe('replaced');
    await store.deleteObject('b', 'y');
    await reopen();
    expect(await blobFiles(dataDir)).toEqual([]);
  });

  it('completes by handing the part blobs to the object, without copying data', async () => {
    const upload = await store.multipart.initiate('b', 'big', META);
    const parts = [];
    for (let n = 1; n <= 3; n++)
      parts.push(await store.multipart.uploadPart(upload, n, body(bytes(100 * KiB, n))));
    const before = await blobFiles(dataDir);
    await store.multipart.complete(
      upload,
      parts.map((p) => ({ partNumber: p.partNumber, etag: p.etag })),
    );
    expect(await blobFiles(dataDir)).toEqual(before);
    const data = await readAll((await store.getObject('b', 'big')).body);
    expect(data.equals(Buffer.concat([bytes(100 * KiB, 1), bytes(100 * KiB, 2), bytes(100 * KiB, 3)]))).toBe(
      true,
    );
  });

  it('copies by hard link: the copy is its own blob sharing the inode', async () => {
    await store.putObject('b', 'src', body(bytes(10 * KiB)), { meta: META });
    await store.copyObject({ bucket: 'b', key: 'src' }, 'b', 'dst');
    const files = await blobFiles(dataDir);
    expect(files).toHaveLength(2);
    const [a, b] = await Promise.all(files.map((f) => stat(join(dataDir, 'blobs', f.slice(0, 2), f))));
    expect(a!.ino).toBe(b!.ino);
    await store.deleteObject('b', 'src');
    await reopen();
    expect(await blobFiles(dataDir)).toHaveLength(1);
    expect((await readAll((await store.getObject('b', 'dst')).body)).equals(bytes(10 * KiB))).toBe(true);
  });

  it('never turns a key into a path: only meta.sqlite*, lock, reserve, blobs/<xx>/<id> and tmp/ exist', async () => {
    for (const key of ['../../escape', '/etc/passwd', 'a/../../../b', '..', 'blobs/../meta.sqlite'])
      await store.putObject('b', key, body(key), { meta: META });
    const top = (await readdir(dataDir)).sort();
    expect(top.filter((n) => !n.startsWith('meta.sqlite'))).toEqual(['blobs', 'lock', 'reserve', 'tmp']);
    for (const sub of await readdir(join(dataDir, 'blobs'))) {
      expect(sub).toMatch(/^[0-9a-f]{2}$/);
      for (const name of await readdir(join(dataDir, 'blobs', sub))) expect(name).toMatch(/^[0-9a-f]{32}$/);
    }
    expect(await readdir(join(dataDir, '..')).then((names) => names.includes('escape'))).toBe(false);
    expect(await text('../../escape')).toBe('../../escape');
  });

  it('refuses a data dir another live process holds, and takes it once that process is killed', async () => {
    await store.close();
    // A real second process holds the lock (as a second `upcall server` would).
    const holder = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        '--input-type=module',
        '-e',
        `import { createFsObjectStore } from ${JSON.stringify(STORE_INDEX)};
         await createFsObjectStore({ dataDir: ${JSON.stringify(dataDir)} });
         console.log('held');
         setInterval(() => {}, 1000);`,
      ],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    try {
      await new Promise<void>((resolve, reject) => {
        holder.stdout.on('data', (chunk: Buffer) => chunk.toString().includes('held') && resolve());
        holder.once('exit', (code) => reject(new Error(`holder exited with ${String(code)}`)));
      });
      await expect(createFsObjectStore({ dataDir })).rejects.toThrow(
        `data dir ${dataDir} is in use by process ${String(holder.pid)}`,
      );
    } finally {
      holder.kill('SIGKILL');
    }
    await new Promise((resolve) => holder.once('exit', resolve));
    // The kernel dropped the dead holder's lock; no pid is consulted.
    store = await createFsObjectStore({ dataDir });
  });

  it('is not fooled by a live pid left in the lock file by a killed holder (pid reuse)', async () => {
    await store.close();
    // What a kill -9 leaves when the pid has since gone to someone else: a lock file naming a
    // live process (here our parent) that holds no lock.
    await writeFile(join(dataDir, 'lock'), String(process.ppid));
    store = await createFsObjectStore({ dataDir });
    await expect(createFsObjectStore({ dataDir })).rejects.toThrow(`in use by process ${process.pid}`);
    await reopen();
    expect(await store.listBuckets()).toHaveLength(1);
  });

  it('leaves nothing behind when a body fails or beforeCommit throws', async () => {
    await expect(
      store.putObject('b', 'k', body('data'), {
        meta: META,
        beforeCommit: () => {
          throw new Error('rejected');
        },
      }),
    ).rejects.toThrow('rejected');
    await expect(store.putObject('b', 'k', body(bytes(100)), { meta: META, maxSize: 10 })).rejects.toThrow();
    // A client that vanishes mid-body: before the file is opened (a sink holds back the first
    // 64 KiB) and after.
    for (const sent of [1 * KiB, 100 * KiB]) {
      const vanishing = Readable.from(
        (async function* () {
          yield bytes(sent);
          await new Promise((resolve) => setTimeout(resolve, 5));
          throw new Error('client went away');
        })(),
      );
      await expect(store.putObject('b', 'k', vanishing, { meta: META })).rejects.toThrow('client went away');
    }
    expect(await blobFiles(dataDir)).toEqual([]);
    expect(await readdir(join(dataDir, 'tmp'))).toEqual([]);
  });

  it('keeps object ACLs, tags, storage classes and restores, and those of pending uploads, across a reopen', async () => {
    const tags = [
      { key: 'project', value: 'upcall' },
      { key: 'note', value: 'a=b&c 文' },
    ];
    await store.putObject('b', 'k', body('x'), { meta: META, settings: { acl: 'public-read', tags } });
    await store.putObject('b', 'edited', body('y'), { meta: META });
    await store.setObjectAcl('b', 'edited', 'private');
    await store.setObjectTags('b', 'edited', [{ key: 'later', value: '' }]);
    const pending = await store.multipart.initiate('b', 'mp', META, {
      acl: 'public-read-write',
      tags,
      storageClass: 'ColdArchive',
    });
    await store.createBucket('ia', 'private', 'IA');
    await store.putObject('b', 'cold', body('z'), { meta: META, settings: { storageClass: 'Archive' } });
    const restore = { readyAt: new Date(1_800_000_000_000), expiresAt: new Date(1_800_000_086_400) };
    await store.setObjectRestore('b', 'cold', restore);
    await reopen();
    expect((await store.getBucket('ia')).storageClass).toBe('IA');
    expect(await store.headObject('b', 'cold')).toMatchObject({ storageClass: 'Archive', restore });
    expect(await store.headObject('b', 'k')).toMatchObject({ acl: 'public-read', tags });
    expect(await store.headObject('b', 'edited')).toMatchObject({
      acl: 'private',
      tags: [{ key: 'later', value: '' }],
    });
    const part = await store.multipart.uploadPart(pending, 1, body('part'));
    expect(await store.multipart.complete(pending, [{ partNumber: 1, etag: part.etag }])).toMatchObject({
      acl: 'public-read-write',
      tags,
      storageClass: 'ColdArchive',
    });
  });
});

describe('fs backend: data dirs from before object ACLs and tags', () => {
  // The schema as released before the acl and tags columns existed.
  const OLD_SCHEMA = `
    CREATE TABLE buckets (name TEXT PRIMARY KEY, created_ms INTEGER NOT NULL, acl TEXT NOT NULL) WITHOUT ROWID;
    CREATE TABLE objects (
      bucket TEXT NOT NULL, key BLOB NOT NULL, size INTEGER NOT NULL, etag TEXT NOT NULL,
      content_md5 TEXT, crc64 TEXT NOT NULL, last_modified_ms INTEGER NOT NULL, type TEXT NOT NULL,
      meta TEXT NOT NULL, segments TEXT NOT NULL, PRIMARY KEY (bucket, key)) WITHOUT ROWID;
    CREATE TABLE uploads (
      upload_id TEXT PRIMARY KEY, bucket TEXT NOT NULL, key BLOB NOT NULL,
      initiated_ms INTEGER NOT NULL, meta TEXT NOT NULL) WITHOUT ROWID;
    CREATE INDEX uploads_by_key ON uploads (bucket, key, upload_id);
    CREATE TABLE parts (
      upload_id TEXT NOT NULL, part_number INTEGER NOT NULL, blob TEXT NOT NULL, size INTEGER NOT NULL,
      etag TEXT NOT NULL, crc64 TEXT NOT NULL, last_modified_ms INTEGER NOT NULL,
      PRIMARY KEY (upload_id, part_number)) WITHOUT ROWID;
    CREATE TABLE durability (id INTEGER PRIMARY KEY, n INTEGER NOT NULL);
  `;
  let dataDir: string;

  beforeEach(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'upcall-fs-old-'));
    const db = new Database(join(dataDir, 'meta.sqlite'));
    db.exec(OLD_SCHEMA);
    db.prepare("INSERT INTO buckets VALUES ('old', 0, 'private')").run();
    db.prepare(
      `INSERT INTO objects VALUES ('old', ?, 0, 'D41D8CD98F00B204E9800998ECF8427E', '1B2M2Y8AsgTpgAmY7PhCfg==', '0',
       1700000000000, 'Normal', ?, '')`,
    ).run(Buffer.from('empty.txt'), JSON.stringify(META));
    db.prepare(
      "INSERT INTO uploads VALUES ('0123456789ABCDEF0123456789ABCDEF', 'old', ?, 1700000000000, ?)",
    ).run(Buffer.from('mp'), JSON.stringify(META));
    db.close();
  });
  afterEach(async () => {
    await rm(dataDir, { recursive: true, force: true });
  });

  it('opens them in place: old rows read as ACL default with no tags, and take new settings', async () => {
    let store = await createFsObjectStore({ dataDir });
    try {
      const old = await store.headObject('old', 'empty.txt');
      expect(old).toMatchObject({ size: 0, meta: META, acl: 'default', tags: [] });
      expect(old.lastModified.getTime()).toBe(1700000000000);
      await store.setObjectTags('old', 'empty.txt', [{ key: 'migrated', value: 'yes' }]);
      const ref = { bucket: 'old', key: 'mp', uploadId: '0123456789ABCDEF0123456789ABCDEF' };
      const part = await store.multipart.uploadPart(ref, 1, body('part'));
      expect(await store.multipart.complete(ref, [{ partNumber: 1, etag: part.etag }])).toMatchObject({
        acl: 'default',
        tags: [],
      });
      expect(await store.headObject('old', 'empty.txt')).toMatchObject({ storageClass: 'Standard' });
      expect((await store.headObject('old', 'empty.txt')).restore).toBeUndefined();
      expect((await store.getBucket('old')).storageClass).toBe('Standard');
      // Buckets from before bucket CORS have none, and take a configuration.
      expect(await store.getBucketSetting('old', 'cors')).toBeUndefined();
      const cors = {
        rules: [{ allowedOrigins: ['*'], allowedMethods: ['PUT'], allowedHeaders: [], exposeHeaders: [] }],
        responseVary: false,
      };
      await store.putBucketSetting('old', 'cors', cors);
      // Nor a lifecycle configuration, and one put now survives the reopen.
      expect(await store.getBucketSetting('old', 'lifecycle')).toBeUndefined();
      const lifecycle = {
        rules: [{ id: 'tmp', prefix: 'tmp/', status: 'Enabled' as const, tags: [], expiration: { days: 1 } }],
      };
      await store.putBucketSetting('old', 'lifecycle', lifecycle);
      await store.close();
      // A second open finds the columns already there.
      store = await createFsObjectStore({ dataDir });
      expect(await store.getBucketSetting('old', 'cors')).toEqual(cors);
      expect(await store.getBucketSetting('old', 'lifecycle')).toEqual(lifecycle);
      expect((await store.headObject('old', 'empty.txt')).tags).toEqual([{ key: 'migrated', value: 'yes' }]);
    } finally {
      await store.close();
    }
  });
});

describe('fs backend: data dirs from before the bucket settings shared one column', () => {
  // The buckets table as the previous release left it: one JSON column per setting (issues 19, 20).
  const OLD_BUCKETS = `
    CREATE TABLE buckets (
      name TEXT PRIMARY KEY, created_ms INTEGER NOT NULL, acl TEXT NOT NULL,
      storage_class TEXT NOT NULL DEFAULT 'Standard', cors TEXT, lifecycle TEXT, encryption TEXT
    ) WITHOUT ROWID;
  `;
  let dataDir: string;

  beforeEach(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'upcall-fs-settings-'));
    const db = new Database(join(dataDir, 'meta.sqlite'));
    db.exec(OLD_BUCKETS);
    const insert = db.prepare('INSERT INTO buckets VALUES (?, 0, ?, ?, ?, ?, ?)');
    for (const row of OLD_BUCKET_ROWS) insert.run(...row);
    db.close();
  });
  afterEach(async () => {
    await rm(dataDir, { recursive: true, force: true });
  });

  it('carries every bucket setting over, and the old columns are gone', async () => {
    await expectOldBucketSettingsKept(() => createFsObjectStore({ dataDir }));
    const db = new Database(join(dataDir, 'meta.sqlite'), { readonly: true });
    try {
      const columns = (db.pragma('table_info(buckets)') as { name: string }[]).map((c) => c.name);
      expect(columns).toEqual(['name', 'created_ms', 'acl', 'storage_class', 'settings']);
    } finally {
      db.close();
    }
  });
});
