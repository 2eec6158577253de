/**
 * Test support for the drop-in fixtures: pack this package as it would be published, copy the fixture
 * projects next to the tarball, `npm install` them (once per test run, in parallel, preferring the npm
 * cache), look for native modules, run a fixture's check script and read its report.
 * @module
 */
import { spawn } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, renameSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root (this file runs as dist/test/interop/js/npm-fixture.js). */
export const ROOT = fileURLToPath(new URL('../../../../', import.meta.url));
export const FIXTURES = join(ROOT, 'test', 'interop', 'js');

export interface Run {
  code: number | null;
  output: string;
}

/**
 * npm's own variables from an enclosing `npm test` (package and lifecycle data, the local prefix) would
 * point the nested npm at this repository; the user's npm configuration (registry, cache, proxy) stays.
 */
function childEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    const lower = k.toLowerCase();
    if (lower.startsWith('npm_') && !lower.startsWith('npm_config_')) continue;
    if (lower === 'npm_config_local_prefix' || lower === 'init_cwd') continue;
    env[k] = v;
  }
  return env;
}

export function run(cmd: string, args: string[], cwd: string, timeoutMs: number): Promise<Run> {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { cwd, env: childEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d: Buffer) => {
      output += d.toString();
    });
    child.stderr.on('data', (d: Buffer) => {
      output += d.toString();
    });
    const timer = setTimeout(() => {
      output += `\n[killed after ${timeoutMs} ms]`;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.on('error', (e) => {
      output += String(e);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, output });
    });
  });
}

export type Prepared = { tmp: string; dirs: Map<string, string> } | { skip: string };

/**
 * Packs the package into TMP/corepkcs11.tgz (the name the fixtures' package.json files use) and installs
 * each fixture in TMP/<name>. Skips, with the reason, only when the registry cannot be reached.
 */
export async function prepareFixtures(names: string[]): Promise<Prepared> {
  const tmp = mkdtempSync(join(tmpdir(), 'corepkcs11-dropin-'));
  const pack = await run(
    'npm',
    ['pack', '--ignore-scripts', '--json', '--pack-destination', tmp],
    ROOT,
    120_000,
  );
  if (pack.code !== 0) throw new Error(`npm pack failed:\n${pack.output}`);
  const tarball = readdirSync(tmp).find((f) => f.endsWith('.tgz'));
  if (!tarball) throw new Error(`npm pack wrote no tarball:\n${pack.output}`);
  renameSync(join(tmp, tarball), join(tmp, 'corepkcs11.tgz'));

  const dirs = new Map<string, string>();
  for (const name of names) {
    const dir = join(tmp, name);
    cpSync(join(FIXTURES, name), dir, { recursive: true });
    dirs.set(name, dir);
  }
  const args = ['install', '--no-audit', '--no-fund', '--no-package-lock', '--prefer-offline'];
  const installs = await Promise.all([...dirs.values()].map((d) => run('npm', args, d, 300_000)));
  const failed = installs.findIndex((r) => r.code !== 0);
  if (failed >= 0) {
    const ping = await run('npm', ['ping'], tmp, 30_000);
    if (ping.code !== 0) {
      return {
        skip: `the npm registry is unreachable (npm ping: ${ping.output.trim().split('\n').pop()})`,
      };
    }
    throw new Error(`npm install of ${names[failed]} failed:\n${installs[failed]?.output}`);
  }
  return { tmp, dirs };
}

/** Every `*.node` file under `dir` (native addons), not following symbolic links. */
export function nativeModules(dir: string): string[] {
  const found: string[] = [];
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.isFile() && e.name.endsWith('.node')) found.push(p);
    }
  };
  walk(dir);
  return found;
}

/** The `name` field of every installed package directory called pkcs11js (nested copies included). */
export function installedPkcs11js(nodeModules: string): string[] {
  const names: string[] = [];
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      if (!e.isDirectory()) continue;
      const p = join(d, e.name);
      if (e.name === 'pkcs11js' && existsSync(join(p, 'package.json'))) {
        names.push(String(JSON.parse(readFileSync(join(p, 'package.json'), 'utf8')).name));
      }
      walk(p);
    }
  };
  walk(nodeModules);
  return names;
}

export interface CheckResult {
  name: string;
  ok: boolean;
  error?: string;
}

export interface Report {
  results: CheckResult[];
  artifacts: Record<string, Record<string, string | string[]>>;
  fatal?: string;
}

/** Runs a fixture's check script (`node SCRIPT REPORT_JSON ...args`) and reads the report it writes. */
export async function runFixture(dir: string, script: string, args: string[]): Promise<Report> {
  const reportPath = join(dir, 'report.json');
  const r = await run(process.execPath, [script, reportPath, ...args], dir, 180_000);
  if (!existsSync(reportPath))
    throw new Error(`${script} wrote no report (exit ${r.code}):\n${r.output}`);
  const report = JSON.parse(readFileSync(reportPath, 'utf8')) as Report;
  if (report.fatal) throw new Error(`${script} stopped: ${report.fatal}\n${r.output}`);
  return report;
}

/** Fresh empty directory for a token store. */
export function tokenDir(tmp: string, name: string): string {
  return mkdtempSync(join(tmp, `${name}-token-`));
}
