/**
 * General-purpose, slot and token functions (v2.40 §5.4–5.5, 3.0 §5.4): C_Initialize / C_Finalize of one
 * application, the interfaces offered, the module, slot, token and mechanism information, C_InitToken,
 * C_InitPIN and C_SetPIN. Layer L5.
 * @module
 */
import { isPkcs11Error, Pkcs11Error } from '../errors.js';
import { messageMode } from '../mechanisms/message-params.js';
import { mechanism, mechanismTypes } from '../mechanisms/registry.js';
import type { Mechanism } from '../mechanisms/types.js';
import * as C from '../pkcs11/constants.js';
import type {
  InitializeArgs,
  InterfaceInfo,
  MechanismInfo,
  ModuleInfo,
  SlotInfo,
  TokenInfo,
  Version,
} from '../pkcs11/types.js';
import { blankPadded, fromUtf8 } from '../util/bytes.js';
import { type AppState, SLOT_ID } from './app-state.js';
import { MAX_PIN_LENGTH, MIN_PIN_LENGTH, pinFlags } from './pins.js';
import { closeSession } from './session-calls.js';

export const LIBRARY_VERSION = { major: 0, minor: 1 };
const MANUFACTURER = 'corepkcs11';

function utcTime(): string {
  return new Date().toISOString().replace(/[-:T]/g, '').slice(0, 14).concat('00');
}

export function initialize(app: AppState, args: InitializeArgs = {}): void {
  if (args.reservedIsNull === false || args.partialMutexCallbacks) {
    throw new Pkcs11Error(
      C.CKR_ARGUMENTS_BAD,
      'CK_C_INITIALIZE_ARGS: pReserved must be NULL, mutex callbacks all or none',
    );
  }
  // We cannot call an application's mutex callbacks; without CKF_OS_LOCKING_OK we would have to.
  if (args.hasMutexCallbacks && !((args.flags ?? 0) & C.CKF_OS_LOCKING_OK)) {
    throw new Pkcs11Error(
      C.CKR_CANT_LOCK,
      'application mutex callbacks are not supported; set CKF_OS_LOCKING_OK',
    );
  }
  if (app.initialized) throw new Pkcs11Error(C.CKR_CRYPTOKI_ALREADY_INITIALIZED);
  app.token.refresh();
  app.initialized = true;
}

export function finalize(app: AppState): void {
  app.requireInitialized();
  for (const h of [...app.sessions.keys()]) closeSession(app, h);
  app.login = 'public';
  app.forgetAll();
  app.initialized = false;
}

export function getInfo(app: AppState): ModuleInfo {
  app.requireInitialized();
  return {
    cryptokiVersion: { major: 2, minor: 40 },
    manufacturerID: blankPadded(MANUFACTURER, 32),
    flags: 0,
    libraryDescription: blankPadded('corepkcs11 software token', 32),
    libraryVersion: { ...LIBRARY_VERSION },
  };
}

/** The name PKCS#11 reserves for its standard interfaces (3.0 §3.6). */
export const STANDARD_INTERFACE = 'PKCS 11';

/**
 * The interfaces C_GetInterfaceList reports: the standard one in version 3.0 (first, so the default) and
 * in 2.40. Neither is fork-safe in the C sense, which has no meaning for a Node.js module: flags 0.
 */
const INTERFACES: readonly InterfaceInfo[] = [
  { interfaceName: STANDARD_INTERFACE, version: { major: 3, minor: 0 }, flags: 0 },
  { interfaceName: STANDARD_INTERFACE, version: { major: 2, minor: 40 }, flags: 0 },
];

const copyInterface = (i: InterfaceInfo): InterfaceInfo => ({ ...i, version: { ...i.version } });

/** C_GetInterfaceList (3.0 §5.4.6): callable before C_Initialize, as C_GetFunctionList is. */
export function getInterfaceList(_app: AppState): InterfaceInfo[] {
  return INTERFACES.map(copyInterface);
}

/**
 * C_GetInterface (3.0 §5.4.7): the interface of that name (NULL: the standard one), that version (NULL:
 * the default, 3.0) and with at least the requested flags; none matching is CKR_ARGUMENTS_BAD, as
 * kryoptic and p11-kit answer.
 */
export function getInterface(
  _app: AppState,
  name: string | null,
  version: Version | null,
  flags: number,
): InterfaceInfo {
  const wanted = name ?? STANDARD_INTERFACE;
  const found = INTERFACES.find(
    (i) =>
      i.interfaceName === wanted &&
      (version === null ||
        (i.version.major === version.major && i.version.minor === version.minor)) &&
      (i.flags & flags) === flags,
  );
  if (!found) {
    throw new Pkcs11Error(
      C.CKR_ARGUMENTS_BAD,
      `no interface '${wanted}' with that version and flags`,
    );
  }
  return copyInterface(found);
}

export function getSlotList(app: AppState, _tokenPresent: boolean): number[] {
  app.requireInitialized();
  return [SLOT_ID];
}

export function getSlotInfo(app: AppState, slotId: number): SlotInfo {
  app.requireSlot(slotId);
  return {
    slotDescription: blankPadded('corepkcs11 software slot', 64),
    manufacturerID: blankPadded(MANUFACTURER, 32),
    flags: C.CKF_TOKEN_PRESENT,
    hardwareVersion: { ...LIBRARY_VERSION },
    firmwareVersion: { ...LIBRARY_VERSION },
  };
}

