/**
 * Issue 16 #5 as reported, on every PAL port: "Edit CKA_SENSITIVE to false and CKA_EXTRACTABLE to true
 * in a key's record, fix the CRC-32: after a normal login C_GetAttributeValue returns the private scalar
 * of a key generated on the token. The same edit can mark an attacker's key CKA_TRUSTED, or strip
 * CKA_WRAP_TEMPLATE." Written with the record codec alone (re-encoding drops the MAC, as an attacker
 * without the token key must), so the same tests ran against the code from before: there the scalar
 * came back and both wraps succeeded.
 * @module
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import type { Template } from '../../src/api/convert.js';
import type { Pal } from '../../src/storage/pal.js';
import { decodeRecord, encodeRecord, type StoredAttribute } from '../../src/storage/record.js';
import { findAll } from '../helpers/material.js';
import { recordLabelOf, rewriteStored } from '../helpers/store.js';
import {
  C,
  initializedModule,
  PAL_PORTS,
  SO_PIN,
  TEST_TOKEN_OPTIONS,
  type TestModule,
  userSession,
} from '../helpers/token.js';

const P256 = Buffer.from('06082a8648ce3d030107', 'hex');

/** The attacker's edit: the record under `ckaLabel` decoded, changed, encoded with a fresh CRC. */
function editOffline(
  pal: Pal,
  ckaLabel: string,
  change: (a: StoredAttribute[]) => StoredAttribute[],
) {
  rewriteStored(pal, recordLabelOf(pal, ckaLabel), (bytes) => {
    const rec = decodeRecord(bytes);
    return Buffer.from(encodeRecord({ ...rec, attributes: change(rec.attributes) }));
  });
}

const aes = (label: string, extra: Template): Template => [
  { type: C.CKA_CLASS, value: C.CKO_SECRET_KEY },
  { type: C.CKA_KEY_TYPE, value: C.CKK_AES },
  { type: C.CKA_TOKEN, value: true },
  { type: C.CKA_LABEL, value: label },
  { type: C.CKA_VALUE, value: Buffer.alloc(32, label.length) },
  ...extra,
];

for (const port of PAL_PORTS) {
  describe(`an offline edit of a generated key's protection attributes [${port.name}]`, () => {
    const modules: TestModule[] = [];
    after(() => {
      for (const c of modules) c.cleanup();
    });
    /** A new initialized module, cleaned up at the end. */
    const fresh = (warnings: string[]) => {
      const made = initializedModule(port, {
        ...TEST_TOKEN_OPTIONS,
        warn: (w) => warnings.push(w),
      });
      modules.push(made);
      return made;
    };

    it('CKA_SENSITIVE false and CKA_EXTRACTABLE true, CRC fixed: after login the scalar is never returned', () => {
      const warnings: string[] = [];
      const m = fresh(warnings);
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

    /**
     * A user's extractable key `payload` and a public wrapping key (`kek`, made in an SO session),
     * edited offline by `change`; then, after a restart and a user login, every handle found under the
     * wrapping key's label tries to wrap the payload.
     */
    function wrapAfterEdit(
      payload: Template,
      kek: Template,
      kekLabel: string,
      change: (a: StoredAttribute[]) => StoredAttribute[],
    ) {
      const warnings: string[] = [];
      const m = fresh(warnings);
      const s = userSession(m);
      m.p11.C_CreateObject(s, payload);
      m.p11.C_CloseSession(s);
      const so = m.p11.C_OpenSession(m.slot, C.CKF_SERIAL_SESSION | C.CKF_RW_SESSION);
      m.p11.C_Login(so, C.CKU_SO, SO_PIN);
      m.p11.C_CreateObject(so, kek);
      m.p11.C_CloseSession(so);
      editOffline(m.pal, kekLabel, change);
      const r = m.restart();
      const rs = userSession(r);
      const [key] = findAll(r.p11, rs, [{ type: C.CKA_LABEL, value: 'payload-key' }]);
      assert.ok(key !== undefined, 'the untouched payload key is used');
      const keks = findAll(r.p11, rs, [{ type: C.CKA_LABEL, value: kekLabel }]);
      const wrapped = keks.map((k) => {
        try {
          return r.p11.C_WrapKey(rs, { mechanism: C.CKM_AES_KEY_WRAP }, k, key, Buffer.alloc(64));
        } catch {
          return undefined;
        }
      });
      return { keks, wrapped, warnings };
    }

    it('CKA_TRUSTED true on an attacker’s wrapping key, CRC fixed: it never wraps a CKA_WRAP_WITH_TRUSTED key', () => {
      const { keks, wrapped, warnings } = wrapAfterEdit(
        aes('payload-key', [
          { type: C.CKA_EXTRACTABLE, value: true },
          { type: C.CKA_WRAP_WITH_TRUSTED, value: true },
        ]),
        aes('attacker-kek', [
          { type: C.CKA_PRIVATE, value: false },
          { type: C.CKA_WRAP, value: true },
          { type: C.CKA_DECRYPT, value: false },
          { type: C.CKA_TRUSTED, value: false },
        ]),
        'attacker-kek',
        (attrs) =>
          attrs.map((a) => (a.type === C.CKA_TRUSTED ? { ...a, value: Uint8Array.of(1) } : a)),
      );
      assert.deepEqual(
        wrapped.filter((w) => w !== undefined),
        [],
        'the edited key wrapped a key only trusted keys may wrap',
      );
      assert.equal(keks.length, 0, 'the edited key is used');
      assert.ok(
        warnings.some((w) => /"attacker-kek"\) is not used/.test(w)),
        warnings.join('\n'),
      );
    });

    it('CKA_WRAP_TEMPLATE stripped from a wrapping key, CRC fixed: it never wraps what its template excludes', () => {
      const { keks, wrapped, warnings } = wrapAfterEdit(
        aes('payload-key', [{ type: C.CKA_EXTRACTABLE, value: true }]),
        aes('templated-kek', [
          { type: C.CKA_PRIVATE, value: false },
          { type: C.CKA_WRAP, value: true },
          { type: C.CKA_DECRYPT, value: false },
          {
            type: C.CKA_WRAP_TEMPLATE,
            value: [{ type: C.CKA_KEY_TYPE, value: C.CKK_GENERIC_SECRET }],
          },
        ]),
        'templated-kek',
        (attrs) => attrs.filter((a) => a.type !== C.CKA_WRAP_TEMPLATE),
      );
      assert.deepEqual(
        wrapped.filter((w) => w !== undefined),
        [],
        'the edited key wrapped an AES key its CKA_WRAP_TEMPLATE excludes',
      );
      assert.equal(keks.length, 0, 'the edited key is used');
      assert.ok(
        warnings.some((w) => /"templated-kek"\) is not used/.test(w)),
        warnings.join('\n'),
      );
    });
  });
}
