/**
 * Human byte sizes for CLI flags and output: `100KB`, `8MiB`, `1g` in; `1.5 MiB` out.
 * Units are binary (1 KB = 1024 bytes), as part sizes in OSS are.
 */
import { InvalidArgumentError } from 'commander';

const UNITS: Readonly<Record<string, number>> = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 };

export function parseByteSize(value: string): number {
  const match = /^\s*(\d+(?:\.\d+)?)\s*([kmg]?)(?:i?b)?\s*$/i.exec(value);
  const unit = UNITS[(match?.[2] ?? '').toLowerCase()];
  if (match === null || unit === undefined) {
    throw new InvalidArgumentError(`expected a size like 512KB or 8MB, got ${JSON.stringify(value)}`);
  }
  return Math.round(Number(match[1]) * unit);
}

export function formatByteSize(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value.toFixed(value < 10 ? 1 : 0)} ${units[unit]}`;
}
