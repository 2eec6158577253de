/**
 * The pkcs11js-compatible API, part one: loading a token, and the general, slot, token, session, login
 * and object functions. Method names, argument order and results follow pkcs11js 2.x so graphene-pk11
 * and node-webcrypto-p11 run on it unchanged. Layer L6.
 * @module
 */
import { NativeError, Pkcs11Error } from '../errors.js';
import type { Profile } from '../objects/profile.js';
import * as C from '../pkcs11/constants.js';
import type { MechanismInfo, ModuleInfo, SlotInfo, TokenInfo } from '../pkcs11/types.js';
import type { Application } from '../token/application.js';
import { call } from './call.js';
import {
  type AttributeResult,
  fromHandle,
  type Handle,
  pinArg,
  type Template,
  toHandle,
  toResult,
  toTemplate,
} from './convert.js';

/** A shared library's file name: libsofthsm2.so, libsoftokn3.so.0, softhsm2.dll, libfoo.dylib. */
const LIBRARY_PATH = /\.(so(\.\d+)*|dylib|dll)$/i;

/** Opens the token named by a load() target ('memory:', a directory, …) as a new application. */
export type TokenOpener = (target: string) => { app: Application; close(): void };

export interface SessionInfoResult {
  slotID: Handle;
  state: number;
  flags: number;
  deviceError: number;
}

export interface InitializeOptions {
  libraryParameters?: string;
  flags?: number;
}

export class Pkcs11Base {
  libPath = '';
  readonly #opener: TokenOpener | undefined;
  #loaded: ReturnType<TokenOpener> | undefined;

  constructor(opener?: TokenOpener) {
    this.#opener = opener;
  }

