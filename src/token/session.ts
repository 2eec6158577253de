/**
 * A session: its flags, the state it reports, and its active operations — one per kind (find, digest,
 * sign, verify, encrypt, decrypt, and PKCS#11 3.0's message-based encrypt, decrypt, sign and verify), so
 * a find may run while a sign is pending, and a message-based encryption beside a C_Encrypt. Layer L5.
 * @module
 */
import type { Collected } from '../mechanisms/common.js';
import type { MessageCall, MessageMode } from '../mechanisms/message-params.js';
import type {
  CipherOperation,
  DigestOperation,
  SignOperation,
  VerifyOperation,
} from '../mechanisms/types.js';
import type { TokenObject } from '../objects/object.js';
import * as C from '../pkcs11/constants.js';

export type LoginState = 'public' | 'user' | 'so';

export const MESSAGE_KINDS = [
  'messageEncrypt',
  'messageDecrypt',
  'messageSign',
  'messageVerify',
] as const;
export type MessageKind = (typeof MESSAGE_KINDS)[number];

export interface FindState {
  results: number[];
  next: number;
}

/** What every keyed operation remembers besides its crypto state. */
export interface KeyedState {
  /** The key's object, so logout and destroy can end operations that use it. */
  key: TokenObject;
  singlePart: boolean;
  /** True once C_*Update was called (single-part calls are then refused). */
  multi: boolean;
  /** CKA_ALWAYS_AUTHENTICATE: a C_Login(CKU_CONTEXT_SPECIFIC) is still owed. */
  needsContextLogin: boolean;
}

export interface SignState extends KeyedState {
  op: SignOperation;
}

export interface VerifyState extends KeyedState {
  op: VerifyOperation;
}

export interface CipherState extends KeyedState {
  op: CipherOperation;
  /**
   * Output computed by a call whose buffer was too small, with the input it came from: the caller repeats
   * the call with a bigger buffer and gets it without the cipher advancing twice.
   */
  pending?: { call: 'single' | 'update' | 'final'; input: Uint8Array; output: Uint8Array };
}

/**
 * A message-based operation (PKCS#11 3.0 §5.13–5.16): what C_Message*Init bound for every message, and
 * the multi-part message in progress (C_*MessageBegin until the part flagged the last).
 */
export interface MessageState<Bound, Part> {
  key: TokenObject;
  bound: Bound;
  /** CKA_ALWAYS_AUTHENTICATE: a C_Login(CKU_CONTEXT_SPECIFIC) is owed before each message. */
  alwaysAuthenticate: boolean;
  needsContextLogin: boolean;
  current: Part | undefined;
  /** Sign and verify: the mechanism takes its data in one call only (no message in parts). */
  singlePart?: boolean;
}

/** What C_MessageEncryptInit / C_MessageDecryptInit bound: the mode, and one message as a C_Encrypt. */
export interface MessageCipher {
  mode: MessageMode;
  run(m: MessageCall['mechanism'], data: Uint8Array): Uint8Array;
}

/** A message in parts: its parameter and AAD, the call (encryption: made at Begin), the input held. */
export interface CipherMessage {
  aad: Uint8Array;
  call: MessageCall | undefined;
  input: Collected;
}

export interface DigestState {
  op: DigestOperation;
  multi: boolean;
}

export class Session {
  readonly handle: number;
  readonly slotId: number;
  readonly flags: number;
  find: FindState | undefined;
  digest: DigestState | undefined;
  sign: SignState | undefined;
  verify: VerifyState | undefined;
  encrypt: CipherState | undefined;
  decrypt: CipherState | undefined;
  messageEncrypt: MessageState<MessageCipher, CipherMessage> | undefined;
  messageDecrypt: MessageState<MessageCipher, CipherMessage> | undefined;
  messageSign: MessageState<() => SignOperation, SignOperation> | undefined;
  messageVerify: MessageState<() => VerifyOperation, VerifyOperation> | undefined;

  constructor(handle: number, slotId: number, flags: number) {
    this.handle = handle;
    this.slotId = slotId;
    this.flags = flags;
  }

  get readWrite(): boolean {
    return (this.flags & C.CKF_RW_SESSION) !== 0;
  }

  state(login: LoginState): number {
    if (login === 'so') return C.CKS_RW_SO_FUNCTIONS;
    if (login === 'user') return this.readWrite ? C.CKS_RW_USER_FUNCTIONS : C.CKS_RO_USER_FUNCTIONS;
    return this.readWrite ? C.CKS_RW_PUBLIC_SESSION : C.CKS_RO_PUBLIC_SESSION;
  }

  /** Ends every operation that uses `predicate`-matching keys (logout, key destroyed). */
  endKeyedOperations(predicate: (key: TokenObject) => boolean): void {
    if (this.sign && predicate(this.sign.key)) this.sign = undefined;
    if (this.verify && predicate(this.verify.key)) this.verify = undefined;
    if (this.encrypt && predicate(this.encrypt.key)) this.encrypt = undefined;
    if (this.decrypt && predicate(this.decrypt.key)) this.decrypt = undefined;
    for (const kind of MESSAGE_KINDS) {
      const st = this[kind];
      if (st && predicate(st.key)) this[kind] = undefined;
    }
  }

  endAll(): void {
    this.find = undefined;
    this.digest = undefined;
    this.sign = undefined;
    this.verify = undefined;
    this.encrypt = undefined;
    this.decrypt = undefined;
    for (const kind of MESSAGE_KINDS) this[kind] = undefined;
  }
}
