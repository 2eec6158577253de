/**
 * The attribute tables of every object kind the token supports, transcribed from PKCS#11 v2.40 §4
 * (common, storage, data, certificate, key, public/private/secret key) and the mechanism documents (RSA,
 * EC, generic secret, AES, HMAC key types). Defaults the spec leaves "token-specific" are chosen to be
 * safe: keys private, sensitive and non-extractable unless the caller says otherwise. DSA, DH and their
 * domain parameter objects follow the v2.40 mechanism document's tables. Layer L3.
 * @module
 */
import * as C from '../pkcs11/constants.js';
import { encodeBool, encodeUlong } from '../util/bytes.js';
import {
  COPY_CHANGEABLE as COPY,
  MODIFIABLE as MOD,
  FORBIDDEN_ON_CREATE as NO_CREATE,
  FORBIDDEN_ON_GENERATE as NO_GEN,
  FORBIDDEN_ON_UNWRAP as NO_UNWRAP,
  type ObjectPolicy,
  ONLY_TO_FALSE,
  ONLY_TO_TRUE,
  policy,
  REQUIRED_ON_CREATE as REQ,
  REQUIRED_ON_GENERATE as REQ_GEN,
  rule,
  SENSITIVE,
  SO_ONLY_TRUE,
} from './policy.js';
import type { Profile } from './profile.js';
import { SECRET_KEY_TYPES } from './secret-keys.js';

const TRUE = encodeBool(true);
const FALSE = encodeBool(false);
const EMPTY = new Uint8Array(0);
/** CK_UNAVAILABLE_INFORMATION as a CK_ULONG value (all ones). */
const UNAVAILABLE = new Uint8Array(8).fill(0xff);
const READ_ONLY_DERIVED = NO_CREATE | NO_GEN | NO_UNWRAP;

const COMMON = [rule(C.CKA_CLASS, REQ)];
const STORAGE = [
  rule(C.CKA_TOKEN, COPY, FALSE),
  rule(C.CKA_PRIVATE, COPY, FALSE),
  rule(C.CKA_MODIFIABLE, COPY | ONLY_TO_FALSE, TRUE),
  rule(C.CKA_COPYABLE, MOD | ONLY_TO_FALSE, TRUE),
  rule(C.CKA_DESTROYABLE, MOD | ONLY_TO_FALSE, TRUE),
  rule(C.CKA_LABEL, MOD, EMPTY),
];

const DATA = [
  rule(C.CKA_APPLICATION, MOD, EMPTY),
  rule(C.CKA_OBJECT_ID, MOD, EMPTY),
  rule(C.CKA_VALUE, MOD, EMPTY),
];

const CERTIFICATE = [
  rule(C.CKA_CERTIFICATE_TYPE, REQ),
  rule(C.CKA_TRUSTED, SO_ONLY_TRUE, FALSE),
  rule(C.CKA_CERTIFICATE_CATEGORY, 0, encodeUlong(C.CK_CERTIFICATE_CATEGORY_UNSPECIFIED)),
  rule(C.CKA_CHECK_VALUE, 0),
  rule(C.CKA_START_DATE, MOD, EMPTY),
  rule(C.CKA_END_DATE, MOD, EMPTY),
  rule(C.CKA_PUBLIC_KEY_INFO, 0, EMPTY),
];

/** CKA_SUBJECT, ISSUER and SERIAL_NUMBER default to the fields of CKA_VALUE (see certificate.ts). */
const X509 = [
  rule(C.CKA_SUBJECT, 0),
  rule(C.CKA_ID, MOD, EMPTY),
  rule(C.CKA_ISSUER, MOD),
  rule(C.CKA_SERIAL_NUMBER, MOD),
  rule(C.CKA_VALUE, REQ),
  rule(C.CKA_URL, 0, EMPTY),
  rule(C.CKA_HASH_OF_SUBJECT_PUBLIC_KEY, 0, EMPTY),
  rule(C.CKA_HASH_OF_ISSUER_PUBLIC_KEY, 0, EMPTY),
  rule(C.CKA_JAVA_MIDP_SECURITY_DOMAIN, 0, encodeUlong(C.CK_SECURITY_DOMAIN_UNSPECIFIED)),
  rule(C.CKA_NAME_HASH_ALGORITHM, 0, encodeUlong(C.CKM_SHA_1)),
];

