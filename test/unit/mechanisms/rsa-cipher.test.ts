import { describe, it } from 'node:test';
import { createNodeCrypto } from '../../../src/adapters/crypto-node/index.js';
import { mechanism } from '../../../src/mechanisms/registry.js';
import type { KeyRef } from '../../../src/mechanisms/types.js';
import { rsaMaterial } from '../../helpers/material.js';
import { assertRv, C } from '../../helpers/token.js';

describe('RSA cipher input bounds', () => {
  const backend = createNodeCrypto();
  const handle = backend.importKey({ kind: 'rsa', ...rsaMaterial() });
  const key: KeyRef = { object: undefined as never, handle: () => handle };
  const op = (type: number, encrypt: boolean) => {
    const mech = mechanism(type, 'compatible');
    const make = encrypt ? mech.encrypt : mech.decrypt;
    return (make as NonNullable<typeof make>)(backend, { mechanism: type }, key);
  };

  it('CKM_RSA_X_509 decryption of more than the modulus → CKR_ENCRYPTED_DATA_LEN_RANGE', () => {
    const dec = op(C.CKM_RSA_X_509, false);
    assertRv(() => dec.update(new Uint8Array(257)), C.CKR_ENCRYPTED_DATA_LEN_RANGE);
  });

  it('CKM_RSA_X_509 encryption of more than the modulus → CKR_DATA_LEN_RANGE', () => {
    const enc = op(C.CKM_RSA_X_509, true);
    assertRv(() => enc.update(new Uint8Array(257)), C.CKR_DATA_LEN_RANGE);
  });
});
