// The receiver kit's verifier in this process (one core): verified callbacks per second with
// the key already cached, over a set of distinct signed callbacks, paired with node:crypto's
// bare RSA check over the same inputs. Runs the TypeScript sources through tsx, as the package
// does.
import { createPublicKey, generateKeyPairSync, verify } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from '../lib/upcall.js';
import { Unavailable } from '../lib/side.js';
import { median, range } from '../lib/stats.js';

/** @param {import('../run.js').BenchContext} ctx */
export async function receiver(ctx) {
  const verifySrc = join(REPO_ROOT, 'packages', 'verify', 'src');
  const entry = join(verifySrc, 'verify-oss-callback.ts');
  if (!existsSync(entry))
    throw new Unavailable('packages/verify/src/verify-oss-callback.ts is not there yet');
  const { register } = await import('tsx/esm/api');
  register();
  const { verifyOssCallback } = await import(entry);
  const { createPublicKeyResolver } = await import(join(verifySrc, 'public-key-resolver.ts'));
  const { signCallback, callbackStringToSign } = await import(join(verifySrc, 'callback-signature.ts'));
  const { REAL_VECTORS, OSS_PUBLIC_KEY_PEM, vectorHeaders } = await import(
    join(REPO_ROOT, 'test', 'helpers', 'receiver-vectors.ts')
  );
  const rows = [];
  const keyUrl = 'http://gosspublic.alicdn.com/callback_pub_key_v1.pem';

  // Real OSS callbacks (SPEC.md §11), signed by OSS with its own RSA-512 key: what an app server
  // behind Alibaba Cloud OSS verifies. Then upcall's own key sizes (2048 is its default).
  const cases = [
    {
      label: 'real OSS callbacks (SPEC §11), OSS RSA-512 key',
      publicKey: OSS_PUBLIC_KEY_PEM,
      requests: REAL_VECTORS.map((v) => ({
        method: 'POST',
        target: v.target,
        headers: vectorHeaders(v, keyUrl),
        body: Buffer.from(v.body),
      })),
    },
  ];
  for (const bits of [1024, 2048]) {
    const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: bits });
    cases.push({
      label: `upcall-signed callbacks, RSA-${bits} key`,
      publicKey,
      requests: Array.from({ length: 64 }, (_, i) => {
        const body = Buffer.from(`bucket=b&object=k${i}&etag=%22ABC%22&size=${i}`);
        const target = `/callback?n=${i}`;
        return {
          method: 'POST',
          target,
          headers: {
            authorization: signCallback(target, body, privateKey),
            'x-oss-pub-key-url': Buffer.from(keyUrl).toString('base64'),
            'content-type': 'application/x-www-form-urlencoded',
          },
          body,
        };
      }),
    });
  }
  // Paired like the server rows: the verifier and the bare RSA check alternate in short slices
  // (ABBA), so a slow second on this shared machine hits both sides of a pair alike.
  const pairs = ctx.quick ? 2 : 10;
  const sliceMs = ctx.quick ? 100 : 300;
  for (const c of cases) {
    const resolver = createPublicKeyResolver({ publicKey: c.publicKey });
    const verifier = async () => {
      for (const r of c.requests) await verifyOssCallback(r, { resolver });
      return c.requests.length;
    };
    // The ceiling: node:crypto's RSA check alone over the same prepared inputs, no parsing.
    const key = typeof c.publicKey === 'string' ? createPublicKey(c.publicKey) : c.publicKey;
    const prepared = c.requests.map((r) => ({
      data: callbackStringToSign(r.target, r.body),
      signature: Buffer.from(String(r.headers.authorization), 'base64'),
    }));
    const bare = async () => {
      for (const p of prepared) verify('md5', p.data, key, p.signature);
      return prepared.length;
    };
    await rate(sliceMs, verifier); // warm-up: JIT and the key cache
    await rate(sliceMs, bare);
    const ours = [];
    const ceiling = [];
    for (let i = 0; i < pairs; i++) {
      const first = i % 2 === 0;
      const a = await rate(sliceMs, first ? verifier : bare);
      const b = await rate(sliceMs, first ? bare : verifier);
      ours.push(first ? a : b);
      ceiling.push(first ? b : a);
    }
    const perSec = median(ours);
    const shares = ours.map((v, i) => v / /** @type {number} */ (ceiling[i]));
    const { min, max } = range(shares);
    rows.push({
      workload: `receiver: verify ${c.label}, cached key`,
      compare: 'verifications/s on one core',
      storage: 'memory',
      figures: `${perSec.toFixed(0)} /s; crypto.verify alone ${median(ceiling).toFixed(0)} /s (${median(shares).toFixed(2)}×, ${min.toFixed(2)}..${max.toFixed(2)} per pair)`,
      target: '≥ 20000 /s',
      met: perSec >= 20_000,
    });
  }
  return rows;
}

/** Calls `batch` until `ms` have passed; returns items per second. */
async function rate(ms, batch) {
  const t0 = performance.now();
  let n = 0;
  while (performance.now() - t0 < ms) n += await batch();
  return (1000 * n) / (performance.now() - t0);
}
