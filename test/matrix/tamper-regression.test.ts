/**
 * Issue 16 #5 as reported, on every PAL port: "Edit CKA_SENSITIVE to false and CKA_EXTRACTABLE to true
 * in a key's record, fix the CRC-32: after a normal login C_GetAttributeValue returns the private scalar
 * of a key generated on the token." Written with the record codec alone (re-encoding drops the MAC,
 * as an attacker without the token key must), so the same test ran against the code from before.
 * @module
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { decodeRecord, encodeRecord } from '../../src/storage/record.js';
import { findAll } from '../helpers/material.js';
import { recordLabelOf, rewriteStored } from '../helpers/store.js';
import {
  C,
  initializedModule,
  PAL_PORTS,
  TEST_TOKEN_OPTIONS,
  type TestModule,
  userSession,
} from '../helpers/token.js';

const P256 = Buffer.from('06082a8648ce3d030107', 'hex');

for (const port of PAL_PORTS) {
  describe(`an offline edit of a generated key's protection attributes [${port.name}]`, () => {
    let m: TestModule | undefined;
    after(() => m?.cleanup());

    it('CKA_SENSITIVE false and CKA_EXTRACTABLE true, CRC fixed: after login the scalar is never returned', () => {
      const warnings: string[] = [];
      m = initializedModule(port, { ...TEST_TOKEN_OPTIONS, warn: (w) => warnings.push(w) });
      const s = userSession(m);
      m.p11.C_GenerateKeyPair(
        s,
        { mechanism: C.CKM_EC_KEY_PAIR_GEN },
        [
          { type: C.CKA_EC_PARAMS, value: P256 },
          { type: C.CKA_TOKEN, value: true },
          { type: C.CKA_LABEL, value: 'its public half' },
        ],
        [
          { type: C.CKA_TOKEN, value: true },
          { type: C.CKA_LABEL, value: 'victim' },
          { type: C.CKA_SIGN, value: true },
        ],
      );
      rewriteStored(m.pal, recordLabelOf(m.pal, 'victim'), (bytes) => {
        const rec = decodeRecord(bytes);
        for (const a of rec.attributes) {
          if (a.type === C.CKA_SENSITIVE) a.value = Uint8Array.of(0);
          if (a.type === C.CKA_EXTRACTABLE) a.value = Uint8Array.of(1);
        }
        return Buffer.from(encodeRecord(rec));
      });
      const r = m.restart();
      const rs = userSession(r);
      const keys = findAll(r.p11, rs, [{ type: C.CKA_LABEL, value: 'victim' }]);
      for (const k of keys) {
        assert.throws(
          () => r.p11.C_GetAttributeValue(rs, k, [{ type: C.CKA_VALUE }]),
          'the private scalar of a key generated on the token was returned',
        );
      }
      assert.equal(keys.length, 0, 'the edited key is not used');
      assert.ok(
        warnings.some((w) => /"victim"\) is not used/.test(w)),
        warnings.join('\n'),
      );
    });
  });
}
