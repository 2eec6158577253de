/**
 * The C suite's dev-mode provisioning helpers (dev_mode_key_provisioning.c): import an RSA-2048 or P-256
 * private key, a public key and an X.509 certificate with corePKCS11's templates, generate a P-256 key
 * pair, and destroy every object under a set of labels. Keys are parsed by the injected verifier, as the
 * C helpers parse them with mbedTLS. Each returns the CK_RV the C helper would. Layer L7.
 * @module
 */
import {
  CKA_CERTIFICATE_TYPE,
  CKA_CLASS,
  CKA_COEFFICIENT,
  CKA_EC_PARAMS,
  CKA_EC_POINT,
  CKA_EXPONENT_1,
  CKA_EXPONENT_2,
  CKA_KEY_TYPE,
  CKA_LABEL,
  CKA_MODULUS,
  CKA_PRIME_1,
  CKA_PRIME_2,
  CKA_PRIVATE,
  CKA_PRIVATE_EXPONENT,
  CKA_PUBLIC_EXPONENT,
  CKA_SIGN,
  CKA_SUBJECT,
  CKA_TOKEN,
  CKA_VALUE,
  CKA_VERIFY,
  CKC_X_509,
  CKK_EC,
  CKK_RSA,
  CKM_EC_KEY_PAIR_GEN,
  CKO_CERTIFICATE,
  CKO_PRIVATE_KEY,
  CKO_PUBLIC_KEY,
  CKR_ARGUMENTS_BAD,
  CKR_ATTRIBUTE_VALUE_INVALID,
  CKR_FUNCTION_NOT_SUPPORTED,
  CKR_OK,
} from '../pkcs11/constants.js';
import { findObjectWithLabelAndClass, P256_OID_DER, pemToDer } from './cryptoki.js';
import type { Handle, KeyParts, Pkcs11Like, Template, Verifier } from './types.js';
import { type CallResult, call } from './unity.js';

const MAX_DUPLICATES = 100;

/** A helper's outcome: the CK_RV and, on success, the new object. */
export interface Provisioned {
  rv: CallResult<unknown>;
  handle: Handle | null;
}

function failed(rv: number): Provisioned {
  return { rv: { rv }, handle: null };
}

/** Big-endian integer left-padded to exactly `length` bytes (mbedtls_mpi_write_binary), or null. */
function fixedWidth(value: Uint8Array | undefined, length: number): Buffer | null {
  if (!value) return null;
  let v = value;
  while (v.length > length && v[0] === 0) v = v.subarray(1);
  if (v.length > length) return null;
  const out = Buffer.alloc(length);
  out.set(v, length - v.length);
  return out;
}

function create(p11: Pkcs11Like, session: Handle, template: Template): Provisioned {
  const r = call(() => p11.C_CreateObject(session, template));
  return { rv: r, handle: r.value ?? null };
}

function rsaPrivateTemplate(key: KeyParts & { type: 'rsa' }, label: string): Template | null {
  // RSA-2048 only, every component at its fixed width, as the C helper exports them.
  const parts: Array<[number, Uint8Array | undefined, number]> = [
    [CKA_MODULUS, key.n, 256],
    [CKA_PRIVATE_EXPONENT, key.d, 256],
    [CKA_PUBLIC_EXPONENT, key.e, 3],
    [CKA_PRIME_1, key.p, 128],
    [CKA_PRIME_2, key.q, 128],
    [CKA_EXPONENT_1, key.dp, 128],
    [CKA_EXPONENT_2, key.dq, 128],
    [CKA_COEFFICIENT, key.qi, 128],
  ];
  const template: Template = [
    { type: CKA_CLASS, value: CKO_PRIVATE_KEY },
    { type: CKA_KEY_TYPE, value: CKK_RSA },
    { type: CKA_LABEL, value: label },
    { type: CKA_TOKEN, value: true },
    { type: CKA_SIGN, value: true },
  ];
  for (const [type, value, width] of parts) {
    const bytes = fixedWidth(value, width);
    if (!bytes) return null;
    template.push({ type, value: bytes });
  }
  return template;
}

/** xProvisionPrivateKey: parse the PEM and create an RSA or EC private key under `label`. */
export function provisionPrivateKey(
  p11: Pkcs11Like,
  verifier: Verifier,
  session: Handle,
  pem: string,
  label: string,
): Provisioned {
  let key: KeyParts;
  try {
    key = verifier.parsePrivateKeyPem(pem);
  } catch {
    return failed(CKR_ARGUMENTS_BAD);
  }
  if (key.type === 'rsa') {
    const template = rsaPrivateTemplate(key, label);
    return template ? create(p11, session, template) : failed(CKR_ATTRIBUTE_VALUE_INVALID);
  }
  const d = fixedWidth(key.d, 32);
  if (!d) return failed(CKR_ATTRIBUTE_VALUE_INVALID);
  return create(p11, session, [
    { type: CKA_CLASS, value: CKO_PRIVATE_KEY },
    { type: CKA_KEY_TYPE, value: CKK_EC },
    { type: CKA_LABEL, value: label },
    { type: CKA_TOKEN, value: true },
    { type: CKA_SIGN, value: true },
    { type: CKA_EC_PARAMS, value: Buffer.from(P256_OID_DER) },
    { type: CKA_VALUE, value: d },
  ]);
}

/** CKA_EC_POINT as corePKCS11 takes it: DER OCTET STRING around the uncompressed point. */
export function ecPointDer(point: Uint8Array): Buffer {
  return Buffer.concat([Buffer.from([0x04, point.length]), point]);
}

