/**
 * generateKeyPairSync for tests, without Node 20's deadlock: a KeyObject straight out of
 * generateKeyPair(Sync) that is then exported can hang the process with no CPU (the export holds the
 * key's lock, a garbage collection inside it frees the generation job, whose destructor takes the same
 * lock; see src/adapters/crypto-node/rsa.ts and test/concurrency/keygen-deadlock.test.ts). Keys made
 * here come back parsed from DER, so they have locks of their own.
 * @module
 */
import {
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  type KeyObject,
} from 'node:crypto';

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
