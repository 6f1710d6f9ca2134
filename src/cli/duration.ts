/**
 * Durations as people type them on a command line: `90s`, `30m`, `12h`, `7d`, `2w` (one unit, an
 * integer). Used by the callback log's retention flag and `upcall callbacks --since`.
 */
import { InvalidArgumentError } from 'commander';

const UNIT_MS: Readonly<Record<string, number>> = {
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  w: 604_800_000,
};

/** Milliseconds. @throws InvalidArgumentError */
export function parseDuration(value: string): number {
  const match = /^(\d{1,9})([smhdw])$/.exec(value.trim());
  const ms = match === null ? NaN : Number(match[1]) * (UNIT_MS[match[2] as string] as number);
  if (!(ms > 0)) throw new InvalidArgumentError('expected a duration such as 90s, 30m, 12h, 7d or 2w');
  return ms;
}

/**
 * A point in time: an ISO 8601 time, or a duration meaning that long before `now`.
 * @throws InvalidArgumentError
 */
export function parseTimeOrAgo(value: string, now: Date): Date {
  if (/^\d{1,9}[smhdw]$/.test(value.trim())) return new Date(now.getTime() - parseDuration(value));
  const at = /^\d{4}-\d{2}-\d{2}/.test(value.trim()) ? Date.parse(value) : NaN;
  if (Number.isNaN(at)) {
    throw new InvalidArgumentError(
      'expected an ISO 8601 time (2026-12-07T10:00:00Z) or a duration ago (30m, 2h, 7d)',
    );
  }
  return new Date(at);
}
