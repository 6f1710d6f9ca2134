// Ctrl-C on `npm start` (issue 6): a terminal's Ctrl-C is SIGINT, not the SIGTERM a process
// manager sends. The real `upcall dev` process, sent SIGINT, closes both servers (their ports
// refuse connections afterwards), removes the session file and exits 0.
import { once } from 'node:events';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEV_SESSION_FILE, type DevSession } from '../../src/cli/connection.ts';
import { spawnCli } from '../helpers/spawn-cli.ts';

let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'upcall-dev-sigint-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('upcall dev and Ctrl-C', () => {
  it('SIGINT closes both servers, removes the session file and exits 0', async () => {
    const dev = await spawnCli(['dev', '--port', '0', '--receiver-port', '0'], {
      cwd: dir,
      ready: /(Press Ctrl-C)/,
    });
    const closed = once(dev.child, 'close') as Promise<[number | null, NodeJS.Signals | null]>;
    try {
      const session = JSON.parse(
        await readFile(join(dir, '.upcall', DEV_SESSION_FILE), 'utf8'),
      ) as DevSession;
      // Both servers answer before Ctrl-C.
      for (const url of [session.endpoint, session.dashboardUrl]) {
        const res = await request(url);
        await res.body.dump();
      }

      dev.child.kill('SIGINT');
      const [code, signal] = await closed;
      expect({ code, signal }).toEqual({ code: 0, signal: null });
      expect(dev.stderr()).toContain('SIGINT: stopping');
      expect(dev.stderr()).toContain('stopped.');
      await expect(readFile(join(dir, '.upcall', DEV_SESSION_FILE))).rejects.toThrow();
      await expect(request(session.endpoint)).rejects.toThrow();
      await expect(request(session.dashboardUrl)).rejects.toThrow();
    } finally {
      if (dev.child.exitCode === null && dev.child.signalCode === null) {
        dev.child.kill('SIGKILL');
        await closed;
      }
    }
  }, 60_000);
});
