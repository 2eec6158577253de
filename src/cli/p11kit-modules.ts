/**
 * p11-kit module files written for a token: where p11-kit looks for them (the user directory, or the
 * system one, which is all p11-kit reads in a program running as root), the `remote:` line that makes
 * p11-kit start this installation's `corepkcs11 remote` on a store, quoted the way p11-kit splits it
 * (its own argv rules, no shell), and the registrations found for a store. Layer L9 (command line).
 * @module
 */
import { readdirSync, readFileSync, realpathSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CliError, EXIT } from './errors.js';

/** Read by p11-kit for every user and for programs running as root (pkcs11.conf(5)). */
export const SYSTEM_MODULE_DIR = '/etc/pkcs11/modules';
/** Where distribution packages put theirs: read, never written. */
const PACKAGE_MODULE_DIR = '/usr/share/p11-kit/modules';
/** The key that marks a module file as ours and names its store (p11-kit ignores unknown keys). */
export const STORE_KEY = 'x-corepkcs11-store';

/** The user's module directory as p11-kit 0.24 expands `~/.config/pkcs11/modules`. */
export function userModuleDir(env: NodeJS.ProcessEnv = process.env): string {
  const config = env.XDG_CONFIG_HOME ? env.XDG_CONFIG_HOME : join(env.HOME || homedir(), '.config');
  return join(config, 'pkcs11', 'modules');
}

export function isRoot(): boolean {
  return process.getuid?.() === 0;
}

/**
 * One word for p11-kit's argv splitter (common/argv.c): unquoted if plain; otherwise in single quotes,
 * inside which only `\'` is an escape. A backslash elsewhere, or a control character, has no spelling
 * that survives the splitter, so such a path is refused rather than written wrong.
 */
export function argvWord(s: string): string {
  if (/^[A-Za-z0-9_@%+=:,./-]+$/.test(s)) return s;
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what is refused
  if (s === '' || /[\\\x00-\x1f\x7f]/.test(s)) {
    throw new CliError(
      EXIT.USAGE,
      `cannot write ${JSON.stringify(s)} into a p11-kit module file`,
      'use a path without backslashes or control characters',
    );
  }
  return `'${s.replace(/'/g, "\\'")}'`;
}

/** The store as a module file names it: an absolute path (p11-kit starts us in any directory). */
export function absoluteStore(store: string): string {
  return store.startsWith('flash:')
    ? `flash:${resolve(store.slice('flash:'.length))}`
    : resolve(store.replace(/^file:/, ''));
}

/** The command p11-kit runs: this Node and this installation's CLI, by absolute path. */
export function remoteCommandLine(store: string): string {
  const main = realpathSync(fileURLToPath(new URL('./main.js', import.meta.url)));
  return [process.execPath, main, 'remote', '--store', store].map(argvWord).join(' ');
}

export function moduleFileText(name: string, store: string): string {
  return [
    `# Written by \`corepkcs11 register\`; \`corepkcs11 unregister --name ${name}\` removes it.`,
    '# p11-kit runs the remote: command for each program that loads its modules (pkcs11.conf(5))',
    '# and speaks PKCS#11 with it over its stdin and stdout.',
    `remote: |${remoteCommandLine(store)}`,
    `${STORE_KEY}: ${store}`,
    '',
  ].join('\n');
}

/** The value of `key:` in a module file's text, if present. */
export function moduleField(text: string, key: string): string | undefined {
  for (const line of text.split('\n')) {
    const m = /^\s*([^:#\s]+)\s*:(.*)$/.exec(line);
    if (m && m[1] === key) return (m[2] as string).trim();
  }
  return undefined;
}

export interface Registration {
  name: string;
  file: string;
  store: string;
}

/** Module files written by register, in every directory p11-kit reads, for `store` (or all). */
export function registrations(store?: string): Registration[] {
  const found: Registration[] = [];
  for (const dir of [userModuleDir(), SYSTEM_MODULE_DIR, PACKAGE_MODULE_DIR]) {
    let names: string[];
    try {
      names = readdirSync(dir).sort();
    } catch {
      continue;
    }
    for (const entry of names) {
      if (!entry.endsWith('.module')) continue;
      const file = join(dir, entry);
      let text: string;
      try {
        text = readFileSync(file, 'utf8');
      } catch {
        continue;
      }
      const named = moduleField(text, STORE_KEY);
      if (named !== undefined && (store === undefined || named === store)) {
        found.push({ name: entry.slice(0, -'.module'.length), file, store: named });
      }
    }
  }
  return found;
}
