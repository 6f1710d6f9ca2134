// The ceiling: a raw node:http server doing only the durable work of a PutObject (stream the
// body to a temp file while hashing MD5, fsync, rename, answer 200 with the ETag) and a plain
// streamed GetObject. No auth, no XML, no metadata index: whatever upcall costs beyond this is
// the price of being an object store. Objects are named by the hex MD5 of their key, never by
// the key itself.
import { createServer } from 'node:http';
import { createHash, randomBytes } from 'node:crypto';
import { open, rename, mkdir, stat } from 'node:fs/promises';
import { createReadStream } from 'node:fs';
import { join } from 'node:path';
import { announceReady, option } from './ready.js';

const dataDir = option(process.argv, 'data');
if (!dataDir) throw new Error('usage: ceiling.js --data DIR [--host H]');
const host = option(process.argv, 'host') ?? '127.0.0.1';
await mkdir(join(dataDir, 'tmp'), { recursive: true });
await mkdir(join(dataDir, 'objects'), { recursive: true });

const nameOf = (/** @type {string} */ url) =>
  createHash('md5')
    .update(url.split('?')[0] ?? '')
    .digest('hex');

/** @param {import('node:http').IncomingMessage} req @param {import('node:http').ServerResponse} res */
async function put(req, res) {
  const tmp = join(dataDir, 'tmp', randomBytes(12).toString('hex'));
  const file = await open(tmp, 'w');
  const md5 = createHash('md5');
  try {
    for await (const chunk of req) {
      md5.update(chunk);
      await file.write(chunk);
    }
    await file.sync();
  } finally {
    await file.close();
  }
  await rename(tmp, join(dataDir, 'objects', nameOf(req.url ?? '/')));
  res.writeHead(200, { etag: `"${md5.digest('hex').toUpperCase()}"`, 'content-length': 0 });
  res.end();
}

/** @param {import('node:http').IncomingMessage} req @param {import('node:http').ServerResponse} res */
async function get(req, res) {
  const path = join(dataDir, 'objects', nameOf(req.url ?? '/'));
  const info = await stat(path).catch(() => undefined);
  if (!info) {
    res.writeHead(404, { 'content-length': 0 });
    res.end();
    return;
  }
  res.writeHead(200, { 'content-length': info.size });
  createReadStream(path).pipe(res);
}

const server = createServer((req, res) => {
  const work = req.method === 'PUT' ? put(req, res) : req.method === 'GET' ? get(req, res) : undefined;
  if (!work) {
    res.writeHead(405, { 'content-length': 0 });
    res.end();
    return;
  }
  work.catch((/** @type {unknown} */ err) => {
    console.error(err);
    if (!res.headersSent) res.writeHead(500, { 'content-length': 0 });
    res.end();
  });
});
server.keepAliveTimeout = 60_000;
server.listen(0, host, () => announceReady(server.address()));
process.on('SIGTERM', () => {
  server.close(() => process.exit(0));
  server.closeAllConnections();
});
