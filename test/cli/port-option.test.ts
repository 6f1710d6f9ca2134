// Every command that listens reads its port options the same way: decimal digits, 0..65535, and
// one message for anything else, before anything starts. `12345.0` and `1e3` are numbers to
// `Number()`, not ports anyone typed.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { devCommand } from '../../src/cli/commands/dev.ts';
import { receiverCommand } from '../../src/cli/commands/receiver.ts';
import { serverCommand } from '../../src/cli/commands/server.ts';
import { runCli } from '../helpers/run-cli.ts';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'upcall-port-option-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const commands = [
  ['server', '--port', (io: Parameters<typeof serverCommand>[0]) => serverCommand(io)],
  ['receiver', '--port', (io: Parameters<typeof receiverCommand>[0]) => receiverCommand(io)],
  ['dev', '--port', (io: Parameters<typeof devCommand>[0]) => devCommand(io)],
  ['dev', '--receiver-port', (io: Parameters<typeof devCommand>[0]) => devCommand(io)],
] as const;

describe.each(commands)('upcall %s %s', (name, option, factory) => {
  it.each(['65536', '-1', '1e3', '12345.0', '0x50', ' 80', 'http'])(
    'refuses %j with the one port message and starts nothing',
    async (value) => {
      const data = join(dir, `${name}-${option}`);
      const run = await runCli(factory, [name, option, value, '--data', data], { cwd: dir });
      expect(run.exitCode).toBe(1);
      expect(run.stderr).toContain('expected a port number 0..65535');
      expect(run.stdout).toBe('');
    },
  );
});
