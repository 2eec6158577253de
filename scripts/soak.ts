/**
 * Soak run of the property suites (test/property): the API call sequences, the object model and bursts
 * of concurrent logins on every PAL port, the parsers, the record formats and the RPC decoders, each in a worker under the hang
 * watchdog, with case counts far beyond `npm test` (over a million generated cases by default).
 * Prints every suite's count and the seed, then the totals; exits non-zero on the first failure with
 * the command that replays it.
 * Usage: node dist/scripts/soak.js [--scale F] [--seed S] [--only SUITE] [--runs N] [--jobs J]
 * @module
 */
import { availableParallelism } from 'node:os';
import { runSuite } from '../test/property/harness/run.js';
import type { SuiteResult } from '../test/property/harness/suite.js';
import { SUITES } from '../test/property/suites/index.js';

/** Cases per property at scale 1 (a suite's properties share it by their weights). */
const PLAN: Record<string, number> = {
  parsers: 100_000,
  rpc: 100_000,
  records: 60_000,
  'api-memory': 30_000,
  'api-file': 2_000,
  'api-flash': 2_000,
  'objects-memory': 30_000,
  'objects-file': 2_000,
  'objects-flash': 2_000,
  'logins-memory': 20_000,
  'logins-file': 3_000,
  'logins-flash': 3_000,
};

function option(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : undefined;
}

const scale = Number(option('scale') ?? 1);
const seed = Number(option('seed') ?? process.env.PROPERTY_SEED ?? Date.now() % 2 ** 31);
const only = option('only');
const runs = option('runs');
const jobs = Number(option('jobs') ?? Math.max(1, availableParallelism()));

const missing = SUITES.filter((s) => PLAN[s] === undefined);
if (missing.length > 0) throw new Error(`no soak plan for ${missing.join(', ')}`);
const queue = (only ? [only] : SUITES).map((suite) => ({
  suite,
  numRuns: runs ? Number(runs) : Math.max(1, Math.round((PLAN[suite] ?? 1000) * scale)),
}));

function line(r: SuiteResult, numRuns: number, seconds: number): string {
  const detail = Object.entries(r.detail)
    .filter(([k]) => !k.startsWith('ok '))
    .map(([k, v]) => `${k} ${v}`)
    .join(', ');
  return `${r.suite}: ${r.cases} cases (${detail}) in ${seconds.toFixed(1)} s, --runs ${numRuns}, seed ${seed}`;
}

process.stdout.write(`soak: ${queue.length} suites, ${jobs} at a time, seed ${seed}\n`);
const started = performance.now();
const results: SuiteResult[] = [];
let failed: string | undefined;

async function worker(): Promise<void> {
  for (let next = queue.shift(); next && !failed; next = queue.shift()) {
    const t0 = performance.now();
    const r = await runSuite(next.suite, { numRuns: next.numRuns, seed, stallMs: 120_000 });
    results.push(r);
    process.stdout.write(`${line(r, next.numRuns, (performance.now() - t0) / 1000)}\n`);
    if (r.failure) {
      failed ??= `${r.failure}\nreplay: node dist/scripts/soak.js --only ${next.suite} --runs ${next.numRuns} --seed ${seed}`;
    }
  }
}

await Promise.all(Array.from({ length: jobs }, worker));
const cases = results.reduce((n, r) => n + r.cases, 0);
const calls = results.reduce((n, r) => n + (r.detail.calls ?? 0) + (r.detail.commands ?? 0), 0);
const minutes = (performance.now() - started) / 60_000;
process.stdout.write(
  `soak: ${cases} generated cases (${calls} API calls and model commands inside them) in ` +
    `${minutes.toFixed(1)} min, seed ${seed}: ${failed ? 'FAILED' : '0 failures'}\n`,
);
if (failed) {
  process.stdout.write(`${failed}\n`);
  process.exit(1);
}
