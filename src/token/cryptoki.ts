/**
 * The engine's C API in TypeScript: one method per C_* function, camelCase, numbers for handles, raw
 * attribute bytes, `Output` for C output buffers. The pkcs11js-shaped API (api/) and the p11-kit RPC server
 * (rpc/) both drive the token through this interface; one instance is one PKCS#11 "application" (its own
 * sessions, handles and login state). Errors are thrown as Pkcs11Error; CKR_OK is a normal return.
 * Layer L5.
 * @module
 */
import type {
  AttributeAnswer,
  AttributeQuery,
  InitializeArgs,
  MechanismInfo,
  ModuleInfo,
  Output,
  RawAttribute,
  RawMechanism,
  SessionInfo,
  SlotInfo,
  TokenInfo,
} from '../pkcs11/types.js';

/** What C_GetAttributeValue returns: the CK_RV (OK, SENSITIVE, TYPE_INVALID or BUFFER_TOO_SMALL) and every answer. */
export interface AttributeValues {
  rv: number;
  answers: AttributeAnswer[];
}

export interface KeyPairHandles {
  publicKey: number;
  privateKey: number;
}

export interface Cryptoki {
  // General purpose (PKCS#11 v2.40 §5.4)
  initialize(args?: InitializeArgs): void;
  finalize(): void;
  getInfo(): ModuleInfo;

  // Slot and token management (§5.5)
  getSlotList(tokenPresent: boolean): number[];
  getSlotInfo(slotId: number): SlotInfo;
  getTokenInfo(slotId: number): TokenInfo;
  getMechanismList(slotId: number): number[];
  getMechanismInfo(slotId: number, type: number): MechanismInfo;
  /** `label` is the 32-byte blank-padded CK_UTF8CHAR array. */
  initToken(slotId: number, soPin: Uint8Array, label: Uint8Array): void;
  initPin(session: number, pin: Uint8Array): void;
  setPin(session: number, oldPin: Uint8Array, newPin: Uint8Array): void;

  // Session management (§5.6)
  openSession(slotId: number, flags: number): number;
  closeSession(session: number): void;
  closeAllSessions(slotId: number): void;
  getSessionInfo(session: number): SessionInfo;
  login(session: number, userType: number, pin: Uint8Array): void;
  logout(session: number): void;

  // Object management (§5.7)
  createObject(session: number, template: RawAttribute[]): number;
  copyObject(session: number, object: number, template: RawAttribute[]): number;
  destroyObject(session: number, object: number): void;
  getObjectSize(session: number, object: number): number;
  getAttributeValue(session: number, object: number, queries: AttributeQuery[]): AttributeValues;
  setAttributeValue(session: number, object: number, template: RawAttribute[]): void;
  findObjectsInit(session: number, template: RawAttribute[]): void;
  findObjects(session: number, maxCount: number): number[];
  findObjectsFinal(session: number): void;

  // Encryption and decryption (§5.8, §5.9)
  encryptInit(session: number, mechanism: RawMechanism, key: number): void;
  encrypt(session: number, data: Uint8Array, capacity: number | null): Output;
  encryptUpdate(session: number, part: Uint8Array, capacity: number | null): Output;
  encryptFinal(session: number, capacity: number | null): Output;
  decryptInit(session: number, mechanism: RawMechanism, key: number): void;
  decrypt(session: number, data: Uint8Array, capacity: number | null): Output;
  decryptUpdate(session: number, part: Uint8Array, capacity: number | null): Output;
  decryptFinal(session: number, capacity: number | null): Output;

  // Message digesting (§5.10)
  digestInit(session: number, mechanism: RawMechanism): void;
  digest(session: number, data: Uint8Array, capacity: number | null): Output;
  digestUpdate(session: number, part: Uint8Array): void;
  digestKey(session: number, key: number): void;
  digestFinal(session: number, capacity: number | null): Output;

  // Signing and MACing (§5.11), verification (§5.12)
  signInit(session: number, mechanism: RawMechanism, key: number): void;
  sign(session: number, data: Uint8Array, capacity: number | null): Output;
  signUpdate(session: number, part: Uint8Array): void;
  signFinal(session: number, capacity: number | null): Output;
  verifyInit(session: number, mechanism: RawMechanism, key: number): void;
  /** Throws CKR_SIGNATURE_INVALID / CKR_SIGNATURE_LEN_RANGE when the signature does not verify. */
  verify(session: number, data: Uint8Array, signature: Uint8Array): void;
  verifyUpdate(session: number, part: Uint8Array): void;
  verifyFinal(session: number, signature: Uint8Array): void;

  // Key management (§5.14)
  generateKey(session: number, mechanism: RawMechanism, template: RawAttribute[]): number;
  generateKeyPair(
    session: number,
    mechanism: RawMechanism,
    publicTemplate: RawAttribute[],
    privateTemplate: RawAttribute[],
  ): KeyPairHandles;
  wrapKey(
    session: number,
    mechanism: RawMechanism,
    wrappingKey: number,
    key: number,
    capacity: number | null,
  ): Output;
  unwrapKey(
    session: number,
    mechanism: RawMechanism,
    unwrappingKey: number,
    wrapped: Uint8Array,
    template: RawAttribute[],
  ): number;
  deriveKey(
    session: number,
    mechanism: RawMechanism,
    baseKey: number,
    template: RawAttribute[],
  ): number;

  // Random number generation (§5.15)
  seedRandom(session: number, seed: Uint8Array): void;
  generateRandom(session: number, length: number): Uint8Array;
}

/**
 * Asynchronous forms of the heavy operations: same checks and state machine, crypto off the event loop
 * where the backend can do that (key generation, KDFs, RSA). Results and errors as the sync forms.
 */
export interface CryptokiAsync {
  signAsync(session: number, data: Uint8Array, capacity: number | null): Promise<Output>;
  verifyAsync(session: number, data: Uint8Array, signature: Uint8Array): Promise<void>;
  generateKeyPairAsync(
    session: number,
    mechanism: RawMechanism,
    publicTemplate: RawAttribute[],
    privateTemplate: RawAttribute[],
  ): Promise<KeyPairHandles>;
  loginAsync(session: number, userType: number, pin: Uint8Array): Promise<void>;
}
