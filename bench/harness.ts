/**
 * Benchmark harness: measures an operation through our API, the same work with raw node:crypto and,
 * when asked, through SoftHSMv2 — interleaved in the same run (median of alternating rounds, so machine
 * noise hits every side alike) — and prints ops/s and the ratios, or one JSON object per line.
 * @module
 */

export interface BenchCase {
  op: string;
  /** One operation through our API. */
  ours: () => unknown;
  /** The same work done with raw node:crypto, when there is such a baseline. */
  baseline?: () => unknown;
  /** The same operation through SoftHSMv2 (pkcs11js), with --vs-softhsm. */
  softhsm?: () => unknown;
  /** Measure fewer rounds (slow operations such as C_Initialize over 10,000 objects). */
  slow?: boolean;
}

export interface BenchResult {
  op: string;
  ops_per_s: number;
  baseline_ops_per_s: number | null;
  ratio: number | null;
  softhsm_ops_per_s?: number | null;
  vs_softhsm?: number | null;
}

function opsPerSecond(fn: () => unknown, budgetMs: number): number {
  // warm up (JIT, caches), then count operations in the time budget
  fn();
  const start = process.hrtime.bigint();
  const end = start + BigInt(Math.round(budgetMs * 1e6));
  let n = 0;
  let now = start;
  while (now < end) {
    fn();
    n++;
    now = process.hrtime.bigint();
  }
  return n / (Number(now - start) / 1e9);
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
}

/** A side that fails its first call is left out (say, a mechanism SoftHSMv2 lacks); ours must work. */
function usable(
  fn: (() => unknown) | undefined,
  what: string,
  op: string,
): (() => unknown) | undefined {
  if (!fn) return undefined;
  try {
    fn();
    return fn;
  } catch (e) {
    process.stderr.write(
      `${op}: ${what} left out: ${e instanceof Error ? e.message : String(e)}\n`,
    );
    return undefined;
  }
}

/**
 * Each round measures every side back to back (the order rotating), so the ratio of a round compares
 * sides that ran under the same machine load; the ratios reported are the medians of those per-round
 * ratios, which other processes' bursts disturb far less than a ratio of two medians.
 */
export function measure(c: BenchCase, rounds: number, budgetMs: number): BenchResult {
  c.ours();
  const sides = [
    c.ours,
    usable(c.baseline, 'node:crypto', c.op),
    usable(c.softhsm, 'SoftHSMv2', c.op),
  ];
  const samples: number[][] = [[], [], []];
  const n = c.slow ? Math.min(rounds, 3) : rounds;
  for (let r = 0; r < n; r++) {
    // rotate the order so no side always runs on a warmer (or busier) machine
    for (let k = 0; k < 3; k++) {
      const i = (r + k) % 3;
      const fn = sides[i];
      if (fn) samples[i]?.push(opsPerSecond(fn, budgetMs));
    }
  }
  const [o, b, h] = samples as [number[], number[], number[]];
  const ratioTo = (other: number[]) =>
    other.length > 0 ? median(o.map((x, i) => x / (other[i] as number))) : null;
  const result: BenchResult = {
    op: c.op,
    ops_per_s: median(o),
    baseline_ops_per_s: b.length > 0 ? median(b) : null,
    ratio: ratioTo(b),
  };
  if (c.softhsm) {
    result.softhsm_ops_per_s = h.length > 0 ? median(h) : null;
    result.vs_softhsm = ratioTo(h);
  }
  return result;
}

const num = (x: number | null | undefined) =>
  x === null || x === undefined
    ? '—'
    : x >= 100
      ? Math.round(x).toLocaleString('en-US')
      : x.toFixed(1);
const ratio = (x: number | null | undefined) =>
  x === null || x === undefined ? '' : `${x.toFixed(2)}x`;

export function header(withSoftHsm: boolean): string {
  const base = `${'operation'.padEnd(46)} ${'ours ops/s'.padStart(11)} ${'node ops/s'.padStart(11)} ${'ratio'.padStart(7)}`;
  return withSoftHsm ? `${base} ${'SoftHSM'.padStart(9)} ${'vs SoftHSM'.padStart(10)}` : base;
}

export function format(r: BenchResult, withSoftHsm: boolean): string {
  const base = `${r.op.padEnd(46)} ${num(r.ops_per_s).padStart(11)} ${num(r.baseline_ops_per_s).padStart(11)} ${ratio(r.ratio).padStart(7)}`;
  return withSoftHsm
    ? `${base} ${num(r.softhsm_ops_per_s).padStart(9)} ${ratio(r.vs_softhsm).padStart(10)}`
    : base;
}
