/**
 * PKCS#11 structures as plain data, with the field names pkcs11js uses (ModuleInfo, TokenInfo, …), and the
 * raw forms of templates and mechanisms that the engine, the API and the RPC server share.
 * Strings are returned blank-padded to their CK_* widths, as C callers and graphene expect. Layer L0.
 * @module
 */

export interface Version {
  major: number;
  minor: number;
}

/** CK_INFO */
export interface ModuleInfo {
  cryptokiVersion: Version;
  manufacturerID: string;
  flags: number;
  libraryDescription: string;
  libraryVersion: Version;
}

/** CK_INTERFACE (3.0 §3.6) without its function-list pointer: every interface's functions are one API here. */
export interface InterfaceInfo {
  interfaceName: string;
  version: Version;
  flags: number;
}

/** CK_SLOT_INFO */
export interface SlotInfo {
  slotDescription: string;
  manufacturerID: string;
  flags: number;
  hardwareVersion: Version;
  firmwareVersion: Version;
}

/** CK_TOKEN_INFO */
export interface TokenInfo {
  label: string;
  manufacturerID: string;
  model: string;
  serialNumber: string;
  flags: number;
  maxSessionCount: number;
  sessionCount: number;
  maxRwSessionCount: number;
  rwSessionCount: number;
  maxPinLen: number;
  minPinLen: number;
  hardwareVersion: Version;
  firmwareVersion: Version;
  utcTime: string;
  totalPublicMemory: number;
  freePublicMemory: number;
  totalPrivateMemory: number;
  freePrivateMemory: number;
}

/** CK_MECHANISM_INFO */
export interface MechanismInfo {
  minKeySize: number;
  maxKeySize: number;
  flags: number;
}

/** CK_SESSION_INFO (slotID as a number; the API layer turns it into a handle Buffer). */
export interface SessionInfo {
  slotID: number;
  state: number;
  flags: number;
  deviceError: number;
}

/**
 * One CK_ATTRIBUTE as C sees it: the type and the value bytes (CK_ULONG as 8 bytes little-endian, CK_BBOOL as
 * one byte, strings as UTF-8 without NUL, CK_DATE as 8 ASCII digits, nested templates as RawAttribute[]).
 */
export interface RawAttribute {
  type: number;
  value: Uint8Array | RawAttribute[];
}

/** A C_GetAttributeValue request for one attribute: `capacity` null asks for the length only. */
export interface AttributeQuery {
  type: number;
  capacity: number | null;
}

/** The answer for one attribute: `length` -1 is CK_UNAVAILABLE_INFORMATION. */
export interface AttributeAnswer {
  type: number;
  length: number;
  value?: Uint8Array | RawAttribute[];
}

/** What C_GetAttributeValue returns: the CK_RV (OK, SENSITIVE, TYPE_INVALID or BUFFER_TOO_SMALL) and every answer. */
export interface AttributeValues {
  rv: number;
  answers: AttributeAnswer[];
}

export interface KeyPairHandles {
  publicKey: number;
  privateKey: number;
}

/** Structured mechanism parameters, in pkcs11js's shapes (`type` is a CK_PARAMS_* tag). */
export interface RsaPssParams {
  type: number;
  hashAlg: number;
  mgf: number;
  saltLen: number;
}
export interface RsaOaepParams {
  type: number;
  hashAlg: number;
  mgf: number;
  source: number;
  sourceData?: Uint8Array;
}
export interface GcmParams {
  type: number;
  iv: Uint8Array;
  ivBits?: number;
  aad?: Uint8Array;
  tagBits?: number;
}
export interface CcmParams {
  type: number;
  dataLen: number;
  nonce?: Uint8Array;
  aad?: Uint8Array;
  macLen?: number;
}
export interface Ecdh1DeriveParams {
  type: number;
  kdf: number;
  sharedData?: Uint8Array;
  publicData: Uint8Array;
}
export interface CbcEncryptDataParams {
  type: number;
  iv: Uint8Array;
  data?: Uint8Array;
}

/**
 * PKCS#11 3.0 structures pkcs11js has no shape for, in the same style: the CK_ field names without their
 * Hungarian prefixes, byte strings as Buffers. Their `type` tags are corepkcs11's (pkcs11/params.ts); the
 * token reads the fields.
 */
/** CK_EDDSA_PARAMS (3.0 mechanisms §2.3.9). */
export interface EddsaParams {
  type: number;
  phFlag: boolean;
  contextData?: Uint8Array;
}

/** CK_HKDF_PARAMS (3.0 mechanisms §2.43.2); `saltKey` is an object handle. */
export interface HkdfParams {
  type: number;
  extract: boolean;
  expand: boolean;
  prfHashMechanism: number;
  saltType: number;
  salt?: Uint8Array;
  saltKey?: number;
  info?: Uint8Array;
}
/** CK_PKCS5_PBKD2_PARAMS2 (3.0 mechanisms §2.40.6): the password as bytes. */
export interface Pbkdf2Params {
  type: number;
  saltSource: number;
  saltSourceData?: Uint8Array;
  iterations: number;
  prf: number;
  prfData?: Uint8Array;
  password: Uint8Array;
}
/** CK_SALSA20_CHACHA20_POLY1305_PARAMS (3.0 mechanisms §2.46.2). */
export interface ChaCha20Poly1305Params {
  type: number;
  nonce: Uint8Array;
  aad?: Uint8Array;
}

export type StructuredParams =
  | EddsaParams
  | HkdfParams
  | Pbkdf2Params
  | ChaCha20Poly1305Params
  | RsaPssParams
  | RsaOaepParams
  | GcmParams
  | CcmParams
  | Ecdh1DeriveParams
  | CbcEncryptDataParams;

/**
 * CK_MECHANISM: the parameter is absent, raw bytes (an IV, say), a CK_ULONG (e.g. a MAC length), or one of
 * the structured forms above.
 */
export interface RawMechanism {
  mechanism: number;
  parameter?: Uint8Array | number | StructuredParams;
}

/**
 * The result of a call with a C output buffer. `capacity` null (a NULL pointer in C) asks for the length:
 * `bytes` is then null and the operation stays active. Too small a capacity throws CKR_BUFFER_TOO_SMALL
 * (with requiredLength) and also leaves the operation active.
 */
export interface Output {
  length: number;
  bytes: Uint8Array | null;
}

/** C_InitToken/C_Initialize arguments the engine validates. */
export interface InitializeArgs {
  flags?: number;
  /** True when the caller supplied its own mutex callbacks (CreateMutex … UnlockMutex). */
  hasMutexCallbacks?: boolean;
  /** True when only some of the four callbacks were supplied (CKR_ARGUMENTS_BAD). */
  partialMutexCallbacks?: boolean;
  /** pReserved must be NULL. */
  reservedIsNull?: boolean;
}
