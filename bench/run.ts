/**
 * `npm run bench`: the token's operations through the pkcs11js-shaped API next to raw node:crypto doing
 * the same work, measured interleaved in one run, on every PAL port where storage is involved.
 *   --json          one JSON object per line instead of a table
 *   --quick         short measurements and small object counts (a smoke run)
 *   --vs-softhsm    also SoftHSMv2 through pkcs11js, with our/SoftHSM ratios
 *   --rpc           also round trips through p11-kit-client.so: our server vs p11-kit server + SoftHSMv2
 *   --out FILE      where to write the results and the machine's description (default bench-results.json)
 *   --only TEXT     only the cases whose name contains TEXT (comma-separated for several)
 * @module
 */
import { writeFileSync } from 'node:fs';
import { cpus, loadavg, platform, release, totalmem } from 'node:os';
import { cryptoCases } from './crypto-cases.js';
import { type BenchCase, type BenchResult, format, header, measure } from './harness.js';
import { mechanismCases } from './mechanism-cases.js';
import { storageCases } from './storage-cases.js';
import { ours, PORTS, softhsm, type Target } from './targets.js';

const argv = process.argv.slice(2);
const flag = (f: string) => argv.includes(f);
const json = flag('--json');
const quick = flag('--quick');
const vsSoftHsm = flag('--vs-softhsm');
const outIndex = argv.indexOf('--out');
const outFile = outIndex >= 0 ? (argv[outIndex + 1] ?? 'bench-results.json') : 'bench-results.json';
const onlyIndex = argv.indexOf('--only');
const only = onlyIndex >= 0 ? (argv[onlyIndex + 1] ?? '').split(',') : [];
const ROUNDS = quick ? 1 : 10;
const BUDGET_MS = quick ? 40 : 150;
const COUNTS = quick ? [10, 200] : [10, 1000, 10_000];

const say = (line: string) => process.stdout.write(`${line}\n`);
const progress = (line: string) => {
  if (process.stderr.isTTY) process.stderr.write(`  … ${line}\n`);
};

const machine = {
  node: process.version,
  platform: `${platform()} ${release()}`,
  cpus: `${cpus().length} × ${cpus()[0]?.model ?? '?'}`,
  memory_gib: Math.round(totalmem() / 2 ** 30),
  load_average: loadavg().map((x) => Number(x.toFixed(2))),
  rounds: ROUNDS,
  budget_ms: BUDGET_MS,
};

let hsm: Target | undefined;
if (vsSoftHsm) {
  const h = softhsm();
  if (typeof h === 'string') process.stderr.write(`--vs-softhsm: skipped, ${h}\n`);
  else hsm = h;
}
const withHsm = hsm !== undefined;
if (!json) {
  say(
    `corepkcs11 bench — Node ${machine.node}, ${machine.cpus}, load ${machine.load_average.join(' ')}`,
  );
  say(
    `${ROUNDS} interleaved rounds of ${BUDGET_MS} ms per side; ratio = ours / node, vs SoftHSM = ours / SoftHSM (medians of per-round ratios)`,
  );
  say(header(withHsm));
}

const results: BenchResult[] = [];
function run(c: BenchCase): void {
  if (only.length > 0 && !only.some((o) => c.op.includes(o))) return;
  try {
    const r = measure(c, ROUNDS, BUDGET_MS);
    results.push(r);
    say(json ? JSON.stringify(r) : format(r, withHsm));
  } catch (e) {
    process.stderr.write(`${c.op}: ${e instanceof Error ? e.message : String(e)}\n`);
  }
}

const memoryTarget = ours('memory');
for (const c of cryptoCases(memoryTarget, hsm)) run(c);
for (const c of mechanismCases(memoryTarget, hsm)) run(c);
memoryTarget.close();

// Filling stores to 10,000 objects takes a while: skip it when --only names no storage case.
const storageNames = /\[|objects|certificate|find|C_Initialize|cold/;
if (only.length === 0 || only.some((o) => storageNames.test(o))) {
  const targets = new Map(PORTS.map((p) => [p, ours(p)] as const));
  for (const c of storageCases(targets, hsm, { counts: COUNTS, softhsmMax: 1000, progress }))
    run(c);
  for (const t of targets.values()) t.close();
}
hsm?.close();

const peakRssMiB = Math.round(process.resourceUsage().maxRSS / 1024);
if (!json) say(`peak memory (max RSS): ${peakRssMiB} MiB`);
writeFileSync(
  outFile,
  `${JSON.stringify({ machine, peak_rss_mib: peakRssMiB, results }, null, 2)}\n`,
);
if (!json) say(`results and machine description written to ${outFile}`);

if (flag('--rpc')) {
  // Round trips through p11-kit-client.so: our server and p11-kit server + SoftHSMv2, in separate processes.
  const { rpcBench } = await import('./rpc.js');
  process.exitCode = await rpcBench(argv);
}
