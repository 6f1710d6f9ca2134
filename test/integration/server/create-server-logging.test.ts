// `createServer` as a library writes nothing to stdout unless given a logger: stdout belongs to
// the embedding program (a CLI's output, a test runner's report). An upload whose callback fails
// is logged at info level, so it is what the check provokes; with a logger passed in, the same
// upload is logged there. Run in a child process, so its stdout is the server's alone.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const createServerUrl = new URL('../../../src/server/create-server.ts', import.meta.url).href;

/** A script that starts a server, stores one object whose callback fails (203), and stops it. */
function script(withLogger: boolean): string {
  return `
    import { Writable } from 'node:stream';
    import { pino } from 'pino';
    import { createServer } from ${JSON.stringify(createServerUrl)};
    const lines = [];
    const sink = new Writable({ write(chunk, _e, done) { lines.push(String(chunk)); done(); } });
    const server = await createServer({
      port: 0,
      host: '127.0.0.1',
      bucketsToCreate: [{ name: 'open', acl: 'public-read-write' }],
      callback: { keyBits: 1024, forbidPrivateAddresses: false },
      ${withLogger ? 'logger: pino(sink),' : ''}
    });
    const callback = Buffer.from(JSON.stringify({ callbackUrl: 'http://127.0.0.1:1/cb', callbackBody: 'o=\${object}' }));
    const response = await fetch(server.url + '/open/a.txt', {
      method: 'PUT',
      body: 'hello',
      headers: { 'x-oss-callback': callback.toString('base64') },
    });
    await response.arrayBuffer();
    await server.close();
    process.stderr.write(JSON.stringify({ status: response.status, logged: lines.length }));
  `;
}

async function run(withLogger: boolean): Promise<{ stdout: string; status: number; logged: number }> {
  const { stdout, stderr } = await promisify(execFile)(
    process.execPath,
    ['--import', 'tsx', '--input-type=module', '-e', script(withLogger)],
    { timeout: 60_000 },
  );
  return { stdout, ...(JSON.parse(stderr) as { status: number; logged: number }) };
}

describe('createServer logging', () => {
  it('is silent on stdout without a logger', async () => {
    const { stdout, status } = await run(false);
    expect(status).toBe(203);
    expect(stdout).toBe('');
  });

  it('logs to the logger it is given', async () => {
    const { stdout, status, logged } = await run(true);
    expect(status).toBe(203);
    expect(logged).toBeGreaterThan(0);
    expect(stdout).toBe('');
  });
});