export function getTokenInfo(app: AppState, slotId: number): TokenInfo {
  app.requireSlot(slotId);
  const t = app.token;
  const user = t.pinRecord('user');
  const pool = t.options.maxStorageBytes;
  const total = Number.isSafeInteger(pool) ? pool : C.CK_UNAVAILABLE_INFORMATION;
  const free = Number.isSafeInteger(pool)
    ? Math.max(0, pool - t.storageUsed)
    : C.CK_UNAVAILABLE_INFORMATION;
  let flags =
    C.CKF_RNG | C.CKF_LOGIN_REQUIRED | C.CKF_RESTORE_KEY_NOT_NEEDED | C.CKF_CLOCK_ON_TOKEN;
  if (t.initialized) flags |= C.CKF_TOKEN_INITIALIZED;
  if (user) flags |= C.CKF_USER_PIN_INITIALIZED;
  for (const owner of ['user', 'so'] as const) {
    flags |= pinFlags(owner, t.pinRecord(owner), t.pinTriesLeft(owner));
  }
  return {
    label: blankPadded(t.label, 32),
    manufacturerID: blankPadded(MANUFACTURER, 32),
    model: blankPadded('corePKCS11', 16),
    serialNumber: blankPadded(t.serial, 16),
    flags,
    // v2.40: the counts and limits are this application's (another application's sessions are its own)
    maxSessionCount: t.options.maxSessions,
    sessionCount: app.sessions.size,
    maxRwSessionCount: t.options.maxSessions,
    rwSessionCount: [...app.sessions.values()].filter((x) => x.readWrite).length,
    maxPinLen: MAX_PIN_LENGTH,
    minPinLen: MIN_PIN_LENGTH,
    hardwareVersion: { ...LIBRARY_VERSION },
    firmwareVersion: { ...LIBRARY_VERSION },
    utcTime: utcTime(),
    // One pool for public and private objects: both report it.
    totalPublicMemory: total,
    freePublicMemory: free,
    totalPrivateMemory: total,
    freePrivateMemory: free,
  };
}

export function getMechanismList(app: AppState, slotId: number): number[] {
  app.requireSlot(slotId);
  return mechanismTypes(app.token.profile);
}

/**
 * The PKCS#11 3.0 message-based flags a mechanism has here: an AEAD mode with a message form encrypts and
 * decrypts messages, whole or in parts; a signature or MAC mechanism signs and verifies them, in parts
 * unless it is single-part.
 */
function messageFlags(mech: Mechanism): number {
  if (messageMode(mech.type)) {
    return C.CKF_MESSAGE_ENCRYPT | C.CKF_MESSAGE_DECRYPT | C.CKF_MULTI_MESSAGE;
  }
  const flags = (mech.sign ? C.CKF_MESSAGE_SIGN : 0) | (mech.verify ? C.CKF_MESSAGE_VERIFY : 0);
  return flags !== 0 && !mech.singlePart ? flags | C.CKF_MULTI_MESSAGE : flags;
}

export function getMechanismInfo(app: AppState, slotId: number, type: number): MechanismInfo {
  app.requireSlot(slotId);
  const mech = mechanism(type, app.token.profile);
  return { ...mech.info, flags: mech.info.flags | messageFlags(mech) };
}

export function initToken(
  app: AppState,
  slotId: number,
  soPin: Uint8Array,
  label: Uint8Array,
): void {
  app.requireSlot(slotId);
  if (app.token.sessionCount > 0) throw new Pkcs11Error(C.CKR_SESSION_EXISTS);
  if (label.length !== 32)
    throw new Pkcs11Error(C.CKR_ARGUMENTS_BAD, 'the label is 32 blank-padded bytes');
  app.token.initToken(soPin, fromUtf8(label).replace(/[ \0]+$/, ''));
}

export function initPin(app: AppState, h: number, pin: Uint8Array): void {
  const s = app.requireSession(h);
  if (app.login !== 'so' || !s.readWrite) {
    throw new Pkcs11Error(C.CKR_USER_NOT_LOGGED_IN, 'C_InitPIN needs a R/W SO session');
  }
  app.token.initUserPin(pin);
}

export function setPin(app: AppState, h: number, oldPin: Uint8Array, newPin: Uint8Array): void {
  const s = app.requireSession(h);
  if (!s.readWrite) throw new Pkcs11Error(C.CKR_SESSION_READ_ONLY);
  try {
    app.token.changePin(app.login === 'so' ? 'so' : 'user', oldPin, newPin);
  } catch (e) {
    // v2.40 does not list CKR_USER_PIN_NOT_INITIALIZED for C_SetPIN: before C_InitPIN no old PIN can
    // be the user's, so the answer is CKR_PIN_INCORRECT (there is no try to spend).
    if (isPkcs11Error(e, C.CKR_USER_PIN_NOT_INITIALIZED)) {
      throw new Pkcs11Error(C.CKR_PIN_INCORRECT, 'the user PIN is not initialized (C_InitPIN)');
    }
    throw e;
  }
}