const KEY = [
  rule(C.CKA_KEY_TYPE, REQ),
  rule(C.CKA_ID, MOD, EMPTY),
  rule(C.CKA_START_DATE, MOD, EMPTY),
  rule(C.CKA_END_DATE, MOD, EMPTY),
  rule(C.CKA_DERIVE, MOD, FALSE),
  rule(C.CKA_LOCAL, READ_ONLY_DERIVED, FALSE),
  rule(C.CKA_KEY_GEN_MECHANISM, READ_ONLY_DERIVED, UNAVAILABLE),
  rule(C.CKA_ALLOWED_MECHANISMS, 0, EMPTY),
];

const PUBLIC_KEY = [
  rule(C.CKA_SUBJECT, MOD, EMPTY),
  rule(C.CKA_ENCRYPT, MOD, TRUE),
  rule(C.CKA_VERIFY, MOD, TRUE),
  rule(C.CKA_VERIFY_RECOVER, MOD, TRUE),
  rule(C.CKA_WRAP, MOD, FALSE),
  rule(C.CKA_TRUSTED, SO_ONLY_TRUE, FALSE),
  rule(C.CKA_WRAP_TEMPLATE, 0),
  rule(C.CKA_PUBLIC_KEY_INFO, 0),
];

const PROTECTED_KEY = [
  rule(C.CKA_PRIVATE, COPY | ONLY_TO_TRUE, TRUE),
  rule(C.CKA_SENSITIVE, MOD | ONLY_TO_TRUE, TRUE),
  rule(C.CKA_EXTRACTABLE, MOD | ONLY_TO_FALSE, FALSE),
  rule(C.CKA_ALWAYS_SENSITIVE, READ_ONLY_DERIVED, FALSE),
  rule(C.CKA_NEVER_EXTRACTABLE, READ_ONLY_DERIVED, FALSE),
  rule(C.CKA_WRAP_WITH_TRUSTED, MOD | ONLY_TO_TRUE, FALSE),
  rule(C.CKA_UNWRAP_TEMPLATE, 0),
];

const PRIVATE_KEY = [
  ...PROTECTED_KEY,
  rule(C.CKA_SUBJECT, MOD, EMPTY),
  rule(C.CKA_DECRYPT, MOD, TRUE),
  rule(C.CKA_SIGN, MOD, TRUE),
  rule(C.CKA_SIGN_RECOVER, MOD, TRUE),
  rule(C.CKA_UNWRAP, MOD, FALSE),
  rule(C.CKA_ALWAYS_AUTHENTICATE, 0, FALSE),
  rule(C.CKA_PUBLIC_KEY_INFO, 0),
];

/**
 * A secret key may hold any roles; turning one on later is checked against the key's history
 * (role-history.ts: nothing that wrapped may start to decrypt, and so on).
 */
const SECRET_KEY = [
  ...PROTECTED_KEY,
  rule(C.CKA_ENCRYPT, MOD, TRUE),
  rule(C.CKA_DECRYPT, MOD, TRUE),
  rule(C.CKA_SIGN, MOD, TRUE),
  rule(C.CKA_VERIFY, MOD, TRUE),
  rule(C.CKA_WRAP, MOD, FALSE),
  rule(C.CKA_UNWRAP, MOD, FALSE),
  rule(C.CKA_TRUSTED, SO_ONLY_TRUE, FALSE),
  rule(C.CKA_CHECK_VALUE, 0),
  rule(C.CKA_WRAP_TEMPLATE, 0),
];

const KEY_VALUE = REQ | NO_GEN | NO_UNWRAP;
const PRIVATE_PART = NO_GEN | NO_UNWRAP | SENSITIVE;

