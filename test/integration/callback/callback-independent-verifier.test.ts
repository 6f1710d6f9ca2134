// Callbacks sent by the real storage server (uploads through ali-oss), checked by an app server
// written here from SPEC.md §1.1 alone, sharing no code with src/: string to sign =
// percent-decoded path + ("?" + raw query, only if present) + "\n" + body, RSA PKCS#1 v1.5 with
// MD5, key fetched from the base64 x-oss-pub-key-url. Form and JSON bodies, paths with and without
// a query, unicode keys and values.
import { createHash, createPublicKey, createVerify, type KeyObject } from 'node:crypto';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ossClient, type AliOssClient } from '../../helpers/ali-oss-client.ts';
import { startTestServer, type TestServer } from '../../helpers/start-test-server.ts';

interface Checked {
  target: string;
  body: string;
  verified: boolean;
  headers: IncomingHttpHeaders;
}

let server: TestServer;
let client: AliOssClient;
let appUrl: string;
let closeApp: () => Promise<void>;
const checked: Checked[] = [];

beforeAll(async () => {
  server = await startTestServer({ callback: { keyBits: 1024, timeoutMs: 2000 } });
  client = ossClient(server);
  const keys = new Map<string, KeyObject>();
  const app = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      void (async () => {
        const body = Buffer.concat(chunks);
        const keyUrl = Buffer.from(String(req.headers['x-oss-pub-key-url']), 'base64').toString('utf8');
        let key = keys.get(keyUrl);
        if (key === undefined) {
          key = createPublicKey(await (await fetch(keyUrl)).text());
          keys.set(keyUrl, key);
        }
        const target = req.url ?? '/';
        const q = target.indexOf('?');
        const path = decodeURIComponent(q === -1 ? target : target.slice(0, q));
        const query = q === -1 ? '' : target.slice(q);
        const verifier = createVerify('RSA-MD5');
        verifier.update(Buffer.concat([Buffer.from(`${path}${query}\n`, 'utf8'), body]));
        const verified =
          verifier.verify(key, String(req.headers['authorization']), 'base64') &&
          req.headers['content-md5'] === createHash('md5').update(body).digest('base64');
        checked.push({ target, body: body.toString('utf8'), verified, headers: req.headers });
        const reply = JSON.stringify({ verified });
        res.writeHead(verified ? 200 : 400, {
          'content-type': 'application/json',
          'content-length': Buffer.byteLength(reply),
        });
        res.end(reply);
      })();
    });
  });
  await new Promise<void>((resolve) => app.listen(0, '127.0.0.1', resolve));
  appUrl = `http://127.0.0.1:${(app.address() as AddressInfo).port}`;
  closeApp = () => new Promise<void>((resolve) => app.close(() => resolve()));
});
afterAll(async () => {
  await closeApp();
  await server.close();
});

const CASES = [
  { type: 'application/x-www-form-urlencoded', body: 'o=${object}&v=${x:v}&s=${size}', path: '/cb' },
  {
    type: 'application/x-www-form-urlencoded',
    body: 'o=${object}&v=${x:v}',
    path: '/回调/a%20b?token=%E4%B8%AD&x=1',
  },
  { type: 'application/json', body: '{"o":${object},"v":${x:v},"s":${size}}', path: '/json' },
  { type: 'application/json', body: '{"o":${object},"v":${x:v}}', path: '/j%C3%A9son?q=a+b&r=%2F' },
] as const;

describe('an independent verifier accepts every callback the server sends', () => {
  it.each(CASES)('$type to $path', async ({ type, body, path }) => {
    checked.length = 0;
    const key = `独立/ключ ${path.length} "é".txt`;
    const value = '值 "quoted" \\ & = + ✓';
    const result = await client.put(key, Buffer.from(`payload ${key}`), {
      callback: { url: `${appUrl}${path}`, body, contentType: type, customValue: { v: value } },
    });
    expect(result.res.status).toBe(200);
    expect(result.data).toEqual({ verified: true });
    expect(checked).toHaveLength(1);
    const [got] = checked;
    expect(got!.verified).toBe(true);
    expect(got!.headers['content-type']).toBe(type);
    if (type === 'application/json') {
      expect(JSON.parse(got!.body)).toMatchObject({ o: key, v: value });
    } else {
      const form = new URLSearchParams(got!.body);
      expect(form.get('o')).toBe(key);
      expect(form.get('v')).toBe(value);
    }
  });
});
