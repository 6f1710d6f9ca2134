import { describe, expect, it } from 'vitest';
import { formatDuration, RateMeter } from './transfer-progress.ts';

const MiB = 1024 * 1024;

describe('RateMeter', () => {
  it('keeps the ETA steady when progress arrives in bursts (parts finishing together)', () => {
    // 60 MiB at a true 1 MiB/s, but the bytes show up as 4 MiB every 4 s (four parallel parts
    // draining in step), sampled every 100 ms as a progress bar would.
    const total = 60 * MiB;
    const meter = new RateMeter(total, 0);
    const shown: Array<{ at: number; loaded: number; eta: number | undefined }> = [];
    for (let at = 100; at <= 56_000; at += 100) {
      const loaded = Math.floor(at / 4000) * 4 * MiB;
      shown.push({ at, loaded, eta: meter.sample(loaded, at).etaSeconds });
    }
    const settled = shown.filter((s) => s.at >= 8000);
    for (const { at, loaded, eta } of settled) {
      // what is left of what was reported, at the true rate
      const truth = (total - loaded) / MiB;
      expect(eta, `at ${at} ms`).toBeDefined();
      // within 30% (plus a few seconds near the end) of the true time left, never wildly off
      expect(Math.abs((eta ?? 0) - truth), `at ${at} ms: shown ${eta}, true ${truth}`).toBeLessThanOrEqual(
        truth * 0.3 + 3,
      );
    }
    // and it changes at most once a second
    let changes = 0;
    for (let i = 1; i < settled.length; i++) if (settled[i]?.eta !== settled[i - 1]?.eta) changes++;
    expect(changes).toBeLessThanOrEqual((56_000 - 8000) / 1000 + 1);
  });

  it('reports the rate over the recent window, and 0 s left when done', () => {
    const meter = new RateMeter(10 * MiB, 0);
    meter.sample(2 * MiB, 1000);
    const sample = meter.sample(4 * MiB, 2000);
    expect(sample.bytesPerSecond).toBeCloseTo(2 * MiB, -3);
    expect(sample.etaSeconds).toBe(3);
    expect(meter.sample(10 * MiB, 2500).etaSeconds).toBe(0);
  });

  it('formats durations', () => {
    expect([formatDuration(undefined), formatDuration(7), formatDuration(75), formatDuration(3725)]).toEqual([
      '--',
      '7s',
      '1m15s',
      '1h02m',
    ]);
  });
});
