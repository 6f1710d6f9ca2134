// `upcall server` on a data dir and `upcall receiver` on SQLite never load the scale-out backends:
// PostgreSQL's driver, graphile-worker and the gateway store (its modules alone: +16 MB RSS and
// about 0.2 s of start-up here) are imported only when a `--database-url` configuration opens
// them (create-object-store.ts, create-receiver.ts).
// Observed from outside: each spawned CLI runs with a module resolve hook that lists every module
// it loads, and serves one real request before it is stopped.
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import {
  endpointClient,
  spawnReceiver,
  spawnServer,
  stopCli,
  tempDirPerTest,
} from '../helpers/spawned-servers.ts';

const CREDENTIALS = { accessKeyId: 'lazy-key-id', accessKeySecret: 'lazy-key-secret' };
const SCALE_OUT = /\/node_modules\/(pg|pg-pool|graphile-worker)\/|\/store\/gateway\/|\/pg-receiver-store\./;

const dir = tempDirPerTest('upcall-cli-lazy-');

/** NODE_OPTIONS that make a process append every module URL it resolves to `log`. */
async function moduleLogOptions(root: string): Promise<{ env: Record<string, string>; log: string }> {
  const log = join(root, 'modules.log');
  const hooks = join(root, 'hooks.mjs');
  const registrar = join(root, 'register.mjs');
  await writeFile(
    hooks,
    `import { appendFileSync } from 'node:fs';
export async function resolve(specifier, context, next) {
  const resolved = await next(specifier, context);
  appendFileSync(${JSON.stringify(log)}, resolved.url + '\\n');
  return resolved;
}
`,
  );
  await writeFile(
    registrar,
    `import { register } from 'node:module';\nregister(${JSON.stringify(pathToFileURL(hooks).href)});\n`,
  );
  await writeFile(log, '');
  return { env: { NODE_OPTIONS: `--import ${pathToFileURL(registrar).href}` }, log };
}

describe('the scale-out backends are loaded only when configured', () => {
  it('upcall server --data serves a PutObject without loading pg or the gateway store', async () => {
    const root = dir();
    const { env, log } = await moduleLogOptions(root);
    const cli = await spawnServer(['--data', join(root, 'data'), '--bucket', 'lazy'], CREDENTIALS, env);
    try {
      const oss = endpointClient(cli.ready, 'lazy', CREDENTIALS);
      expect((await oss.put('hello.txt', Buffer.from('hello'))).res.status).toBe(200);
    } finally {
      expect(await stopCli(cli)).toBe(0);
    }
    const modules = (await readFile(log, 'utf8')).split('\n');
    // The hook saw the server's own modules (the fs store), so an absence below means something.
    expect(modules.some((url) => /\/store\/fs\/fs-object-store\./.test(url))).toBe(true);
    expect(modules.filter((url) => SCALE_OUT.test(url))).toEqual([]);
  });

  it('upcall receiver on SQLite answers without loading pg or graphile-worker', async () => {
    const root = dir();
    const { env, log } = await moduleLogOptions(root);
    const cli = await spawnReceiver(['--data', join(root, 'data')], env);
    try {
      // Readiness reads the database: the receiver's store is open and answering.
      const ready = await fetch(new URL('/_upcall/health/ready', cli.ready));
      expect(ready.status).toBe(200);
    } finally {
      expect(await stopCli(cli)).toBe(0);
    }
    const modules = (await readFile(log, 'utf8')).split('\n');
    expect(modules.some((url) => /\/sqlite-receiver-store\./.test(url))).toBe(true);
    expect(modules.filter((url) => SCALE_OUT.test(url))).toEqual([]);
  });
});
