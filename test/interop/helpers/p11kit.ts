/**
 * What the module-registry tests need: the programs that load p11-kit's registered modules (p11-kit,
 * pkcs11-tool with p11-kit-proxy.so, GnuTLS p11tool, OpenSSL's pkcs11 engine), running a command as an
 * unprivileged user with a throwaway HOME (setpriv as root; the test's own user otherwise), module names
 * no parallel run shares, and a check that no `corepkcs11 remote` outlived its client.
 * @module
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import {
  chmodSync,
  chownSync,
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmdirSync,
  rmSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { RunResult } from './env.js';

export const PROXY = [
  '/usr/lib/x86_64-linux-gnu/p11-kit-proxy.so',
  '/usr/lib/aarch64-linux-gnu/p11-kit-proxy.so',
  '/usr/lib64/p11-kit-proxy.so',
].find(existsSync);

export const IS_ROOT = process.getuid?.() === 0;

const works = (cmd: string, args: string[]) => spawnSync(cmd, args).status === 0;
/** pkcs11-tool has no option that exits 0 without a module; being found is what matters. */
const found = (cmd: string) => spawnSync(cmd, ['--help']).error === undefined;

/** Why the registry tests cannot run here, or false when every program is installed. */
export function registryMissing(): string | false {
  if (!works('p11-kit', ['list-modules'])) return 'p11-kit not found (apt-get install p11-kit)';
  if (!PROXY) return 'p11-kit-proxy.so not found (apt-get install p11-kit)';
  if (!found('pkcs11-tool')) return 'pkcs11-tool not found (apt-get install opensc)';
  if (!works('p11tool', ['--version'])) return 'p11tool not found (apt-get install gnutls-bin)';
  if (!works('openssl', ['engine', 'pkcs11', '-t'])) {
    return "OpenSSL's pkcs11 engine not found (apt-get install libengine-pkcs11-openssl)";
  }
  return false;
}

/** openssl's arguments for a CSR signed through its pkcs11 engine (libp11: it loads p11-kit-proxy). */
export function engineCsr(keyUri: string, subject: string, out: string): string[] {
  return [
    'req',
    '-new',
    '-engine',
    'pkcs11',
    '-keyform',
    'engine',
    '-key',
    keyUri,
    '-subj',
    subject,
    '-out',
    out,
  ];
}

/** Matches `p11-kit list-modules` output that shows module `name` with the token `label`. */
export function listsToken(name: string, label: string): RegExp {
  return new RegExp(`${name}: \\(null\\)\\n(.*\\n)*?\\s+token: ${label}\\n`);
}

