/**
 * Runs one CLI command in-process through commander, the way `bin/upcall.js` parses argv, and
 * captures what it printed and the exit code it chose. Commander's own usage errors are caught
 * (exitOverride) and reported as exit code 1 with their message on stderr.
 */
import { PassThrough } from 'node:stream';
import { Command, CommanderError } from 'commander';
import type { CliIo } from '../../src/cli/cli-io.ts';

export interface CliRun {
  stdout: string;
  stderr: string;
  /** Bytes written to the raw stdout stream (binary output). */
  raw: Buffer;
  exitCode: number;
}

export interface CliRunOptions {
  cwd: string;
  env?: Record<string, string | undefined>;
}

export async function runCli(
  factory: (io: CliIo) => Command,
  args: readonly string[],
  options: CliRunOptions,
): Promise<CliRun> {
  let stdout = '';
  let stderr = '';
  let exitCode = 0;
  const chunks: Buffer[] = [];
  const raw = new PassThrough();
  raw.on('data', (chunk: Buffer) => chunks.push(chunk));
  const io: CliIo = {
    out: (text) => {
      stdout += text;
    },
    err: (text) => {
      stderr += text;
    },
    stdout: raw,
    stderr: new PassThrough().resume(),
    isTTY: false,
    env: options.env ?? {},
    cwd: options.cwd,
    setExitCode: (code) => {
      exitCode = code;
    },
    // In-process runs are never interrupted; the real Ctrl-C path is tested on the spawned binary.
    onInterrupt: () => () => undefined,
  };
  const program = new Command('upcall').exitOverride();
  const command = factory(io).exitOverride();
  command.configureOutput({ writeOut: io.out, writeErr: io.err });
  program.configureOutput({ writeOut: io.out, writeErr: io.err });
  program.addCommand(command);
  try {
    await program.parseAsync(['node', 'upcall', ...args]);
  } catch (error) {
    if (!(error instanceof CommanderError)) throw error;
    exitCode = error.exitCode;
  }
  return { stdout, stderr, raw: Buffer.concat(chunks), exitCode };
}
