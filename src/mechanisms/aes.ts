/**
 * AES encryption mechanisms (v2.40 mechanisms §2.14): CKM_AES_ECB, CKM_AES_CBC, CKM_AES_CBC_PAD,
 * CKM_AES_CTR and CKM_AES_GCM. GCM decryption releases nothing before the tag has been checked.
 * Layer L4.
 * @module
 */
import { readBytes } from '../attributes/values.js';
import type { CipherStream, CryptoBackend } from '../crypto/backend.js';
import { Pkcs11Error } from '../errors.js';
import * as C from '../pkcs11/constants.js';
import type { GcmParams, RawMechanism } from '../pkcs11/types.js';
import { decodeUlong } from '../util/bytes.js';
import { Collected, requireNoParameter } from './common.js';
import type { CipherOperation, KeyRef, Mechanism } from './types.js';

const BLOCK = 16;
/** Largest CKM_AES_GCM plaintext (GCM holds its whole input until the end; the tag comes on top). */
export const MAX_GCM_INPUT = 64 * 1024 * 1024;
/** Largest AES key-wrap input: keys, not bulk data. */
const MAX_KEY_WRAP_INPUT = 64 * 1024;
const SIZES = { minKeySize: 16, maxKeySize: 32 };
/** Every AES mode can also wrap and unwrap secret keys (their value is what it encrypts). */
const FLAGS = C.CKF_ENCRYPT | C.CKF_DECRYPT | C.CKF_WRAP | C.CKF_UNWRAP;

function aesKey(key: KeyRef): Uint8Array {
  const v = readBytes(key.object.attrs, C.CKA_VALUE);
  if (!v || ![16, 24, 32].includes(v.length))
    throw new Pkcs11Error(C.CKR_KEY_SIZE_RANGE, 'not an AES key');
  return v;
}

function ivParam(m: RawMechanism): Uint8Array {
  const p = m.parameter;
  if (!(p instanceof Uint8Array) || p.length !== BLOCK) {
    throw new Pkcs11Error(C.CKR_MECHANISM_PARAM_INVALID, 'the parameter is a 16-byte IV');
  }
  return p;
}

/** CK_AES_CTR_PARAMS: ulCounterBits (CK_ULONG) then the 16-byte counter block, or pkcs11js's AesCBC-like shape. */
function ctrParam(m: RawMechanism): { counterBits: number; block: Uint8Array } {
  const p = m.parameter;
  if (p instanceof Uint8Array && (p.length === 24 || p.length === 20)) {
    const w = p.length - BLOCK;
    const counterBits = decodeUlong(p.subarray(0, w));
    if (counterBits !== undefined && counterBits >= 1 && counterBits <= 128) {
      return { counterBits, block: p.subarray(w) };
    }
  }
  throw new Pkcs11Error(
    C.CKR_MECHANISM_PARAM_INVALID,
    'CK_AES_CTR_PARAMS: counter bits 1..128 and a 16-byte block',
  );
}

function lengthCode(encrypt: boolean): number {
  return encrypt ? C.CKR_DATA_LEN_RANGE : C.CKR_ENCRYPTED_DATA_LEN_RANGE;
}

function lengthError(encrypt: boolean, why: string): Pkcs11Error {
  return new Pkcs11Error(lengthCode(encrypt), why);
}

/**
 * Bytes a block-cipher stream has released after `total` input bytes: whole blocks, except that a
 * padded decryption keeps the last block back until finish (it holds the padding).
 */
function released(total: number, holdLast: boolean): number {
  if (!holdLast) return total - (total % BLOCK);
  return Math.max(0, Math.ceil(total / BLOCK) - 1) * BLOCK;
}

/**
 * ECB, CBC and CBC_PAD: a stream that checks block alignment where the mode has no padding. Length
 * queries are exact (64 bytes of AES-ECB are 64), except a padded decryption's last block, whose padding
 * is only known once decrypted: up to 15 bytes.
 */
function blockCipher(stream: CipherStream, encrypt: boolean, padded: boolean): CipherOperation {
  let seen = 0;
  const holdLast = padded && !encrypt;
  return {
    updateBound: (n) => released(seen + n, holdLast) - released(seen, holdLast),
    finishBound(pending) {
      const total = seen + pending;
      if (!padded) return 0;
      // Encryption ends with one whole padded block; decryption with the data of the last block.
      if (encrypt) return BLOCK;
      return total === 0 ? 0 : BLOCK - 1;
    },
    update(d) {
      seen += d.length;
      return stream.update(d);
    },
    finish() {
      if ((!padded || !encrypt) && seen % BLOCK !== 0) {
        throw lengthError(encrypt, 'the input is not a whole number of 16-byte blocks');
      }
      return stream.finish();
    },
  };
}

function ctrCipher(
  stream: CipherStream,
  counterBits: number,
  block: Uint8Array,
  encrypt: boolean,
): CipherOperation {
  // The counter is the low `counterBits` of the block; it may not wrap within one operation.
  let remaining = 2n ** BigInt(counterBits);
  let counter = 0n;
  for (const b of block) counter = (counter << 8n) | BigInt(b);
  remaining -= counter & (remaining - 1n);
  let buffered = 0;
  return {
    updateBound: (n) => n,
    finishBound: () => 0,
    update(d) {
      buffered += d.length;
      if (BigInt(Math.ceil(buffered / BLOCK)) > remaining)
        throw lengthError(encrypt, 'the counter would wrap');
      return stream.update(d);
    },
    finish: () => stream.finish(),
  };
}

