/**
 * `npm run soak`: both soak runs one after the other with one seed — the property suites
 * (scripts/soak.ts: API call sequences, object model, parsers, records, RPC decoders) and the flash
 * PAL's power-loss properties (scripts/soak-flash.ts) — then the total of generated cases, the seed
 * and the time. Exits non-zero when either run failed.
 * Usage: node dist/scripts/soak-all.js [--seed S] [--scale F] [--jobs J] [--flash-runs N]
 * @module
 */
import { spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

function option(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : undefined;
}

const here = dirname(fileURLToPath(import.meta.url));
const seed = option('seed') ?? String(Date.now() % 2 ** 31);
const scale = option('scale') ?? '1';
const flashRuns = option('flash-runs') ?? '10000';
const jobs = option('jobs');

/** Runs one script, echoing its output; resolves with its output and exit code. */
function run(script: string, args: string[]): Promise<{ out: string; code: number }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [join(here, script), ...args], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout.on('data', (b: Buffer) => {
      out += b.toString();
      process.stdout.write(b);
    });
    child.on('close', (code) => resolve({ out, code: code ?? 1 }));
  });
}

/** Sums every "N <word>" count the flash soak prints for its sequences, runs, pairs and bit flips. */
function flashCases(out: string): number {
  let n = 0;
  for (const m of out.matchAll(/(\d+) (sequences|runs|torn|atomic|flips)\b/g)) n += Number(m[1]);
  return n;
}

const started = performance.now();
const properties = await run('soak.js', [
  '--seed',
  seed,
  '--scale',
  scale,
  ...(jobs ? ['--jobs', jobs] : []),
]);
const flash = await run('soak-flash.js', ['--seed', seed, '--runs', flashRuns]);
const propertyCases = Number(/soak: (\d+) generated cases/.exec(properties.out)?.[1] ?? 0);
const flashCount = flashCases(flash.out);
const minutes = (performance.now() - started) / 60_000;
const ok = properties.code === 0 && flash.code === 0;
process.stdout.write(
  `soak-all: ${propertyCases + flashCount} generated cases (${propertyCases} property, ` +
    `${flashCount} flash power-loss and bit-rot) in ${minutes.toFixed(1)} min, seed ${seed}: ` +
    `${ok ? '0 failures' : 'FAILED'}\n`,
);
process.exitCode = ok ? 0 : 1;
