/**
 * AES over node:crypto: the streaming modes (ECB, CBC with or without PKCS#7 padding, CTR, OFB, CFB,
 * XTS), and the
 * AEAD modes (GCM, CCM, and ChaCha20-Poly1305 beside them) in one call.
 * @module
 */
import { type CipherGCMTypes, createCipheriv, createDecipheriv } from 'node:crypto';
import type { AeadSpec, CipherSpec, CipherStream } from '../../crypto/backend.js';
import { CKR_ENCRYPTED_DATA_INVALID, CKR_KEY_SIZE_RANGE } from '../../pkcs11/constants.js';
import { onInput, refused } from './input.js';

function algorithm(mode: string, keyLength: number): string {
  if (keyLength !== 16 && keyLength !== 24 && keyLength !== 32)
    throw new Error('AES keys are 16, 24 or 32 bytes');
  return `aes-${keyLength * 8}-${mode}`;
}

/** node:crypto's name of a cipher spec's algorithm and mode. */
function cipherName(spec: CipherSpec): string {
  if (spec.cipher === 'des3') {
    if (spec.key.length !== 24) throw refused(CKR_KEY_SIZE_RANGE, '3DES keys are 24 bytes here');
    return `des-ede3-${spec.mode}`;
  }
  // XTS keys are two AES keys: aes-128-xts takes 32 bytes, aes-256-xts 64. OpenSSL's CFB128 is "cfb".
  if (spec.mode === 'xts') return algorithm('xts', spec.key.length / 2);
  return algorithm(spec.mode === 'cfb128' ? 'cfb' : spec.mode, spec.key.length);
}

export function createCipher(spec: CipherSpec): CipherStream {
  const name = cipherName(spec);
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

/** node:crypto's cipher name of an AEAD algorithm for a key. */
function aeadName(spec: AeadSpec): string {
  if (spec.algorithm === 'chacha20-poly1305') {
    if (spec.key.length !== 32) throw refused(CKR_KEY_SIZE_RANGE, 'ChaCha20 keys are 32 bytes');
    return 'chacha20-poly1305';
  }
  if (spec.key.length !== 16 && spec.key.length !== 24 && spec.key.length !== 32)
    throw refused(CKR_KEY_SIZE_RANGE, 'AES keys are 16, 24 or 32 bytes');
  return algorithm(spec.algorithm === 'aes-gcm' ? 'gcm' : 'ccm', spec.key.length);
}

/**
 * GCM, CCM and ChaCha20-Poly1305 on one whole message. CCM needs the plaintext length with the AAD and
 * its tag before the ciphertext (node:crypto's order); the others take the tag last.
 */
export function aead(spec: AeadSpec, data: Uint8Array): Uint8Array {
  const name = aeadName(spec) as CipherGCMTypes;
  const options = { authTagLength: spec.tagLength };
  const plain = spec.encrypt ? data.length : data.length - spec.tagLength;
  if (plain < 0) throw refused(CKR_ENCRYPTED_DATA_INVALID, 'ciphertext shorter than the tag');
  const aadOptions = { plaintextLength: plain };
  if (spec.encrypt) {
    const c = createCipheriv(name, spec.key, spec.iv, options);
    c.setAAD(spec.aad, aadOptions);
    return new Uint8Array(Buffer.concat([c.update(data), c.final(), c.getAuthTag()]));
  }
  const d = createDecipheriv(name, spec.key, spec.iv, options);
  d.setAuthTag(data.subarray(plain));
  d.setAAD(spec.aad, aadOptions);
  return onInput(CKR_ENCRYPTED_DATA_INVALID, `${spec.algorithm}: the tag does not match`, () => {
    const body = d.update(data.subarray(0, plain));
    return new Uint8Array(Buffer.concat([body, d.final()]));
  });
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
