/**
 * generateKeyPairSync for tests, without Node 20's deadlock: a KeyObject straight out of
 * generateKeyPair(Sync) that is then exported can hang the process with no CPU (the export holds the
 * key's lock, a garbage collection inside it frees the generation job, whose destructor takes the same
 * lock; see src/adapters/crypto-node/rsa.ts and test/concurrency/keygen-deadlock.test.ts). Keys made
 * here come back parsed from DER, so they have locks of their own.
 * @module
 */
import {
  createECDH,
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  type KeyObject,
} from 'node:crypto';
import { readChildren, readSingle, TAG_BIT_STRING, TAG_SEQUENCE } from '../../src/util/der.js';

export interface KeyPairOptions {
  namedCurve?: string;
  modulusLength?: number;
}

export function freshKeyPair(
  type: 'ec' | 'rsa' | 'ed25519',
  options: KeyPairOptions = {},
): { privateKey: KeyObject; publicKey: KeyObject } {
  const der = generateKeyPairSync(type as 'ec', {
    ...(options as { namedCurve: string }),
    publicKeyEncoding: { type: 'spki', format: 'der' },
    privateKeyEncoding: { type: 'pkcs8', format: 'der' },
  });
  return {
    privateKey: createPrivateKey({ key: der.privateKey, format: 'der', type: 'pkcs8' }),
    publicKey: createPublicKey({ key: der.publicKey, format: 'der', type: 'spki' }),
  };
}

/**
 * The private scalar and the uncompressed public point of a node:crypto EC key, read from its SEC1
 * ECPrivateKey DER (RFC 5915: version, privateKey, [1] publicKey), so every curve OpenSSL has works
 * (node:crypto exports a JWK only for P-256, P-384, P-521 and secp256k1).
 */
export function ecKeyParts(privateKey: KeyObject): { d: Uint8Array; point: Uint8Array } {
  const der = new Uint8Array(privateKey.export({ type: 'sec1', format: 'der' }));
  const fields = readChildren(readSingle(der, TAG_SEQUENCE).value);
  const d = fields[1]?.value;
  if (!d) throw new Error('not an ECPrivateKey');
  const pub = fields.find((f) => f.tag === 0xa1);
  if (pub)
    return { d: new Uint8Array(d), point: readSingle(pub.value, TAG_BIT_STRING).value.slice(1) };
  // a key stored without its public point (RFC 5915 makes it optional): d·G
  const ecdh = createECDH(privateKey.asymmetricKeyDetails?.namedCurve ?? '');
  ecdh.setPrivateKey(d);
  return { d: new Uint8Array(d), point: new Uint8Array(ecdh.getPublicKey()) };
}
