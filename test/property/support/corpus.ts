/**
 * Valid encodings to mutate: private keys (PKCS#8, SEC1, PKCS#1, encrypted PKCS#8), public keys
 * (SubjectPublicKeyInfo, PKCS#1), a certificate, EC parameters and points, ECDSA signatures, made once
 * per process from node:crypto (without the generateKeyPairSync deadlock: helpers/keypair.ts).
 * @module
 */
import { createPrivateKey, sign } from 'node:crypto';
import { freshKeyPair } from '../../helpers/keypair.js';
import { makeCertificate } from '../../helpers/material.js';

export interface Corpus {
  /** DER of every credential form readCredentials takes. */
  der: Uint8Array[];
  /** [PEM label, DER] pairs. */
  pem: [string, Uint8Array][];
  ecParams: Uint8Array[];
  /** [curve, CKA_EC_POINT value (DER OCTET STRING)] pairs. */
  ecPoints: ['P-256' | 'P-384' | 'P-521', Uint8Array][];
  /** [curve, DER ECDSA signature] pairs. */
  signatures: ['P-256' | 'P-384' | 'P-521', Uint8Array][];
  encrypted: Uint8Array;
}

let built: Corpus | undefined;

const CURVES = [
  ['P-256', 'prime256v1'],
  ['P-384', 'secp384r1'],
  ['P-521', 'secp521r1'],
] as const;

export function corpus(): Corpus {
  if (built) return built;
  const der: Uint8Array[] = [];
  const pem: [string, Uint8Array][] = [];
  const ecParams: Uint8Array[] = [];
  const ecPoints: Corpus['ecPoints'] = [];
  const signatures: Corpus['signatures'] = [];
  const add = (label: string, bytes: Buffer) => {
    der.push(new Uint8Array(bytes));
    pem.push([label, new Uint8Array(bytes)]);
  };
  for (const [curve, name] of CURVES) {
    const { privateKey, publicKey } = freshKeyPair('ec', { namedCurve: name });
    add('PRIVATE KEY', privateKey.export({ type: 'pkcs8', format: 'der' }));
    add('EC PRIVATE KEY', privateKey.export({ type: 'sec1', format: 'der' }));
    const spki = publicKey.export({ type: 'spki', format: 'der' });
    add('PUBLIC KEY', spki);
    // The AlgorithmIdentifier's second element is the curve OID; the BIT STRING holds the point.
    const oidAt = spki.indexOf(0x06, 4 + spki.subarray(4).indexOf(0x06) + 1);
    ecParams.push(new Uint8Array(spki.subarray(oidAt, oidAt + 2 + (spki[oidAt + 1] as number))));
    const point = spki.subarray(
      spki.length - (curve === 'P-256' ? 65 : curve === 'P-384' ? 97 : 133),
    );
    const len = point.length < 0x80 ? [point.length] : [0x81, point.length];
    ecPoints.push([curve, Uint8Array.from([0x04, ...len, ...point])]);
    signatures.push([curve, new Uint8Array(sign('sha256', Buffer.from(curve), privateKey))]);
  }
  const rsa = freshKeyPair('rsa', { modulusLength: 1024 });
  add('PRIVATE KEY', rsa.privateKey.export({ type: 'pkcs8', format: 'der' }));
  add('RSA PRIVATE KEY', rsa.privateKey.export({ type: 'pkcs1', format: 'der' }));
  add('PUBLIC KEY', rsa.publicKey.export({ type: 'spki', format: 'der' }));
  add('RSA PUBLIC KEY', rsa.publicKey.export({ type: 'pkcs1', format: 'der' }));
  add('CERTIFICATE', makeCertificate('corpus').der);
  const encrypted = createPrivateKey(
    rsa.privateKey.export({ type: 'pkcs8', format: 'pem' }),
  ).export({
    type: 'pkcs8',
    format: 'der',
    cipher: 'aes-128-cbc',
    passphrase: 'corpus',
  });
  built = { der, pem, ecParams, ecPoints, signatures, encrypted: new Uint8Array(encrypted) };
  return built;
}
