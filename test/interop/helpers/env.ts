/**
 * The real-client environment: which tools exist (pkcs11-tool, p11-kit-client.so, SoftHSMv2, p11-kit,
 * openssl), child processes run without blocking the event loop (our server lives in the test process),
 * fresh SoftHSMv2 tokens, and the servers under comparison.
 * @module
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const CANDIDATES = {
  client: [
    '/usr/lib/x86_64-linux-gnu/pkcs11/p11-kit-client.so',
    '/usr/lib/aarch64-linux-gnu/pkcs11/p11-kit-client.so',
    '/usr/lib64/pkcs11/p11-kit-client.so',
    '/usr/lib/pkcs11/p11-kit-client.so',
  ],
  softhsm: [
    '/usr/lib/softhsm/libsofthsm2.so',
    '/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so',
    '/usr/lib64/pkcs11/libsofthsm2.so',
  ],
};

export interface Tools {
  pkcs11Tool: string;
  client: string;
  softhsm: string;
  softhsmUtil: string;
  p11kit: string | undefined;
  openssl: string | undefined;
}

function onPath(name: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(':')) {
    const p = join(dir, name);
    if (dir && existsSync(p)) return p;
  }
  return undefined;
}

/** The tools, or the reason the interop tests must skip. */
export function findTools(): Tools | string {
  const pkcs11Tool = onPath('pkcs11-tool');
  // P11KIT_CLIENT points at another p11-kit-client.so (a newer p11-kit built from source, say).
  const client = process.env.P11KIT_CLIENT ?? CANDIDATES.client.find(existsSync);
  const softhsm = CANDIDATES.softhsm.find(existsSync);
  const softhsmUtil = onPath('softhsm2-util');
  if (!pkcs11Tool) return 'pkcs11-tool not found (apt-get install opensc)';
  if (!client) return 'p11-kit-client.so not found (apt-get install p11-kit-modules)';
  if (!softhsm || !softhsmUtil) return 'SoftHSMv2 not found (apt-get install softhsm2)';
  return {
    pkcs11Tool,
    client,
    softhsm,
    softhsmUtil,
    p11kit: onPath('p11-kit'),
    openssl: onPath('openssl'),
  };
}

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
  out: Buffer;
}

/** Runs a program asynchronously (the event loop keeps serving our in-process server meanwhile). */
export function run(
  cmd: string,
  args: string[],
  env: Record<string, string> = {},
  timeoutMs = 120_000,
): Promise<RunResult> {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const stdout = Buffer.concat(out);
      resolve({
        code: code ?? (signal ? 128 : 1),
        stdout: stdout.toString(),
        stderr: Buffer.concat(err).toString() + (signal ? `\nkilled by ${signal}` : ''),
        out: stdout,
      });
    });
  });
}

export interface Workdir {
  path: string;
  file(name: string): string;
  cleanup(): void;
}

export function workdir(prefix: string): Workdir {
  const path = mkdtempSync(join(tmpdir(), prefix));
  return {
    path,
    file: (name) => join(path, name),
    cleanup: () => rmSync(path, { recursive: true, force: true }),
  };
}

/** A fresh SoftHSMv2 configuration with one initialized token; returns the SOFTHSM2_CONF path. */
export async function softhsmToken(tools: Tools, dir: Workdir, label: string): Promise<string> {
  const tokens = dir.file('tokens');
  mkdirSync(tokens, { recursive: true });
  const conf = dir.file('softhsm2.conf');
  writeFileSync(
    conf,
    `directories.tokendir = ${tokens}\nobjectstore.backend = file\nlog.level = ERROR\n`,
  );
  const r = await run(
    tools.softhsmUtil,
    ['--init-token', '--free', '--label', label, '--so-pin', '5678', '--pin', '1234'],
    { SOFTHSM2_CONF: conf },
  );
  if (r.code !== 0) throw new Error(`softhsm2-util failed: ${r.stderr}`);
  return conf;
}

/** `p11-kit server` in the foreground in front of a module; resolves once its socket exists. */
export async function startP11KitServer(
  p11kit: string,
  provider: string,
  socket: string,
  env: Record<string, string>,
): Promise<{ child: ChildProcess; stop: () => Promise<void> }> {
  const child = spawn(p11kit, ['server', '-f', '--provider', provider, '-n', socket, 'pkcs11:'], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout?.resume();
  child.stderr?.resume();
  for (let i = 0; i < 100 && !existsSync(socket); i++) {
    await new Promise((r) => setTimeout(r, 50));
  }
  if (!existsSync(socket)) {
    child.kill('SIGKILL');
    throw new Error('p11-kit server did not create its socket');
  }
  const stop = () =>
    new Promise<void>((resolve) => {
      if (child.exitCode !== null) return resolve();
      child.once('exit', () => resolve());
      child.kill('SIGTERM');
    });
  return { child, stop };
}
