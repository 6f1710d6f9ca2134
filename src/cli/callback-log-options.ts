/**
 * The callback log flags of `upcall server` (issue 18, docs/operations.md "Callback log and
 * redelivery"), defined in commands/server.ts: retention by age and count, each also from an
 * environment variable (a flag wins), and `--no-callback-log` to keep none (the benchmark's "log
 * off" side).
 */
import { InvalidArgumentError } from 'commander';
import type { ServerOptions } from '../server/create-server.ts';
import { parseDuration } from './duration.ts';
import type { CliIo } from './cli-io.ts';
import { fromEnv } from './env-option.ts';

export const CALLBACK_LOG_ENV = {
  maxAge: 'UPCALL_CALLBACK_LOG_MAX_AGE',
  maxEntries: 'UPCALL_CALLBACK_LOG_MAX_ENTRIES',
} as const;

export interface CallbackLogFlags {
  /** False with `--no-callback-log`. */
  callbackLog?: boolean;
  callbackLogMaxAge?: number;
  callbackLogMaxEntries?: number;
}

export function parseLogEntries(value: string): number {
  const n = /^\d{1,9}$/.test(value.trim()) ? Number(value) : NaN;
  if (!(n >= 1)) throw new InvalidArgumentError('expected a whole number of entries, at least 1');
  return n;
}

/** What `createServer({ callbackLog })` takes: the retention, or false for no log. */
export function callbackLogSetting(
  flags: CallbackLogFlags,
  io: CliIo,
): NonNullable<ServerOptions['callbackLog']> {
  if (flags.callbackLog === false) return false;
  const maxAgeMs = flags.callbackLogMaxAge ?? fromEnv(io, CALLBACK_LOG_ENV.maxAge, parseDuration);
  const maxEntries = flags.callbackLogMaxEntries ?? fromEnv(io, CALLBACK_LOG_ENV.maxEntries, parseLogEntries);
  return {
    ...(maxAgeMs !== undefined && { maxAgeMs }),
    ...(maxEntries !== undefined && { maxEntries }),
  };
}
