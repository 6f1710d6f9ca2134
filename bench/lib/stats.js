// Order statistics used by every report: median, percentiles, min..max.

/** @param {number[]} values @param {number} p 0..100 @returns {number} nearest-rank percentile */
export function percentile(values, p) {
  if (values.length === 0) return NaN;
  const sorted = Float64Array.from(values).sort();
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return /** @type {number} */ (sorted[rank]);
}

/** @param {number[]} values */
export function median(values) {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((x, y) => x - y);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? /** @type {number} */ (sorted[mid]) : (sorted[mid - 1] + sorted[mid]) / 2;
}

/** @param {number[]} values */
export function range(values) {
  return { min: Math.min(...values), max: Math.max(...values) };
}
