/** Latency summaries and a deterministic index sequence, shared by the read and search-scaling scenarios. */

export interface Latency {
  readonly samples: number;
  readonly p50: number;
  readonly p90: number;
  readonly p99: number;
  readonly mean: number;
}

export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i] as number;
}

export function latency(ms: readonly number[]): Latency {
  const s = [...ms].sort((a, b) => a - b);
  return { samples: s.length, p50: percentile(s, 50), p90: percentile(s, 90), p99: percentile(s, 99), mean: s.reduce((a, b) => a + b, 0) / Math.max(1, s.length) };
}

/** xorshift32 indexes in [0, n): the same sequence for every run. */
export function sequence(n: number, length: number, seed = 0x9e3779b9): number[] {
  let x = seed >>> 0;
  const out: number[] = [];
  for (let i = 0; i < length; i++) {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    out.push(x % n);
  }
  return out;
}
