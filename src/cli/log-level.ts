/**
 * `--log-level`, `--verbose` and `LOG_LEVEL` for the long-running commands (`upcall server`,
 * `upcall receiver`, `upcall dev`; docs/operations.md "Logs"), and the logger they pass on.
 *
 * Precedence: `--log-level` wins, then `--verbose` (debug), then `LOG_LEVEL`, then the command's
 * own default. Logs go to stderr as JSON lines; stdout keeps the banner scripts parse.
 */
import { Option } from 'commander';
import { pino, type Logger } from 'pino';
import type { CliIo } from './cli-io.ts';
import { UsageError } from './connection.ts';

export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const;

export interface LogLevelFlags {
  logLevel?: string;
  verbose?: boolean;
}

export function logLevelOption(defaultLevel: string): Option {
  return new Option(
    '--log-level <level>',
    `log level on stderr, JSON lines: info logs every request (default: ${defaultLevel}; env LOG_LEVEL)`,
  ).choices(LOG_LEVELS);
}

export function verboseOption(): Option {
  return new Option('--verbose', 'log every request and more: --log-level debug');
}

/** @throws UsageError when LOG_LEVEL names no level (a typo would otherwise log silently less). */
export function chosenLogLevel(flags: LogLevelFlags, io: CliIo, defaultLevel: string): string {
  if (flags.logLevel !== undefined) return flags.logLevel;
  if (flags.verbose === true) return 'debug';
  const fromEnv = io.env['LOG_LEVEL']?.trim().toLowerCase();
  if (fromEnv === undefined || fromEnv === '') return defaultLevel;
  if (!(LOG_LEVELS as readonly string[]).includes(fromEnv)) {
    throw new UsageError(`LOG_LEVEL=${io.env['LOG_LEVEL'] ?? ''}: expected one of ${LOG_LEVELS.join(', ')}`);
  }
  return fromEnv;
}

/** JSON lines on stderr (fd 2, written synchronously so a crash loses no line). */
export function stderrLogger(level: string, name?: string): Logger {
  return pino({ level, ...(name === undefined ? {} : { name }) }, pino.destination(2));
}
