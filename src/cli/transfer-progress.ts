/**
 * The progress line `upcall put` and `upcall get` draw on a terminal: bar, percentage, bytes,
 * transfer rate, elapsed time and an ETA that does not jump about.
 *
 * A multipart upload reports progress in bursts (four parts in flight, each socket draining in
 * its own rhythm), so an ETA computed from the last few updates swings from seconds to minutes.
 * RateMeter takes the rate over a sliding window of the last WINDOW_MS (long enough to span
 * several bursts), smooths it with a time constant of SMOOTHING_MS, and lets the shown ETA change
 * at most once a second. The bar hides the cursor and line wrap while it draws;
 * `stop()` restores both, and `restoreTerminal` writes the same restore on an interrupt, when
 * the bar may be mid-line (Ctrl-C, issue 19).
 */
import type { Writable } from 'node:stream';
import { SingleBar } from 'cli-progress';
import { formatByteSize } from './byte-size.ts';

const WINDOW_MS = 10_000;
/** Time constant of the exponential smoothing of the rate. */
const SMOOTHING_MS = 3000;
const ETA_REFRESH_MS = 1000;

/** Show the cursor (`ESC[?25h`) and turn line wrap back on (`ESC[?7h`). */
export const TERMINAL_RESTORE = '\x1b[?25h\x1b[?7h';

export interface RateSample {
  /** Bytes per second over the recent window; 0 until there is enough to tell. */
  bytesPerSecond: number;
  /** Seconds left at that rate, held steady for a second at a time; undefined while unknown. */
  etaSeconds: number | undefined;
}

export class RateMeter {
  readonly #total: number;
  readonly #samples: Array<{ at: number; loaded: number }> = [];
  #smoothed: number | undefined;
  #smoothedAt = 0;
  #eta: number | undefined;
  #etaAt = Number.NEGATIVE_INFINITY;

  constructor(total: number, startedAt: number) {
    this.#total = total;
    this.#samples.push({ at: startedAt, loaded: 0 });
  }

  sample(loaded: number, now: number): RateSample {
    this.#samples.push({ at: now, loaded });
    while (this.#samples.length > 2 && now - (this.#samples[1]?.at ?? now) >= WINDOW_MS) {
      this.#samples.shift();
    }
    const first = this.#samples[0] ?? { at: now, loaded };
    const elapsed = now - first.at;
    if (elapsed > 0) {
      const rate = ((loaded - first.loaded) * 1000) / elapsed;
      const weight = 1 - Math.exp(-(now - this.#smoothedAt) / SMOOTHING_MS);
      // Until the first bytes arrive there is no rate to smooth from: take the first one whole.
      this.#smoothed =
        this.#smoothed === undefined || this.#smoothed === 0
          ? rate
          : this.#smoothed + weight * (rate - this.#smoothed);
      this.#smoothedAt = now;
    }
    const rate = this.#smoothed ?? 0;
    if (loaded >= this.#total) {
      this.#eta = 0;
    } else if (now - this.#etaAt >= ETA_REFRESH_MS && rate > 0) {
      this.#eta = Math.ceil((this.#total - loaded) / rate);
      this.#etaAt = now;
    }
    return { bytesPerSecond: rate, etaSeconds: this.#eta };
  }
}

export function formatDuration(seconds: number | undefined): string {
  if (seconds === undefined || !Number.isFinite(seconds)) return '--';
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

export interface TransferProgress {
  update(loaded: number): void;
  stop(): void;
}

/** A bar on `stream` for `total` bytes. The caller decides whether to draw one (a terminal). */
export function startTransferProgress(stream: Writable, total: number, now = Date.now): TransferProgress {
  const started = now();
  const meter = new RateMeter(total, started);
  // The bar hides line wrap, so a line wider than the terminal is cut off: the bar itself takes
  // what the text (at most ~70 columns) leaves.
  const columns = (stream as { columns?: number }).columns ?? 80;
  const bar = new SingleBar({
    stream,
    hideCursor: true,
    linewrap: false,
    barsize: Math.max(8, Math.min(40, (columns > 0 ? columns : 80) - 72)),
    format:
      ' {bar} {percentage}% | {loaded} / {size} | {rate} | {duration_formatted} elapsed | ETA {remaining}',
  });
  const payload = (loaded: number): Record<string, string> => {
    const { bytesPerSecond, etaSeconds } = meter.sample(loaded, now());
    return {
      loaded: formatByteSize(loaded),
      size: formatByteSize(total),
      rate: bytesPerSecond > 0 ? `${formatByteSize(Math.round(bytesPerSecond))}/s` : '-- /s',
      remaining: formatDuration(etaSeconds),
    };
  };
  bar.start(total, 0, payload(0));
  let stopped = false;
  return {
    update: (loaded) => {
      if (!stopped) bar.update(loaded, payload(loaded));
    },
    stop: () => {
      if (stopped) return;
      stopped = true;
      bar.stop();
    },
  };
}
