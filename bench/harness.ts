/**
 * Benchmark harness: measures an operation and its raw node:crypto baseline interleaved in the same run
 * (median of several alternating rounds, so machine noise hits both sides alike) and prints ops/s and
 * the ratio, or one JSON object per line with --json.
 * @module
 */

export interface BenchCase {
  op: string;
  /** One operation through our API. */
  ours: () => unknown;
  /** The same work done with raw node:crypto, or undefined when there is no baseline. */
  baseline?: () => unknown;
}

export interface BenchResult {
  op: string;
  ops_per_s: number;
  baseline_ops_per_s: number | null;
  ratio: number | null;
}

function opsPerSecond(fn: () => unknown, budgetMs: number): number {
  // warm up (JIT, caches), then count operations in the time budget
  for (let i = 0; i < 3; i++) fn();
  const start = process.hrtime.bigint();
  const end = start + BigInt(Math.round(budgetMs * 1e6));
  let n = 0;
  let now = start;
  while (now < end) {
    fn();
    n++;
    if ((n & 7) === 0 || budgetMs > 50) now = process.hrtime.bigint();
  }
  now = process.hrtime.bigint();
  return n / (Number(now - start) / 1e9);
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
}

export function measure(c: BenchCase, rounds: number, budgetMs: number): BenchResult {
  const ours: number[] = [];
  const base: number[] = [];
  for (let r = 0; r < rounds; r++) {
    // alternate the order so neither side always runs on a warmer machine
    if (r % 2 === 0) {
      ours.push(opsPerSecond(c.ours, budgetMs));
      if (c.baseline) base.push(opsPerSecond(c.baseline, budgetMs));
    } else {
      if (c.baseline) base.push(opsPerSecond(c.baseline, budgetMs));
      ours.push(opsPerSecond(c.ours, budgetMs));
    }
  }
  const o = median(ours);
  const b = c.baseline ? median(base) : null;
  return { op: c.op, ops_per_s: o, baseline_ops_per_s: b, ratio: b ? o / b : null };
}

export function format(r: BenchResult): string {
  const n = (x: number) => (x >= 100 ? Math.round(x).toLocaleString('en-US') : x.toFixed(1));
  const base = r.baseline_ops_per_s === null ? '—' : n(r.baseline_ops_per_s);
  const ratio = r.ratio === null ? '' : `${r.ratio.toFixed(2)}x`;
  return `${r.op.padEnd(44)} ${n(r.ops_per_s).padStart(12)} ${base.padStart(12)} ${ratio.padStart(7)}`;
}

export const HEADER = `${'operation'.padEnd(44)} ${'ours ops/s'.padStart(12)} ${'node ops/s'.padStart(12)} ${'ratio'.padStart(7)}`;