/** A module name of this run only: tests in parallel runs must not see each other's tokens. */
export function uniqueName(prefix: string): string {
  return `${prefix}-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
}

export interface User {
  /** Who: 'root', or the unprivileged account the commands run as. */
  name: string;
  uid: number;
  gid: number;
  /** A throwaway directory owned by the user: HOME and working directory. */
  home: string;
  /** Runs a program as the user with a clean environment (PATH, HOME and `env` only). */
  run(cmd: string, args: string[], env?: Record<string, string>, cwd?: string): Promise<RunResult>;
  /** Starts a program as the user the same way, without waiting for it (stdout and stderr piped). */
  start(cmd: string, args: string[], env?: Record<string, string>): ChildProcess;
  cleanup(): void;
}

function idOf(flag: '-u' | '-g', user: string): number {
  return Number(spawnSync('id', [flag, user], { encoding: 'utf8' }).stdout.trim());
}

/**
 * The test's own user (root in CI) or an unprivileged one: `nobody` through setpriv when the test runs as
 * root, the test's own user otherwise. Undefined with the reason when neither is possible.
 */
export function testUser(kind: 'root' | 'unprivileged', path: string): User | string {
  let uid = process.getuid?.() ?? -1;
  let gid = process.getgid?.() ?? -1;
  let wrap: string[] = [];
  if (kind === 'root' && !IS_ROOT) return 'not running as root';
  if (kind === 'unprivileged' && IS_ROOT) {
    if (!works('setpriv', ['--version'])) return 'setpriv not found (util-linux)';
    uid = idOf('-u', 'nobody');
    gid = idOf('-g', 'nobody');
    if (!Number.isInteger(uid) || uid <= 0) return 'no user nobody to run as';
    wrap = ['setpriv', `--reuid=${uid}`, `--regid=${gid}`, '--clear-groups', '--'];
    // A checkout or a Node under a private home (/root is 0700) is out of nobody's reach.
    const cli = fileURLToPath(new URL('../../../src/cli/main.js', import.meta.url));
    const probe = spawnSync(wrap[0] as string, [
      ...wrap.slice(1),
      'test',
      '-r',
      cli,
      '-a',
      '-x',
      process.execPath,
    ]);
    if (probe.status !== 0) return `user nobody cannot read ${cli} or run ${process.execPath}`;
  }
  const home = mkdtempSync(join(tmpdir(), `corepkcs11-${kind}-`));
  const clean = (env: Record<string, string>) => [
    'env',
    '-i',
    `HOME=${home}`,
    `PATH=${path}`,
    ...Object.entries(env).map(([k, v]) => `${k}=${v}`),
  ];
  chmodSync(home, 0o755);
  if (IS_ROOT) chownSync(home, uid, gid);
  return {
    name: kind === 'root' ? 'root' : `uid ${uid}`,
    uid,
    gid,
    home,
    run(cmd, args, env = {}, cwd = home) {
      return runArgv([...wrap, ...clean(env), cmd, ...args], cwd);
    },
    start(cmd, args, env = {}) {
      const argv = [...wrap, ...clean(env), cmd, ...args];
      return spawn(argv[0] as string, argv.slice(1), {
        cwd: home,
        stdio: ['ignore', 'pipe', 'pipe'],
      });
    },
    cleanup: () => rmSync(home, { recursive: true, force: true }),
  };
}

function runArgv(argv: string[], cwd: string): Promise<RunResult> {
  return new Promise((resolve) => {
    const child = spawn(argv[0] as string, argv.slice(1), {
      cwd,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    child.on('close', (code) => {
      const stdout = Buffer.concat(out);
      resolve({
        code: code ?? -1,
        stdout: stdout.toString(),
        stderr: Buffer.concat(err).toString(),
        out: stdout,
      });
    });
  });
}

/**
 * Removes module files a killed test run left in the system directory (named by uniqueName with the pid
 * of a process that is gone): every p11-kit program on the machine would try to start them.
 */
function sweepStaleModules(): void {
  if (!IS_ROOT) return;
  let names: string[];
  try {
    names = readdirSync('/etc/pkcs11/modules');
  } catch {
    return;
  }
  for (const name of names) {
    const pid = /^(?:cpk|readme|ssh)-(\d+)-[a-z0-9]+\.module$/.exec(name)?.[1];
    if (pid !== undefined && !existsSync(`/proc/${pid}`))
      rmSync(`/etc/pkcs11/modules/${name}`, { force: true });
  }
}

/**
 * As root, module files go to /etc/pkcs11/modules, which register makes when missing: returns the
 * cleanup that removes `files` and the directories that did not exist when this was called (unless
 * something else was put there meanwhile).
 */
export function systemModuleFiles(files: string[]): () => void {
  sweepStaleModules();
  const dirs = ['/etc/pkcs11/modules', '/etc/pkcs11'].filter((d) => IS_ROOT && !existsSync(d));
  return () => {
    for (const f of files) rmSync(f, { force: true });
    for (const d of dirs) {
      try {
        rmdirSync(d);
      } catch {
        // Not empty (another run registered something) or already gone.
      }
    }
  };
}

/** Command lines of running `corepkcs11 remote` processes serving `store`. */
export function remotesServing(store: string): string[] {
  const found: string[] = [];
  for (const pid of readdirSync('/proc')) {
    if (!/^\d+$/.test(pid)) continue;
    try {
      const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
      if (argv.includes('remote') && argv.includes(store)) found.push(argv.join(' '));
    } catch {
      // The process ended while we looked.
    }
  }
  return found;
}
