// `upcall verify` against the real OSS-signed captures of SPEC.md §11 and a locally signed one
// whose key is served over a real socket, through the same verifier the receiver uses.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyCommand } from '../../src/cli/commands/verify.ts';
import { createCallbackSigner } from '../helpers/receiver-callback-signer.ts';
import { startKeyServer, type KeyServer } from '../helpers/receiver-key-server.ts';
import { OSS_PUBLIC_KEY_PEM, REAL_VECTORS, vectorHeaders } from '../helpers/receiver-vectors.ts';
import { runCli } from '../helpers/run-cli.ts';

let dir: string;
let keyServer: KeyServer;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'upcall-verify-'));
  await writeFile(join(dir, 'oss.pem'), OSS_PUBLIC_KEY_PEM);
});
afterAll(async () => {
  await keyServer?.close();
  await rm(dir, { recursive: true, force: true });
});

function rawRequest(target: string, headers: Record<string, string>, body: string | Buffer): Buffer {
  const head = [`POST ${target} HTTP/1.1`, ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`)].join(
    '\r\n',
  );
  return Buffer.concat([Buffer.from(`${head}\r\n\r\n`, 'latin1'), Buffer.from(body)]);
}

describe('upcall verify', () => {
  const vector = REAL_VECTORS.find((v) => v.name === 'C')!;

  it('accepts a real OSS-signed capture with the pinned OSS key and prints the facts', async () => {
    await writeFile(
      join(dir, 'c.http'),
      rawRequest(
        vector.target,
        vectorHeaders(vector, 'http://gosspublic.alicdn.com/callback_pub_key_v1.pem'),
        vector.body,
      ),
    );
    const run = await runCli(verifyCommand, ['verify', 'c.http', '--public-key', 'oss.pem'], { cwd: dir });
    expect(run.stderr).toBe('');
    expect(run.exitCode).toBe(0);
    expect(run.stdout).toContain('valid: the signature matches');
    expect(run.stdout).toContain('headSculpture/jikang2.jpg');
    expect(run.stdout).toContain('108904');
  });

  it('rejects one changed body byte as signature-mismatch, exit 1', async () => {
    const tampered = vector.body.replace('108904', '108905');
    await writeFile(
      join(dir, 'bad.http'),
      rawRequest(vector.target, vectorHeaders(vector, 'http://x/'), tampered),
    );
    const run = await runCli(verifyCommand, ['verify', 'bad.http', '--public-key', 'oss.pem'], { cwd: dir });
    expect(run.exitCode).toBe(1);
    expect(run.stderr).toContain('INVALID (signature-mismatch)');
  });

  it('reads separate headers and body files, with --target overriding', async () => {
    const headerLines = Object.entries(vectorHeaders(vector, 'http://x/')).map(([k, v]) => `${k}: ${v}`);
    await writeFile(join(dir, 'headers.txt'), headerLines.join('\n'));
    await writeFile(join(dir, 'body.bin'), vector.body);
    const run = await runCli(
      verifyCommand,
      [
        'verify',
        '--headers',
        'headers.txt',
        '--body',
        'body.bin',
        '--target',
        vector.target,
        '--public-key',
        'oss.pem',
      ],
      { cwd: dir },
    );
    expect(run.exitCode).toBe(0);
    expect(run.stdout).toContain('valid');
  });

  it('fetches the key only from an allowlisted URL', async () => {
    const signer = createCallbackSigner({ keyUrl: 'unused', modulusLength: 1024 });
    keyServer = await startKeyServer({ kind: 'pem', pem: signer.publicKeyPem });
    const body = 'bucket=photos&object=a%2Fb.jpg&size=3&x%3Adevice=pixel';
    const target = '/oss/callback?from=test';
    const headers = signer.headers(target, Buffer.from(body), { keyUrl: keyServer.keyUrl, bucket: 'photos' });
    await writeFile(join(dir, 'local.http'), rawRequest(target, headers, body));

    const refused = await runCli(verifyCommand, ['verify', 'local.http'], { cwd: dir });
    expect(refused.exitCode).toBe(1);
    expect(refused.stderr).toContain('key-host-not-allowed');
    expect(keyServer.hits()).toBe(0);

    const allowed = await runCli(
      verifyCommand,
      ['verify', 'local.http', '--allow-key-url', `${keyServer.origin}/`],
      {
        cwd: dir,
      },
    );
    expect(allowed.stderr).toBe('');
    expect(allowed.exitCode).toBe(0);
    expect(allowed.stdout).toContain('a/b.jpg');
  });

  it('says what is missing when neither a file nor --headers is given', async () => {
    const run = await runCli(verifyCommand, ['verify'], { cwd: dir });
    expect(run.exitCode).toBe(1);
    expect(run.stderr).toContain('--headers');
  });
});
