/**
 * Key material for the property and concurrency suites, made without the Node 20 deadlock in
 * generateKeyPairSync + export (test/concurrency/keygen-deadlock.test.ts): keys are generated as DER
 * and parsed into KeyObjects of their own, never used straight out of the generator. Same shapes as
 * test/helpers/material.ts.
 * @module
 */
import {
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  type KeyObject,
  sign,
} from 'node:crypto';
import { EC_PARAMS } from '../../helpers/keys.js';
import type { Certificate, EcMaterial, RsaMaterial } from '../../helpers/material.js';
import { tlv } from '../../helpers/material.js';

/** A key pair whose KeyObjects share nothing with the generation job. */
export function keyPair(
  type: 'ec' | 'rsa',
  options: { namedCurve?: string; modulusLength?: number },
): { privateKey: KeyObject; publicKey: KeyObject } {
  const spki = { type: 'spki', format: 'der' } as const;
  const pkcs8 = { type: 'pkcs8', format: 'der' } as const;
  const pair =
    type === 'ec'
      ? generateKeyPairSync('ec', {
          namedCurve: options.namedCurve ?? 'P-256',
          publicKeyEncoding: spki,
          privateKeyEncoding: pkcs8,
        })
      : generateKeyPairSync('rsa', {
          modulusLength: options.modulusLength ?? 2048,
          publicKeyEncoding: spki,
          privateKeyEncoding: pkcs8,
        });
  return {
    privateKey: createPrivateKey({ key: pair.privateKey, format: 'der', type: 'pkcs8' }),
    publicKey: createPublicKey({ key: pair.publicKey, format: 'der', type: 'spki' }),
  };
}

const b64 = (s: string | undefined) => Buffer.from(s as string, 'base64url');

export function ecMaterial(): EcMaterial {
  const { privateKey, publicKey } = keyPair('ec', { namedCurve: 'P-256' });
  const jwk = privateKey.export({ format: 'jwk' });
  const raw = Buffer.concat([Buffer.of(4), b64(jwk.x), b64(jwk.y)]);
  return {
    privateKey,
    publicKey,
    params: EC_PARAMS['P-256'],
    point: tlv(0x04, raw),
    d: b64(jwk.d),
  };
}

let rsaCache: RsaMaterial | undefined;
/** One RSA-2048 key per process. */
export function rsaMaterial(): RsaMaterial {
  if (rsaCache) return rsaCache;
  const { privateKey, publicKey } = keyPair('rsa', { modulusLength: 2048 });
  const j = privateKey.export({ format: 'jwk' });
  rsaCache = {
    privateKey,
    publicKey,
    n: b64(j.n),
    e: b64(j.e),
    d: b64(j.d),
    p: b64(j.p),
    q: b64(j.q),
    dp: b64(j.dp),
    dq: b64(j.dq),
    qi: b64(j.qi),
  };
  return rsaCache;
}

const seq = (...c: Buffer[]) => tlv(0x30, ...c);
const oid = (hex: string) => tlv(0x06, Buffer.from(hex, 'hex'));
const ECDSA_SHA256 = seq(oid('2a8648ce3d040302'));
const nameOf = (cn: string) =>
  seq(tlv(0x31, seq(oid('550403'), tlv(0x0c, Buffer.from(cn, 'utf8')))));

/** A self-signed ECDSA P-256 certificate. */
export function makeCertificate(cn: string): Certificate {
  const keys = keyPair('ec', { namedCurve: 'P-256' });
  const name = nameOf(cn);
  const serial = tlv(0x02, Buffer.from('0123456789abcdef01', 'hex'));
  const utc = (s: string) => tlv(0x17, Buffer.from(s, 'ascii'));
  const tbs = seq(
    tlv(0xa0, tlv(0x02, Buffer.of(2))),
    serial,
    ECDSA_SHA256,
    name,
    seq(utc('250101000000Z'), utc('350101000000Z')),
    name,
    keys.publicKey.export({ type: 'spki', format: 'der' }),
  );
  const der = seq(tbs, ECDSA_SHA256, tlv(0x03, Buffer.of(0), sign('sha256', tbs, keys.privateKey)));
  return { der, subject: name, issuer: name, serial, publicKey: keys.publicKey };
}
