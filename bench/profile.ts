/**
 * One benchmark case in a tight loop, for `node --cpu-prof`: the hot path alone in the profile, no
 * baseline or other side interleaved. Prints ops/s at the end.
 *
 *   node --cpu-prof --cpu-prof-dir=/tmp/prof dist/bench/profile.js 'ECDSA P-256 verify' [--ms 3000]
 *     [--port memory|file|flash] [--objects N]
 *
 * The name is matched as a substring against the crypto cases and the storage cases of `npm run bench`.
 * @module
 */
import { cryptoCases } from './crypto-cases.js';
import type { BenchCase } from './harness.js';
import { storageCases } from './storage-cases.js';
import { ours, type Port } from './targets.js';

const argv = process.argv.slice(2);
const option = (name: string, fallback: string): string => {
  const i = argv.indexOf(name);
  return i >= 0 ? (argv[i + 1] ?? fallback) : fallback;
};
const wanted = argv[0] ?? '';
const ms = Number(option('--ms', '3000'));
const port = option('--port', 'memory') as Port;
const objects = Number(option('--objects', '10'));

function pick(): { c: BenchCase; close: () => void } | undefined {
  const t = ours(port);
  // Storage case names carry the port in brackets or name a storage operation.
  if (!/\[|objects|certificate|find|C_Initialize|cold/.test(wanted)) {
    for (const c of cryptoCases(t, undefined))
      if (c.op.includes(wanted)) return { c, close: t.close };
  }
  const targets = new Map([[port, t]]);
  const opts = { counts: [objects], softhsmMax: 0, progress: () => {} };
  for (const c of storageCases(targets, undefined, opts)) {
    if (c.op.includes(wanted)) return { c, close: t.close };
  }
  t.close();
  return undefined;
}

const found = pick();
if (!found) {
  process.stderr.write(`no case matches "${wanted}"\n`);
  process.exit(2);
}
const { c, close } = found;
c.ours();
let n = 0;
const start = performance.now();
while (performance.now() - start < ms) {
  for (let i = 0; i < 16; i++) c.ours();
  n += 16;
}
const secs = (performance.now() - start) / 1000;
process.stdout.write(`${c.op}: ${Math.round(n / secs).toLocaleString('en-US')} ops/s\n`);
close();
