// The one way the long-running commands stop (server, receiver, dev), with real signals in a child
// process: the first signal runs the command's stop, a second one while it runs exits 130, and a
// command whose stop has finished and released the handlers exits on its own with code 0.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { describe, expect, it } from 'vitest';

const helperUrl = new URL('../../src/cli/graceful-stop.ts', import.meta.url).href;

/** Runs `body` (with `stopOnSignals` in scope) in a child; resolves once it printed `ready`. */
async function child(body: string) {
  const script = `import { stopOnSignals } from ${JSON.stringify(helperUrl)};\n${body}`;
  const proc = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let stdout = '';
  proc.stdout.setEncoding('utf8');
  const ready = new Promise<void>((resolve) =>
    proc.stdout.on('data', (text: string) => {
      stdout += text;
      if (stdout.includes('ready\n')) resolve();
    }),
  );
  const closed = once(proc, 'close') as Promise<[number | null, NodeJS.Signals | null]>;
  await ready;
  return { proc, closed, stdout: () => stdout };
}

describe('stopOnSignals', () => {
  it('a second signal while stopping exits 130', async () => {
    const { proc, closed, stdout } = await child(`
      stopOnSignals(process, (signal) => {
        process.stdout.write('stopping on ' + signal + '\\n');
        return new Promise(() => {}); // a stop held up, e.g. by a stuck keep-alive client
      });
      setInterval(() => {}, 1000);
      process.stdout.write('ready\\n');
    `);
    proc.kill('SIGTERM');
    await expect.poll(stdout).toContain('stopping on SIGTERM');
    proc.kill('SIGINT');
    const [code, signal] = await closed;
    expect({ code, signal }).toEqual({ code: 130, signal: null });
  }, 60_000);

  it('a finished stop that releases the handlers lets the process end by itself, 0', async () => {
    const { proc, closed, stdout } = await child(`
      const timer = setInterval(() => {}, 1000);
      const release = stopOnSignals(process, async (signal) => {
        clearInterval(timer);
        process.stdout.write('stopped on ' + signal + '\\n');
        release();
      });
      process.stdout.write('ready\\n');
    `);
    proc.kill('SIGINT');
    const [code, signal] = await closed;
    expect({ code, signal }).toEqual({ code: 0, signal: null });
    expect(stdout()).toContain('stopped on SIGINT');
  }, 60_000);
});
