/**
 * The per-message parameters of PKCS#11 3.0's message-based encryption (§5.13–5.14; mechanisms §2.14.6
 * CK_GCM_MESSAGE_PARAMS, §2.14.7 CK_CCM_MESSAGE_PARAMS, §2.46 CK_SALSA20_CHACHA20_POLY1305_MSG_PARAMS):
 * each message of a C_MessageEncryptInit runs as one C_Encrypt of the same AEAD mechanism with the
 * parameters this module builds, and its tag travels apart from the ciphertext, in the caller's buffer.
 * A mode whose mechanism the token's registry lacks stays unreachable (CKR_MECHANISM_INVALID at init).
 *
 * Parameters come as pkcs11js-style objects, byte strings as Buffers the token writes into as C writes
 * through the structure's pointers: the tag (encryption) and a generated IV or nonce. Layer L4.
 * @module
 */
import { Pkcs11Error } from '../errors.js';
import * as C from '../pkcs11/constants.js';
import type { RawMechanism, StructuredParams } from '../pkcs11/types.js';

const PARAM = C.CKR_MECHANISM_PARAM_INVALID;
/** corepkcs11's tag for CK_SALSA20_CHACHA20_POLY1305_PARAMS (pkcs11js has none); the token reads fields. */
const CK_PARAMS_CHACHA20_POLY1305 = 0x104;

/** One message as a C_Encrypt / C_Decrypt: its mechanism, and the caller's tag buffer. */
export interface MessageCall {
  mechanism: RawMechanism;
  /** Exactly the tag's bytes of the caller's buffer: written on encryption, read on decryption. */
  tag: Uint8Array;
}

export interface MessageMode {
  readonly type: number;
  /**
   * The call for one message. On encryption a generated IV/nonce is written into the caller's buffer
   * here (`random` supplies its bytes), so it is known before the message runs.
   */
  prepare(
    param: unknown,
    aad: Uint8Array,
    encrypt: boolean,
    random: (n: number) => Uint8Array,
  ): MessageCall;
}

function record(param: unknown, what: string): Record<string, unknown> {
  if (typeof param !== 'object' || param === null || param instanceof Uint8Array) {
    // A byte string is what p11-kit's RPC carries: the C structure's bytes, pointers into the client's
    // memory included, with nothing they point to.
    throw new Pkcs11Error(PARAM, `${what} required (its fields, not the C structure's bytes)`);
  }
  return param as Record<string, unknown>;
}

function bytes(v: unknown, what: string): Uint8Array {
  if (!(v instanceof Uint8Array)) throw new Pkcs11Error(PARAM, `${what} must be a Buffer`);
  return v;
}

function count(v: unknown, fallback: number, what: string): number {
  if (v === undefined) return fallback;
  if (!Number.isInteger(v) || (v as number) < 0) throw new Pkcs11Error(PARAM, `${what}: a count`);
  return v as number;
}

/**
 * The IV/nonce of one message. CKG_NO_GENERATE: the caller's. CKG_GENERATE and CKG_GENERATE_RANDOM: the
 * bits after the first `fixedBits` are fresh random, written into the caller's buffer. The counter
 * generators are refused: a counter would have to outlive the operation and the process to keep IVs
 * unique under one key, and the token keeps no per-key counter.
 */
function messageIv(
  iv: Uint8Array,
  fixedBits: number,
  generator: number,
  encrypt: boolean,
  random: (n: number) => Uint8Array,
): Uint8Array {
  if (!encrypt || generator === C.CKG_NO_GENERATE) return new Uint8Array(iv);
  if (generator !== C.CKG_GENERATE && generator !== C.CKG_GENERATE_RANDOM) {
    throw new Pkcs11Error(
      PARAM,
      'IV generator: CKG_NO_GENERATE, CKG_GENERATE or CKG_GENERATE_RANDOM',
    );
  }
  if (fixedBits > iv.length * 8 - 64) {
    throw new Pkcs11Error(
      PARAM,
      'a generated IV needs at least 64 random bits after the fixed ones',
    );
  }
  const fresh = random(iv.length);
  const whole = fixedBits >> 3;
  fresh.set(iv.subarray(0, whole));
  const rest = fixedBits & 7;
  if (rest !== 0) {
    const keep = (0xff00 >> rest) & 0xff;
    fresh[whole] = ((iv[whole] as number) & keep) | ((fresh[whole] as number) & ~keep & 0xff);
  }
  iv.set(fresh);
  return new Uint8Array(fresh);
}

