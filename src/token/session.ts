/**
 * A session: its flags, the state it reports, and its active operations — one per kind (find, digest,
 * sign, verify), so a find may run while a sign is pending. Layer L5.
 * @module
 */
import type {
  CipherOperation,
  DigestOperation,
  SignOperation,
  VerifyOperation,
} from '../mechanisms/types.js';
import type { TokenObject } from '../objects/object.js';
import * as C from '../pkcs11/constants.js';

export type LoginState = 'public' | 'user' | 'so';

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
  }

  endAll(): void {
    this.find = undefined;
    this.digest = undefined;
    this.sign = undefined;
    this.verify = undefined;
    this.encrypt = undefined;
    this.decrypt = undefined;
  }
}
