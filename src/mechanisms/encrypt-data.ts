/**
 * The *_ECB_ENCRYPT_DATA and *_CBC_ENCRYPT_DATA derivations (v2.40 mechanisms §2.41.2, AES §2.14.5, DES
 * §2.30.5): the new key's value is the encryption of the parameter's data under the base key, whole
 * blocks without padding; the key takes its leftmost bytes (all of them unless CKA_VALUE_LEN asks for
 * fewer; more than that is CKR_TEMPLATE_INCONSISTENT, a length the key type cannot have
 * CKR_ATTRIBUTE_VALUE_INVALID). The parameter is CK_KEY_DERIVATION_STRING_DATA (ECB: the data as raw bytes) or
 * CK_{AES,DES}_CBC_ENCRYPT_DATA_PARAMS (CBC: pkcs11js's `{ iv, data }`). One factory for every block
 * cipher: aes.ts's and des.ts's rows are data. Layer L4.
 * @module
 */
import type { CipherSpec } from '../crypto/backend.js';
import { Pkcs11Error } from '../errors.js';
import type { Profile } from '../objects/profile.js';
import * as C from '../pkcs11/constants.js';
import type { CbcEncryptDataParams, RawMechanism } from '../pkcs11/types.js';
import { concat } from '../util/bytes.js';
import { secretShape } from './secret-keygen.js';
import type { KeyRef, Mechanism } from './types.js';

/** Largest data a derivation takes: key material, not bulk data. */
const MAX_DATA = 4096;

export interface EncryptDataSpec {
  type: number;
  keyTypes: readonly number[];
  mode: 'ecb' | 'cbc';
  block: number;
  /** The cipher and key the base key encrypts with. */
  key: (base: KeyRef) => Pick<CipherSpec, 'cipher' | 'key'>;
  profiles?: readonly Profile[];
}

function params(m: RawMechanism, spec: EncryptDataSpec): { iv?: Uint8Array; data: Uint8Array } {
  const p = m.parameter;
  let out: { iv?: Uint8Array; data: Uint8Array } | undefined;
  if (spec.mode === 'ecb' && p instanceof Uint8Array) out = { data: p };
  else if (
    spec.mode === 'cbc' &&
    typeof p === 'object' &&
    p !== null &&
    !(p instanceof Uint8Array)
  ) {
    const q = p as Partial<CbcEncryptDataParams>;
    if (q.iv instanceof Uint8Array && q.iv.length === spec.block && q.data instanceof Uint8Array)
      out = { iv: q.iv, data: q.data };
  }
  if (
    !out ||
    out.data.length === 0 ||
    out.data.length > MAX_DATA ||
    out.data.length % spec.block !== 0
  ) {
    const what = spec.mode === 'cbc' ? `a ${spec.block}-byte IV and data` : 'data';
    throw new Pkcs11Error(
      C.CKR_MECHANISM_PARAM_INVALID,
      `${what} of whole ${spec.block}-byte blocks (at most ${MAX_DATA} bytes)`,
    );
  }
  return out;
}

export function encryptDataMechanism(spec: EncryptDataSpec): Mechanism {
  return {
    type: spec.type,
    keyTypes: spec.keyTypes,
    ...(spec.profiles ? { profiles: spec.profiles } : {}),
    // the new key is sensitive if the base key is (token/keygen-calls.ts applies it)
    sensitiveFromBase: true,
    info: { minKeySize: 0, maxKeySize: 0, flags: C.CKF_DERIVE },
    derive(backend, m, base, template) {
      const { iv, data } = params(m, spec);
      const common = { ...spec.key(base), padding: false, encrypt: true };
      const stream = backend.createCipher(
        iv ? { ...common, mode: 'cbc', iv } : { ...common, mode: 'ecb' },
      );
      const encrypted = concat(stream.update(data), stream.finish());
      const shape = secretShape(template, {
        defaultKeyType: C.CKK_GENERIC_SECRET,
        defaultLength: encrypted.length,
      });
      // a length the key type allows but the data cannot give: the template and the mechanism disagree
      if (shape.length > encrypted.length) {
        throw new Pkcs11Error(
          C.CKR_TEMPLATE_INCONSISTENT,
          `CKA_VALUE_LEN ${shape.length}: the encrypted data gives ${encrypted.length} bytes`,
        );
      }
      const made = shape.made(encrypted.slice(0, shape.length));
      encrypted.fill(0);
      return made;
    },
  };
}
