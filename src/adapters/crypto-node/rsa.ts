/**
 * RSA over node:crypto: key import from components, the PKCS#1 v1.5 / PSS / raw signature schemes, and
 * key generation (encryption and decryption: rsa-cipher.ts). PSS over a digest the caller computed (CKM_RSA_PKCS_PSS) has no node:crypto call, so its
 * EMSA-PSS encoding (RFC 8017 §9.1) is done here around the raw RSA primitive.
 * @module
 */
import {
  constants,
  createPrivateKey,
  createPublicKey,
  generateKeyPair,
  generateKeyPairSync,
  type KeyObject,
  privateEncrypt,
  publicDecrypt,
  type RSAKeyPairOptions,
  randomBytes,
  sign,
  timingSafeEqual,
  verify,
} from 'node:crypto';
import { promisify } from 'node:util';
import type { KeyHandle, RsaMaterial, SignScheme } from '../../crypto/backend.js';
import { HASH_LENGTHS, type HashName } from '../../crypto/backend.js';
import { counterHash } from '../../crypto/counter-hash.js';
import {
  CKR_ATTRIBUTE_VALUE_INVALID,
  CKR_DATA_INVALID,
  CKR_TEMPLATE_INCONSISTENT,
} from '../../pkcs11/constants.js';
import { leftPad } from '../../util/bytes.js';
import { hashAccumulator } from './digests.js';
import { onInput, refused } from './input.js';
import {
  checkCrt,
  fromBase64Url,
  recoverPrimes,
  reducedExponent,
  toBase64Url,
} from './rsa-math.js';
import { rejectionKeyOf } from './rsa-pkcs1-decrypt.js';
import { privateOpAsync } from './rsa-worker.js';

const INVALID = CKR_ATTRIBUTE_VALUE_INVALID;

export class RsaKey implements KeyHandle {
  readonly kind = 'rsa';
  readonly isPrivate: boolean;
  readonly bits: number;
  readonly bytes: number;
  readonly object: KeyObject;
  readonly publicObject: KeyObject;
  /**
   * SHA-256 of d written out to the modulus width: the HMAC key from which PKCS#1 v1.5 decryption
   * derives its implicit-rejection key per ciphertext (rsa-pkcs1-decrypt.ts). Private keys only.
   */
  readonly rejectionKey: Uint8Array | undefined;

  constructor(m: RsaMaterial) {
    const jwk: Record<string, string> = { kty: 'RSA', n: toBase64Url(m.n), e: toBase64Url(m.e) };
    this.isPrivate = m.d !== undefined;
    if (m.d) {
      const crt =
        m.p && m.q && m.dp && m.dq && m.qi ? m : { ...m, ...recoverPrimes(m.n, m.e, m.d) };
      checkCrt(m.n, m.d, crt);
      Object.assign(jwk, {
        d: toBase64Url(reducedExponent(m.d, crt.p as Uint8Array, crt.q as Uint8Array)),
        p: toBase64Url(crt.p as Uint8Array),
        q: toBase64Url(crt.q as Uint8Array),
        dp: toBase64Url(crt.dp as Uint8Array),
        dq: toBase64Url(crt.dq as Uint8Array),
        qi: toBase64Url(crt.qi as Uint8Array),
      });
      this.object = onInput(INVALID, 'not an RSA private key', () =>
        createPrivateKey({ key: jwk, format: 'jwk' }),
      );
      this.publicObject = createPublicKey(this.object);
    } else {
      this.object = onInput(INVALID, 'not an RSA public key', () =>
        createPublicKey({ key: jwk, format: 'jwk' }),
      );
      this.publicObject = this.object;
    }
    this.bits = this.object.asymmetricKeyDetails?.modulusLength ?? 0;
    this.bytes = Math.ceil(this.bits / 8);
    if (this.bits < 512) throw refused(INVALID, `RSA modulus of ${this.bits} bits is too small`);
    if (this.isPrivate) this.#checkPair();
    this.rejectionKey = m.d ? rejectionKeyOf(m.d, this.bytes) : undefined;
  }

  /** Node accepts a JWK whose parts do not belong together; one raw round trip proves they do. */
  #checkPair(): void {
    const probe = Buffer.alloc(this.bytes);
    probe[this.bytes - 1] = 2;
    probe[1] = 0x5a;
    const sig = privateEncrypt({ key: this.object, padding: constants.RSA_NO_PADDING }, probe);
    const back = publicDecrypt({ key: this.publicObject, padding: constants.RSA_NO_PADDING }, sig);
    if (!timingSafeEqual(back, probe))
      throw refused(INVALID, 'the RSA private key does not match its public key');
  }
}

/** MGF1 (RFC 8017 §B.2.1). */
const mgf1 = (hash: HashName, seed: Uint8Array, length: number) =>
  counterHash(hashAccumulator, hash, seed, 0, length);