const RSA_PUBLIC = [
  rule(C.CKA_MODULUS, REQ | NO_GEN),
  rule(C.CKA_MODULUS_BITS, NO_CREATE | REQ_GEN),
  rule(C.CKA_PUBLIC_EXPONENT, REQ),
];
const RSA_PRIVATE = [
  rule(C.CKA_MODULUS, KEY_VALUE),
  rule(C.CKA_PUBLIC_EXPONENT, NO_GEN | NO_UNWRAP),
  rule(C.CKA_PRIVATE_EXPONENT, KEY_VALUE | SENSITIVE),
  rule(C.CKA_PRIME_1, PRIVATE_PART),
  rule(C.CKA_PRIME_2, PRIVATE_PART),
  rule(C.CKA_EXPONENT_1, PRIVATE_PART),
  rule(C.CKA_EXPONENT_2, PRIVATE_PART),
  rule(C.CKA_COEFFICIENT, PRIVATE_PART),
];
const EC_PUBLIC = [rule(C.CKA_EC_PARAMS, REQ | REQ_GEN), rule(C.CKA_EC_POINT, REQ | NO_GEN)];
const EC_PRIVATE = [rule(C.CKA_EC_PARAMS, KEY_VALUE), rule(C.CKA_VALUE, KEY_VALUE | SENSITIVE)];
/** DSA (v2.40 mechanisms §2.2.1–2.2.3) and PKCS#3 DH (§2.3.1–2.3.3) keys and domain parameters. */
const DSA_PUBLIC = [
  rule(C.CKA_PRIME, REQ | REQ_GEN),
  rule(C.CKA_SUBPRIME, REQ | REQ_GEN),
  rule(C.CKA_BASE, REQ | REQ_GEN),
  rule(C.CKA_VALUE, REQ | NO_GEN),
];
const DSA_PRIVATE = [
  rule(C.CKA_PRIME, KEY_VALUE),
  rule(C.CKA_SUBPRIME, KEY_VALUE),
  rule(C.CKA_BASE, KEY_VALUE),
  rule(C.CKA_VALUE, KEY_VALUE | SENSITIVE),
];
const DH_PUBLIC = [
  rule(C.CKA_PRIME, REQ | REQ_GEN),
  rule(C.CKA_BASE, REQ | REQ_GEN),
  rule(C.CKA_VALUE, REQ | NO_GEN),
];
const DH_PRIVATE = [
  rule(C.CKA_PRIME, KEY_VALUE),
  rule(C.CKA_BASE, KEY_VALUE),
  rule(C.CKA_VALUE, KEY_VALUE | SENSITIVE),
  rule(C.CKA_VALUE_BITS, NO_CREATE | NO_UNWRAP),
];
/** Domain parameter objects (v2.40 §4.13): the key type, and whether the token made them. */
const DOMAIN = [rule(C.CKA_KEY_TYPE, REQ), rule(C.CKA_LOCAL, READ_ONLY_DERIVED, FALSE)];
const DSA_DOMAIN = [
  rule(C.CKA_PRIME, REQ | NO_GEN),
  rule(C.CKA_SUBPRIME, REQ | NO_GEN),
  rule(C.CKA_BASE, REQ | NO_GEN),
  rule(C.CKA_PRIME_BITS, NO_CREATE | REQ_GEN),
  rule(C.CKA_SUBPRIME_BITS, NO_CREATE),
];
const DH_DOMAIN = [
  rule(C.CKA_PRIME, REQ | NO_GEN),
  rule(C.CKA_BASE, REQ | NO_GEN),
  rule(C.CKA_PRIME_BITS, NO_CREATE | REQ_GEN),
];

const SECRET_VALUE = [
  rule(C.CKA_VALUE, KEY_VALUE | SENSITIVE),
  rule(C.CKA_VALUE_LEN, NO_CREATE | NO_UNWRAP),
];

