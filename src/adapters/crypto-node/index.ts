/**
 * The node:crypto implementation of the CryptoBackend port. The only place (with its siblings) that
 * imports node:crypto.
 * @module
 */
import { pbkdf2, pbkdf2Sync, timingSafeEqual } from 'node:crypto';
import type { CryptoBackend, KeyHandle, KeyMaterial, SignScheme } from '../../crypto/backend.js';
import { hkdf, open, seal } from './aead.js';
import { aesGcm, aesKeyWrap, createCipher } from './aes.js';
import { cmacAccumulator, hashAccumulator, hmacAccumulator } from './digests.js';
import { EcKey, ecPublicPoint, generateEc } from './ec.js';
import { RandomPool } from './random-pool.js';
import { generateRsa, generateRsaAsync, RsaKey, rsaSign, rsaSignAsync, rsaVerify } from './rsa.js';
import { rsaDecrypt, rsaDecryptAsync, rsaEncrypt } from './rsa-cipher.js';

function asRsa(key: KeyHandle): RsaKey {
  if (!(key instanceof RsaKey)) throw new Error('not an RSA key of this backend');
  return key;
}

function asEc(key: KeyHandle): EcKey {
  if (!(key instanceof EcKey)) throw new Error('not an EC key of this backend');
  return key;
}

export function createNodeCrypto(): CryptoBackend {
  const signSync = (key: KeyHandle, s: SignScheme, data: Uint8Array): Uint8Array => {
    if (s.type === 'ecdsa-prehashed') return asEc(key).prehashed.sign(data);
    if (s.type === 'ecdsa') return asEc(key).signHashed(s.hash, data);
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
      return m.kind === 'rsa' ? new RsaKey(m) : new EcKey(m);
    },
    sign: signSync,
    // ECDSA signs in tens of microseconds: less than a thread hop costs, so it answers at once.
    async signAsync(key, s, data) {
      return key instanceof RsaKey ? rsaSignAsync(key, s, data) : signSync(key, s, data);
    },
    verify(key, s, data, signature) {
      if (s.type === 'ecdsa-prehashed') return asEc(key).prehashed.verify(data, signature);
      if (s.type === 'ecdsa') return asEc(key).verifyHashed(s.hash, data, signature);
      return rsaVerify(asRsa(key), s, data, signature);
    },
    createCipher,
    aesGcm,
    aesKeyWrap,
    rsaEncrypt: (key, scheme, data) => rsaEncrypt(asRsa(key), scheme, data),
    rsaDecrypt: (key, scheme, data) => rsaDecrypt(asRsa(key), scheme, data),
    rsaDecryptAsync: (key, scheme, data) => rsaDecryptAsync(asRsa(key), scheme, data),
    ecdh: (key, peer) => asEc(key).ecdh(peer),
    seal,
    open,
    hkdf,
    generateRsa,
    generateRsaAsync,
    generateEc,
    ecPublicPoint,
    pbkdf2(password, salt, iterations, length) {
      return new Uint8Array(pbkdf2Sync(password, salt, iterations, length, 'sha256'));
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
