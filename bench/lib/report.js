// Turns one run's rows into bench/RESULTS.md and a bar chart (SVG written by hand: a dozen bars
// do not justify a charting dependency). Every figure is a ratio taken in the same run, beside
// its target, so a noisy machine shows up as a wide min..max rather than a wrong headline.
import { cpus, totalmem, release } from 'node:os';

/**
 * @typedef {object} Row
 * @property {string} workload  e.g. "4 KiB PUT, c16"
 * @property {string} compare   e.g. "upcall / ceiling"
 * @property {'tmpfs' | 'disk' | 'memory'} storage
 * @property {number} [ratio]   median of per-pair ratios (absent for absolute figures)
 * @property {number} [min]
 * @property {number} [max]
 * @property {string} [figures]  the absolute figures behind the ratio, e.g. "3120 vs 4410 ops/s"
 * @property {string} [target]   e.g. "≥ 0.6"
 * @property {boolean} [met]
 * @property {string} [load]     outside CPU load while it ran
 * @property {string} [note]
 */

const fmt = (/** @type {number | undefined} */ n, digits = 2) =>
  n === undefined || Number.isNaN(n) ? '–' : n.toFixed(digits);

/** @param {import('./proc-sampler.js').LoadReport} load */
export function describeLoad(load) {
  if (Number.isNaN(load.outsidePct)) return 'unknown';
  return `${fmt(load.outsidePct, 0)}% (peak ${fmt(load.outsidePeakPct, 0)}%), load ${fmt(load.loadavg, 1)}`;
}

/**
 * @param {{ rows: Row[], unavailable: { workload: string, why: string }[], quick: boolean,
 *   startedAt: Date, durationS: number, method: string, changes: string[] }} run
 */
export function resultsMarkdown(run) {
  const cpu = cpus();
  const lines = [
    '# Benchmark results',
    '',
    `Written by \`npm run bench${run.quick ? ' -- --quick' : ''}\` on ${run.startedAt.toISOString()} in ${fmt(run.durationS, 0)} s.`,
    run.quick ? '\n**Quick smoke run: slices too short for the figures to mean anything.**' : '',
    '',
    '## Machine',
    `${cpu.length} × ${cpu[0]?.model ?? 'unknown CPU'}, ${fmt(totalmem() / 2 ** 30, 0)} GiB RAM, Linux ${release()}, Node ${process.version}.`,
    '',
    '## Method',
    run.method,
    '',
    '## Results',
    '',
    '| workload | comparison | storage | ratio (median) | min..max | figures | target | met | outside CPU load |',
    '|---|---|---|---|---|---|---|---|---|',
    ...run.rows.map(
      (r) =>
        `| ${r.workload} | ${r.compare} | ${r.storage} | ${r.ratio === undefined ? '–' : `**${fmt(r.ratio)}**`} | ${
          r.min === undefined ? '–' : `${fmt(r.min)}..${fmt(r.max)}`
        } | ${r.figures ?? ''} | ${r.target ?? ''} | ${r.met === undefined ? '' : r.met ? 'yes' : '**no**'} | ${r.load ?? ''} |`,
    ),
    '',
    ...run.rows.filter((r) => r.note).map((r) => `- ${r.workload} (${r.compare}): ${r.note}`),
    '',
    '![ratios](results.svg)',
    '',
  ];
  if (run.unavailable.length > 0) {
    lines.push(
      '## Not measured in this run',
      '',
      ...run.unavailable.map((u) => `- ${u.workload}: ${u.why}`),
      '',
    );
  }
  lines.push('## What changed since last time', '', ...run.changes.map((c) => `- ${c}`), '');
  return lines.filter((l, i, all) => !(l === '' && all[i - 1] === '')).join('\n');
}

/** A horizontal bar per ratio row, with its min..max whisker and a tick at its target. */
export function resultsSvg(/** @type {Row[]} */ rows) {
  const bars = rows.filter((r) => r.ratio !== undefined && Number.isFinite(r.ratio));
  const width = 900;
  const labelW = 420;
  const rowH = 26;
  const height = 40 + bars.length * rowH + 30;
  const maxRatio = Math.max(2, ...bars.map((r) => r.max ?? r.ratio ?? 0)) * 1.05;
  const x = (/** @type {number} */ v) => labelW + ((width - labelW - 20) * v) / maxRatio;
  const esc = (/** @type {string} */ s) =>
    s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif" font-size="12">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<text x="10" y="20" font-size="14">Paired ratios (median, whisker min..max; red tick = target)</text>`,
  ];
  bars.forEach((r, i) => {
    const y = 40 + i * rowH;
    const ratio = /** @type {number} */ (r.ratio);
    const colour = r.met === false ? '#d9534f' : r.met === true ? '#5cb85c' : '#5b8bd9';
    parts.push(
      `<text x="10" y="${y + 15}">${esc(`${r.workload}: ${r.compare} (${r.storage})`)}</text>`,
      `<rect x="${labelW}" y="${y + 4}" width="${Math.max(1, x(ratio) - labelW)}" height="14" fill="${colour}"/>`,
      `<line x1="${x(r.min ?? ratio)}" x2="${x(r.max ?? ratio)}" y1="${y + 11}" y2="${y + 11}" stroke="black"/>`,
      `<text x="${x(ratio) + 4}" y="${y + 15}">${fmt(ratio)}</text>`,
    );
    const target = /([\d.]+)/.exec(r.target ?? '')?.[1];
    if (target && r.target?.startsWith('≥')) {
      parts.push(
        `<line x1="${x(Number(target))}" x2="${x(Number(target))}" y1="${y + 1}" y2="${y + 21}" stroke="red" stroke-width="2"/>`,
      );
    }
  });
  const axisY = 40 + bars.length * rowH + 5;
  parts.push(`<line x1="${x(1)}" x2="${x(1)}" y1="35" y2="${axisY}" stroke="#888" stroke-dasharray="4 3"/>`);
  parts.push(`<text x="${x(1) - 8}" y="${axisY + 15}">1.0</text>`, '</svg>');
  return parts.join('\n') + '\n';
}