const POLICIES = new Map<string, ObjectPolicy>();
function add(
  cls: number,
  sub: number | undefined,
  name: string,
  ...layers: Parameters<typeof policy>[1][]
) {
  POLICIES.set(`${cls}:${sub ?? ''}`, policy(name, COMMON, ...layers));
}
add(C.CKO_DATA, undefined, 'data object', STORAGE, DATA);
add(C.CKO_CERTIFICATE, C.CKC_X_509, 'X.509 certificate', STORAGE, CERTIFICATE, X509);
add(C.CKO_PUBLIC_KEY, C.CKK_RSA, 'RSA public key', STORAGE, KEY, PUBLIC_KEY, RSA_PUBLIC);
add(C.CKO_PRIVATE_KEY, C.CKK_RSA, 'RSA private key', STORAGE, KEY, PRIVATE_KEY, RSA_PRIVATE);
add(C.CKO_PUBLIC_KEY, C.CKK_EC, 'EC public key', STORAGE, KEY, PUBLIC_KEY, EC_PUBLIC);
add(C.CKO_PRIVATE_KEY, C.CKK_EC, 'EC private key', STORAGE, KEY, PRIVATE_KEY, EC_PRIVATE);
// PKCS#11 3.0 §2.3.5–2.3.8: Edwards and Montgomery keys have the EC key attributes.
for (const [kt, name] of [
  [C.CKK_EC_EDWARDS, 'EC Edwards'],
  [C.CKK_EC_MONTGOMERY, 'EC Montgomery'],
] as const) {
  add(C.CKO_PUBLIC_KEY, kt, `${name} public key`, STORAGE, KEY, PUBLIC_KEY, EC_PUBLIC);
  add(C.CKO_PRIVATE_KEY, kt, `${name} private key`, STORAGE, KEY, PRIVATE_KEY, EC_PRIVATE);
}
add(C.CKO_PUBLIC_KEY, C.CKK_DSA, 'DSA public key', STORAGE, KEY, PUBLIC_KEY, DSA_PUBLIC);
add(C.CKO_PRIVATE_KEY, C.CKK_DSA, 'DSA private key', STORAGE, KEY, PRIVATE_KEY, DSA_PRIVATE);
add(C.CKO_PUBLIC_KEY, C.CKK_DH, 'DH public key', STORAGE, KEY, PUBLIC_KEY, DH_PUBLIC);
add(C.CKO_PRIVATE_KEY, C.CKK_DH, 'DH private key', STORAGE, KEY, PRIVATE_KEY, DH_PRIVATE);
add(C.CKO_DOMAIN_PARAMETERS, C.CKK_DSA, 'DSA domain parameters', STORAGE, DOMAIN, DSA_DOMAIN);
add(C.CKO_DOMAIN_PARAMETERS, C.CKK_DH, 'DH domain parameters', STORAGE, DOMAIN, DH_DOMAIN);
// Every secret key type of secret-keys.ts: CKA_VALUE, CKA_VALUE_LEN and the secret key rules.
for (const { keyType, name } of SECRET_KEY_TYPES) {
  add(C.CKO_SECRET_KEY, keyType, name, STORAGE, KEY, SECRET_KEY, SECRET_VALUE);
}

/**
 * The policy for an object class and its subtype (CKA_KEY_TYPE for keys, CKA_CERTIFICATE_TYPE for
 * certificates, nothing for data objects), or undefined when the token does not support that kind.
 */
export function policyFor(
  objectClass: number,
  subtype: number | undefined,
): ObjectPolicy | undefined {
  return POLICIES.get(`${objectClass}:${objectClass === C.CKO_DATA ? '' : (subtype ?? '')}`);
}

/** The attribute that selects the subtype of a class. */
export function subtypeAttribute(objectClass: number): number | undefined {
  if (objectClass === C.CKO_CERTIFICATE) return C.CKA_CERTIFICATE_TYPE;
  const isKey =
    objectClass === C.CKO_PUBLIC_KEY ||
    objectClass === C.CKO_PRIVATE_KEY ||
    objectClass === C.CKO_SECRET_KEY ||
    objectClass === C.CKO_DOMAIN_PARAMETERS;
  return isKey ? C.CKA_KEY_TYPE : undefined;
}

/**
 * The defaults `compatible` takes from SoftHSMv2 2.6 where they differ from the tables above: a data
 * object is private (SoftHSMv2 makes every object private but certificates and public keys) and a
 * secret key is not sensitive (its CKA_VALUE can be read), unless the template says otherwise. Private
 * keys stay sensitive by default in both profiles: no client depends on reading a private key it did
 * not ask to be readable (README "Token profiles").
 */
const COMPATIBLE_DEFAULTS: ReadonlyMap<number, ReadonlyMap<number, Uint8Array>> = new Map([
  [C.CKO_DATA, new Map([[C.CKA_PRIVATE, TRUE]])],
  [C.CKO_SECRET_KEY, new Map([[C.CKA_SENSITIVE, FALSE]])],
]);

/** The profile's default for an attribute of a class when it differs from the policy's; else undefined. */
export function profileDefault(
  profile: Profile,
  objectClass: number,
  type: number,
): Uint8Array | undefined {
  return profile === 'compatible' ? COMPATIBLE_DEFAULTS.get(objectClass)?.get(type) : undefined;
}
