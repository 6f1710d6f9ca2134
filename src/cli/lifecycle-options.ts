/**
 * The lifecycle flags of `upcall server` and `upcall dev` (issue 20): how often the lifecycle
 * sweep runs and how long a lifecycle "day" lasts, each also from an environment variable (a flag
 * wins). Shortening the day lets an app's expiry and abort rules be watched working in seconds.
 */
import { Option, InvalidArgumentError } from 'commander';
import type { ServerOptions } from '../server/create-server.ts';
import { parseDuration, parseTimerDuration } from './duration.ts';
import type { CliIo } from './cli-io.ts';
import { fromEnv } from './env-option.ts';

export const LIFECYCLE_ENV = {
  interval: 'UPCALL_LIFECYCLE_INTERVAL',
  day: 'UPCALL_LIFECYCLE_DAY',
} as const;

export interface LifecycleFlags {
  lifecycleInterval?: number;
  lifecycleDay?: number;
}

/** A sweep interval: a timer's delay, and never 0 (that would sweep without pause). */
function parseInterval(value: string): number {
  const ms = parseTimerDuration(value);
  if (ms < 1) throw new InvalidArgumentError('expected a duration of at least 1ms');
  return ms;
}

/** A lifecycle day: any positive length (Days × day must mean something). */
function parseDay(value: string): number {
  const ms = parseDuration(value);
  if (ms < 1) throw new InvalidArgumentError('expected a duration of at least 1ms');
  return ms;
}

export function lifecycleIntervalOption(): Option {
  return new Option(
    '--lifecycle-interval <duration>',
    `how often the lifecycle sweep carries out bucket lifecycle rules, e.g. 200ms, 5m (default: 1h; env ${LIFECYCLE_ENV.interval})`,
  ).argParser(parseInterval);
}

export function lifecycleDayOption(): Option {
  return new Option(
    '--lifecycle-day <duration>',
    `how long a lifecycle "day" (Days in a rule) lasts, e.g. 1s to test expiry rules (default: 24h; env ${LIFECYCLE_ENV.day})`,
  ).argParser(parseDay);
}

/** What `createServer({ lifecycle })` takes: the flags, else the variables, else its defaults. */
export function lifecycleSetting(flags: LifecycleFlags, io: CliIo): NonNullable<ServerOptions['lifecycle']> {
  const intervalMs = flags.lifecycleInterval ?? fromEnv(io, LIFECYCLE_ENV.interval, parseInterval);
  const dayMs = flags.lifecycleDay ?? fromEnv(io, LIFECYCLE_ENV.day, parseDay);
  return {
    ...(intervalMs !== undefined && { intervalMs }),
    ...(dayMs !== undefined && { dayMs }),
  };
}
