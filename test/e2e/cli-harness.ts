/**
 * Test support for the command line: runs the built `corepkcs11` in a child process with a clean
 * environment (fast PIN derivation through COREPKCS11_PIN_ITERATIONS, no PIN or store inherited from the
 * caller), and fingerprints a token store so a test can tell whether a command changed it.
 * @module
 */
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  chmodSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

export const CLI_PATH = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
const README = fileURLToPath(new URL('../../../README.md', import.meta.url));

/** The fenced blocks (```lang) of the README section headed `heading`, its subsections included. */
export function readmeBlocks(heading: string, lang: string): string[] {
  const all = readFileSync(README, 'utf8');
  const start = all.indexOf(`\n${heading}\n`);
  if (start < 0) throw new Error(`README has no section '${heading}'`);
  const end = all.indexOf('\n## ', start + 1);
  const text = all.slice(start, end < 0 ? undefined : end);
  return [...text.matchAll(/^```(\w*)\n([\s\S]*?)^```$/gm)]
    .filter((m) => m[1] === lang)
    .map((m) => m[2] as string);
}

/** A `bin` directory in `dir` holding a `corepkcs11` that runs this build, as an installed one would. */
export function cliWrapper(dir: string): string {
  const bin = join(dir, 'bin');
  mkdirSync(bin, { recursive: true });
  writeFileSync(
    join(bin, 'corepkcs11'),
    `#!/bin/sh\nexec "${process.execPath}" "${CLI_PATH}" "$@"\n`,
  );
  chmodSync(join(bin, 'corepkcs11'), 0o755);
  return bin;
}

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface CliOptions {
  cwd: string;
  env?: Record<string, string | undefined>;
  input?: string | Uint8Array;
}

/** The environment a test run starts from: no COREPKCS11_* of the caller, cheap PIN derivation. */
export function baseEnv(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (v !== undefined && !k.startsWith('COREPKCS11_')) env[k] = v;
  }
  env.COREPKCS11_PIN_ITERATIONS = '10';
  env.COREPKCS11_ALLOW_WEAK_PIN_ITERATIONS = '1';
  return env;
}

export function cli(args: string[], options: CliOptions): CliResult {
  const env = { ...baseEnv(), ...options.env };
  for (const [k, v] of Object.entries(env)) if (v === undefined) delete env[k];
  const r = spawnSync(process.execPath, [CLI_PATH, ...args], {
    cwd: options.cwd,
    env: env as NodeJS.ProcessEnv,
    input: options.input ?? '',
    encoding: 'utf8',
  });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

export interface MeasuredResult {
  code: number;
  stdout: Buffer;
  stderr: string;
  /** The child's peak resident set size in MiB. */
  peakRssMiB: number;
}

const PROBE = fileURLToPath(new URL('./peak-rss.js', import.meta.url));

/**
 * Runs the CLI like `cli`, feeding its stdin from `input` (chunks written as the pipe drains, so a
 * generator can stream gigabytes), and measures its peak RSS through a probe it loads.
 */
export async function cliMeasured(
  args: string[],
  options: { cwd: string; env?: Record<string, string>; input?: AsyncIterable<Uint8Array> },
): Promise<MeasuredResult> {
  const rssFile = join(options.cwd, `.peak-rss-${process.pid}-${Date.now()}`);
  const env = { ...baseEnv(), ...options.env, PEAK_RSS_FILE: rssFile };
  const child = spawn(process.execPath, ['--import', PROBE, CLI_PATH, ...args], {
    cwd: options.cwd,
    env,
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  child.stdout.on('data', (b: Buffer) => out.push(b));
  child.stderr.on('data', (b: Buffer) => err.push(b));
  const exited = new Promise<number>((resolve) => child.on('close', (c) => resolve(c ?? -1)));
  child.stdin.on('error', () => {}); // the child may stop reading (a refused input): not our failure
  if (options.input) {
    for await (const chunk of options.input) {
      if (child.exitCode !== null || child.stdin.destroyed) break;
      if (!child.stdin.write(chunk)) {
        await new Promise<void>((resolve) => {
          child.stdin.once('drain', resolve);
          child.once('close', resolve);
        });
      }
    }
  }
  child.stdin.end();
  const code = await exited;
  const peak = Number(readFileSync(rssFile, 'utf8'));
  rmSync(rssFile, { force: true });
  return {
    code,
    stdout: Buffer.concat(out),
    stderr: Buffer.concat(err).toString('utf8'),
    peakRssMiB: Math.round(peak / 1024),
  };
}

/**
 * File name → SHA-256 of every file under `dir`. Lock files are excluded (they come and go), and so are the
 * two PIN try counters unless `tryCounters` is set: every PIN check spends a try and gives it back, writing
 * them in place, so a command that logs in and then refuses still changes them — and nothing else.
 */
export function storeFingerprint(
  dir: string,
  { tryCounters = false }: { tryCounters?: boolean } = {},
): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (d: string) => {
    for (const name of readdirSync(d).sort()) {
      const p = join(d, name);
      if (statSync(p).isDirectory()) walk(p);
      else if (!/lock/i.test(name) && (tryCounters || !name.includes('.tries.')))
        out[relative(dir, p)] = createHash('sha256').update(readFileSync(p)).digest('hex');
    }
  };
  walk(dir);
  return out;
}
