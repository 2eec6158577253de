/**
 * DSA (v2.40 mechanisms §2.2, FIPS 186-4): CKM_DSA_PARAMETER_GEN (domain parameter objects),
 * CKM_DSA_KEY_PAIR_GEN (on the parameters of the public template), CKM_DSA over a caller's digest, and
 * the hash-and-sign forms CKM_DSA_SHA1…SHA512 and CKM_DSA_SHA3_224…512 (3.0). Signatures are r‖s.
 * Layer L4.
 * @module
 */
import type { AttributeMap } from '../attributes/values.js';
import { readBytes, readUlong } from '../attributes/values.js';
import { Pkcs11Error } from '../errors.js';
import * as C from '../pkcs11/constants.js';
import { stripLeadingZeros } from '../util/bytes.js';
import { requireNoParameter } from './common.js';
import { rsMechanisms } from './rs-signatures.js';
import type { KeyRef, Mechanism } from './types.js';

/** Key sizes: what OpenSSL generates (FIPS 186-4 L = 1024, 2048, 3072) and uses (512 up, as SoftHSMv2). */
const GEN_SIZES = { minKeySize: 1024, maxKeySize: 3072 };
const USE_SIZES = { minKeySize: 512, maxKeySize: 4096 };
/** N for each L when the template names none: FIPS 186-4 §4.2's pairs, 256 with 2048. */
const DEFAULT_SUBPRIME: Readonly<Record<number, number>> = { 1024: 160, 2048: 256, 3072: 256 };

/** 2·|q| bytes: the signature length of a key. */
function signatureLength(key: KeyRef): number {
  const q = readBytes(key.object.attrs, C.CKA_SUBPRIME);
  if (!q) throw new Pkcs11Error(C.CKR_KEY_TYPE_INCONSISTENT, 'not a DSA key');
  return 2 * stripLeadingZeros(q).length;
}

function paramGen(): Mechanism {
  return {
    type: C.CKM_DSA_PARAMETER_GEN,
    info: { ...GEN_SIZES, flags: C.CKF_GENERATE },
    generateKey(backend, m, template) {
      requireNoParameter(m);
      const primeBits = readUlong(template, C.CKA_PRIME_BITS);
      if (primeBits === undefined)
        throw new Pkcs11Error(C.CKR_TEMPLATE_INCOMPLETE, 'CKA_PRIME_BITS is required');
      const subprimeBits = readUlong(template, C.CKA_SUBPRIME_BITS) ?? DEFAULT_SUBPRIME[primeBits];
      if (subprimeBits === undefined)
        throw new Pkcs11Error(C.CKR_KEY_SIZE_RANGE, 'DSA primes of 1024, 2048 or 3072 bits');
      const { p, q, g } = backend.generateDsaParameters(primeBits, subprimeBits);
      return {
        objectClass: C.CKO_DOMAIN_PARAMETERS,
        keyType: C.CKK_DSA,
        computed: new Map([
          [C.CKA_PRIME, p],
          [C.CKA_SUBPRIME, q as Uint8Array],
          [C.CKA_BASE, g],
        ]),
      };
    },
  };
}

/** The domain parameters of a DSA key-pair template. */
function templateParams(pub: AttributeMap): { p: Uint8Array; q: Uint8Array; g: Uint8Array } {
  const get = (type: number, name: string) => {
    const v = readBytes(pub, type);
    if (!v || v.length === 0)
      throw new Pkcs11Error(C.CKR_TEMPLATE_INCOMPLETE, `${name} is required`);
    return v;
  };
  return {
    p: get(C.CKA_PRIME, 'CKA_PRIME'),
    q: get(C.CKA_SUBPRIME, 'CKA_SUBPRIME'),
    g: get(C.CKA_BASE, 'CKA_BASE'),
  };
}

function keyPairGen(): Mechanism {
  return {
    type: C.CKM_DSA_KEY_PAIR_GEN,
    keyPairType: C.CKK_DSA,
    info: { ...USE_SIZES, flags: C.CKF_GENERATE_KEY_PAIR },
    generateKeyPair(backend, m, pub) {
      requireNoParameter(m);
      const params = templateParams(pub);
      const { x, y } = backend.generateFfcPair(params);
      const domain: [number, Uint8Array][] = [
        [C.CKA_PRIME, params.p],
        [C.CKA_SUBPRIME, params.q],
        [C.CKA_BASE, params.g],
      ];
      return {
        publicClass: C.CKO_PUBLIC_KEY,
        privateClass: C.CKO_PRIVATE_KEY,
        keyType: C.CKK_DSA,
        publicComputed: new Map([...domain, [C.CKA_VALUE, y]]),
        privateComputed: new Map([...domain, [C.CKA_VALUE, x]]),
      };
    },
  };
}

export const DSA_MECHANISMS: Mechanism[] = [
  paramGen(),
  keyPairGen(),
  ...rsMechanisms({
    scheme: 'dsa',
    prehashed: C.CKM_DSA,
    hashed: (row) => row.dsa,
    keyType: C.CKK_DSA,
    info: { ...USE_SIZES, flags: C.CKF_SIGN | C.CKF_VERIFY },
    // CKM_DSA input: a digest (at most a SHA-512's worth; a longer one is a caller error).
    maxDigest: 64,
    signatureLength,
  }),
];
