/**
 * The engine's C API, as one table: every C function (camelCase, numbers for handles, raw attribute
 * bytes, `Output` for C output buffers) mapped to the function that implements it on an application's
 * state. Application (application.ts) exposes these as its methods; the Cryptoki types the
 * pkcs11js-shaped API (api/) and the p11-kit RPC server (rpc/) drive are derived from it. Errors are
 * thrown as Pkcs11Error; CKR_OK is a normal return. Layer L5.
 * @module
 */
import type { AppState } from './app-state.js';
import * as cipher from './cipher-calls.js';
import * as crypto from './crypto-calls.js';
import * as keygen from './keygen-calls.js';
import * as message from './message-calls.js';
import * as messageSign from './message-sign-calls.js';
import * as objects from './object-calls.js';
import * as sessions from './session-calls.js';
import * as slot from './slot-calls.js';
import * as wrap from './wrap-calls.js';

export type { AttributeValues, KeyPairHandles } from '../pkcs11/types.js';

/** Every C function the token implements, in the order of v2.40 §5.4–5.15 (3.0's beside their kin). */
export const CALLS = {
  // General purpose (§5.4), slot and token management (§5.5)
  initialize: slot.initialize,
  finalize: slot.finalize,
  getInfo: slot.getInfo,
  getInterfaceList: slot.getInterfaceList,
  getInterface: slot.getInterface,
  getSlotList: slot.getSlotList,
  getSlotInfo: slot.getSlotInfo,
  getTokenInfo: slot.getTokenInfo,
  getMechanismList: slot.getMechanismList,
  getMechanismInfo: slot.getMechanismInfo,
  initToken: slot.initToken,
  initPin: slot.initPin,
  setPin: slot.setPin,
  // Session management (§5.6)
  openSession: sessions.openSession,
  closeSession: sessions.closeSession,
  closeAllSessions: sessions.closeAllSessions,
  getSessionInfo: sessions.getSessionInfo,
  login: sessions.login,
  loginAsync: sessions.loginAsync,
  loginUser: sessions.loginUser,
  loginUserAsync: sessions.loginUserAsync,
  logout: sessions.logout,
  sessionCancel: sessions.sessionCancel,
  // Object management (§5.7)
  createObject: objects.createObject,
  copyObject: objects.copyObject,
  destroyObject: objects.destroyObject,
  getObjectSize: objects.getObjectSize,
  getAttributeValue: objects.getAttributeValue,
  setAttributeValue: objects.setAttributeValue,
  findObjectsInit: objects.findObjectsInit,
  findObjects: objects.findObjects,
  findObjectsFinal: objects.findObjectsFinal,
  // Encryption and decryption (§5.8, §5.9)
  encryptInit: cipher.encryptInit,
  encrypt: cipher.encrypt,
  encryptUpdate: cipher.encryptUpdate,
  encryptFinal: cipher.encryptFinal,
  decryptInit: cipher.decryptInit,
  decrypt: cipher.decrypt,
  decryptUpdate: cipher.decryptUpdate,
  decryptFinal: cipher.decryptFinal,
  // Message digesting (§5.10), signing and MACing (§5.11), verification (§5.12)
  digestInit: crypto.digestInit,
  digest: crypto.digest,
  digestUpdate: crypto.digestUpdate,
  digestKey: crypto.digestKey,
  digestFinal: crypto.digestFinal,
  signInit: crypto.signInit,
  sign: crypto.sign,
  signAsync: crypto.signAsync,
  signUpdate: crypto.signUpdate,
  signFinal: crypto.signFinal,
  verifyInit: crypto.verifyInit,
  /** Throws CKR_SIGNATURE_INVALID / CKR_SIGNATURE_LEN_RANGE when the signature does not verify. */
  verify: crypto.verify,
  verifyAsync: crypto.verifyAsync,
  verifyUpdate: crypto.verifyUpdate,
  verifyFinal: crypto.verifyFinal,
  // Message-based encryption and decryption (3.0 §5.13–5.14), signing and verification (§5.15–5.16)
  messageEncryptInit: message.messageEncryptInit,
  encryptMessage: message.encryptMessage,
  encryptMessageBegin: message.encryptMessageBegin,
  encryptMessageNext: message.encryptMessageNext,
  messageEncryptFinal: message.messageEncryptFinal,
  messageDecryptInit: message.messageDecryptInit,
  decryptMessage: message.decryptMessage,
  decryptMessageBegin: message.decryptMessageBegin,
  decryptMessageNext: message.decryptMessageNext,
  messageDecryptFinal: message.messageDecryptFinal,
  messageSignInit: messageSign.messageSignInit,
  signMessage: messageSign.signMessage,
  signMessageBegin: messageSign.signMessageBegin,
  signMessageNext: messageSign.signMessageNext,
  messageSignFinal: messageSign.messageSignFinal,
  messageVerifyInit: messageSign.messageVerifyInit,
  verifyMessage: messageSign.verifyMessage,
  verifyMessageBegin: messageSign.verifyMessageBegin,
  verifyMessageNext: messageSign.verifyMessageNext,
  messageVerifyFinal: messageSign.messageVerifyFinal,
  // Key management (§5.14)
  generateKey: keygen.generateKey,
  generateKeyPair: keygen.generateKeyPair,
  generateKeyPairAsync: keygen.generateKeyPairAsync,
  wrapKey: wrap.wrapKey,
  unwrapKey: wrap.unwrapKey,
  deriveKey: keygen.deriveKey,
  // Random number generation (§5.15)
  seedRandom: crypto.seedRandom,
  generateRandom: crypto.generateRandom,
} as const;

/** A call without its application state: the method an engine exposes. */
type Bound<F> = F extends (app: AppState, ...args: infer A) => infer R ? (...args: A) => R : never;

/** The engine's methods: each C function of CALLS without the application state. */
export type Engine = { readonly [K in keyof typeof CALLS]: Bound<(typeof CALLS)[K]> };

/**
 * The asynchronous forms of the heavy operations: same checks and state machine, crypto off the event
 * loop where the backend can do that (key generation, KDFs, RSA). Results and errors as the sync forms.
 */
export type CryptokiAsync = Pick<
  Engine,
  'signAsync' | 'verifyAsync' | 'generateKeyPairAsync' | 'loginAsync' | 'loginUserAsync'
>;

/** The synchronous C API one PKCS#11 application offers. */
export type Cryptoki = Omit<Engine, keyof CryptokiAsync>;

/**
 * The calls PKCS#11 3.0 added (§5.4 interfaces, C_LoginUser, C_SessionCancel, the message-based API).
 * This engine has them all; a 2.40 module driven through the same interface (a pkcs11js-loaded .so
 * behind the RPC server in tests) does not, and the RPC server answers CKR_FUNCTION_NOT_SUPPORTED.
 */
export type V3Call = Extract<
  keyof Engine,
  | 'getInterfaceList'
  | 'getInterface'
  | 'loginUser'
  | 'loginUserAsync'
  | 'sessionCancel'
  | `message${string}`
  | `${string}Message${string}`
>;

/** The 2.40 C API, with the 3.0 calls where the application has them. */
export type Cryptoki240 = Omit<Cryptoki, V3Call> & Partial<Pick<Engine, V3Call>>;