/** xProvisionPublicKey: parse a public (or private) PEM key and create the public key object. */
export function provisionPublicKey(
  p11: Pkcs11Like,
  verifier: Verifier,
  session: Handle,
  pem: string,
  keyType: number,
  label: string,
): Provisioned {
  let key: KeyParts;
  try {
    key = verifier.parsePublicKeyPem(pem);
  } catch {
    return failed(CKR_ARGUMENTS_BAD);
  }
  if (keyType === CKK_RSA && key.type === 'rsa') {
    const modulus = fixedWidth(key.n, 256);
    if (!modulus) return failed(CKR_ATTRIBUTE_VALUE_INVALID);
    return create(p11, session, [
      { type: CKA_CLASS, value: CKO_PUBLIC_KEY },
      { type: CKA_KEY_TYPE, value: CKK_RSA },
      { type: CKA_TOKEN, value: true },
      { type: CKA_MODULUS, value: modulus },
      { type: CKA_VERIFY, value: true },
      { type: CKA_PUBLIC_EXPONENT, value: Buffer.from(key.e) },
      { type: CKA_LABEL, value: label },
    ]);
  }
  if (keyType === CKK_EC && key.type === 'ec') {
    return create(p11, session, [
      { type: CKA_CLASS, value: CKO_PUBLIC_KEY },
      { type: CKA_KEY_TYPE, value: CKK_EC },
      { type: CKA_TOKEN, value: true },
      { type: CKA_VERIFY, value: true },
      { type: CKA_EC_PARAMS, value: Buffer.from(P256_OID_DER) },
      { type: CKA_EC_POINT, value: ecPointDer(key.point) },
      { type: CKA_LABEL, value: label },
    ]);
  }
  return failed(CKR_ATTRIBUTE_VALUE_INVALID);
}

/**
 * xProvisionCertificate: PEM (must start with '-') → DER, best-effort removal of a certificate already
 * under `label`, then C_CreateObject with corePKCS11's certificate template.
 */
export function provisionCertificate(
  p11: Pkcs11Like,
  session: Handle,
  pem: string,
  label: string,
): Provisioned {
  if (!pem.startsWith('-')) return failed(CKR_ATTRIBUTE_VALUE_INVALID);
  const der = pemToDer(pem);
  if (!der) return failed(CKR_ARGUMENTS_BAD);
  destroyProvidedObjects(p11, session, [label], [CKO_CERTIFICATE]);
  return create(p11, session, [
    { type: CKA_CLASS, value: CKO_CERTIFICATE },
    { type: CKA_SUBJECT, value: Buffer.from('TestSubject') },
    { type: CKA_CERTIFICATE_TYPE, value: CKC_X_509 },
    { type: CKA_VALUE, value: der },
    { type: CKA_LABEL, value: label },
    { type: CKA_TOKEN, value: true },
  ]);
}

/** xProvisionGenerateKeyPairEC: C_GenerateKeyPair(CKM_EC_KEY_PAIR_GEN) with the dev-mode templates. */
export function generateKeyPairEc(
  p11: Pkcs11Like,
  session: Handle,
  privateLabel: string,
  publicLabel: string,
): { rv: CallResult<unknown>; privateKey: Handle | null; publicKey: Handle | null } {
  const r = call(() =>
    p11.C_GenerateKeyPair(
      session,
      { mechanism: CKM_EC_KEY_PAIR_GEN },
      [
        { type: CKA_KEY_TYPE, value: CKK_EC },
        { type: CKA_VERIFY, value: true },
        { type: CKA_EC_PARAMS, value: Buffer.from(P256_OID_DER) },
        { type: CKA_LABEL, value: publicLabel },
      ],
      [
        { type: CKA_KEY_TYPE, value: CKK_EC },
        { type: CKA_TOKEN, value: true },
        { type: CKA_PRIVATE, value: true },
        { type: CKA_SIGN, value: true },
        { type: CKA_LABEL, value: privateLabel },
      ],
    ),
  );
  return { rv: r, privateKey: r.value?.privateKey ?? null, publicKey: r.value?.publicKey ?? null };
}

/**
 * xDestroyProvidedObjects: for each label, destroy every object found with that label and class, looking
 * again after each destroy; stops at the first failed destroy of a label and altogether on
 * CKR_FUNCTION_NOT_SUPPORTED. Returns the last result, as the C helper does.
 */
export function destroyProvidedObjects(
  p11: Pkcs11Like,
  session: Handle,
  labels: readonly string[],
  classes: readonly number[],
): CallResult<unknown> {
  let result: CallResult<unknown> = { rv: CKR_OK };
  for (const [i, label] of labels.entries()) {
    const objectClass = classes[i] ?? CKO_CERTIFICATE;
    let found = findObjectWithLabelAndClass(p11, session, label, objectClass);
    result = found.rv;
    // The cap only stops a module whose destroy "succeeds" without removing anything from looping forever;
    // the caller's find-after-destroy check then reports it.
    for (let n = 0; result.rv === CKR_OK && found.handle && n < MAX_DUPLICATES; n++) {
      const object = found.handle;
      result = call(() => p11.C_DestroyObject(session, object));
      if (result.rv !== CKR_OK) break;
      found = findObjectWithLabelAndClass(p11, session, label, objectClass);
      result = found.rv;
    }
    if (result.rv === CKR_FUNCTION_NOT_SUPPORTED) break;
  }
  return result;
}
