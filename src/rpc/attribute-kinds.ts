/**
 * How p11-kit types attribute values on the wire (`map_attribute_to_value_type` in rpc-message.c). This is
 * the protocol's table, not the token's: an attribute p11-kit does not list (CKA_DESTROYABLE,
 * CKA_NAME_HASH_ALGORITHM, every vendor type) travels as a byte array carrying the raw C bytes, whatever
 * its PKCS#11 type. The table changed once that matters to us: 0.25 moved CKA_DERIVE_TEMPLATE from byte
 * array to nested attribute array (and added IBM vendor types). Protocol version 0 means a 0.24 client;
 * 1 and 2 mean 0.25 and later. Layer L7.
 * @module
 */
import { attributeKind } from '../attributes/kinds.js';
import * as C from '../pkcs11/constants.js';

/** p11_rpc_value_type: byte, ulong (uint64), date (byte array of 0 or 8), byte array, arrays. */
export type WireKind = 'byte' | 'ulong' | 'date' | 'bytes' | 'mechanisms' | 'attributes';

const BYTE = [
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
  C.CKA_SECONDARY_AUTH,
  C.CKA_ALWAYS_AUTHENTICATE,
  C.CKA_WRAP_WITH_TRUSTED,
  C.CKA_RESET_ON_INIT,
  C.CKA_HAS_RESET,
  C.CKA_COLOR,
];

const ULONG = [
  C.CKA_CLASS,
  C.CKA_CERTIFICATE_TYPE,
  C.CKA_CERTIFICATE_CATEGORY,
  C.CKA_JAVA_MIDP_SECURITY_DOMAIN,
  C.CKA_KEY_TYPE,
  C.CKA_MODULUS_BITS,
  C.CKA_PRIME_BITS,
  C.CKA_SUB_PRIME_BITS,
  C.CKA_VALUE_BITS,
  C.CKA_VALUE_LEN,
  C.CKA_KEY_GEN_MECHANISM,
  C.CKA_AUTH_PIN_FLAGS,
  C.CKA_HW_FEATURE_TYPE,
  C.CKA_PIXEL_X,
  C.CKA_PIXEL_Y,
  C.CKA_RESOLUTION,
  C.CKA_CHAR_ROWS,
  C.CKA_CHAR_COLUMNS,
  C.CKA_BITS_PER_PIXEL,
  C.CKA_MECHANISM_TYPE,
];

/** IBM vendor attributes p11-kit 0.25+ types (CKA_VENDOR_DEFINED + n, common/pkcs11x.h). */
const IBM = C.CKA_VENDOR_DEFINED;
const IBM_BYTE = [0x10001, 0x10002, 0x10003, 0x10004, 0x10008, 0x1000c, 0x1000d].map(
  (n) => IBM + n,
);
const IBM_ULONG = [0xd0001, 0xd0101, 0x1000a, 0x10005, 0xd0009].map((n) => IBM + n);

const V0 = new Map<number, WireKind>();
for (const t of BYTE) V0.set(t, 'byte');
for (const t of ULONG) V0.set(t, 'ulong');
V0.set(C.CKA_WRAP_TEMPLATE, 'attributes');
V0.set(C.CKA_UNWRAP_TEMPLATE, 'attributes');
V0.set(C.CKA_ALLOWED_MECHANISMS, 'mechanisms');
V0.set(C.CKA_START_DATE, 'date');
V0.set(C.CKA_END_DATE, 'date');

const V1 = new Map(V0);
V1.set(C.CKA_DERIVE_TEMPLATE, 'attributes');
for (const t of IBM_BYTE) V1.set(t, 'byte');
for (const t of IBM_ULONG) V1.set(t, 'ulong');

/** The wire kind of an attribute type for a connection speaking `version`. */
export function wireKind(type: number, version: number): WireKind {
  return (version === 0 ? V0 : V1).get(type) ?? 'bytes';
}

/**
 * The attributes p11-kit 0.24 and 0.25.0–0.25.3 refuse to see in any attribute array (their
 * IS_ATTRIBUTE_ARRAY check is on the type alone): such an entry makes the whole call fail on the client.
 * They are the three template attributes (attributes/kinds.ts).
 */
export const isTemplateType = (type: number): boolean => attributeKind(type) === 'template';
