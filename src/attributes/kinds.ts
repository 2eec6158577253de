/**
 * The attribute-kind registry: how each CKA_ value is laid out in bytes (CK_ULONG, CK_BBOOL, CK_DATE,
 * UTF-8, big integer, byte string, CK_MECHANISM_TYPE array, nested template). One table serves input
 * validation and the API's JS conversions (the RPC wire has its own, rpc/attribute-kinds.ts). Layer L2.
 * @module
 */
import * as C from '../pkcs11/constants.js';

export type AttributeKind =
  | 'ulong'
  | 'bool'
  | 'date'
  | 'utf8'
  | 'bigint'
  | 'bytes'
  | 'ulongArray'
  | 'template';

const ULONG = [
  C.CKA_CLASS,
  C.CKA_CERTIFICATE_TYPE,
  C.CKA_KEY_TYPE,
  C.CKA_MODULUS_BITS,
  C.CKA_PRIME_BITS,
  C.CKA_SUBPRIME_BITS,
  C.CKA_VALUE_BITS,
  C.CKA_VALUE_LEN,
  C.CKA_KEY_GEN_MECHANISM,
  C.CKA_CERTIFICATE_CATEGORY,
  C.CKA_JAVA_MIDP_SECURITY_DOMAIN,
  C.CKA_NAME_HASH_ALGORITHM,
  C.CKA_MECHANISM_TYPE,
  C.CKA_HW_FEATURE_TYPE,
  C.CKA_PIXEL_X,
  C.CKA_PIXEL_Y,
  C.CKA_RESOLUTION,
  C.CKA_CHAR_ROWS,
  C.CKA_CHAR_COLUMNS,
  C.CKA_BITS_PER_PIXEL,
  C.CKA_OTP_FORMAT,
  C.CKA_OTP_LENGTH,
  C.CKA_OTP_TIME_INTERVAL,
  C.CKA_OTP_CHALLENGE_REQUIREMENT,
  C.CKA_OTP_TIME_REQUIREMENT,
  C.CKA_OTP_COUNTER_REQUIREMENT,
  C.CKA_OTP_PIN_REQUIREMENT,
  C.CKA_OTP_USER_IDENTIFIER,
  C.CKA_AUTH_PIN_FLAGS,
];

const BOOL = [
  C.CKA_TOKEN,
  C.CKA_PRIVATE,
  C.CKA_TRUSTED,
  C.CKA_SENSITIVE,
  C.CKA_ENCRYPT,
  C.CKA_DECRYPT,
  C.CKA_WRAP,
  C.CKA_UNWRAP,
  C.CKA_SIGN,
  C.CKA_SIGN_RECOVER,
  C.CKA_VERIFY,
  C.CKA_VERIFY_RECOVER,
  C.CKA_DERIVE,
  C.CKA_EXTRACTABLE,
  C.CKA_LOCAL,
  C.CKA_NEVER_EXTRACTABLE,
  C.CKA_ALWAYS_SENSITIVE,
  C.CKA_MODIFIABLE,
  C.CKA_COPYABLE,
  C.CKA_DESTROYABLE,
  C.CKA_ALWAYS_AUTHENTICATE,
  C.CKA_WRAP_WITH_TRUSTED,
  C.CKA_RESET_ON_INIT,
  C.CKA_HAS_RESET,
  C.CKA_COLOR,
  C.CKA_OTP_USER_FRIENDLY_MODE,
  C.CKA_SECONDARY_AUTH,
];

const DATE = [C.CKA_START_DATE, C.CKA_END_DATE];
const UTF8 = [
  C.CKA_LABEL,
  C.CKA_APPLICATION,
  C.CKA_URL,
  C.CKA_CHAR_SETS,
  C.CKA_ENCODING_METHODS,
  C.CKA_MIME_TYPES,
];
const BIGINT = [
  C.CKA_MODULUS,
  C.CKA_PUBLIC_EXPONENT,
  C.CKA_PRIVATE_EXPONENT,
  C.CKA_PRIME_1,
  C.CKA_PRIME_2,
  C.CKA_EXPONENT_1,
  C.CKA_EXPONENT_2,
  C.CKA_COEFFICIENT,
  C.CKA_PRIME,
  C.CKA_SUBPRIME,
  C.CKA_BASE,
];
const TEMPLATE = [C.CKA_WRAP_TEMPLATE, C.CKA_UNWRAP_TEMPLATE, C.CKA_DERIVE_TEMPLATE];

const KINDS = new Map<number, AttributeKind>();
for (const t of ULONG) KINDS.set(t, 'ulong');
for (const t of BOOL) KINDS.set(t, 'bool');
for (const t of DATE) KINDS.set(t, 'date');
for (const t of UTF8) KINDS.set(t, 'utf8');
for (const t of BIGINT) KINDS.set(t, 'bigint');
for (const t of TEMPLATE) KINDS.set(t, 'template');
KINDS.set(C.CKA_ALLOWED_MECHANISMS, 'ulongArray');

/** The kind of an attribute; anything not listed is a byte string. */
export function attributeKind(type: number): AttributeKind {
  return KINDS.get(type) ?? 'bytes';
}

/** True for every CKA_ value the v2.40 header defines (vendor-defined types excluded). */
export function isKnownAttribute(type: number): boolean {
  return C.CKA_NAMES.has(type);
}
