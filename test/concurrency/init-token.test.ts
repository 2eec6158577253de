/**
 * C_InitToken from one process over a directory store another process also uses (two Tokens over two
 * file PALs stand in for them): every stored object goes, also one the other process created after
 * our last load. Before the fix, C_InitToken destroyed only the objects this process had loaded, so
 * an object created meanwhile by the other process survived the re-initialization.
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

const dir = mkdtempSync(join(tmpdir(), 'corepkcs11-init-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function processOver(): PKCS11 {
  const p = new PKCS11();
  p.attach(new Application(new Token(createFilePal(dir), createNodeCrypto(), TEST_TOKEN_OPTIONS)));
  p.C_Initialize();
  return p;
}

const rw = C.CKF_SERIAL_SESSION | C.CKF_RW_SESSION;

function createData(p: PKCS11, session: Buffer, label: string): Buffer {
  return p.C_CreateObject(session, [
    { type: C.CKA_CLASS, value: C.CKO_DATA },
    { type: C.CKA_PRIVATE, value: false }, // public: no login here
    { type: C.CKA_TOKEN, value: true },
    { type: C.CKA_LABEL, value: label },
    { type: C.CKA_VALUE, value: Buffer.from(label) },
  ]);
}

describe('C_InitToken over a store another process uses', () => {
  it('destroys objects the other process created since our last load', () => {
    const a = processOver();
    const slot = a.C_GetSlotList(true)[0] as Buffer;
    a.C_InitToken(slot, SO_PIN, 'init');
    createData(a, a.C_OpenSession(slot, rw), 'from A');
    // A has loaded the store (its own object); B now adds objects A has not seen.
    const b = processOver();
    const sb = b.C_OpenSession(slot, rw);
    const fromB = createData(b, sb, 'from B');
    createData(b, sb, 'Device Cert');
    assert.equal(findAll(b, sb, []).length, 3);
    a.C_CloseAllSessions(slot);
    a.C_InitToken(slot, SO_PIN, 'again');
    assert.deepEqual(findAll(a, a.C_OpenSession(slot, C.CKF_SERIAL_SESSION), []), [], 'gone for A');
    // B still holds a handle: using it to write fails rather than bringing the object back.
    assertRv(
      () => b.C_SetAttributeValue(sb, fromB, [{ type: C.CKA_VALUE, value: Buffer.from('x') }]),
      C.CKR_OBJECT_HANDLE_INVALID,
    );
    // A process re-reads the store when it initializes (as each RPC connection does).
    b.C_Finalize();
    b.C_Initialize();
    assert.deepEqual(findAll(b, b.C_OpenSession(slot, C.CKF_SERIAL_SESSION), []), [], 'gone for B');
    assert.equal(b.C_GetTokenInfo(slot).label.trim(), 'again');
    const fresh = processOver();
    assert.deepEqual(findAll(fresh, fresh.C_OpenSession(slot, C.CKF_SERIAL_SESSION), []), []);
    const records = readdirSync(dir).filter((f) => /^o-(corepkcs11\.obj\.|Device%20Cert)/.test(f));
    assert.deepEqual(records, [], 'no record left behind');
  });
});
