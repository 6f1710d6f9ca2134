/**
 * Durations as people type them on a command line: `500ms`, `90s`, `30m`, `12h`, `7d`, `2w`, or a
 * bare number of seconds. Used by `--restore-delay`, the callback log's retention flag and
 * `upcall callbacks --since`. Anything else (a negative number, `1e3`, an unknown unit) is refused
 * rather than guessed at.
 */
import { InvalidArgumentError } from 'commander';

const UNIT_MS: Readonly<Record<string, number>> = {
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  w: 604_800_000,
};
const DURATION = /^\s*(\d{1,9}(?:\.\d+)?)\s*(ms|s|m|h|d|w)?\s*$/;
/** The longest delay a Node timer can wait (setTimeout clamps anything longer to 1 ms). */
const MAX_TIMER_MS = 2_147_483_647;

/** Milliseconds. @throws InvalidArgumentError */
export function parseDuration(value: string): number {
  const match = DURATION.exec(value);
  const ms = match === null ? NaN : Number(match[1]) * (UNIT_MS[match[2] ?? 's'] ?? NaN);
  if (!Number.isFinite(ms)) {
    throw new InvalidArgumentError(
      'expected a duration such as 500ms, 30s, 5m, 2h, 7d or 2w (a bare number is seconds)',
    );
  }
  return Math.round(ms);
}

/** A duration a timer waits for: at most about 24.8 days. @throws InvalidArgumentError */
export function parseTimerDuration(value: string): number {
  const ms = parseDuration(value);
  if (ms > MAX_TIMER_MS) throw new InvalidArgumentError('expected a duration of at most 24d');
  return ms;
}

/**
 * A point in time: an ISO 8601 time, or a duration meaning that long before `now`.
 * @throws InvalidArgumentError
 */
export function parseTimeOrAgo(value: string, now: Date): Date {
  if (DURATION.test(value) && /[a-z]\s*$/i.test(value)) {
    return new Date(now.getTime() - parseDuration(value));
  }
  const at = /^\d{4}-\d{2}-\d{2}/.test(value.trim()) ? Date.parse(value) : NaN;
  if (Number.isNaN(at)) {
    throw new InvalidArgumentError(
      'expected an ISO 8601 time (2026-12-07T10:00:00Z) or a duration ago (30m, 2h, 7d)',
    );
  }
  return new Date(at);
}
