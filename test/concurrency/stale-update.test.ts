/**
 * Two processes over one directory store (two Tokens over two file PALs in one process stand in for
 * them): a process still holding an object another has destroyed must not write it back. Before the
 * fix, C_SetAttributeValue from the stale process succeeded and rewrote the record: an object under a
 * corePKCS11 well-known label (which a load probes) came back to life, any other left an orphan record.
 * @module
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { createNodeCrypto } from '../../src/adapters/crypto-node/index.js';
import { createFilePal } from '../../src/adapters/pal-file/index.js';
import { PKCS11 } from '../../src/api/pkcs11.js';
import { Application } from '../../src/token/application.js';
import { Token } from '../../src/token/token.js';
import { findAll } from '../helpers/material.js';
import { assertRv, C, SO_PIN, TEST_TOKEN_OPTIONS } from '../helpers/token.js';

const dir = mkdtempSync(join(tmpdir(), 'corepkcs11-stale-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** A new "process": its own Token and PAL over the directory. */
function processOver(): PKCS11 {
  const p = new PKCS11();
  p.attach(new Application(new Token(createFilePal(dir), createNodeCrypto(), TEST_TOKEN_OPTIONS)));
  p.C_Initialize();
  return p;
}

describe('an object destroyed by another process', () => {
  it('is not written back by a process that still holds it → CKR_OBJECT_HANDLE_INVALID', () => {
    const a = processOver();
    const slot = a.C_GetSlotList(true)[0] as Buffer;
    a.C_InitToken(slot, SO_PIN, 'stale');
    const rw = C.CKF_SERIAL_SESSION | C.CKF_RW_SESSION;
    const sa = a.C_OpenSession(slot, rw);
    for (const label of ['Device Cert', 'ordinary'])
      a.C_CreateObject(sa, [
        { type: C.CKA_CLASS, value: C.CKO_DATA },
        { type: C.CKA_PRIVATE, value: false }, // public: no login here
        { type: C.CKA_TOKEN, value: true },
        { type: C.CKA_LABEL, value: label },
        { type: C.CKA_VALUE, value: Buffer.from('first') },
      ]);
    const held = findAll(a, sa, []);
    const b = processOver();
    const sb = b.C_OpenSession(slot, rw);
    for (const h of findAll(b, sb, [])) b.C_DestroyObject(sb, h);
    for (const h of held) {
      assertRv(
        () => a.C_SetAttributeValue(sa, h, [{ type: C.CKA_VALUE, value: Buffer.from('second') }]),
        C.CKR_OBJECT_HANDLE_INVALID,
      );
      assertRv(
        () => a.C_GetAttributeValue(sa, h, [{ type: C.CKA_LABEL }]),
        C.CKR_OBJECT_HANDLE_INVALID,
      );
    }
    const fresh = processOver();
    assert.deepEqual(findAll(fresh, fresh.C_OpenSession(slot, C.CKF_SERIAL_SESSION), []), []);
    const records = readdirSync(dir).filter((f) => /^o-(corepkcs11\.obj\.|Device%20Cert)/.test(f));
    assert.deepEqual(records, [], 'no record was written back');
  });
});
