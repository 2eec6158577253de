/**
 * Test support for the command line: runs the built `corepkcs11` in a child process with a clean
 * environment (fast PIN derivation through COREPKCS11_PIN_ITERATIONS, no PIN or store inherited from the
 * caller), and fingerprints a token store so a test can tell whether a command changed it.
 * @module
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
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

/** File name → SHA-256 of every file under `dir` (lock files excluded: they come and go). */
export function storeFingerprint(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (d: string) => {
    for (const name of readdirSync(d).sort()) {
      const p = join(d, name);
      if (statSync(p).isDirectory()) walk(p);
      else if (!/lock/i.test(name))
        out[relative(dir, p)] = createHash('sha256').update(readFileSync(p)).digest('hex');
    }
  };
  walk(dir);
  return out;
}
