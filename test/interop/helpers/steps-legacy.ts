/**
 * Steps of the pkcs11-tool script for SoftHSMv2's legacy mechanisms that p11-kit 0.24's client carries
 * (issue 15): DES3 key generation and MD5 digests. They run after the script's `--test`, so the keys
 * they make change nothing the earlier steps see. The 3.0 mechanisms (EdDSA, SHA-3 …) are not here:
 * the 0.24 client drops them from C_GetMechanismList, so pkcs11-tool never reaches them.
 * @module
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { RunResult } from './env.js';
import type { Step } from './steps.js';

function failure(r: RunResult, pattern: RegExp): string | undefined {
  if (r.code !== 0)
    return `exit ${r.code}: ${(r.stderr || r.stdout).trim().split('\n').slice(-2).join(' | ')}`;
  return pattern.test(r.stdout + r.stderr) ? undefined : `output lacks ${pattern}`;
}

export const LEGACY_STEPS: Step[] = [
  {
    name: '--keygen DES3',
    run: async (c) =>
      failure(
        await c.tool([
          '--login',
          '--pin',
          '1234',
          '--keygen',
          '--key-type',
          'DES3:24',
          '--id',
          '40',
          '--label',
          'des3',
        ]),
        /Secret Key Object; DES3/,
      ),
  },
  {
    name: '--hash MD5',
    run: async (c) => {
      const out = c.dir.file('data.md5');
      const r = await c.tool(['--hash', '-m', 'MD5', '-i', c.dir.file('data.txt'), '-o', out]);
      const failed = failure(r, /MD5/);
      if (failed) return failed;
      const want = createHash('md5')
        .update(readFileSync(c.dir.file('data.txt')))
        .digest();
      return readFileSync(out).equals(want)
        ? undefined
        : 'digest differs from MD5 computed by node';
    },
  },
];
