import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ckrName, isPkcs11Error, Pkcs11Error, toRv } from '../../src/errors.js';
import {
  CKR_BUFFER_TOO_SMALL,
  CKR_GENERAL_ERROR,
  CKR_PIN_INCORRECT,
} from '../../src/pkcs11/constants.js';

describe('Pkcs11Error', () => {
  it('has message = CKR name and code = CK_RV, as pkcs11js reports them', () => {
    const e = new Pkcs11Error(CKR_PIN_INCORRECT, 'wrong PIN');
    assert.equal(e.message, 'CKR_PIN_INCORRECT');
    assert.equal(e.code, 0xa0);
    assert.equal(e.name, 'Pkcs11Error');
    assert.equal(e.detail, 'wrong PIN');
    e.method = 'C_Login';
    assert.equal(String(e), 'CKR_PIN_INCORRECT (0xa0) in C_Login: wrong PIN');
  });

  it('renders unknown codes in hex', () => {
    assert.equal(ckrName(0x80000001), 'CKR_0x80000001');
  });

  it('maps foreign exceptions to CKR_GENERAL_ERROR', () => {
    assert.equal(toRv(new Error('x')), CKR_GENERAL_ERROR);
    assert.equal(toRv(new Pkcs11Error(CKR_BUFFER_TOO_SMALL)), CKR_BUFFER_TOO_SMALL);
    assert.ok(isPkcs11Error(new Pkcs11Error(CKR_PIN_INCORRECT), CKR_PIN_INCORRECT));
    assert.ok(!isPkcs11Error(new Pkcs11Error(CKR_PIN_INCORRECT), CKR_BUFFER_TOO_SMALL));
  });
});