/** H = Hash(0x00*8 ‖ mHash ‖ salt), the heart of EMSA-PSS. */
function pssHash(hash: HashName, mHash: Uint8Array, salt: Uint8Array): Uint8Array {
  const h = hashAccumulator(hash);
  h.update(new Uint8Array(8));
  h.update(mHash);
  h.update(salt);
  return h.finish();
}

type Pss = Extract<SignScheme, { type: 'rsa-pss' }>;

function emsaPssEncode(s: Pss, mHash: Uint8Array, emBits: number): Uint8Array {
  const hLen = HASH_LENGTHS[s.hash];
  const emLen = Math.ceil(emBits / 8);
  if (mHash.length !== hLen) throw new RangeError(`PSS digest must be ${hLen} bytes`);
  if (emLen < hLen + s.saltLength + 2) throw new RangeError('PSS salt too long for this key');
  const salt = randomBytes(s.saltLength);
  const h = pssHash(s.hash, mHash, salt);
  const db = new Uint8Array(emLen - hLen - 1);
  db[db.length - s.saltLength - 1] = 0x01;
  db.set(salt, db.length - s.saltLength);
  const mask = mgf1(s.mgfHash, h, db.length);
  for (let i = 0; i < db.length; i++) db[i] = (db[i] as number) ^ (mask[i] as number);
  db[0] = (db[0] as number) & (0xff >> (8 * emLen - emBits));
  const em = new Uint8Array(emLen);
  em.set(db);
  em.set(h, db.length);
  em[emLen - 1] = 0xbc;
  return em;
}

function emsaPssVerify(s: Pss, mHash: Uint8Array, em: Uint8Array, emBits: number): boolean {
  const hLen = HASH_LENGTHS[s.hash];
  const emLen = Math.ceil(emBits / 8);
  if (mHash.length !== hLen || em.length !== emLen || emLen < hLen + s.saltLength + 2) return false;
  if (em[emLen - 1] !== 0xbc) return false;
  const db = em.slice(0, emLen - hLen - 1);
  const h = em.subarray(emLen - hLen - 1, emLen - 1);
  if (((db[0] as number) & ~(0xff >> (8 * emLen - emBits)) & 0xff) !== 0) return false;
  const mask = mgf1(s.mgfHash, h, db.length);
  for (let i = 0; i < db.length; i++) db[i] = (db[i] as number) ^ (mask[i] as number);
  db[0] = (db[0] as number) & (0xff >> (8 * emLen - emBits));
  const psLen = emLen - hLen - s.saltLength - 2;
  for (let i = 0; i < psLen; i++) if (db[i] !== 0) return false;
  if (db[psLen] !== 0x01) return false;
  const salt = db.subarray(db.length - s.saltLength);
  return timingSafeEqual(pssHash(s.hash, mHash, salt), h);
}

export const NO_PADDING = constants.RSA_NO_PADDING;
export const PKCS1 = constants.RSA_PKCS1_PADDING;

/** How a scheme signs: node:crypto's sign (which hashes), or a raw private-key operation on a block. */
type Plan =
  | { kind: 'sign'; hash: HashName; data: Uint8Array; padding: number; saltLength?: number }
  | { kind: 'private'; padding: number; input: Uint8Array };

function planOf(key: RsaKey, s: SignScheme, data: Uint8Array): Plan {
  switch (s.type) {
    case 'rsa-pkcs1-raw':
      return { kind: 'private', padding: PKCS1, input: data };
    case 'rsa-x509':
      if (data.length > key.bytes) throw refused(CKR_DATA_INVALID, 'input longer than the modulus');
      return { kind: 'private', padding: NO_PADDING, input: leftPad(data, key.bytes) };
    case 'rsa-pkcs1':
      return { kind: 'sign', hash: s.hash, data, padding: PKCS1 };
    case 'rsa-pss': {
      if (!s.prehashed && s.mgfHash === s.hash) {
        const padding = constants.RSA_PKCS1_PSS_PADDING;
        return { kind: 'sign', hash: s.hash, data, padding, saltLength: s.saltLength };
      }
      const em = emsaPssEncode(s, s.prehashed ? data : digestOf(s.hash, data), key.bits - 1);
      return { kind: 'private', padding: NO_PADDING, input: leftPad(em, key.bytes) };
    }
    default:
      throw new Error(`scheme ${s.type} does not apply to RSA keys`);
  }
}

/** A raw private-key operation rejects a block numerically ≥ the modulus: the caller's data. */
const RAW_REFUSED = 'the input is not below the modulus';

export function rsaSign(key: RsaKey, s: SignScheme, data: Uint8Array): Uint8Array {
  const p = planOf(key, s, data);
  if (p.kind === 'sign') {
    const opts = { key: key.object, padding: p.padding, saltLength: p.saltLength };
    return new Uint8Array(sign(p.hash, p.data, opts));
  }
  return onInput(
    CKR_DATA_INVALID,
    RAW_REFUSED,
    () => new Uint8Array(privateEncrypt({ key: key.object, padding: p.padding }, p.input)),
  );
}

