/** Summary statistics of timings, in milliseconds. Percentiles by nearest rank. */
export interface TimingStats {
  min_ms: number;
  median_ms: number;
  mean_ms: number;
  p95_ms: number;
  stdev_ms: number;
}

const round = (value: number): number => Math.round(value * 1000) / 1000;

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return 0;
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank] ?? 0;
}

export function summarize(times: number[]): TimingStats {
  const sorted = [...times].sort((a, b) => a - b);
  const n = sorted.length;
  const mean = n === 0 ? 0 : sorted.reduce((a, b) => a + b, 0) / n;
  const mid = Math.floor(n / 2);
  const median = n === 0 ? 0 : n % 2 === 1 ? (sorted[mid] ?? 0) : ((sorted[mid - 1] ?? 0) + (sorted[mid] ?? 0)) / 2;
  // Sample standard deviation: the iterations are a sample of the snippet's run time.
  const variance = n < 2 ? 0 : sorted.reduce((acc, t) => acc + (t - mean) ** 2, 0) / (n - 1);
  return { min_ms: round(sorted[0] ?? 0), median_ms: round(median), mean_ms: round(mean), p95_ms: round(percentile(sorted, 95)), stdev_ms: round(Math.sqrt(variance)) };
}
