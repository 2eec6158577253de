/**
 * corePKCS11's helper calls (core_pkcs11.c) that the C suite builds on, over a pkcs11js-shaped module:
 * initialise with OS locking, open a logged-in session, find one object by label and class, the SHA-256
 * DigestInfo prefix, plus what the tests share (PEM → DER, CK_ULONG decoding, handle checks, the opening
 * of the sign tests).
 * Layer L7.
 * @module
 */
import { curve } from '../crypto/curves.js';
import {
  CK_INVALID_HANDLE,
  CKA_CLASS,
  CKA_LABEL,
  CKF_OS_LOCKING_OK,
  CKF_RW_SESSION,
  CKF_SERIAL_SESSION,
  CKR_CRYPTOKI_ALREADY_INITIALIZED,
  CKR_FUNCTION_FAILED,
  CKR_OK,
  CKU_USER,
} from '../pkcs11/constants.js';
import { decodeUlong } from '../util/bytes.js';
import type { Handle, Mechanism, Pkcs11Like } from './types.js';
import { type CallResult, call, check } from './unity.js';

/** sizeof(CK_ULONG) on the LP64 platforms pkcs11js and corepkcs11 run on. */
export const CK_ULONG_SIZE = 8;

/** DER of the P-256 curve OID (pkcs11DER_ENCODED_OID_P256), CKA_EC_PARAMS of every test key. */
export const P256_OID_DER = Buffer.from(curve('P-256').ecParams);

/** The 19-byte DigestInfo prefix for SHA-256 (vAppendSHA256AlgorithmIdentifierSequence). */
const SHA256_ALGORITHM_IDENTIFIER = Buffer.from('3031300d060960864801650304020105000420', 'hex');

/** A session handle no module hands out: the C suite's `( CK_SESSION_HANDLE ) NULL`. */
export function nullHandle(): Handle {
  return Buffer.alloc(CK_ULONG_SIZE);
}

/** True for a handle other than CK_INVALID_HANDLE. */
export function isValidHandle(h: Handle | null | undefined): h is Handle {
  return h != null && h.length > 0 && h.some((b) => b !== CK_INVALID_HANDLE);
}

/** A CK_ULONG attribute value as the module returned it (host byte order, 8 or 4 bytes). */
export const readUlong = (v: Buffer | undefined) => (v === undefined ? undefined : decodeUlong(v));

/** vAppendSHA256AlgorithmIdentifierSequence: DigestInfo ‖ hash, 51 bytes. */
export function appendSha256AlgorithmIdentifierSequence(hash: Uint8Array): Buffer {
  return Buffer.concat([SHA256_ALGORITHM_IDENTIFIER, hash]);
}

/** convert_pem_to_der: the base64 body between the BEGIN and END lines, or null if there is none. */
export function pemToDer(pem: string): Buffer | null {
  const m = /-----BEGIN [^-]+-----([\s\S]*?)-----END [^-]+-----/.exec(pem);
  if (!m?.[1]) return null;
  const body = m[1].replace(/\s+/g, '');
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(body)) return null;
  return Buffer.from(body, 'base64');
}

/** xInitializePKCS11: C_Initialize with CKF_OS_LOCKING_OK, as corePKCS11 calls it. */
export function initializePkcs11(p11: Pkcs11Like): CallResult<void> {
  return call(() => p11.C_Initialize({ flags: CKF_OS_LOCKING_OK }));
}

/**
 * xInitializePkcs11Session: initialise (already initialised is fine), open a serial RW session on the
 * test slot and log the user in. The result is C_Login's, so a second session of the same application
 * yields CKR_USER_ALREADY_LOGGED_IN with a usable session.
 */
export function initializePkcs11Session(
  p11: Pkcs11Like,
  slotIndex: number,
  pin: string,
): { rv: CallResult<void>; session: Handle | null } {
  const init = initializePkcs11(p11);
  if (init.rv !== CKR_OK && init.rv !== CKR_CRYPTOKI_ALREADY_INITIALIZED) {
    return { rv: init, session: null };
  }
  const slots = call(() => p11.C_GetSlotList(true));
  const slot = slots.value?.[slotIndex];
  if (slots.rv !== CKR_OK || !slot) {
    return {
      rv: slots.rv !== CKR_OK ? { ...slots, value: undefined } : { rv: CKR_FUNCTION_FAILED },
      session: null,
    };
  }
  const opened = call(() => p11.C_OpenSession(slot, CKF_SERIAL_SESSION | CKF_RW_SESSION));
  if (opened.rv !== CKR_OK || !opened.value)
    return { rv: { ...opened, value: undefined }, session: null };
  const session = opened.value;
  return { rv: call(() => p11.C_Login(session, CKU_USER, pin)), session };
}

/**
 * xFindObjectWithLabelAndClass: FindObjectsInit([LABEL, CLASS]) → FindObjects(1) → FindObjectsFinal,
 * Final only after the earlier steps succeeded. Nothing found is CKR_OK with a null handle.
 */
export function findObjectWithLabelAndClass(
  p11: Pkcs11Like,
  session: Handle,
  label: string,
  objectClass: number,
): { rv: CallResult<unknown>; handle: Handle | null } {
  const template = [
    { type: CKA_LABEL, value: label },
    { type: CKA_CLASS, value: objectClass },
  ];
  const init = call(() => p11.C_FindObjectsInit(session, template));
  if (init.rv !== CKR_OK) return { rv: init, handle: null };
  const found = call(() => p11.C_FindObjects(session, 1));
  if (found.rv !== CKR_OK) return { rv: found, handle: null };
  const final = call(() => p11.C_FindObjectsFinal(session));
  const handle = found.value?.[0] ?? null;
  return { rv: final, handle: isValidHandle(handle) ? handle : null };
}

/** One attribute of one object, the way pkcs11js reads it (length query, then value); never a template. */
export function getAttribute(
  p11: Pkcs11Like,
  session: Handle,
  object: Handle,
  type: number,
): CallResult<Buffer | undefined> {
  return call(
    () => p11.C_GetAttributeValue(session, object, [{ type }])[0]?.value as Buffer | undefined,
  );
}

/** A turn of the event loop, so concurrent tasks interleave between Cryptoki calls. */
export function yieldTurn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/**
 * The opening of the C sign tests: C_SignInit and C_Sign into a `room`-byte buffer (the signature must
 * be `length` bytes), then C_SignInit again and a length query, which must succeed. Returns the signature.
 */
export function signThenQueryLength(
  p11: Pkcs11Like,
  session: Handle,
  mechanism: Mechanism,
  key: Handle,
  data: Buffer,
  sizes: { room: number; length: number },
  algorithm: 'RSA' | 'ECDSA',
  lengthMessage: string,
): Buffer {
  const init = () =>
    check.returns(
      CKR_OK,
      () => p11.C_SignInit(session, mechanism, key),
      `Failed to SignInit ${algorithm}.`,
    );
  init();
  const signed = call(() => p11.C_Sign(session, data, Buffer.alloc(sizes.room)));
  check.rv(CKR_OK, signed, `Failed to ${algorithm} Sign.`);
  const signature = signed.value as Buffer;
  check.that(signature.length === sizes.length, lengthMessage);
  init();
  // Length query (no output room): succeeds and, per PKCS #11, leaves the signing operation active.
  const query = call(() => p11.C_Sign(session, data, Buffer.alloc(0)));
  check.rv(CKR_OK, query, `Failed to ${algorithm} Sign.`);
  return signature;
}
