/**
 * The state of one PKCS#11 application (a pkcs11js instance, or one RPC connection) and the guards every
 * call shares: module initialized, session handle valid, object handle valid and visible, and the
 * read/write access matrix of v2.40 §5.6 (SoftHSMv2 access.cpp). One guard per precondition, no copied
 * preambles. Layer L5.
 * @module
 */
import { Pkcs11Error } from '../errors.js';
import type { TokenObject } from '../objects/object.js';
import * as C from '../pkcs11/constants.js';
import type { LoginState, Session } from './session.js';
import type { Token } from './token.js';

export const SLOT_ID = 1;

export class AppState {
  readonly token: Token;
  initialized = false;
  login: LoginState = 'public';
  readonly sessions = new Map<number, Session>();
  nextSession = 1;
  /** Session objects of this application, with the session that created each. */
  readonly sessionObjects = new Map<TokenObject, number>();
  readonly #handles = new Map<number, TokenObject>();
  readonly #handleOf = new Map<TokenObject, number>();
  #nextHandle = 1;

  constructor(token: Token) {
    this.token = token;
  }

  requireInitialized(): void {
    if (!this.initialized) throw new Pkcs11Error(C.CKR_CRYPTOKI_NOT_INITIALIZED);
  }

  requireSlot(slotId: number): void {
    this.requireInitialized();
    if (slotId !== SLOT_ID)
      throw new Pkcs11Error(C.CKR_SLOT_ID_INVALID, `the only slot is ${SLOT_ID}`);
  }

  requireSession(handle: number): Session {
    this.requireInitialized();
    const s = this.sessions.get(handle);
    if (!s) throw new Pkcs11Error(C.CKR_SESSION_HANDLE_INVALID);
    return s;
  }

  /** Private objects exist only for a session in a user state (v2.40 §5.6). */
  canSee(obj: TokenObject): boolean {
    return !obj.isPrivate || this.login === 'user';
  }

  #alive(obj: TokenObject): boolean {
    return obj.storageId !== undefined ? this.token.hasObject(obj) : this.sessionObjects.has(obj);
  }

  /** Whether `obj` exists for this application and it may see it (no handle needed). */
  usable(obj: TokenObject): boolean {
    return this.#alive(obj) && this.canSee(obj);
  }

  /** The object behind a handle, or CKR_OBJECT_HANDLE_INVALID (unknown, destroyed or invisible). */
  requireObject(handle: number, code = C.CKR_OBJECT_HANDLE_INVALID): TokenObject {
    const obj = this.#handles.get(handle);
    if (!obj || !this.#alive(obj) || !this.canSee(obj)) {
      if (obj && !this.#alive(obj)) this.forget(obj);
      throw new Pkcs11Error(code);
    }
    return obj;
  }

  /** The handle of an object, allocated on first sight and stable for the application's life. */
  handleOf(obj: TokenObject): number {
    let h = this.#handleOf.get(obj);
    if (h === undefined) {
      h = this.#nextHandle++;
      this.#handles.set(h, obj);
      this.#handleOf.set(obj, h);
    }
    return h;
  }

  forget(obj: TokenObject): void {
    const h = this.#handleOf.get(obj);
    if (h !== undefined) this.#handles.delete(h);
    this.#handleOf.delete(obj);
  }

  /** Drops handles to private objects: after C_Logout they stay invalid even after a new login (S3). */
  forgetPrivate(): void {
    for (const obj of [...this.#handleOf.keys()]) if (obj.isPrivate) this.forget(obj);
  }

  forgetAll(): void {
    this.#handles.clear();
    this.#handleOf.clear();
  }

  /**
   * The write rules of the access matrix: token objects need a R/W session, private objects a user
   * login. `isToken`/`isPrivate` describe the object being written (or created).
   */
  checkWrite(session: Session, isToken: boolean, isPrivate: boolean): void {
    // The matrix answers CKR_SESSION_READ_ONLY for token objects in R/O sessions before asking about login.
    if (isToken && !session.readWrite) {
      throw new Pkcs11Error(C.CKR_SESSION_READ_ONLY, 'token objects need a R/W session');
    }
    if (isPrivate && this.login !== 'user') {
      throw new Pkcs11Error(C.CKR_USER_NOT_LOGGED_IN, 'private objects need a user login');
    }
  }
}
