/**
 * One PKCS#11 application over a token: the Cryptoki implementation. General-purpose, slot, token,
 * session and login functions (v2.40 §5.4–5.6) live here; object, crypto and key-generation calls are
 * delegated to their modules. Layer L5.
 * @module
 */
import { Pkcs11Error } from '../errors.js';
import { mechanism, mechanismTypes } from '../mechanisms/registry.js';
import type { TokenObject } from '../objects/object.js';
import * as C from '../pkcs11/constants.js';
import type {
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
import { blankPadded, fromUtf8 } from '../util/bytes.js';
import { AppState, SLOT_ID } from './app-state.js';
import { cipherCalls, cipherInit } from './cipher-calls.js';
import * as crypto from './crypto-calls.js';
import type { AttributeValues, Cryptoki, CryptokiAsync, KeyPairHandles } from './cryptoki.js';
import * as keygen from './keygen-calls.js';
import * as objects from './object-calls.js';
import { MAX_PIN_LENGTH, MIN_PIN_LENGTH, pinFlags } from './pins.js';
import { Session } from './session.js';
import type { Token } from './token.js';
import * as wrapping from './wrap-calls.js';

export const LIBRARY_VERSION = { major: 0, minor: 1 };
const MANUFACTURER = 'corepkcs11';

function utcTime(): string {
  return new Date().toISOString().replace(/[-:T]/g, '').slice(0, 14).concat('00');
}

export class Application implements Cryptoki, CryptokiAsync {
  readonly #app: AppState;

  constructor(token: Token) {
    this.#app = new AppState(token);
  }

  get token(): Token {
    return this.#app.token;
  }

  initialize(args: InitializeArgs = {}): void {
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
    if (this.#app.initialized) throw new Pkcs11Error(C.CKR_CRYPTOKI_ALREADY_INITIALIZED);
    this.#app.token.refresh();
    this.#app.initialized = true;
  }

  finalize(): void {
    this.#app.requireInitialized();
    for (const h of [...this.#app.sessions.keys()]) this.closeSession(h);
    this.#app.login = 'public';
    this.#app.forgetAll();
    this.#app.initialized = false;
  }

  getInfo(): ModuleInfo {
    this.#app.requireInitialized();
    return {
      cryptokiVersion: { major: 2, minor: 40 },
      manufacturerID: blankPadded(MANUFACTURER, 32),
      flags: 0,
      libraryDescription: blankPadded('corepkcs11 software token', 32),
      libraryVersion: { ...LIBRARY_VERSION },
    };
  }

  getSlotList(_tokenPresent: boolean): number[] {
    this.#app.requireInitialized();
    return [SLOT_ID];
  }

  getSlotInfo(slotId: number): SlotInfo {
    this.#app.requireSlot(slotId);
    return {
      slotDescription: blankPadded('corepkcs11 software slot', 64),
      manufacturerID: blankPadded(MANUFACTURER, 32),
      flags: C.CKF_TOKEN_PRESENT,
      hardwareVersion: { ...LIBRARY_VERSION },
      firmwareVersion: { ...LIBRARY_VERSION },
    };
  }

  getTokenInfo(slotId: number): TokenInfo {
    this.#app.requireSlot(slotId);
    const t = this.#app.token;
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
    flags |= pinFlags(user, {
      low: C.CKF_USER_PIN_COUNT_LOW,
      final: C.CKF_USER_PIN_FINAL_TRY,
      locked: C.CKF_USER_PIN_LOCKED,
      change: C.CKF_USER_PIN_TO_BE_CHANGED,
    });
    flags |= pinFlags(t.pinRecord('so'), {
      low: C.CKF_SO_PIN_COUNT_LOW,
      final: C.CKF_SO_PIN_FINAL_TRY,
      locked: C.CKF_SO_PIN_LOCKED,
      change: C.CKF_SO_PIN_TO_BE_CHANGED,
    });
    return {
      label: blankPadded(t.label, 32),
      manufacturerID: blankPadded(MANUFACTURER, 32),
      model: blankPadded('corePKCS11', 16),
      serialNumber: blankPadded(t.serial, 16),
      flags,
      // v2.40: the counts and limits are this application's (another application's sessions are its own)
      maxSessionCount: t.options.maxSessions,
      sessionCount: this.#app.sessions.size,
      maxRwSessionCount: t.options.maxSessions,
      rwSessionCount: [...this.#app.sessions.values()].filter((x) => x.readWrite).length,
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

  getMechanismList(slotId: number): number[] {
    this.#app.requireSlot(slotId);
    return mechanismTypes(this.#app.token.profile);
  }

  getMechanismInfo(slotId: number, type: number): MechanismInfo {
    this.#app.requireSlot(slotId);
    return { ...mechanism(type, this.#app.token.profile).info };
  }

  initToken(slotId: number, soPin: Uint8Array, label: Uint8Array): void {
    this.#app.requireSlot(slotId);
    if (this.#app.token.sessionCount > 0) throw new Pkcs11Error(C.CKR_SESSION_EXISTS);
    if (label.length !== 32)
      throw new Pkcs11Error(C.CKR_ARGUMENTS_BAD, 'the label is 32 blank-padded bytes');
    this.#app.token.initToken(soPin, fromUtf8(label).replace(/[ \0]+$/, ''));
  }

  initPin(h: number, pin: Uint8Array): void {
    const s = this.#app.requireSession(h);
    if (this.#app.login !== 'so' || !s.readWrite) {
      throw new Pkcs11Error(C.CKR_USER_NOT_LOGGED_IN, 'C_InitPIN needs a R/W SO session');
    }
    this.#app.token.initUserPin(pin);
  }

  setPin(h: number, oldPin: Uint8Array, newPin: Uint8Array): void {
    const s = this.#app.requireSession(h);
    if (!s.readWrite) throw new Pkcs11Error(C.CKR_SESSION_READ_ONLY);
    this.#app.token.changePin(this.#app.login === 'so' ? 'so' : 'user', oldPin, newPin);
  }

  openSession(slotId: number, flags: number): number {
    this.#app.requireSlot(slotId);
    if (!(flags & C.CKF_SERIAL_SESSION))
      throw new Pkcs11Error(C.CKR_SESSION_PARALLEL_NOT_SUPPORTED);
    const rw = (flags & C.CKF_RW_SESSION) !== 0;
    if (!rw && this.#app.login === 'so') throw new Pkcs11Error(C.CKR_SESSION_READ_WRITE_SO_EXISTS);
    const t = this.#app.token;
    // Per application, so that one RPC client cannot take every session from the others.
    if (this.#app.sessions.size >= t.options.maxSessions) {
      throw new Pkcs11Error(C.CKR_SESSION_COUNT, `at most ${t.options.maxSessions} sessions`);
    }
    const s = new Session(
      this.#app.nextSession++,
      slotId,
      flags & (C.CKF_RW_SESSION | C.CKF_SERIAL_SESSION),
    );
    this.#app.sessions.set(s.handle, s);
    t.sessionCount++;
    return s.handle;
  }

  closeSession(h: number): void {
    const s = this.#app.requireSession(h);
    s.endAll();
    this.#app.sessions.delete(h);
    const t = this.#app.token;
    t.sessionCount--;
    const gone = new Set<TokenObject>();
    for (const [obj, owner] of this.#app.sessionObjects) {
      if (owner === h) {
        this.#app.sessionObjects.delete(obj);
        this.#app.forget(obj);
        gone.add(obj);
      }
    }
    // Its session objects are destroyed: other sessions' operations on them end, as C_DestroyObject's do.
    if (gone.size > 0)
      for (const x of this.#app.sessions.values()) x.endKeyedOperations((k) => gone.has(k));
    // Closing the last session logs the application out (v2.40 §5.6).
    if (this.#app.sessions.size === 0 && this.#app.login !== 'public') this.#logoutEffects();
  }

  closeAllSessions(slotId: number): void {
    this.#app.requireSlot(slotId);
    for (const h of [...this.#app.sessions.keys()]) this.closeSession(h);
  }

  getSessionInfo(h: number): SessionInfo {
    const s = this.#app.requireSession(h);
    return { slotID: s.slotId, state: s.state(this.#app.login), flags: s.flags, deviceError: 0 };
  }

  #checkLogin(h: number, userType: number): 'so' | 'user' | 'context' {
    const s = this.#app.requireSession(h);
    if (userType === C.CKU_CONTEXT_SPECIFIC) {
      // Only a user's operation on a CKA_ALWAYS_AUTHENTICATE key owes a context login; without a user
      // login there is none (and v2.40 lists no CKR_USER_NOT_LOGGED_IN for C_Login).
      if (
        this.#app.login !== 'user' ||
        (!s.sign?.needsContextLogin && !s.decrypt?.needsContextLogin)
      ) {
        throw new Pkcs11Error(C.CKR_OPERATION_NOT_INITIALIZED);
      }
      return 'context';
    }
    if (userType !== C.CKU_SO && userType !== C.CKU_USER)
      throw new Pkcs11Error(C.CKR_USER_TYPE_INVALID);
    const who = userType === C.CKU_SO ? 'so' : 'user';
    if (this.#app.login === who) throw new Pkcs11Error(C.CKR_USER_ALREADY_LOGGED_IN);
    if (this.#app.login !== 'public') throw new Pkcs11Error(C.CKR_USER_ANOTHER_ALREADY_LOGGED_IN);
    if (who === 'so' && [...this.#app.sessions.values()].some((x) => !x.readWrite)) {
      throw new Pkcs11Error(C.CKR_SESSION_READ_ONLY_EXISTS);
    }
    return who;
  }

  #loggedIn(h: number, who: 'so' | 'user' | 'context'): void {
    if (who === 'context') {
      const s = this.#app.requireSession(h);
      for (const st of [s.sign, s.decrypt]) if (st) st.needsContextLogin = false;
    } else {
      this.#app.login = who;
    }
  }

  login(h: number, userType: number, pin: Uint8Array): void {
    const who = this.#checkLogin(h, userType);
    this.#app.token.verifyPin(who === 'so' ? 'so' : 'user', pin);
    this.#loggedIn(h, who);
  }

  async loginAsync(h: number, userType: number, pin: Uint8Array): Promise<void> {
    const who = this.#checkLogin(h, userType);
    await this.#app.token.verifyPinAsync(who === 'so' ? 'so' : 'user', pin);
    // Recheck: another call may have logged in (or closed the session) while the KDF ran.
    this.#checkLogin(h, userType);
    this.#loggedIn(h, who);
  }

  /** Logout effects (S3): operations on private keys end, private handles and session objects go. */
  #logoutEffects(): void {
    for (const s of this.#app.sessions.values()) {
      s.endKeyedOperations((k) => k.isPrivate);
      s.find = undefined;
    }
    for (const obj of [...this.#app.sessionObjects.keys()]) {
      if (obj.isPrivate) this.#app.sessionObjects.delete(obj);
    }
    this.#app.forgetPrivate();
    this.#app.login = 'public';
  }

  logout(h: number): void {
    this.#app.requireSession(h);
    if (this.#app.login === 'public') throw new Pkcs11Error(C.CKR_USER_NOT_LOGGED_IN);
    this.#logoutEffects();
  }

  createObject = (h: number, t: RawAttribute[]): number => objects.createObject(this.#app, h, t);
  copyObject = (h: number, o: number, t: RawAttribute[]): number =>
    objects.copyObject(this.#app, h, o, t);
  destroyObject = (h: number, o: number): void => objects.destroyObject(this.#app, h, o);
  getObjectSize = (h: number, o: number): number => objects.getObjectSize(this.#app, h, o);
  getAttributeValue = (
    h: number,
    o: number,
    q: Parameters<Cryptoki['getAttributeValue']>[2],
  ): AttributeValues => objects.getAttributeValue(this.#app, h, o, q);
  setAttributeValue = (h: number, o: number, t: RawAttribute[]): void =>
    objects.setAttributeValue(this.#app, h, o, t);
  findObjectsInit = (h: number, t: RawAttribute[]): void =>
    objects.findObjectsInit(this.#app, h, t);
  findObjects = (h: number, max: number): number[] => objects.findObjects(this.#app, h, max);
  findObjectsFinal = (h: number): void => objects.findObjectsFinal(this.#app, h);

  encryptInit = (h: number, m: RawMechanism, k: number): void =>
    cipherInit(this.#app, 'encrypt', h, m, k);
  encrypt = (h: number, d: Uint8Array, c: number | null): Output =>
    cipherCalls.single(this.#app, 'encrypt', h, d, c);
  encryptUpdate = (h: number, d: Uint8Array, c: number | null): Output =>
    cipherCalls.update(this.#app, 'encrypt', h, d, c);
  encryptFinal = (h: number, c: number | null): Output =>
    cipherCalls.final(this.#app, 'encrypt', h, c);
  decryptInit = (h: number, m: RawMechanism, k: number): void =>
    cipherInit(this.#app, 'decrypt', h, m, k);
  decrypt = (h: number, d: Uint8Array, c: number | null): Output =>
    cipherCalls.single(this.#app, 'decrypt', h, d, c);
  decryptUpdate = (h: number, d: Uint8Array, c: number | null): Output =>
    cipherCalls.update(this.#app, 'decrypt', h, d, c);
  decryptFinal = (h: number, c: number | null): Output =>
    cipherCalls.final(this.#app, 'decrypt', h, c);

  digestInit = (h: number, m: RawMechanism): void => crypto.digestInit(this.#app, h, m);
  digest = (h: number, d: Uint8Array, c: number | null): Output =>
    crypto.digest(this.#app, h, d, c);
  digestUpdate = (h: number, d: Uint8Array): void => crypto.digestUpdate(this.#app, h, d);
  digestKey = (h: number, k: number): void => crypto.digestKey(this.#app, h, k);
  digestFinal = (h: number, c: number | null): Output => crypto.digestFinal(this.#app, h, c);
  signInit = (h: number, m: RawMechanism, k: number): void => crypto.signInit(this.#app, h, m, k);
  sign = (h: number, d: Uint8Array, c: number | null): Output => crypto.sign(this.#app, h, d, c);
  signAsync = (h: number, d: Uint8Array, c: number | null): Promise<Output> =>
    crypto.signAsync(this.#app, h, d, c);
  signUpdate = (h: number, d: Uint8Array): void => crypto.signUpdate(this.#app, h, d);
  signFinal = (h: number, c: number | null): Output => crypto.signFinal(this.#app, h, c);
  verifyInit = (h: number, m: RawMechanism, k: number): void =>
    crypto.verifyInit(this.#app, h, m, k);
  verify = (h: number, d: Uint8Array, s: Uint8Array): void => crypto.verify(this.#app, h, d, s);
  verifyAsync = async (h: number, d: Uint8Array, s: Uint8Array): Promise<void> =>
    crypto.verify(this.#app, h, d, s);
  verifyUpdate = (h: number, d: Uint8Array): void => crypto.verifyUpdate(this.#app, h, d);
  verifyFinal = (h: number, s: Uint8Array): void => crypto.verifyFinal(this.#app, h, s);

  generateKey = (h: number, m: RawMechanism, t: RawAttribute[]): number =>
    keygen.generateKey(this.#app, h, m, t);
  generateKeyPair = (
    h: number,
    m: RawMechanism,
    pub: RawAttribute[],
    priv: RawAttribute[],
  ): KeyPairHandles => keygen.generateKeyPair(this.#app, h, m, pub, priv);
  generateKeyPairAsync = (h: number, m: RawMechanism, pub: RawAttribute[], priv: RawAttribute[]) =>
    keygen.generateKeyPairAsync(this.#app, h, m, pub, priv);
  wrapKey = (h: number, m: RawMechanism, w: number, k: number, c: number | null): Output =>
    wrapping.wrapKey(this.#app, h, m, w, k, c);
  unwrapKey = (h: number, m: RawMechanism, u: number, w: Uint8Array, t: RawAttribute[]): number =>
    wrapping.unwrapKey(this.#app, h, m, u, w, t);
  deriveKey = (h: number, m: RawMechanism, b: number, t: RawAttribute[]): number =>
    keygen.deriveKey(this.#app, h, m, b, t);
  seedRandom = (h: number, s: Uint8Array): void => crypto.seedRandom(this.#app, h, s);
  generateRandom = (h: number, n: number): Uint8Array => crypto.generateRandom(this.#app, h, n);
}
