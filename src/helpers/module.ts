/**
 * What the helpers need from a PKCS#11 module: the pkcs11js-shaped surface of corepkcs11's PKCS11 class,
 * which a pkcs11js instance loading a native module also has, plus the small shared pieces (error
 * checks that work for either, input errors, attribute reads). Layer L7.
 * @module
 */
import type { Handle, Template } from '../api/convert.js';
import type { PKCS11 } from '../api/pkcs11.js';
import { Pkcs11Error } from '../errors.js';
import { CKR_ARGUMENTS_BAD } from '../pkcs11/constants.js';
import { decodeUlong } from '../util/bytes.js';

export type { Handle, Template };

/** The C_* functions the helpers call; corepkcs11's PKCS11 and pkcs11js's both satisfy it. */
export type Pkcs11Module = Pick<
  PKCS11,
  | 'C_Initialize'
  | 'C_GetInfo'
  | 'C_GetSlotList'
  | 'C_GetSlotInfo'
  | 'C_GetTokenInfo'
  | 'C_GetMechanismList'
  | 'C_InitToken'
  | 'C_InitPIN'
  | 'C_SetPIN'
  | 'C_OpenSession'
  | 'C_CloseSession'
  | 'C_Login'
  | 'C_Logout'
  | 'C_CreateObject'
  | 'C_DestroyObject'
  | 'C_GetAttributeValue'
  | 'C_SetAttributeValue'
  | 'C_FindObjectsInit'
  | 'C_FindObjects'
  | 'C_FindObjectsFinal'
  | 'C_DigestInit'
  | 'C_Digest'
  | 'C_SignInit'
  | 'C_Sign'
  | 'C_VerifyInit'
  | 'C_Verify'
  | 'C_DecryptInit'
  | 'C_Decrypt'
  | 'C_DeriveKey'
  | 'C_GenerateKey'
  | 'C_GenerateKeyPair'
  | 'C_GenerateKeyPairAsync'
  | 'C_GenerateRandom'
>;

/**
 * True when `e` carries the CK_RV `code`. Checks the `code` field rather than the class, so errors from
 * pkcs11js (a different Pkcs11Error class) count too.
 */
export function hasRv(e: unknown, code: number): boolean {
  return typeof e === 'object' && e !== null && (e as { code?: unknown }).code === code;
}

/** An input the helpers cannot use (unparseable PEM/DER, unsupported key): CKR_ARGUMENTS_BAD with why. */
export function badInput(detail: string, cause?: unknown): Pkcs11Error {
  return new Pkcs11Error(CKR_ARGUMENTS_BAD, detail, cause === undefined ? {} : { cause });
}

/** One attribute's value as bytes, or undefined when the module has none. */
export function readAttribute(
  p11: Pkcs11Module,
  session: Handle,
  object: Handle,
  type: number,
): Uint8Array | undefined {
  const [a] = p11.C_GetAttributeValue(session, object, [{ type }]);
  const v = a?.value;
  return v instanceof Uint8Array ? v : undefined;
}

/** A CK_ULONG attribute (host byte order, 8 or 4 bytes), or undefined. */
export function readUlongAttribute(
  p11: Pkcs11Module,
  session: Handle,
  object: Handle,
  type: number,
): number | undefined {
  return ulongOf(readAttribute(p11, session, object, type));
}

/** A CK_ULONG value (host byte order, 8 or 4 bytes), or undefined. */
export const ulongOf = (v: Uint8Array | undefined) =>
  v === undefined ? undefined : decodeUlong(v);

/** A caller-sized output Buffer for the C_* functions that fill one. */
export function outputBuffer(length: number): Buffer {
  return Buffer.alloc(length);
}