/** The first `length` bytes of the caller's tag buffer (too short: CKR_MECHANISM_PARAM_INVALID). */
function tagOf(buffer: Uint8Array, length: number, what: string): Uint8Array {
  if (buffer.length < length)
    throw new Pkcs11Error(PARAM, `${what}: the buffer is shorter than the tag`);
  return buffer.subarray(0, length);
}

/** CK_GCM_MESSAGE_PARAMS: `{ iv, ivFixedBits?, ivGenerator?, tag, tagBits? }` (tagBits: 128). */
function gcm(
  param: unknown,
  aad: Uint8Array,
  encrypt: boolean,
  random: (n: number) => Uint8Array,
): MessageCall {
  const p = record(param, 'CK_GCM_MESSAGE_PARAMS');
  const iv = bytes(p.iv, 'iv');
  const tagBits = count(p.tagBits, 128, 'tagBits');
  const generator = count(p.ivGenerator, C.CKG_NO_GENERATE, 'ivGenerator');
  const used = messageIv(iv, count(p.ivFixedBits, 0, 'ivFixedBits'), generator, encrypt, random);
  const parameter = {
    type: C.CK_PARAMS_AES_GCM_v240,
    iv: used,
    ivBits: used.length * 8,
    aad,
    tagBits,
  };
  return {
    mechanism: { mechanism: C.CKM_AES_GCM, parameter },
    tag: tagOf(bytes(p.tag, 'tag'), Math.floor(tagBits / 8), 'tag'),
  };
}

/** CK_CCM_MESSAGE_PARAMS: `{ dataLen, nonce, nonceFixedBits?, nonceGenerator?, mac, macLen? }`. */
function ccm(
  param: unknown,
  aad: Uint8Array,
  encrypt: boolean,
  random: (n: number) => Uint8Array,
): MessageCall {
  const p = record(param, 'CK_CCM_MESSAGE_PARAMS');
  const macLen = count(p.macLen, 16, 'macLen');
  const dataLen = count(p.dataLen, -1, 'dataLen');
  if (dataLen < 0) throw new Pkcs11Error(PARAM, 'CK_CCM_MESSAGE_PARAMS: dataLen required');
  const generator = count(p.nonceGenerator, C.CKG_NO_GENERATE, 'nonceGenerator');
  const fixed = count(p.nonceFixedBits, 0, 'nonceFixedBits');
  const nonce = messageIv(bytes(p.nonce, 'nonce'), fixed, generator, encrypt, random);
  const parameter = { type: C.CK_PARAMS_CCM, dataLen, nonce, aad, macLen };
  return {
    mechanism: { mechanism: C.CKM_AES_CCM, parameter },
    tag: tagOf(bytes(p.mac, 'mac'), macLen, 'mac'),
  };
}

/** CK_SALSA20_CHACHA20_POLY1305_MSG_PARAMS: `{ nonce, tag }` (a 16-byte tag; the caller's nonce). */
function chacha(param: unknown, aad: Uint8Array): MessageCall {
  const p = record(param, 'CK_SALSA20_CHACHA20_POLY1305_MSG_PARAMS');
  const nonce = new Uint8Array(bytes(p.nonce, 'nonce'));
  // CK_SALSA20_CHACHA20_POLY1305_PARAMS's shape, which the ChaCha20-Poly1305 mechanism reads.
  const parameter = {
    type: CK_PARAMS_CHACHA20_POLY1305,
    nonce,
    aad,
  } as unknown as StructuredParams;
  return {
    mechanism: { mechanism: C.CKM_CHACHA20_POLY1305, parameter },
    tag: tagOf(bytes(p.tag, 'tag'), 16, 'tag'),
  };
}

const MODES: readonly MessageMode[] = [
  { type: C.CKM_AES_GCM, prepare: gcm },
  { type: C.CKM_AES_CCM, prepare: ccm },
  { type: C.CKM_CHACHA20_POLY1305, prepare: chacha },
];

/** The message mode of an AEAD mechanism; undefined for a mechanism with none. */
export function messageMode(type: number): MessageMode | undefined {
  return MODES.find((m) => m.type === type);
}
