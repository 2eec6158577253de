/**
 * Test support: the `openssl` command line (installed in CI) for making real certificates and for
 * checking what corepkcs11 writes. Tests that need it skip with a reason when it is missing.
 * @module
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const OPENSSL_MISSING: string | false =
  spawnSync('openssl', ['version']).status === 0 ? false : 'openssl is not installed';

/** Runs openssl in `cwd`; throws with its stderr when it fails. */
export function openssl(args: string[], cwd: string, input?: string): string {
  const r = spawnSync('openssl', args, { cwd, encoding: 'utf8', input });
  if (r.status !== 0) throw new Error(`openssl ${args.join(' ')} failed: ${r.stderr}`);
  return r.stdout;
}

/** A fresh temporary directory and its cleanup. */
export function scratch(prefix = 'corepkcs11-helpers-'): { dir: string; cleanup(): void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** A self-signed certificate for `key.pem` in `dir`, written to `name`. */
export function selfSigned(dir: string, key: string, name: string, subject = '/CN=device'): void {
  openssl(
    ['req', '-new', '-x509', '-key', key, '-subj', subject, '-days', '30', '-out', name],
    dir,
  );
}