function gcmParams(m: RawMechanism): { iv: Uint8Array; aad: Uint8Array; tagLength: number } {
  const p = m.parameter as Partial<GcmParams> | undefined;
  if (
    typeof p !== 'object' ||
    p === null ||
    p instanceof Uint8Array ||
    !(p.iv instanceof Uint8Array)
  ) {
    throw new Pkcs11Error(C.CKR_MECHANISM_PARAM_INVALID, 'CK_GCM_PARAMS required');
  }
  const tagBits = p.tagBits ?? 128;
  if (p.iv.length < 1 || p.iv.length > 256 || ![32, 64, 96, 104, 112, 120, 128].includes(tagBits)) {
    throw new Pkcs11Error(
      C.CKR_MECHANISM_PARAM_INVALID,
      'GCM: IV of 1..256 bytes, tag of 32..128 bits',
    );
  }
  return { iv: p.iv, aad: p.aad ?? new Uint8Array(0), tagLength: tagBits / 8 };
}

function gcmCipher(
  backend: CryptoBackend,
  key: Uint8Array,
  m: RawMechanism,
  encrypt: boolean,
): CipherOperation {
  const { iv, aad, tagLength } = gcmParams(m);
  // GCM releases nothing before the tag is checked, so the whole input is held: bounded.
  const input = encrypt
    ? new Collected(MAX_GCM_INPUT)
    : new Collected(MAX_GCM_INPUT + tagLength, C.CKR_ENCRYPTED_DATA_LEN_RANGE);
  let total = 0;
  return {
    updateBound: () => 0,
    finishBound: (pending) =>
      encrypt ? total + pending + tagLength : Math.max(0, total + pending - tagLength),
    update(d) {
      input.add(d);
      total += d.length;
      return new Uint8Array(0);
    },
    finish() {
      return backend.aesGcm(key, iv, aad, tagLength, encrypt, input.take());
    },
  };
}

/** AES key wrap: one call on the whole input (the length rules are the RFCs'). */
function keyWrapCipher(
  backend: CryptoBackend,
  key: Uint8Array,
  m: RawMechanism,
  wrap: boolean,
  pad: boolean,
): CipherOperation {
  requireNoParameter(m);
  const input = new Collected(MAX_KEY_WRAP_INPUT, lengthCode(wrap));
  let total = 0;
  return {
    updateBound: () => 0,
    finishBound: (pending) => {
      const n = total + pending;
      // Unwrapping drops the 8-byte integrity block (and, with padding, up to 7 bytes more).
      return wrap ? (pad ? Math.ceil(n / 8) * 8 + 8 : n + 8) : Math.max(0, n - 8);
    },
    update(d) {
      input.add(d);
      total += d.length;
      return new Uint8Array(0);
    },
    finish() {
      const data = input.take();
      if (!pad && (data.length % 8 !== 0 || data.length < (wrap ? 16 : 24))) {
        throw lengthError(wrap, 'CKM_AES_KEY_WRAP works on whole 8-byte blocks (at least two)');
      }
      if (pad && data.length < (wrap ? 1 : 16)) throw lengthError(wrap, 'input too short');
      return backend.aesKeyWrap(key, data, wrap, pad);
    },
  };
}

type Build = (
  backend: CryptoBackend,
  m: RawMechanism,
  key: Uint8Array,
  encrypt: boolean,
) => CipherOperation;

function aesMechanism(type: number, build: Build): Mechanism {
  return {
    type,
    keyTypes: [C.CKK_AES],
    info: { ...SIZES, flags: FLAGS },
    encrypt: (backend, m, key) => build(backend, m, aesKey(key), true),
    decrypt: (backend, m, key) => build(backend, m, aesKey(key), false),
  };
}

export const AES_MECHANISMS: Mechanism[] = [
  aesMechanism(C.CKM_AES_ECB, (b, m, key, encrypt) => {
    requireNoParameter(m);
    return blockCipher(
      b.createCipher({ mode: 'ecb', key, padding: false, encrypt }),
      encrypt,
      false,
    );
  }),
  aesMechanism(C.CKM_AES_CBC, (b, m, key, encrypt) =>
    blockCipher(
      b.createCipher({ mode: 'cbc', key, iv: ivParam(m), padding: false, encrypt }),
      encrypt,
      false,
    ),
  ),
  aesMechanism(C.CKM_AES_CBC_PAD, (b, m, key, encrypt) =>
    blockCipher(
      b.createCipher({ mode: 'cbc', key, iv: ivParam(m), padding: true, encrypt }),
      encrypt,
      true,
    ),
  ),
  aesMechanism(C.CKM_AES_CTR, (b, m, key, encrypt) => {
    const { counterBits, block } = ctrParam(m);
    return ctrCipher(
      b.createCipher({ mode: 'ctr', key, iv: block, padding: false, encrypt }),
      counterBits,
      block,
      encrypt,
    );
  }),
  aesMechanism(C.CKM_AES_GCM, (b, m, key, encrypt) => gcmCipher(b, key, m, encrypt)),
  aesMechanism(C.CKM_AES_KEY_WRAP, (b, m, key, encrypt) =>
    keyWrapCipher(b, key, m, encrypt, false),
  ),
  aesMechanism(C.CKM_AES_KEY_WRAP_PAD, (b, m, key, encrypt) =>
    keyWrapCipher(b, key, m, encrypt, true),
  ),
];
