/**
 * PKCS #3 Diffie-Hellman (v2.40 mechanisms §2.5): CKM_DH_PKCS_PARAMETER_GEN (domain parameter objects: a safe prime and generator 2),
 * CKM_DH_PKCS_KEY_PAIR_GEN (on the prime and base of the public template; CKA_VALUE_BITS of the private
 * template sizes the private value), and CKM_DH_PKCS_DERIVE (the parameter is the other party's public
 * value). The secret is g^(xy) mod p left-padded to p's length; a shorter key takes its rightmost bytes,
 * as SoftHSMv2 does. Layer L4.
 * @module
 */
import { type AttributeMap, readBytes, readUlong } from '../attributes/values.js';
import { Pkcs11Error } from '../errors.js';
import * as C from '../pkcs11/constants.js';
import { requireNoParameter } from './common.js';
import { secretShape } from './secret-keygen.js';
import type { Mechanism } from './types.js';

/** Generation: 512 bits (SoftHSMv2's floor) to 8192; SoftHSMv2 lists up to 10000. */
const SIZES = { minKeySize: 512, maxKeySize: 8192 };

function domain(attrs: AttributeMap): { p: Uint8Array; g: Uint8Array } {
  const get = (type: number, name: string) => {
    const v = readBytes(attrs, type);
    if (!v || v.length === 0)
      throw new Pkcs11Error(C.CKR_TEMPLATE_INCOMPLETE, `${name} is required`);
    return v;
  };
  return { p: get(C.CKA_PRIME, 'CKA_PRIME'), g: get(C.CKA_BASE, 'CKA_BASE') };
}

export const DH_MECHANISMS: Mechanism[] = [
  {
    type: C.CKM_DH_PKCS_PARAMETER_GEN,
    info: { ...SIZES, flags: C.CKF_GENERATE },
    generateKey(backend, m, template) {
      requireNoParameter(m);
      const bits = readUlong(template, C.CKA_PRIME_BITS);
      if (bits === undefined)
        throw new Pkcs11Error(C.CKR_TEMPLATE_INCOMPLETE, 'CKA_PRIME_BITS is required');
      const { p, g } = backend.generateDhParameters(bits);
      return {
        objectClass: C.CKO_DOMAIN_PARAMETERS,
        keyType: C.CKK_DH,
        computed: new Map([
          [C.CKA_PRIME, p],
          [C.CKA_BASE, g],
        ]),
      };
    },
  },
  {
    type: C.CKM_DH_PKCS_KEY_PAIR_GEN,
    keyPairType: C.CKK_DH,
    info: { ...SIZES, flags: C.CKF_GENERATE_KEY_PAIR },
    generateKeyPair(backend, m, pub, priv) {
      requireNoParameter(m);
      const params = domain(pub);
      const valueBits = readUlong(priv, C.CKA_VALUE_BITS);
      const { x, y } = backend.generateFfcPair(params, valueBits);
      return {
        publicClass: C.CKO_PUBLIC_KEY,
        privateClass: C.CKO_PRIVATE_KEY,
        keyType: C.CKK_DH,
        publicComputed: new Map([
          [C.CKA_PRIME, params.p],
          [C.CKA_BASE, params.g],
          [C.CKA_VALUE, y],
        ]),
        privateComputed: new Map([
          [C.CKA_PRIME, params.p],
          [C.CKA_BASE, params.g],
          [C.CKA_VALUE, x],
        ]),
      };
    },
  },
  {
    type: C.CKM_DH_PKCS_DERIVE,
    keyTypes: [C.CKK_DH],
    info: { ...SIZES, flags: C.CKF_DERIVE },
    derive(backend, m, base, template) {
      const peer = m.parameter;
      if (!(peer instanceof Uint8Array) || peer.length === 0) {
        throw new Pkcs11Error(C.CKR_MECHANISM_PARAM_INVALID, "the other party's public value");
      }
      const secret = backend.dh(base.handle(), peer);
      // v2.40: without CKA_VALUE_LEN a generic secret is as long as the prime.
      const shape = secretShape(template, {
        defaultKeyType: C.CKK_GENERIC_SECRET,
        defaultLength: secret.length,
      });
      if (shape.length > secret.length) {
        throw new Pkcs11Error(
          C.CKR_ATTRIBUTE_VALUE_INVALID,
          `the secret has ${secret.length} bytes`,
        );
      }
      const value = secret.slice(secret.length - shape.length);
      secret.fill(0);
      return shape.made(value);
    },
  },
];
