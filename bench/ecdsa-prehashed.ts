/**
 * CKM_ECDSA (prehashed digest) against raw node:crypto, measured interleaved in one run:
 * our sign(digest) vs `crypto.sign(hash, msg32, key)` and our verify vs `crypto.verify(hash, …)`,
 * both with pre-made keys and ieee-p1363 signatures. Each repetition times both sides back to back
 * (order alternating); the ratio printed is the median of the per-repetition ratios.
 *
 * Usage: node dist/bench/ecdsa-prehashed.js [--curve P-256[,P-384,…]] [--reps 5] [--ms 500] [--json]
 * @module
 */
import { createHash, type KeyObject, randomBytes, sign, verify } from 'node:crypto';
import { CURVES } from '../src/adapters/crypto-node/ecdsa/curves.js';
import { createEcdsaKey, type EcdsaCurve } from '../src/adapters/crypto-node/ecdsa/index.js';
import { ecKeyParts, freshKeyPair } from '../test/helpers/keypair.js';

/** The hash that matches the curve's strength. */
const hashFor = (curve: EcdsaCurve): string => {
  const bits = CURVES[curve].orderBits;
  return bits <= 256 ? 'sha256' : bits <= 384 ? 'sha384' : 'sha512';
};
/** Time per measurement relative to --ms: the big curves are ~50x slower, so give them longer. */
const budgetFor = (curve: EcdsaCurve): number => (curve === 'P-256' ? 1 : 2);

interface Args {
  curves: EcdsaCurve[];
  reps: number;
  ms: number;
  json: boolean;
}

function parseArgs(argv: string[]): Args {
  const args: Args = { curves: ['P-256', 'P-384', 'P-521'], reps: 5, ms: 500, json: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const next = () => argv[++i] ?? '';
    if (a === '--json') args.json = true;
    else if (a === '--curve') args.curves = next().split(',') as EcdsaCurve[];
    else if (a === '--reps') args.reps = Number(next());
    else if (a === '--ms') args.ms = Number(next());
    else throw new Error(`unknown argument ${a}`);
  }
  return args;
}

/** Operations per second of `fn`, run for at least `ms` milliseconds after a short warm-up. */
function opsPerSecond(fn: () => unknown, ms: number): number {
  const warm = performance.now();
  while (performance.now() - warm < ms / 10) fn();
  let n = 0;
  const start = performance.now();
  let elapsed = 0;
  do {
    fn();
    n++;
    elapsed = performance.now() - start;
  } while (elapsed < ms);
  return (n * 1000) / elapsed;
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? (s[mid] ?? 0) : ((s[mid - 1] ?? 0) + (s[mid] ?? 0)) / 2;
};

interface Pair {
  op: string;
  ours: () => unknown;
  node: () => unknown;
}

function pairsFor(curve: EcdsaCurve): Pair[] {
  const hash = hashFor(curve);
  const namedCurve = CURVES[curve].opensslName;
  const { privateKey, publicKey } = freshKeyPair('ec', { namedCurve });
  const { d, point } = ecKeyParts(privateKey);
  const withD = createEcdsaKey(curve, { d, point });
  const publicOnly = createEcdsaKey(curve, { point });
  const msg = new Uint8Array(randomBytes(32));
  const digest = new Uint8Array(createHash(hash).update(msg).digest());
  const signature = withD.sign(digest);
  const priv = { key: privateKey, dsaEncoding: 'ieee-p1363' as const };
  const pub: { key: KeyObject; dsaEncoding: 'ieee-p1363' } = {
    key: publicKey,
    dsaEncoding: 'ieee-p1363',
  };
  if (!verify(hash, msg, pub, signature) || !publicOnly.verify(digest, signature)) {
    throw new Error(`${curve}: self-check failed`);
  }
  return [
    { op: `${curve} sign`, ours: () => withD.sign(digest), node: () => sign(hash, msg, priv) },
    {
      op: `${curve} verify (public key)`,
      ours: () => publicOnly.verify(digest, signature),
      node: () => verify(hash, msg, pub, signature),
    },
    {
      op: `${curve} verify (key with d)`,
      ours: () => withD.verify(digest, signature),
      node: () => verify(hash, msg, pub, signature),
    },
  ];
}

interface Result {
  op: string;
  ours: number;
  node: number;
  ratio: number;
  low: number;
  high: number;
}

function measure(pair: Pair, reps: number, ms: number): Result {
  const ours: number[] = [];
  const node: number[] = [];
  const ratios: number[] = [];
  for (let rep = 0; rep < reps; rep++) {
    let o: number;
    let n: number;
    if (rep % 2 === 0) {
      o = opsPerSecond(pair.ours, ms);
      n = opsPerSecond(pair.node, ms);
    } else {
      n = opsPerSecond(pair.node, ms);
      o = opsPerSecond(pair.ours, ms);
    }
    ours.push(o);
    node.push(n);
    ratios.push(o / n);
  }
  return {
    op: pair.op,
    ours: median(ours),
    node: median(node),
    ratio: median(ratios),
    low: Math.min(...ratios),
    high: Math.max(...ratios),
  };
}

function main(): void {
  const args = parseArgs(process.argv.slice(2));
  if (!args.json) {
    console.log(`CKM_ECDSA (prehashed) vs node:crypto, Node ${process.version}, ${args.reps} reps`);
    console.log(
      `${'operation'.padEnd(30)}${'ours ops/s'.padStart(12)}${'node ops/s'.padStart(12)}` +
        `${'ratio'.padStart(8)}   range`,
    );
  }
  for (const curve of args.curves) {
    for (const pair of pairsFor(curve)) {
      const r = measure(pair, args.reps, args.ms * budgetFor(curve));
      if (args.json) {
        const row = { op: r.op, ops_per_s: r.ours, baseline_ops_per_s: r.node, ratio: r.ratio };
        console.log(JSON.stringify(row));
      } else {
        console.log(
          `${r.op.padEnd(30)}${r.ours.toFixed(0).padStart(12)}${r.node.toFixed(0).padStart(12)}` +
            `${r.ratio.toFixed(2).padStart(8)}   ${r.low.toFixed(2)}–${r.high.toFixed(2)}`,
        );
      }
    }
  }
}

main();
