/**
 * The parser of duration options (`--restore-delay 2s`): a non-negative number with a unit of
 * `ms`, `s`, `m`, `h` or `d`, or a bare number of seconds. Returned in milliseconds. Anything
 * else (a negative number, `1e3`, an unknown unit) is refused rather than guessed at.
 */
import { InvalidArgumentError } from 'commander';

const UNIT_MS: Readonly<Record<string, number>> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

export function parseDuration(value: string): number {
  const match = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?\s*$/.exec(value);
  const ms = match === null ? NaN : Number(match[1]) * (UNIT_MS[match[2] ?? 's'] ?? NaN);
  if (!Number.isFinite(ms) || ms > 2_147_483_647) {
    throw new InvalidArgumentError(
      'expected a duration such as 500ms, 30s, 5m, 2h or 1d (a bare number is seconds)',
    );
  }
  return Math.round(ms);
}
