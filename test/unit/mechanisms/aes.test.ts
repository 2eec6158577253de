import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createNodeCrypto } from '../../../src/adapters/crypto-node/index.js';
import { MAX_WHOLE_INPUT as MAX_GCM_INPUT } from '../../../src/mechanisms/common.js';
import { mechanism } from '../../../src/mechanisms/registry.js';
import type { CipherOperation, KeyRef } from '../../../src/mechanisms/types.js';
import type { RawMechanism } from '../../../src/pkcs11/types.js';
import { assertRv, C } from '../../helpers/token.js';

const backend = createNodeCrypto();
const key: KeyRef = {
  object: { attrs: new Map([[C.CKA_VALUE, new Uint8Array(32).fill(1)]]) } as never,
  handle: () => {
    throw new Error('AES has no backend handle');
  },
};

function cipher(
  type: number,
  encrypt: boolean,
  parameter?: RawMechanism['parameter'],
): CipherOperation {
  const mech = mechanism(type, 'compatible');
  const make = encrypt ? mech.encrypt : mech.decrypt;
  return (make as NonNullable<typeof make>)(backend, { mechanism: type, parameter }, key);
}

/** Feeds `total` bytes in 1 MiB parts. */
function feed(op: CipherOperation, total: number): void {
  const part = new Uint8Array(1 << 20);
  for (let left = total; left > 0; left -= part.length)
    op.update(part.subarray(0, Math.min(left, part.length)));
}

describe('AES input bounds (mechanisms that hold their input until the end)', () => {
  const gcm = { type: C.CK_PARAMS_AES_GCM, iv: new Uint8Array(12), tagBits: 128 } as never;

  it('CKM_AES_GCM encryption past 64 MiB → CKR_DATA_LEN_RANGE', () => {
    const op = cipher(C.CKM_AES_GCM, true, gcm);
    feed(op, MAX_GCM_INPUT);
    assertRv(() => op.update(new Uint8Array(1)), C.CKR_DATA_LEN_RANGE);
  });

  it('CKM_AES_GCM decryption past 64 MiB and a tag → CKR_ENCRYPTED_DATA_LEN_RANGE', () => {
    const op = cipher(C.CKM_AES_GCM, false, gcm);
    feed(op, MAX_GCM_INPUT + 16);
    assertRv(() => op.update(new Uint8Array(1)), C.CKR_ENCRYPTED_DATA_LEN_RANGE);
  });

  it('CKM_AES_KEY_WRAP_PAD input past 64 KiB: wrap → CKR_DATA_LEN_RANGE, unwrap → CKR_ENCRYPTED_DATA_LEN_RANGE', () => {
    for (const [encrypt, code] of [
      [true, C.CKR_DATA_LEN_RANGE],
      [false, C.CKR_ENCRYPTED_DATA_LEN_RANGE],
    ] as const) {
      const op = cipher(C.CKM_AES_KEY_WRAP_PAD, encrypt);
      op.update(new Uint8Array(64 * 1024));
      assertRv(() => op.update(new Uint8Array(1)), code);
    }
  });

  it('a GCM round trip under the bound works → CKR_OK', () => {
    const enc = cipher(C.CKM_AES_GCM, true, gcm);
    const plain = new Uint8Array(4096).fill(7);
    enc.update(plain);
    const sealed = enc.finish();
    const dec = cipher(C.CKM_AES_GCM, false, gcm);
    dec.update(sealed);
    assert.deepEqual(dec.finish(), plain);
  });
});
