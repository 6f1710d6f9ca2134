// The callback key on disk: generated once, mode 0600, reused, agreed on by concurrent starts.
import { createPublicKey, sign, verify } from 'node:crypto';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { isPrivateAddress } from '../../../src/server/callback/callback-address-guard.ts';
import { createCallbackService } from '../../../src/server/callback/callback-service.ts';
import {
  CALLBACK_KEY_FILE,
  CANONICAL_CALLBACK_KEY_URL,
  defaultCallbackKeyUrl,
  isCallbackKeyRequest,
  loadCallbackKey,
} from '../../../src/server/callback/callback-key.ts';

const dirs: string[] = [];
async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'upcall-key-'));
  dirs.push(dir);
  return dir;
}
afterEach(async () => {
  await Promise.all(dirs.splice(0).map((d) => rm(d, { recursive: true, force: true })));
});

describe('callback key', () => {
  it('generates a PKCS#8 key with mode 0600 on first start and reuses it afterwards', async () => {
    const dir = join(await tempDir(), 'nested', 'data');
    const first = await loadCallbackKey(dir, { bits: 1024 });
    expect(first.bits).toBe(1024);
    const file = join(dir, CALLBACK_KEY_FILE);
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    expect(await readFile(file, 'utf8')).toMatch(/^-----BEGIN PRIVATE KEY-----\n/);
    expect(first.publicKeyPem).toMatch(/^-----BEGIN PUBLIC KEY-----\n/);

    // A later start with another size keeps the stored key (cached public keys stay valid).
    const second = await loadCallbackKey(dir, { bits: 2048 });
    expect(second.bits).toBe(1024);
    expect(second.publicKeyPem).toBe(first.publicKeyPem);
    const signature = sign('md5', Buffer.from('x'), second.privateKey);
    expect(verify('md5', Buffer.from('x'), createPublicKey(first.publicKeyPem), signature)).toBe(true);
  });

  it('lets concurrent first starts agree on one key', async () => {
    const dir = await tempDir();
    const keys = await Promise.all([1, 2, 3].map(() => loadCallbackKey(dir, { bits: 1024 })));
    expect(new Set(keys.map((k) => k.publicKeyPem)).size).toBe(1);
  });

  it('refuses a key file that is not an RSA private key', async () => {
    const dir = await tempDir();
    await writeFile(join(dir, CALLBACK_KEY_FILE), 'not a key');
    await expect(loadCallbackKey(dir)).rejects.toThrow(/not a PEM private key/);
  });

  it('builds the default key URL and recognises key requests', () => {
    const url = defaultCallbackKeyUrl('127.0.0.1', 9000);
    expect(url).toBe('http://127.0.0.1:9000/callback_pub_key_v1.pem');
    const path = '/callback_pub_key_v1.pem';
    const pathStyle = { rawPath: path, virtualHostBucket: undefined, hostname: '127.0.0.1' };
    expect(isCallbackKeyRequest({ method: 'GET', ...pathStyle }, url)).toBe(true);
    expect(isCallbackKeyRequest({ method: 'HEAD', ...pathStyle }, url)).toBe(true);
    expect(isCallbackKeyRequest({ method: 'PUT', ...pathStyle }, url)).toBe(false);
    expect(isCallbackKeyRequest({ method: 'GET', ...pathStyle, rawPath: '/other.pem' }, url)).toBe(false);
    // gosspublic.alicdn.com pointed at the server looks like bucket "gosspublic", but is the key.
    const canonical = { rawPath: path, virtualHostBucket: 'gosspublic', hostname: 'gosspublic.alicdn.com' };
    expect(isCallbackKeyRequest({ method: 'GET', ...canonical }, CANONICAL_CALLBACK_KEY_URL)).toBe(true);
    // A virtual-host object of that name elsewhere stays an object.
    const object = { rawPath: path, virtualHostBucket: 'photos', hostname: 'photos.localhost' };
    expect(isCallbackKeyRequest({ method: 'GET', ...object }, url)).toBe(false);
  });
});

describe('private address check', () => {
  it('classifies loopback, private, link-local and mapped addresses', () => {
    for (const a of ['127.0.0.1', '10.1.2.3', '172.16.0.1', '192.168.1.1', '169.254.1.1', '::1', 'fd00::1']) {
      expect(isPrivateAddress(a)).toBe(true);
    }
    expect(isPrivateAddress('::ffff:192.168.1.1')).toBe(true);
    for (const a of ['8.8.8.8', '121.43.113.8', '172.32.0.1', '2001:4860:4860::8888', 'example.com']) {
      expect(isPrivateAddress(a)).toBe(false);
    }
  });
});

describe('callback service', () => {
  it('advertises its own key URL after listen and serves the PEM there', async () => {
    const key = await loadCallbackKey(await tempDir(), { bits: 1024 });
    const service = createCallbackService({ key }, { owner: 'o', now: () => new Date() });
    try {
      service.listening('0.0.0.0', 9123);
      expect(service.keyUrl()).toBe('http://127.0.0.1:9123/callback_pub_key_v1.pem');
      const response = await service.keyResponse(
        { method: 'GET', rawPath: '/callback_pub_key_v1.pem', host: '127.0.0.1:9123' },
        new Set(),
      );
      expect(response?.status).toBe(200);
      expect(response?.body).toBe(key.publicKeyPem);
      expect(
        await service.keyResponse(
          { method: 'GET', rawPath: '/bucket/key', host: '127.0.0.1:9123' },
          new Set(),
        ),
      ).toBeUndefined();
    } finally {
      await service.close();
    }
  });

  it('reports an unreadable key file on use, and retries after it is fixed', async () => {
    const dir = await tempDir();
    await writeFile(join(dir, CALLBACK_KEY_FILE), 'not a key');
    const service = createCallbackService({ keyDir: dir }, { owner: 'o', now: () => new Date() });
    try {
      const request = { method: 'GET', rawPath: '/callback_pub_key_v1.pem', host: '127.0.0.1:1' };
      await expect(service.keyResponse(request, new Set())).rejects.toThrow(/not a PEM private key/);
      await rm(join(dir, CALLBACK_KEY_FILE));
      await loadCallbackKey(dir, { bits: 1024 });
      expect((await service.keyResponse(request, new Set()))?.status).toBe(200);
    } finally {
      await service.close();
    }
  });

  it('uses a configured key URL, e.g. the canonical one, and answers for that host', async () => {
    const service = createCallbackService(
      { keyUrl: CANONICAL_CALLBACK_KEY_URL, keyBits: 1024 },
      { owner: 'o', now: () => new Date() },
    );
    try {
      service.listening('127.0.0.1', 9000);
      expect(service.keyUrl()).toBe(CANONICAL_CALLBACK_KEY_URL);
      const key = await service.key();
      expect(key.bits).toBe(1024);
      const request = { method: 'GET', rawPath: '/callback_pub_key_v1.pem', host: 'gosspublic.alicdn.com' };
      expect((await service.keyResponse(request, new Set()))?.body).toBe(key.publicKeyPem);
    } finally {
      await service.close();
    }
  });
});