/** As rsaSign, with the private-key operation in node:crypto's thread pool or the RSA worker. */
export async function rsaSignAsync(
  key: RsaKey,
  s: SignScheme,
  data: Uint8Array,
): Promise<Uint8Array> {
  const p = planOf(key, s, data);
  if (p.kind === 'sign') {
    const opts = { key: key.object, padding: p.padding, saltLength: p.saltLength };
    return new Promise((resolve, reject) =>
      sign(p.hash, p.data, opts, (err, sig) => (err ? reject(err) : resolve(new Uint8Array(sig)))),
    );
  }
  return privateOpAsync(false, key.object, { padding: p.padding }, p.input, [
    CKR_DATA_INVALID,
    RAW_REFUSED,
  ]);
}

function digestOf(hash: HashName, data: Uint8Array): Uint8Array {
  const h = hashAccumulator(hash);
  h.update(data);
  return h.finish();
}

/** m = s^e mod n, or undefined when s is not a valid signature representative. */
function rsaPublicRaw(key: RsaKey, signature: Uint8Array): Uint8Array | undefined {
  try {
    return new Uint8Array(publicDecrypt({ key: key.publicObject, padding: NO_PADDING }, signature));
  } catch {
    return undefined;
  }
}

export function rsaVerify(key: RsaKey, s: SignScheme, data: Uint8Array, sig: Uint8Array): boolean {
  if (sig.length !== key.bytes) return false;
  switch (s.type) {
    case 'rsa-pkcs1-raw': {
      let recovered: Buffer;
      try {
        recovered = publicDecrypt({ key: key.publicObject, padding: PKCS1 }, sig);
      } catch {
        return false;
      }
      return recovered.length === data.length && timingSafeEqual(recovered, data);
    }
    case 'rsa-x509': {
      const m = rsaPublicRaw(key, sig);
      return (
        m !== undefined && data.length <= key.bytes && timingSafeEqual(m, leftPad(data, key.bytes))
      );
    }
    case 'rsa-pkcs1':
      return verify(s.hash, data, { key: key.publicObject, padding: PKCS1 }, sig);
    case 'rsa-pss': {
      const m = rsaPublicRaw(key, sig);
      if (m === undefined) return false;
      const emBits = key.bits - 1;
      const em = m.length > Math.ceil(emBits / 8) ? m.subarray(1) : m;
      if (m.length > em.length && m[0] !== 0) return false;
      return emsaPssVerify(s, s.prehashed ? data : digestOf(s.hash, data), em, emBits);
    }
    default:
      return false;
  }
}

/**
 * Key generation returns the private key as PKCS#8 DER, never as a KeyObject: Node 20 deadlocks when a
 * KeyObject straight from generateKeyPair(Sync) is exported as JWK and a garbage collection during the
 * export frees the generation job, whose destructor takes the key's lock the export already holds (no
 * CPU, no way out). A key parsed from DER has a lock of its own.
 */
const SPKI_DER = { type: 'spki', format: 'der' } as const;
const PKCS8_DER = { type: 'pkcs8', format: 'der' } as const;

function materialOfDer(pkcs8: Buffer): RsaMaterial {
  try {
    return materialOf(createPrivateKey({ key: pkcs8, format: 'der', type: 'pkcs8' }));
  } finally {
    pkcs8.fill(0);
  }
}

function materialOf(key: KeyObject): RsaMaterial {
  const j = key.export({ format: 'jwk' });
  const f = (v: string | undefined) => fromBase64Url(v ?? '');
  return {
    n: f(j.n),
    e: f(j.e),
    d: f(j.d),
    p: f(j.p),
    q: f(j.q),
    dp: f(j.dp),
    dq: f(j.dq),
    qi: f(j.qi),
  };
}

function exponentOf(e: Uint8Array): number {
  let v = 0;
  for (const b of e) v = v * 256 + b;
  if (v < 3 || v % 2 === 0 || v > 0xffffffff)
    throw refused(CKR_TEMPLATE_INCONSISTENT, 'unsupported RSA public exponent');
  return v;
}

/** What generateKeyPair(Sync) makes an RSA key of `bits` with exponent `e` from (both halves as DER). */
function keyGenOptions(bits: number, e: Uint8Array): RSAKeyPairOptions<'der', 'der'> {
  return {
    modulusLength: bits,
    publicExponent: exponentOf(e),
    publicKeyEncoding: SPKI_DER,
    privateKeyEncoding: PKCS8_DER,
  };
}

export function generateRsa(bits: number, e: Uint8Array): RsaMaterial {
  return materialOfDer(generateKeyPairSync('rsa', keyGenOptions(bits, e)).privateKey);
}

const generateKeyPairAsync = promisify(generateKeyPair);

export async function generateRsaAsync(bits: number, e: Uint8Array): Promise<RsaMaterial> {
  const { privateKey } = await generateKeyPairAsync('rsa', keyGenOptions(bits, e));
  return materialOfDer(privateKey);
}
