import { generateKeyPairSync } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { spawn } from 'node:child_process';
import { request } from 'undici';
import { register } from 'tsx/esm/api';
register();
const { signCallback } = await import('./src/callback/callback-signature.ts');
const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 1024 });
writeFileSync('/tmp/rpg-prof/pub.pem', publicKey.export({ type: 'spki', format: 'pem' }));
const port = 39000 + Math.floor(Math.random() * 1000);
const env = { ...process.env, LOG_LEVEL: 'warn' };
if (process.argv[2]) env.UPCALL_DATABASE_URL = process.argv[2];
const child = spawn(process.execPath, ['--cpu-prof', '--cpu-prof-dir=/tmp/rpg-prof', 'bin/upcall.js', 'receiver', '--port', String(port), '--data', '/dev/shm/rpg-recv', '--public-key', '/tmp/rpg-prof/pub.pem', '--callback-path', '/app/callback'], { env, stdio: ['ignore', 'pipe', 'inherit'] });
await new Promise((r) => child.stdout.on('data', (d) => { if (String(d).includes('callback URL')) r(); }));
const N = 4000; let n = 0; const t0 = performance.now();
async function worker() {
  while (n < N) {
    const i = n++;
    const body = Buffer.from(`bucket=bench&object=uploads%2Fphoto-${i}.jpg&etag=%22${String(i).padStart(32, '0')}%22&size=${4096 + i}&mimeType=image%2Fjpeg&x%3Adevice=bench`);
    const r = await request(`http://127.0.0.1:${port}/app/callback`, { method: 'POST', body, headers: { authorization: signCallback('/app/callback', body, privateKey), 'content-type': 'application/x-www-form-urlencoded', 'x-oss-request-id': `P${process.pid}-${i}` } });
    if (r.statusCode !== 200) console.log(r.statusCode, await r.body.text()); else await r.body.dump();
  }
}
await Promise.all(Array.from({ length: 16 }, worker));
console.log('callbacks/s', (N / ((performance.now() - t0) / 1000)).toFixed(0));
child.kill('SIGINT');
await new Promise((r) => child.on('exit', r));
