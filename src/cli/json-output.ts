/**
 * `--json` for scripts (issue 19): output as JSON Lines, one JSON object per line on stdout. A
 * command about one thing (put, get, stat, mb, rb) prints exactly one line; a listing or a bulk
 * action (ls, rm, uploads) prints one line per item as it goes, so `jq` can read a listing of any
 * length without waiting for its end. Failures stay on stderr in words, with the exit status.
 */
import type { Command } from 'commander';
import type { CliIo } from './cli-io.ts';

export interface JsonFlag {
  json?: boolean;
}

export function addJsonOption(command: Command): Command {
  return command.option('--json', 'print JSON Lines (one JSON object per line) for scripts');
}

export function printJson(io: CliIo, value: unknown): void {
  io.out(`${JSON.stringify(value)}\n`);
}
