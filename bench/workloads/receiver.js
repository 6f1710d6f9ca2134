// The receiver kit's verifier in this process (one core): verified callbacks per second with
// the key already cached, over a set of distinct signed callbacks. Runs the TypeScript sources
// through tsx, as the package does.
import { generateKeyPairSync } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from '../lib/upcall.js';
import { Unavailable } from '../lib/side.js';

/** @param {import('../run.js').BenchContext} ctx */
export async function receiver(ctx) {
  const entry = join(REPO_ROOT, 'src', 'receiver', 'verify-oss-callback.ts');
  if (!existsSync(entry)) throw new Unavailable('src/receiver/verify-oss-callback.ts is not there yet');
  const { register } = await import('tsx/esm/api');
  register();
  const { verifyOssCallback } = await import(entry);
  const { createPublicKeyResolver } = await import(
    join(REPO_ROOT, 'src', 'receiver', 'public-key-resolver.ts')
  );
  const { signCallback } = await import(join(REPO_ROOT, 'src', 'callback', 'callback-signature.ts'));
  const rows = [];
  for (const bits of [1024, 2048]) {
    const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: bits });
    const resolver = createPublicKeyResolver({ publicKey });
    const requests = Array.from({ length: 64 }, (_, i) => {
      const body = Buffer.from(`bucket=b&object=k${i}&etag=%22ABC%22&size=${i}`);
      const target = `/callback?n=${i}`;
      const authorization = signCallback(target, body, privateKey);
      return {
        method: 'POST',
        target,
        headers: {
          authorization,
          'x-oss-pub-key-url': Buffer.from('http://127.0.0.1/key.pem').toString('base64'),
          'content-type': 'application/x-www-form-urlencoded',
        },
        body,
      };
    });
    await verifyOssCallback(requests[0], { resolver });
    const ms = ctx.quick ? 300 : 3000;
    const t0 = performance.now();
    let n = 0;
    while (performance.now() - t0 < ms) {
      for (let i = 0; i < 64; i++) await verifyOssCallback(requests[i], { resolver });
      n += 64;
    }
    const perSec = (1000 * n) / (performance.now() - t0);
    rows.push({
      workload: `receiver: verify callback, RSA-${bits}, cached key`,
      compare: 'verifications/s on one core',
      storage: 'memory',
      figures: `${perSec.toFixed(0)} /s`,
      target: bits === 2048 ? '≥ 20000 /s' : undefined,
      met: bits === 2048 ? perSec >= 20_000 : undefined,
    });
  }
  return rows;
}
