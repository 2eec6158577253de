/**
 * AES encryption mechanisms (v2.40 mechanisms §2.14): CKM_AES_ECB, CKM_AES_CBC, CKM_AES_CBC_PAD,
 * CKM_AES_CTR, CKM_AES_OFB, CKM_AES_CFB8, CKM_AES_CFB128, CKM_AES_CFB1, key wrap (RFC 3394, RFC 5649)
 * CKM_AES_XTS on CKK_AES_XTS keys (3.0 §2.13, IEEE 1619) and the CKM_AES_ECB/CBC_ENCRYPT_DATA derivations
 * (encrypt-data.ts). The AEAD modes (GCM, CCM) are in aead.ts. Layer L4.
 * @module
 */
import type { CipherStream, CryptoBackend } from '../crypto/backend.js';
import { Pkcs11Error } from '../errors.js';
import * as C from '../pkcs11/constants.js';
import type { RawMechanism } from '../pkcs11/types.js';
import { concat, decodeUlong } from '../util/bytes.js';
import {
  blockModeCipher,
  ivParam,
  lengthError,
  streamCipher,
  wholeInputCipher,
} from './block-modes.js';
import { MAX_WHOLE_INPUT, requireNoParameter, secretKeyOf } from './common.js';
import { encryptDataMechanism } from './encrypt-data.js';
import type { CipherOperation, KeyRef, Mechanism } from './types.js';

const BLOCK = 16;
/** Largest AES key-wrap input: keys, not bulk data. */
const MAX_KEY_WRAP_INPUT = 64 * 1024;
const SIZES = { minKeySize: 16, maxKeySize: 32 };
/** Every AES mode can also wrap and unwrap secret keys (their value is what it encrypts). */
const FLAGS = C.CKF_ENCRYPT | C.CKF_DECRYPT | C.CKF_WRAP | C.CKF_UNWRAP;

/** The value of an AES (16, 24, 32 bytes) or AES-XTS (32, 64 bytes: two AES keys) key. */
function keyOf(sizes: readonly number[]): (key: KeyRef) => Uint8Array {
  return (key) => {
    const v = secretKeyOf(key);
    if (!sizes.includes(v.length))
      throw new Pkcs11Error(C.CKR_KEY_SIZE_RANGE, `a ${v.length}-byte key does not suit this mode`);
    return v;
  };
}
const aesKey = keyOf([16, 24, 32]);
const xtsKey = keyOf([32, 64]);

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

/** AES key wrap: one call on the whole input (the length rules are the RFCs'). */
function keyWrapCipher(
  backend: CryptoBackend,
  key: Uint8Array,
  m: RawMechanism,
  wrap: boolean,
  pad: boolean,
): CipherOperation {
  requireNoParameter(m);
  // Unwrapping drops the 8-byte integrity block (and, with padding, up to 7 bytes more).
  const outLength = (n: number) =>
    wrap ? (pad ? Math.ceil(n / 8) * 8 + 8 : n + 8) : Math.max(0, n - 8);
  return wholeInputCipher(wrap, MAX_KEY_WRAP_INPUT, outLength, (data) => {
    if (!pad && (data.length % 8 !== 0 || data.length < (wrap ? 16 : 24))) {
      throw lengthError(wrap, 'CKM_AES_KEY_WRAP works on whole 8-byte blocks (at least two)');
    }
    if (pad && data.length < (wrap ? 1 : 16)) throw lengthError(wrap, 'input too short');
    return backend.aesKeyWrap(key, data, wrap, pad);
  });
}

/**
 * XTS (SP 800-38E): the whole input is one data unit of at least a block, the parameter its 16-byte
 * tweak; OpenSSL encrypts a unit per call, so the input is held and run once.
 */
function xtsCipher(
  backend: CryptoBackend,
  key: Uint8Array,
  m: RawMechanism,
  encrypt: boolean,
): CipherOperation {
  const iv = ivParam(m, BLOCK);
  return wholeInputCipher(
    encrypt,
    MAX_WHOLE_INPUT,
    (n) => n,
    (data) => {
      if (data.length < BLOCK) throw lengthError(encrypt, 'XTS needs at least one 16-byte block');
      const stream = backend.createCipher({ mode: 'xts', key, iv, padding: false, encrypt });
      return concat(stream.update(data), stream.finish());
    },
  );
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

/** A mode with a 16-byte IV whose output follows its input (CFB, OFB). */
function streamMode(type: number, mode: 'ofb' | 'cfb8' | 'cfb128' | 'cfb1'): Mechanism {
  return aesMechanism(type, (b, m, key, encrypt) =>
    streamCipher(b.createCipher({ mode, key, iv: ivParam(m, BLOCK), padding: false, encrypt })),
  );
}

export const AES_MECHANISMS: Mechanism[] = [
  ...(
    [
      [C.CKM_AES_ECB, 'ecb'],
      [C.CKM_AES_CBC, 'cbc'],
      [C.CKM_AES_CBC_PAD, 'cbc-pad'],
    ] as const
  ).map(([type, mode]) =>
    aesMechanism(type, (b, m, key, encrypt) =>
      blockModeCipher(b, m, { key }, mode, BLOCK, encrypt),
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
  streamMode(C.CKM_AES_OFB, 'ofb'),
  streamMode(C.CKM_AES_CFB8, 'cfb8'),
  streamMode(C.CKM_AES_CFB128, 'cfb128'),
  streamMode(C.CKM_AES_CFB1, 'cfb1'),
  {
    type: C.CKM_AES_XTS,
    keyTypes: [C.CKK_AES_XTS],
    info: { minKeySize: 32, maxKeySize: 64, flags: C.CKF_ENCRYPT | C.CKF_DECRYPT },
    encrypt: (backend, m, key) => xtsCipher(backend, xtsKey(key), m, true),
    decrypt: (backend, m, key) => xtsCipher(backend, xtsKey(key), m, false),
  },
  ...(
    [
      [C.CKM_AES_ECB_ENCRYPT_DATA, 'ecb'],
      [C.CKM_AES_CBC_ENCRYPT_DATA, 'cbc'],
    ] as const
  ).map(([type, mode]) =>
    encryptDataMechanism({
      type,
      keyTypes: [C.CKK_AES],
      mode,
      block: BLOCK,
      key: (base) => ({ key: aesKey(base) }),
    }),
  ),
  aesMechanism(C.CKM_AES_KEY_WRAP, (b, m, key, encrypt) =>
    keyWrapCipher(b, key, m, encrypt, false),
  ),
  aesMechanism(C.CKM_AES_KEY_WRAP_PAD, (b, m, key, encrypt) =>
    keyWrapCipher(b, key, m, encrypt, true),
  ),
];
