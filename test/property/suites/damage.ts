/**
 * Damaged storage under a token (part of suite `records`): objects of every kind are stored, one PAL
 * record — an object, an index bucket or the token record — is corrupted, and the token is reopened
 * over that storage. A damaged token record opens as damaged, never as a blank token (logging in is
 * CKR_DEVICE_ERROR); anything else opens,
 * says what it skipped, and every object it still serves reads back exactly as stored: damage loses
 * objects, it never changes one.
 * @module
 */
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { isPkcs11Error } from '../../../src/errors.js';
import * as C from '../../../src/pkcs11/constants.js';
import { attr, findAll } from '../../helpers/material.js';
import { indexBuckets, readStored, rewriteStored, snapshot } from '../../helpers/store.js';
import { initializedModule, PAL_PORTS, type TestModule, userSession } from '../../helpers/token.js';
import { fixture } from '../api/fixtures.js';
import { progress } from '../harness/progress.js';
import type { Tally } from '../harness/suite.js';
import { mutate, mutation } from '../support/mutate.js';

const KINDS = [
  'data',
  'certificate',
  'ecPrivate',
  'ecPublic',
  'rsaPrivate',
  'aes',
  'hmac',
] as const;

/** Every object the user sees, by CKA_LABEL (unique here): all its attributes. */
function contents(m: TestModule, s: Buffer): Map<string, string> {
  const engine = m.engine;
  const out = new Map<string, string>();
  for (const h of findAll(m.p11, s, [])) {
    const label = attr(m.p11, s, h, C.CKA_LABEL).toString('utf8');
    const n = Number(h.readBigUInt64LE(0));
    const sessionHandle = Number(s.readBigUInt64LE(0));
    out.set(label, JSON.stringify([...snapshot(engine, sessionHandle, n)]));
  }
  return out;
}

export function damageProperty(tally: Tally) {
  return fc.property(
    fc.constantFrom(...PAL_PORTS.map((p) => p.name)),
    fc.array(fc.tuple(fc.constantFrom(...KINDS), fc.boolean()), { minLength: 1, maxLength: 8 }),
    fc.nat(),
    fc.array(mutation, { minLength: 1, maxLength: 3 }),
    (portName, kinds, which, ops) => {
      progress('records: damaged storage');
      tally.add('damaged stores');
      const port = PAL_PORTS.find((p) => p.name === portName) as (typeof PAL_PORTS)[number];
      const warnings: string[] = [];
      const m = initializedModule(port, {
        pinIterations: 10,
        allowWeakPinIterations: true,
        warn: (w) => warnings.push(w),
      });
      try {
        const s = userSession(m);
        kinds.forEach(([kind, priv], i) => {
          const t = fixture(kind, true, priv).map((a) =>
            a.type === C.CKA_LABEL ? { ...a, value: `o${i}` } : a,
          );
          if (!t.some((a) => a.type === C.CKA_LABEL)) t.push({ type: C.CKA_LABEL, value: `o${i}` });
          m.p11.C_CreateObject(s, t);
        });
        const before = contents(m, s);
        const labels = ['corepkcs11.token', ...indexBuckets(m.pal).keys()];
        for (const entries of indexBuckets(m.pal).values())
          labels.push(...entries.map(([, l]) => l));
        const target = labels[which % labels.length] as string;
        const stored = readStored(m.pal, target);
        assert.ok(stored, `${target} is stored`);
        const bad = Buffer.from(mutate(stored.data, ops));
        if (bad.equals(stored.data)) return;
        rewriteStored(m.pal, target, () => bad);
        const again = m.restart();
        let session: ReturnType<typeof userSession>;
        try {
          session = userSession(again);
        } catch (e) {
          assert.ok(
            isPkcs11Error(e, C.CKR_DEVICE_ERROR),
            `logging in fails only as CKR_DEVICE_ERROR: ${String(e)}`,
          );
          assert.equal(target, 'corepkcs11.token', 'only a damaged token record stops a login');
          assert.ok(
            again.token.storageHealth.recordLost,
            'a damaged token record is lost, not absent',
          );
          tally.add('damaged token record refused');
          return;
        }
        const after = contents(again, session);
        for (const [label, value] of after) {
          assert.equal(value, before.get(label), `${label} reads back exactly as stored`);
        }
        const lost = [...before.keys()].filter((l) => !after.has(l));
        if (lost.length > 0) {
          assert.ok(warnings.length > 0, `objects lost without a word: ${lost}`);
          tally.add('objects lost to damage', lost.length);
        }
      } finally {
        m.cleanup();
      }
    },
  );
}
