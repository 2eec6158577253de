/**
 * The store-consistency half of the API invariant: after any sequence, what the live token holds is
 * what its storage holds. A new application sees the same public token objects as a token reopened
 * over the same storage, both count the same objects, and nothing read back is damaged.
 * @module
 */
import type { PKCS11 } from '../../../src/api/pkcs11.js';
import * as C from '../../../src/pkcs11/constants.js';
import { attr, findAll } from '../../helpers/material.js';
import type { TestModule } from '../../helpers/token.js';
import { InvariantError } from './execute.js';

/** CKA_CLASS and CKA_LABEL of every public token object a fresh R/O public session finds, sorted. */
export function publicTokenObjects(p11: PKCS11, slot: Buffer): string[] {
  const s = p11.C_OpenSession(slot, C.CKF_SERIAL_SESSION);
  try {
    return findAll(p11, s, [{ type: C.CKA_TOKEN, value: true }])
      .map((o) => {
        const cls = attr(p11, s, o, C.CKA_CLASS).readBigUInt64LE(0);
        return `${cls}:${attr(p11, s, o, C.CKA_LABEL).toString('hex')}`;
      })
      .sort();
  } finally {
    p11.C_CloseSession(s);
  }
}

/** Compares the live token with storage reopened; `warnings` collects what token loads reported. */
export function checkStore(m: TestModule, warnings: string[]): void {
  if (warnings.length > 0)
    throw new InvariantError(`the token reported damage while running: ${warnings.join('; ')}`);
  const live = m.another();
  const liveObjects = publicTokenObjects(live, m.slot);
  const liveCount = m.token.objectCount;
  const again = m.restart();
  if (warnings.length > 0)
    throw new InvariantError(`reopening the store reported damage: ${warnings.join('; ')}`);
  const storedObjects = publicTokenObjects(again.p11, again.slot);
  if (again.token.objectCount !== liveCount || liveObjects.join() !== storedObjects.join()) {
    throw new InvariantError(
      `live token and reopened store differ: ${liveCount} objects [${liveObjects}] live, ` +
        `${again.token.objectCount} [${storedObjects}] stored`,
    );
  }
}
