import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  CallbackVerificationError,
  createPublicKeyResolver,
  verifyOssCallback,
  type CallbackRequest,
} from 'upcall-verify';
import { startKeyServer, type KeyServer } from '../../helpers/receiver-key-server.ts';
import {
  OSS_PUBLIC_KEY_PEM,
  REAL_VECTORS,
  vectorHeaders,
  type RealVector,
} from '../../helpers/receiver-vectors.ts';

const KEY_PATH = '/callback_pub_key_v1.pem';
const vectorC = REAL_VECTORS[2]!;

function vectorRequest(vector: RealVector, keyUrl: string): CallbackRequest {
  return {
    method: 'POST',
    target: vector.target,
    headers: vectorHeaders(vector, keyUrl),
    body: Buffer.from(vector.body),
  };
}

async function reasonOf(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
    return 'resolved';
  } catch (err) {
    if (err instanceof CallbackVerificationError) return err.reason;
    throw err;
  }
}

describe('public key resolver over real sockets', () => {
  let keys: KeyServer;
  let other: KeyServer;

  beforeAll(async () => {
    keys = await startKeyServer({ kind: 'pem', pem: OSS_PUBLIC_KEY_PEM });
    other = await startKeyServer({ kind: 'pem', pem: OSS_PUBLIC_KEY_PEM });
  });
  afterEach(() => {
    keys.mode = { kind: 'pem', pem: OSS_PUBLIC_KEY_PEM };
  });
  afterAll(async () => {
    await keys.close();
    await other.close();
  });

  it('verifies the three real vectors with the key fetched once from an allowlisted URL', async () => {
    const before = keys.hits(KEY_PATH);
    const resolver = createPublicKeyResolver({ keyUrlAllowlist: [`${keys.origin}/`] });
    for (const vector of REAL_VECTORS) {
      const verified = await verifyOssCallback(vectorRequest(vector, keys.keyUrl), { resolver });
      expect(verified.verified).toBe(true);
      expect(verified.keyUrl).toBe(keys.keyUrl);
    }
    expect(keys.hits(KEY_PATH) - before).toBe(1);
    // A tampered copy still fails with the cached key, and costs no fetch.
    const tampered = { ...vectorRequest(vectorC, keys.keyUrl), target: `${vectorC.target}?` };
    expect(await reasonOf(verifyOssCallback(tampered, { resolver }))).toBe('signature-mismatch');
    expect(keys.hits(KEY_PATH) - before).toBe(1);
  });

  it('shares one in-flight fetch between concurrent verifications', async () => {
    keys.mode = { kind: 'slow', pem: OSS_PUBLIC_KEY_PEM, delayMs: 150 };
    const url = `${keys.origin}/concurrent.pem`;
    const resolver = createPublicKeyResolver({ keyUrlAllowlist: [url] });
    const results = await Promise.all(
      Array.from({ length: 25 }, () => verifyOssCallback(vectorRequest(vectorC, url), { resolver })),
    );
    expect(results.every((r) => r.verified)).toBe(true);
    expect(keys.hits('/concurrent.pem')).toBe(1);
  });

  it('never fetches from a host, port or userinfo trick outside the allowlist', async () => {
    const resolver = createPublicKeyResolver({ keyUrlAllowlist: [`${keys.origin}/`] });
    const port = new URL(keys.origin).port;
    const attempts = [
      other.keyUrl, // another port on the same host
      `http://localhost:${port}${KEY_PATH}`, // same server, other host name
      `${keys.origin}@127.0.0.1:${new URL(other.origin).port}${KEY_PATH}`, // userinfo trick
      `http://user@127.0.0.1:${port}${KEY_PATH}`,
      `${keys.origin}/pub/k.pem`, // another file on the allowed origin (issue 14)
    ];
    for (const url of attempts) {
      expect(await reasonOf(verifyOssCallback(vectorRequest(vectorC, url), { resolver })), url).toBe(
        'key-host-not-allowed',
      );
    }
    expect(other.hits()).toBe(0);
  });

  it('does not follow a redirect from an allowed URL to another host', async () => {
    keys.mode = { kind: 'redirect', location: other.keyUrl };
    const url = `${keys.origin}/redirect.pem`;
    const resolver = createPublicKeyResolver({ keyUrlAllowlist: [url] });
    const err = await verifyOssCallback(vectorRequest(vectorC, url), { resolver }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CallbackVerificationError);
    expect((err as CallbackVerificationError).reason).toBe('key-fetch-failed');
    expect((err as CallbackVerificationError).message).toMatch(/redirects are not followed/);
    expect(other.hits()).toBe(0);
  });

  it('refuses oversize key documents, with and without Content-Length', async () => {
    for (const declareLength of [true, false]) {
      keys.mode = { kind: 'oversize', bytes: 64 * 1024, declareLength };
      const url = `${keys.origin}/big-${declareLength}.pem`;
      const resolver = createPublicKeyResolver({ keyUrlAllowlist: [url], maxKeyBytes: 4096 });
      const err = await verifyOssCallback(vectorRequest(vectorC, url), {
        resolver,
      }).catch((e: unknown) => e as CallbackVerificationError);
      expect((err as CallbackVerificationError).reason).toBe('key-fetch-failed');
      expect((err as CallbackVerificationError).message).toMatch(/larger than 4096 bytes/);
    }
  });

  it('gives up on a slow key server after the timeout', async () => {
    keys.mode = { kind: 'slow', pem: OSS_PUBLIC_KEY_PEM, delayMs: 10_000 };
    const url = `${keys.origin}/slow.pem`;
    const resolver = createPublicKeyResolver({ keyUrlAllowlist: [url], timeoutMs: 200 });
    const err = await verifyOssCallback(vectorRequest(vectorC, url), {
      resolver,
    }).catch((e: unknown) => e as CallbackVerificationError);
    expect((err as CallbackVerificationError).reason).toBe('key-fetch-failed');
    expect((err as CallbackVerificationError).message).toMatch(/timed out after 200 ms/);
  });

  it('refuses a document that is not an RSA public key', async () => {
    keys.mode = { kind: 'text', body: 'hello, not a key' };
    const resolver = createPublicKeyResolver({ keyUrlAllowlist: [`${keys.origin}/text.pem`] });
    expect(
      await reasonOf(verifyOssCallback(vectorRequest(vectorC, `${keys.origin}/text.pem`), { resolver })),
    ).toBe('bad-public-key');
  });

  it('remembers a failed fetch only for failureTtlMs, then fetches again', async () => {
    keys.mode = { kind: 'status', status: 503 };
    let clock = 1_000_000;
    const url = `${keys.origin}/flaky.pem`;
    const resolver = createPublicKeyResolver({
      keyUrlAllowlist: [url],
      failureTtlMs: 5000,
      now: () => clock,
    });
    expect(await reasonOf(verifyOssCallback(vectorRequest(vectorC, url), { resolver }))).toBe(
      'key-fetch-failed',
    );
    keys.mode = { kind: 'pem', pem: OSS_PUBLIC_KEY_PEM };
    // Within the TTL the failure is served from memory: no second hit on the key server.
    expect(await reasonOf(verifyOssCallback(vectorRequest(vectorC, url), { resolver }))).toBe(
      'key-fetch-failed',
    );
    expect(keys.hits('/flaky.pem')).toBe(1);
    clock += 5001;
    expect(await reasonOf(verifyOssCallback(vectorRequest(vectorC, url), { resolver }))).toBe('resolved');
    expect(keys.hits('/flaky.pem')).toBe(2);
  });

  it('with a pinned key never fetches, whatever the key URL says', async () => {
    const resolver = createPublicKeyResolver({ publicKey: OSS_PUBLIC_KEY_PEM });
    const url = `${other.origin}/pinned.pem`;
    expect(await reasonOf(verifyOssCallback(vectorRequest(vectorC, url), { resolver }))).toBe('resolved');
    expect(other.hits()).toBe(0);
  });
});
