/**
 * The node:crypto implementation of the CryptoBackend port. The only place (with its siblings) that
 * imports node:crypto.
 * @module
 */
import { pbkdf2, pbkdf2Sync, timingSafeEqual } from 'node:crypto';
import type {
  CryptoBackend,
  CurveName,
  KeyHandle,
  KeyMaterial,
  SignScheme,
} from '../../crypto/backend.js';
import { curve as curveRow } from '../../crypto/curves.js';
import { hkdf, open, seal } from './aead.js';
import { aead, aesKeyWrap, createCipher } from './aes.js';
import { cmacAccumulator, hashAccumulator, hmacAccumulator } from './digests.js';
import { DsaKey } from './dsa.js';
import { EcKey, ecPublicPoint, generateEc } from './ec.js';
import { DhKey, generateDhParameters, generateDsaParameters, generateFfcPair } from './ffc.js';
import { generateOkp, OkpKey, okpPublicKey } from './okp.js';
import { RandomPool } from './random-pool.js';
import { generateRsa, generateRsaAsync, RsaKey, rsaSign, rsaSignAsync, rsaVerify } from './rsa.js';
import { rsaDecrypt, rsaDecryptAsync, rsaEncrypt } from './rsa-cipher.js';

/** `key` as this backend's key class `cls`; a handle of another kind or backend is a bug. */
function as<T>(cls: new (...args: never[]) => T, key: KeyHandle, what: string): T {
  if (!(key instanceof cls)) throw new Error(`not ${what} of this backend`);
  return key;
}
const asRsa = (key: KeyHandle) => as(RsaKey, key, 'an RSA key');
const asEc = (key: KeyHandle) => as(EcKey, key, 'an EC key');
const asDsa = (key: KeyHandle) => as(DsaKey, key, 'a DSA key');
const asOkp = (key: KeyHandle) => as(OkpKey, key, 'an Edwards or Montgomery key');

/** Weierstrass curves go through ec.ts (OpenSSL ECDH objects, the ECDSA fast path), the others okp.ts. */
const isWeierstrass = (curve: CurveName) => curveRow(curve).family === 'weierstrass';

export function createNodeCrypto(): CryptoBackend {
  const signSync = (key: KeyHandle, s: SignScheme, data: Uint8Array): Uint8Array => {
    if (s.type === 'ecdsa-prehashed') return asEc(key).prehashed.sign(data);
    if (s.type === 'ecdsa') return asEc(key).signHashed(s.hash, data);
    if (s.type === 'eddsa') return asOkp(key).sign(data);
    if (s.type === 'dsa') return asDsa(key).signHashed(s.hash, data);
    if (s.type === 'dsa-prehashed') return asDsa(key).signDigest(data);
    return rsaSign(asRsa(key), s, data);
  };
  const random = new RandomPool();
  return {
    randomBytes: (length) => random.bytes(length),
    seedRandom: (seed) => random.mix(seed),
    timingSafeEqual(a, b) {
      return a.length === b.length && timingSafeEqual(a, b);
    },
    createHash: hashAccumulator,
    createHmac: hmacAccumulator,
    createCmac: cmacAccumulator,
    importKey(m: KeyMaterial): KeyHandle {
      if (m.kind === 'rsa') return new RsaKey(m);
      if (m.kind === 'dsa') return new DsaKey(m);
      if (m.kind === 'dh') return new DhKey(m);
      return isWeierstrass(m.curve) ? new EcKey(m) : new OkpKey(m);
    },
    sign: signSync,
    // ECDSA signs in tens of microseconds: less than a thread hop costs, so it answers at once.
    async signAsync(key, s, data) {
      return key instanceof RsaKey ? rsaSignAsync(key, s, data) : signSync(key, s, data);
    },
    verify(key, s, data, signature) {
      if (s.type === 'ecdsa-prehashed') return asEc(key).prehashed.verify(data, signature);
      if (s.type === 'ecdsa') return asEc(key).verifyHashed(s.hash, data, signature);
      if (s.type === 'eddsa') return asOkp(key).verify(data, signature);
      if (s.type === 'dsa') return asDsa(key).verifyHashed(s.hash, data, signature);
      if (s.type === 'dsa-prehashed') return asDsa(key).verifyDigest(data, signature);
      return rsaVerify(asRsa(key), s, data, signature);
    },
    createCipher,
    aead,
    aesKeyWrap,
    rsaEncrypt: (key, scheme, data) => rsaEncrypt(asRsa(key), scheme, data),
    rsaDecrypt: (key, scheme, data) => rsaDecrypt(asRsa(key), scheme, data),
    rsaDecryptAsync: (key, scheme, data) => rsaDecryptAsync(asRsa(key), scheme, data),
    ecdh: (key, peer) => (key instanceof OkpKey ? key.agree(peer) : asEc(key).ecdh(peer)),
    seal,
    open,
    hkdf,
    generateRsa,
    generateRsaAsync,
    generateDsaParameters,
    generateDhParameters,
    generateFfcPair,
    dh: (key, peer) => as(DhKey, key, 'a DH key').agree(peer),
    generateEc: (curve) => (isWeierstrass(curve) ? generateEc(curve) : generateOkp(curve)),
    ecPublicPoint: (curve, d) =>
      isWeierstrass(curve) ? ecPublicPoint(curve, d) : okpPublicKey(curve, d),
    pbkdf2(password, salt, iterations, length, hash = 'sha256') {
      return new Uint8Array(pbkdf2Sync(password, salt, iterations, length, hash));
    },
    pbkdf2Async(password, salt, iterations, length) {
      return new Promise((resolve, reject) => {
        pbkdf2(password, salt, iterations, length, 'sha256', (err, key) => {
          if (err) reject(err);
          else resolve(new Uint8Array(key));
        });
      });
    },
  };
}