  /**
   * Opens a token store: a directory (file PAL) or 'memory:' (a fresh in-memory token). A path naming a
   * shared library (a pkcs11js configuration left as it was) is refused with a NativeError, as pkcs11js
   * refuses a library it cannot load, rather than opened as a new, empty token directory.
   */
  load(target: string): void {
    if (typeof target !== 'string' || target === '')
      throw new TypeError('load() needs a token store path');
    if (LIBRARY_PATH.test(target)) {
      throw new NativeError(
        `${target}: a PKCS#11 library path; corepkcs11 opens a token store (a directory or 'memory:')`,
        'load',
      );
    }
    if (!this.#opener) throw new TypeError('this PKCS11 instance has no token opener');
    this.#loaded?.close();
    this.#loaded = this.#opener(target);
    this.libPath = target;
  }

  /** Attaches an already opened application (for callers that build their own token). */
  attach(app: Application, close: () => void = () => {}): void {
    this.#loaded?.close();
    this.#loaded = { app, close };
    this.libPath = 'attached';
  }

  close(): void {
    this.#loaded?.close();
    this.#loaded = undefined;
  }

  /**
   * corepkcs11's own (pkcs11js has no such call): the loaded token's profile, `compatible` or `strict`,
   * recorded when it was initialized (`new PKCS11(target, { profile })` chooses it for C_InitToken).
   */
  tokenProfile(): Profile {
    return call('tokenProfile', () => this.engine.token.profile);
  }

  /** The loaded token. Before load(), a PKCS#11 answer (pkcs11js throws NativeError 'PKCS11 module not loaded yet'). */
  protected get engine(): Application {
    if (!this.#loaded)
      throw new Pkcs11Error(C.CKR_CRYPTOKI_NOT_INITIALIZED, 'no token loaded (call load())');
    return this.#loaded.app;
  }

  C_Initialize(options?: InitializeOptions): void {
    call('C_Initialize', () => {
      if (options !== undefined && options !== null && typeof options !== 'object') {
        throw new TypeError('Argument 0 has wrong type. Should be an Object');
      }
      this.engine.initialize({ flags: options?.flags ?? C.CKF_OS_LOCKING_OK });
    });
  }

  C_Finalize(): void {
    call('C_Finalize', () => this.engine.finalize());
  }

  C_GetInfo(): ModuleInfo {
    return call('C_GetInfo', () => this.engine.getInfo());
  }

  C_GetSlotList(tokenPresent = false): Handle[] {
    return call('C_GetSlotList', () => this.engine.getSlotList(tokenPresent).map(toHandle));
  }

  C_GetSlotInfo(slot: Handle): SlotInfo {
    return call('C_GetSlotInfo', () => this.engine.getSlotInfo(fromHandle(slot, 'slot')));
  }

  C_GetTokenInfo(slot: Handle): TokenInfo {
    return call('C_GetTokenInfo', () => this.engine.getTokenInfo(fromHandle(slot, 'slot')));
  }

  C_GetMechanismList(slot: Handle): number[] {
    return call('C_GetMechanismList', () => this.engine.getMechanismList(fromHandle(slot, 'slot')));
  }

  C_GetMechanismInfo(slot: Handle, type: number): MechanismInfo {
    return call('C_GetMechanismInfo', () =>
      this.engine.getMechanismInfo(fromHandle(slot, 'slot'), type),
    );
  }

  C_InitToken(slot: Handle, pin?: string, label = ''): string {
    return call('C_InitToken', () => {
      const padded = Buffer.alloc(32, ' ');
      const bytes = Buffer.from(label, 'utf8');
      if (bytes.length > 32)
        throw new Pkcs11Error(C.CKR_ARGUMENTS_BAD, 'token label longer than 32 bytes');
      bytes.copy(padded);
      const so = pinArg(pin);
      if (!so) throw new Pkcs11Error(C.CKR_ARGUMENTS_BAD, 'an SO PIN is required');
      this.engine.initToken(fromHandle(slot, 'slot'), so, padded);
      return padded.toString('utf8');
    });
  }

  C_InitPIN(session: Handle, pin?: string): void {
    call('C_InitPIN', () => {
      const p = pinArg(pin);
      if (!p) throw new Pkcs11Error(C.CKR_ARGUMENTS_BAD, 'a PIN is required');
      this.engine.initPin(fromHandle(session, 'session'), p);
    });
  }

  C_SetPIN(session: Handle, oldPin: string, newPin: string): void {
    call('C_SetPIN', () => {
      const o = pinArg(oldPin);
      const n = pinArg(newPin);
      if (!o || !n) throw new Pkcs11Error(C.CKR_ARGUMENTS_BAD, 'old and new PINs are required');
      this.engine.setPin(fromHandle(session, 'session'), o, n);
    });
  }

  C_OpenSession(slot: Handle, flags: number): Handle {
    return call('C_OpenSession', () =>
      toHandle(this.engine.openSession(fromHandle(slot, 'slot'), flags)),
    );
  }

  C_CloseSession(session: Handle): void {
    call('C_CloseSession', () => this.engine.closeSession(fromHandle(session, 'session')));
  }

  C_CloseAllSessions(slot: Handle): void {
    call('C_CloseAllSessions', () => this.engine.closeAllSessions(fromHandle(slot, 'slot')));
  }

  C_GetSessionInfo(session: Handle): SessionInfoResult {
    return call('C_GetSessionInfo', () => {
      const i = this.engine.getSessionInfo(fromHandle(session, 'session'));
      return { ...i, slotID: toHandle(i.slotID) };
    });
  }

  C_Login(session: Handle, userType: number, pin?: string): void {
    call('C_Login', () => {
      const p = pinArg(pin);
      if (!p)
        throw new Pkcs11Error(
          C.CKR_ARGUMENTS_BAD,
          'a PIN is required (no protected authentication path)',
        );
      this.engine.login(fromHandle(session, 'session'), userType, p);
    });
  }

  C_Logout(session: Handle): void {
    call('C_Logout', () => this.engine.logout(fromHandle(session, 'session')));
  }

  C_CreateObject(session: Handle, template: Template): Handle {
    return call('C_CreateObject', () =>
      toHandle(this.engine.createObject(fromHandle(session, 'session'), toTemplate(template))),
    );
  }

  C_CopyObject(session: Handle, object: Handle, template: Template): Handle {
    return call('C_CopyObject', () =>
      toHandle(
        this.engine.copyObject(
          fromHandle(session, 'session'),
          fromHandle(object, 'object'),
          toTemplate(template),
        ),
      ),
    );
  }

  C_DestroyObject(session: Handle, object: Handle): void {
    call('C_DestroyObject', () =>
      this.engine.destroyObject(fromHandle(session, 'session'), fromHandle(object, 'object')),
    );
  }

  C_GetObjectSize(session: Handle, object: Handle): number {
    return call('C_GetObjectSize', () =>
      this.engine.getObjectSize(fromHandle(session, 'session'), fromHandle(object, 'object')),
    );
  }

  /** Fills `template` with the values (Buffers) and returns it; throws for the whole call on any CKR. */
  C_GetAttributeValue(session: Handle, object: Handle, template: Template): AttributeResult[] {
    return call('C_GetAttributeValue', () => {
      if (!Array.isArray(template)) throw new TypeError('template must be an array');
      const queries = template.map((a) => {
        if (typeof a?.type !== 'number')
          throw new TypeError('template entries need a numeric type');
        return { type: a.type, capacity: Number.MAX_SAFE_INTEGER };
      });
      const { rv, answers } = this.engine.getAttributeValue(
        fromHandle(session, 'session'),
        fromHandle(object, 'object'),
        queries,
      );
      if (rv !== C.CKR_OK) throw new Pkcs11Error(rv);
      const out = template as unknown as AttributeResult[];
      answers.forEach((ans, i) => {
        (out[i] as AttributeResult).value =
          ans.value === undefined ? undefined : toResult(ans.value);
      });
      return out;
    });
  }

  C_SetAttributeValue(session: Handle, object: Handle, template: Template): void {
    call('C_SetAttributeValue', () =>
      this.engine.setAttributeValue(
        fromHandle(session, 'session'),
        fromHandle(object, 'object'),
        toTemplate(template),
      ),
    );
  }

  C_FindObjectsInit(session: Handle, template: Template): void {
    call('C_FindObjectsInit', () =>
      this.engine.findObjectsInit(fromHandle(session, 'session'), toTemplate(template)),
    );
  }

  /** With `max`: up to `max` handles. Without: the next handle, or null when there are no more. */
  C_FindObjects(session: Handle): Handle | null;
  C_FindObjects(session: Handle, max: number): Handle[];
  C_FindObjects(session: Handle, max?: number): Handle[] | Handle | null {
    return call('C_FindObjects', () => {
      const found = this.engine.findObjects(fromHandle(session, 'session'), max ?? 1).map(toHandle);
      return max === undefined ? (found[0] ?? null) : found;
    });
  }

  C_FindObjectsFinal(session: Handle): void {
    call('C_FindObjectsFinal', () => this.engine.findObjectsFinal(fromHandle(session, 'session')));
  }

  /**
   * The token is always present, so no slot event ever happens: with CKF_DONT_BLOCK the answer is null
   * (CKR_NO_EVENT, as pkcs11js reports it); a blocking wait would never return, so it is refused.
   */
  C_WaitForSlotEvent(flags: number): Handle | null {
    return call('C_WaitForSlotEvent', () => {
      this.engine.getInfo();
      if ((flags & C.CKF_DONT_BLOCK) !== 0) return null;
      throw new Pkcs11Error(
        C.CKR_FUNCTION_NOT_SUPPORTED,
        'a blocking wait would never end: the token is always present',
      );
    });
  }
}
