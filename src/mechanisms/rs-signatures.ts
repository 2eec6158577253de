/**
 * The r‖s signature families, DSA and ECDSA, which differ only in their keys: the prehashed mechanism
 * (CKM_DSA, CKM_ECDSA) signs a caller's digest; each hash-and-sign mechanism (a row of hashes.ts) hands
 * one part to the backend's hashed scheme and signs the digest of several as the prehashed one does.
 * Layer L4.
 * @module
 */
import type { SignScheme } from '../crypto/backend.js';
import { Pkcs11Error } from '../errors.js';
import type { Profile } from '../objects/profile.js';
import * as C from '../pkcs11/constants.js';
import type { MechanismInfo } from '../pkcs11/types.js';
import {
  collectingMethods,
  type HashedInput,
  hashingMethods,
  requireNoParameter,
} from './common.js';
import { HASHES, type HashRow } from './hashes.js';
import type { KeyRef, Mechanism } from './types.js';

export interface RsFamily {
  /** The scheme family of the backend: `${scheme}-prehashed` signs a digest, `scheme` hashes. */
  scheme: 'dsa' | 'ecdsa';
  /** The prehashed mechanism (CKM_DSA, CKM_ECDSA), and the hash-and-sign one of a hash row. */
  prehashed: number;
  hashed: (row: HashRow) => number | undefined;
  keyType: number;
  info: MechanismInfo;
  profiles?: readonly Profile[];
  /** The longest digest the prehashed mechanism takes (a longer input is a caller error). */
  maxDigest: number;
  /** 2·|q| or 2·|n| bytes: the signature length of a key. */
  signatureLength(key: KeyRef): number;
}

export function rsMechanisms(f: RsFamily): Mechanism[] {
  const prehashed = { type: `${f.scheme}-prehashed` } as SignScheme;
  const common = {
    keyTypes: [f.keyType],
    info: f.info,
    ...(f.profiles ? { profiles: f.profiles } : {}),
  };
  const name = f.scheme.toUpperCase();
  const check = (data: Uint8Array) => {
    if (data.length === 0 || data.length > f.maxDigest) {
      throw new Pkcs11Error(
        C.CKR_DATA_LEN_RANGE,
        `CKM_${name} signs a digest of 1..${f.maxDigest} bytes`,
      );
    }
  };
  const hashedMechanisms = HASHES.flatMap((row) => {
    const type = f.hashed(row);
    if (type === undefined) return [];
    const hashedScheme = { type: f.scheme, hash: row.hash } as SignScheme;
    const over = (input: HashedInput): [SignScheme, Uint8Array] =>
      'digest' in input ? [prehashed, input.digest] : [hashedScheme, input.data];
    const mechanism: Mechanism = {
      type,
      ...common,
      ...hashingMethods(row.hash, (m, key) => {
        requireNoParameter(m);
        return { handle: key.handle(), length: f.signatureLength(key), over };
      }),
    };
    return [mechanism];
  });
  return [
    {
      type: f.prehashed,
      ...common,
      singlePart: true,
      ...collectingMethods((m, key) => {
        requireNoParameter(m);
        const handle = key.handle();
        const length = f.signatureLength(key);
        return { handle, length, scheme: prehashed, maxInput: f.maxDigest, check };
      }),
    },
    ...hashedMechanisms,
  ];
}
