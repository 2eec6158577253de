/**
 * corePKCS11's helper calls (core_pkcs11.c) in TypeScript form, over any pkcs11js-shaped module:
 * initialise the module, list the slots, initialise a new token, open a logged-in session, find one
 * object by label and class, and the SHA-256 DigestInfo prefix. Unlike the C helpers, which return a
 * CK_RV, these throw the module's Pkcs11Error and return what the caller asked for. Layer L7.
 * @module
 */
import { Pkcs11Error } from '../errors.js';
import {
  CKA_CLASS,
  CKA_LABEL,
  CKF_OS_LOCKING_OK,
  CKF_RW_SESSION,
  CKF_SERIAL_SESSION,
  CKF_TOKEN_INITIALIZED,
  CKR_ARGUMENTS_BAD,
  CKR_CRYPTOKI_ALREADY_INITIALIZED,
  CKR_TOKEN_NOT_PRESENT,
  CKR_USER_ALREADY_LOGGED_IN,
  CKU_SO,
  CKU_USER,
} from '../pkcs11/constants.js';
import { type Handle, hasRv, type Pkcs11Module, type Template } from './module.js';

/**
 * xInitializePKCS11: C_Initialize with CKF_OS_LOCKING_OK. Returns false instead of failing when the
 * module was already initialised (CKR_CRYPTOKI_ALREADY_INITIALIZED), so callers can share a module.
 */
export function initializePkcs11(p11: Pkcs11Module): boolean {
  try {
    p11.C_Initialize({ flags: CKF_OS_LOCKING_OK });
    return true;
  } catch (e) {
    if (hasRv(e, CKR_CRYPTOKI_ALREADY_INITIALIZED)) return false;
    throw e;
  }
}

/** xGetSlotList: the slots with a token present (initialising the module first if needed). */
export function getSlotList(p11: Pkcs11Module): Handle[] {
  initializePkcs11(p11);
  return p11.C_GetSlotList(true);
}

/** The first slot with a token, as corePKCS11's helpers pick it; CKR_TOKEN_NOT_PRESENT if none. */
export function firstSlot(p11: Pkcs11Module): Handle {
  const [slot] = getSlotList(p11);
  if (!slot) throw new Pkcs11Error(CKR_TOKEN_NOT_PRESENT, 'the module has no slot with a token');
  return slot;
}

export interface TokenInitOptions {
  /** The SO PIN C_InitToken sets (and later checks). */
  soPin: string;
  /** The token label (default 'FreeRTOS', as corePKCS11's helper uses). */
  label?: string;
  /** When given, C_InitPIN sets this user PIN right after C_InitToken. */
  userPin?: string;
  /** The slot (default: the first slot with a token). */
  slot?: Handle;
}

/**
 * xInitializePkcs11Token: initialise the module, then C_InitToken the slot's token unless
 * CKF_TOKEN_INITIALIZED is already set (an initialised token keeps its objects). Returns the slot and
 * whether the token was initialised by this call.
 */
export function initializePkcs11Token(
  p11: Pkcs11Module,
  options: TokenInitOptions,
): { slot: Handle; initialized: boolean } {
  const slot = options.slot ?? firstSlot(p11);
  initializePkcs11(p11);
  if (p11.C_GetTokenInfo(slot).flags & CKF_TOKEN_INITIALIZED) return { slot, initialized: false };
  p11.C_InitToken(slot, options.soPin, options.label ?? 'FreeRTOS');
  if (options.userPin !== undefined) {
    const so = openLoggedInSession(p11, slot, CKU_SO, options.soPin);
    try {
      p11.C_InitPIN(so, options.userPin);
    } finally {
      p11.C_CloseSession(so);
    }
  }
  return { slot, initialized: true };
}

export interface SessionOptions {
  /** The PIN to log in with. */
  pin: string;
  /** CKU_USER (default) or CKU_SO. */
  userType?: number;
  /** The slot (default: the first slot with a token). */
  slot?: Handle;
}

/**
 * xInitializePkcs11Session: initialise the module, open a serial read/write session on the slot and log
 * in. CKR_USER_ALREADY_LOGGED_IN is success (login state is per application, so a second session of the
 * same application is already logged in). Any other login failure closes the session and is thrown.
 */
export function initializePkcs11Session(p11: Pkcs11Module, options: SessionOptions): Handle {
  const slot = options.slot ?? firstSlot(p11);
  initializePkcs11(p11);
  return openLoggedInSession(p11, slot, options.userType ?? CKU_USER, options.pin);
}

function openLoggedInSession(
  p11: Pkcs11Module,
  slot: Handle,
  userType: number,
  pin: string,
): Handle {
  const session = p11.C_OpenSession(slot, CKF_SERIAL_SESSION | CKF_RW_SESSION);
  try {
    p11.C_Login(session, userType, pin);
  } catch (e) {
    if (hasRv(e, CKR_USER_ALREADY_LOGGED_IN)) return session;
    p11.C_CloseSession(session);
    throw e;
  }
  return session;
}

/** Every object matching `template`, in the module's order. */
export function findObjects(p11: Pkcs11Module, session: Handle, template: Template): Handle[] {
  p11.C_FindObjectsInit(session, template);
  try {
    const out: Handle[] = [];
    for (;;) {
      const batch = p11.C_FindObjects(session, 64);
      if (batch.length === 0) return out;
      out.push(...batch);
    }
  } finally {
    p11.C_FindObjectsFinal(session);
  }
}

/**
 * xFindObjectWithLabelAndClass: the first object with this CKA_LABEL and CKA_CLASS, or null
 * (corePKCS11 returns CK_INVALID_HANDLE). The find operation is always finished, even on error.
 */
export function findObjectWithLabelAndClass(
  p11: Pkcs11Module,
  session: Handle,
  label: string,
  objectClass: number,
): Handle | null {
  p11.C_FindObjectsInit(session, [
    { type: CKA_LABEL, value: label },
    { type: CKA_CLASS, value: objectClass },
  ]);
  try {
    return p11.C_FindObjects(session);
  } finally {
    p11.C_FindObjectsFinal(session);
  }
}

/** DigestInfo for SHA-256 up to the hash: SEQUENCE { AlgorithmIdentifier sha256 NULL, OCTET STRING(32) }. */
export const SHA256_DIGEST_INFO_PREFIX: Uint8Array = Uint8Array.from([
  0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01, 0x05,
  0x00, 0x04, 0x20,
]);

/**
 * vAppendSHA256AlgorithmIdentifierSequence: the 51-byte DER DigestInfo of a SHA-256 hash, the input
 * CKM_RSA_PKCS signs. A hash that is not 32 bytes is CKR_ARGUMENTS_BAD.
 */
export function appendSha256AlgorithmIdentifierSequence(hash: Uint8Array): Uint8Array {
  if (!(hash instanceof Uint8Array) || hash.length !== 32) {
    throw new Pkcs11Error(CKR_ARGUMENTS_BAD, 'a SHA-256 hash is 32 bytes');
  }
  const out = new Uint8Array(SHA256_DIGEST_INFO_PREFIX.length + 32);
  out.set(SHA256_DIGEST_INFO_PREFIX);
  out.set(hash, SHA256_DIGEST_INFO_PREFIX.length);
  return out;
}
