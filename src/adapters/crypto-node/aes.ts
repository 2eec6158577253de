/**
 * AES over node:crypto: the streaming modes (ECB, CBC with or without PKCS#7 padding, CTR) and GCM in
 * one call.
 * @module
 */
import { type CipherGCMTypes, createCipheriv, createDecipheriv } from 'node:crypto';
import type { CipherSpec, CipherStream } from '../../crypto/backend.js';
import { CKR_ENCRYPTED_DATA_INVALID } from '../../pkcs11/constants.js';
import { onInput, refused } from './input.js';

function algorithm(mode: string, keyLength: number): string {
  if (keyLength !== 16 && keyLength !== 24 && keyLength !== 32)
    throw new Error('AES keys are 16, 24 or 32 bytes');
  return `aes-${keyLength * 8}-${mode}`;
}

export function createCipher(spec: CipherSpec): CipherStream {
  const name = algorithm(spec.mode, spec.key.length);
  const iv = spec.mode === 'ecb' ? null : (spec.iv ?? null);
  const c = spec.encrypt
    ? createCipheriv(name, spec.key, iv)
    : createDecipheriv(name, spec.key, iv);
  c.setAutoPadding(spec.padding);
  return {
    update: (d) => new Uint8Array(c.update(d)),
    // Decryption's only failure on whole blocks is the caller's padding.
    finish: () =>
      spec.encrypt
        ? new Uint8Array(c.final())
        : onInput(CKR_ENCRYPTED_DATA_INVALID, 'bad padding', () => new Uint8Array(c.final())),
  };
}

export function aesGcm(
  key: Uint8Array,
  iv: Uint8Array,
  aad: Uint8Array,
  tagLength: number,
  encrypt: boolean,
  data: Uint8Array,
): Uint8Array {
  const name = algorithm('gcm', key.length) as CipherGCMTypes;
  if (encrypt) {
    const c = createCipheriv(name, key, iv, { authTagLength: tagLength });
    c.setAAD(aad);
    return new Uint8Array(Buffer.concat([c.update(data), c.final(), c.getAuthTag()]));
  }
  if (data.length < tagLength)
    throw refused(CKR_ENCRYPTED_DATA_INVALID, 'ciphertext shorter than the tag');
  const d = createDecipheriv(name, key, iv, { authTagLength: tagLength });
  d.setAAD(aad);
  d.setAuthTag(data.subarray(data.length - tagLength));
  const body = d.update(data.subarray(0, data.length - tagLength));
  return onInput(
    CKR_ENCRYPTED_DATA_INVALID,
    'GCM tag mismatch',
    () => new Uint8Array(Buffer.concat([body, d.final()])),
  );
}

/** RFC 3394 / RFC 5649 with their default initial values (the only ones PKCS#11 callers use). */
export function aesKeyWrap(
  key: Uint8Array,
  data: Uint8Array,
  wrap: boolean,
  pad: boolean,
): Uint8Array {
  if (key.length !== 16 && key.length !== 24 && key.length !== 32)
    throw new Error('AES keys are 16, 24 or 32 bytes');
  const name = `id-aes${key.length * 8}-wrap${pad ? '-pad' : ''}`;
  const iv = Buffer.from(pad ? 'a65959a6' : 'a6a6a6a6a6a6a6a6', 'hex');
  if (wrap) {
    const c = createCipheriv(name, key, iv);
    return new Uint8Array(Buffer.concat([c.update(data), c.final()]));
  }
  return onInput(
    CKR_ENCRYPTED_DATA_INVALID,
    'the wrapped key does not unwrap (integrity check)',
    () => {
      const c = createDecipheriv(name, key, iv);
      return new Uint8Array(Buffer.concat([c.update(data), c.final()]));
    },
  );
}
