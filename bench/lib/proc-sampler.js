// What the machine was doing while a workload ran, read from /proc (Linux only; elsewhere the
// numbers are reported as unknown): CPU busy outside the benchmark's own processes, load
// average, and a server's resident set size. Outside load is what makes a slice noisy, so
// every result row carries it.
import { readFileSync } from 'node:fs';
import { cpus } from 'node:os';

/** @returns {{ busy: number, total: number } | undefined} jiffies since boot, all CPUs */
function machineCpu() {
  try {
    const line = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0] ?? '';
    const f = line.trim().split(/\s+/).slice(1).map(Number);
    const idle = (f[3] ?? 0) + (f[4] ?? 0);
    const total = f.slice(0, 8).reduce((a, b) => a + b, 0);
    return { busy: total - idle, total };
  } catch {
    return undefined;
  }
}

/** @param {number} pid @returns {number} user + system jiffies of the process, 0 if gone */
export function processCpu(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // fields 14 and 15 of proc(5) (utime, stime) are 12 and 13 after the state field
    return Number(f[11]) + Number(f[12]);
  } catch {
    return 0;
  }
}

/** @param {number} pid @returns {{ rssMiB: number, hwmMiB: number } | undefined} */
export function memoryOf(pid) {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (/** @type {string} */ name) =>
      Number(new RegExp(`^${name}:\\s+(\\d+)`, 'm').exec(status)?.[1] ?? NaN);
    return { rssMiB: kb('VmRSS') / 1024, hwmMiB: kb('VmHWM') / 1024 };
  } catch {
    return undefined;
  }
}

function loadavg1() {
  try {
    return Number(readFileSync('/proc/loadavg', 'utf8').split(' ')[0]);
  } catch {
    return NaN;
  }
}

/**
 * @typedef {object} LoadReport
 * @property {number} outsidePct  mean CPU busy outside our processes, % of all cores
 * @property {number} outsidePeakPct  worst 250 ms sample of the same
 * @property {number} oursPct  CPU used by the harness and its servers, % of all cores
 * @property {number} loadavg  1-minute load average at the end
 */

/**
 * Samples machine CPU against our own processes' CPU until stopped.
 * @param {() => number[]} ourPids  read at every sample, so servers started later count too
 * @param {number} [intervalMs]
 */
export function recordLoad(ourPids, intervalMs = 250) {
  const ncpu = cpus().length;
  const ours = () => ourPids().reduce((sum, pid) => sum + processCpu(pid), 0);
  const first = machineCpu();
  const firstOurs = ours();
  let prev = first;
  let prevOurs = firstOurs;
  let peak = 0;
  const timer = setInterval(() => {
    const now = machineCpu();
    const nowOurs = ours();
    if (now && prev && now.total > prev.total) {
      const outside = Math.max(0, now.busy - prev.busy - (nowOurs - prevOurs));
      // /proc/stat counts jiffies summed over all CPUs; per-process jiffies are the same unit.
      peak = Math.max(peak, (100 * outside) / (now.total - prev.total));
    }
    prev = now;
    prevOurs = nowOurs;
  }, intervalMs);
  timer.unref();
  return {
    /** @returns {LoadReport} */
    stop() {
      clearInterval(timer);
      const last = machineCpu();
      const lastOurs = ours();
      if (!first || !last || last.total <= first.total) {
        return { outsidePct: NaN, outsidePeakPct: NaN, oursPct: NaN, loadavg: loadavg1() };
      }
      const span = last.total - first.total;
      const oursDelta = lastOurs - firstOurs;
      return {
        outsidePct: Math.max(0, (100 * (last.busy - first.busy - oursDelta)) / span),
        outsidePeakPct: peak,
        oursPct: Math.min(100, (100 * oursDelta) / span),
        loadavg: loadavg1(),
        ncpu,
      };
    },
  };
}

/**
 * Samples a process's RSS until stopped; returns the peak of the samples and the kernel's own
 * high-water mark (VmHWM, which also catches spikes between samples).
 * @param {number} pid
 */
export function recordRss(pid, intervalMs = 50) {
  let peak = memoryOf(pid)?.rssMiB ?? NaN;
  const timer = setInterval(() => {
    const m = memoryOf(pid);
    if (m) peak = Math.max(peak, m.rssMiB);
  }, intervalMs);
  timer.unref();
  return {
    stop() {
      clearInterval(timer);
      const m = memoryOf(pid);
      return { peakSampledMiB: peak, hwmMiB: m?.hwmMiB ?? NaN };
    },
  };
}
