/**
 * `corepkcs11 register` and `unregister`: a p11-kit module file whose `remote:` line makes p11-kit start
 * `corepkcs11 remote` on the store whenever a program loads its modules (p11-kit-proxy.so, GnuTLS,
 * OpenSSL's pkcs11 engine, `p11-kit list-modules`), so C programs reach the token with no daemon and no
 * environment variable. Layer L9 (command line).
 * @module
 */
import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { requireStore, storeOf } from './context.js';
import { CliError, EXIT } from './errors.js';
import { flag, parseCommand, str } from './options.js';
import { printJson, say } from './output.js';
import {
  absoluteStore,
  isRoot,
  moduleField,
  moduleFileText,
  remoteCommandLine,
  STORE_KEY,
  SYSTEM_MODULE_DIR,
  userModuleDir,
} from './p11kit-modules.js';

const DEFAULT_NAME = 'corepkcs11';

const REGISTER_HELP = `usage: corepkcs11 register [--store DIR|flash:IMAGE] [--name NAME] [--system] [--force]

Register the token with p11-kit: write the module file NAME.module, whose line
  remote: |NODE …/corepkcs11/dist/src/cli/main.js remote --store STORE
makes p11-kit start this installation's \`corepkcs11 remote\` whenever a program loads its modules
(p11-kit-proxy.so, GnuTLS tools, OpenSSL's pkcs11 engine, p11-kit list-modules). No daemon, no
environment variable. The file goes to ~/.config/pkcs11/modules ($XDG_CONFIG_HOME/pkcs11/modules);
as root, or with --system, to ${SYSTEM_MODULE_DIR}: p11-kit reads only that one in programs run as root.
  --store S        the token store (default $COREPKCS11_STORE or .token); must exist
  --name NAME      module name (default ${DEFAULT_NAME}); one name per registered store
  --system         register for every user (needs root; the store must be readable by them)
  --force          replace a module file of that name that corepkcs11 did not write
  --json           machine-readable output
  -h, --help       this help`;

const UNREGISTER_HELP = `usage: corepkcs11 unregister [--name NAME] [--system] [--force]

Remove the module file \`corepkcs11 register\` wrote (the token store is not touched).
  --name NAME      module name (default ${DEFAULT_NAME})
  --system         remove it from ${SYSTEM_MODULE_DIR} (the default as root)
  --force          remove a module file of that name that corepkcs11 did not write
  --json           machine-readable output
  -h, --help       this help`;

const OPTIONS = {
  name: { type: 'string' },
  system: { type: 'boolean' },
  force: { type: 'boolean' },
} as const;

/** Module names are file names: a word p11-kit shows as is. */
function moduleName(name: string | undefined): string {
  const n = name ?? DEFAULT_NAME;
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/.test(n)) {
    throw new CliError(
      EXIT.USAGE,
      `--name '${n}' is not a module name`,
      'letters, digits, dot, dash and underscore, up to 64',
    );
  }
  return n;
}

/** The directory to write to, and why (p11-kit skips user configuration in programs run as root). */
function targetDir(system: boolean): { dir: string; system: boolean; why?: string } {
  if (system) return { dir: SYSTEM_MODULE_DIR, system: true };
  if (isRoot()) {
    return {
      dir: SYSTEM_MODULE_DIR,
      system: true,
      why: 'running as root: p11-kit reads only the system module directory in programs run as root',
    };
  }
  return { dir: userModuleDir(), system: false };
}

function readIfExists(file: string): string | undefined {
  try {
    return readFileSync(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
}

function denied(e: unknown, file: string): never {
  const code = (e as NodeJS.ErrnoException).code;
  if (code === 'EACCES' || code === 'EPERM') {
    throw new CliError(
      EXIT.FAILED,
      `cannot write ${file}: permission denied`,
      'the system directory needs root: sudo corepkcs11 … --system, or leave out --system',
    );
  }
  throw e;
}

export async function registerCommand(argv: string[]): Promise<number> {
  const p = parseCommand(argv, OPTIONS, REGISTER_HELP);
  if (!p) return EXIT.OK;
  const name = moduleName(str(p, 'name'));
  const given = storeOf(p);
  if (given === 'memory:') {
    throw new CliError(EXIT.USAGE, 'a memory: token cannot be registered', 'use a directory');
  }
  requireStore(given);
  const store = absoluteStore(given);
  const target = targetDir(flag(p, 'system'));
  const file = join(target.dir, `${name}.module`);
  const before = readIfExists(file);
  const previous = before === undefined ? undefined : moduleField(before, STORE_KEY);
  if (before !== undefined && previous === undefined && !flag(p, 'force')) {
    throw new CliError(
      EXIT.FAILED,
      `${file} exists and was not written by corepkcs11`,
      'choose another --name, or --force to replace it',
    );
  }
  const text = moduleFileText(name, store);
  try {
    mkdirSync(target.dir, { recursive: true, mode: 0o755 });
    // Whole or not at all: every p11-kit program on the machine reads this file.
    const tmp = `${file}.${process.pid}.tmp`;
    writeFileSync(tmp, text, { mode: 0o644 });
    renameSync(tmp, file);
  } catch (e) {
    denied(e, file);
  }
  if (flag(p, 'json')) {
    printJson({ name, file, store, system: target.system, replaced: previous ?? null });
    return EXIT.OK;
  }
  if (target.why) say(`Note: ${target.why}.`);
  if (/[/\\]_npx[/\\]/.test(remoteCommandLine(store))) {
    say(
      "Note: this corepkcs11 runs from npx's cache, which npm may clean: npm install -g corepkcs11, then register again.",
    );
  }
  say(`Registered ${store} with p11-kit as module '${name}': ${file}`);
  if (previous !== undefined && previous !== store) say(`(it named ${previous} before)`);
  say(
    'Programs that load p11-kit modules now see the token: p11-kit list-modules, ' +
      'pkcs11-tool --module p11-kit-proxy.so, p11tool, openssl -engine pkcs11.',
  );
  return EXIT.OK;
}

export async function unregisterCommand(argv: string[]): Promise<number> {
  const p = parseCommand(argv, OPTIONS, UNREGISTER_HELP);
  if (!p) return EXIT.OK;
  const name = moduleName(str(p, 'name'));
  const target = targetDir(flag(p, 'system'));
  const file = join(target.dir, `${name}.module`);
  const text = readIfExists(file);
  if (text === undefined) {
    throw new CliError(
      EXIT.NOT_FOUND,
      `no module file ${file}`,
      '`corepkcs11 info` shows where a token is registered',
    );
  }
  const store = moduleField(text, STORE_KEY);
  if (store === undefined && !flag(p, 'force')) {
    throw new CliError(
      EXIT.FAILED,
      `${file} was not written by corepkcs11`,
      '--force removes it anyway',
    );
  }
  try {
    rmSync(file);
  } catch (e) {
    denied(e, file);
  }
  if (flag(p, 'json')) printJson({ name, file, store: store ?? null, removed: true });
  else say(`Removed ${file}${store ? ` (store ${store})` : ''}`);
  return EXIT.OK;
}
