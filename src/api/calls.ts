/**
 * The pkcs11js-compatible C functions as one table: each is written once, as the synchronous call on a
 * loaded application, converting pkcs11js's JS arguments (Buffer handles, {type, value} templates,
 * caller output Buffers) to the engine's and back. api/pkcs11.ts makes the methods from it: every entry
 * of PLAIN is a method; every entry of THREADED (the calls pkcs11js runs in its thread pool) is a method
 * that also takes a trailing node-style callback, plus a C_*Async promise form and a C_*Callback alias.
 * Method names, argument order and results follow pkcs11js 2.x so graphene-pk11 and node-webcrypto-p11
 * run unchanged. Layer L6.
 * @module
 */
import { Pkcs11Error } from '../errors.js';
import * as C from '../pkcs11/constants.js';
import type { Output, TokenInfo } from '../pkcs11/types.js';
import type { Application } from '../token/application.js';
import {
  type AttributeResult,
  bytesArg,
  capacityOf,
  fill,
  fromHandle,
  type Handle,
  type Mechanism,
  outBuffer,
  pinArg,
  type Template,
  toHandle,
  toMechanism,
  toResult,
  toTemplate,
} from './convert.js';

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

export interface KeyPair {
  privateKey: Handle;
  publicKey: Handle;
}

type E = Application;
const session = (h: Handle) => fromHandle(h, 'session');
const slot = (h: Handle) => fromHandle(h, 'slot');
const key = (h: Handle, name = 'key') => fromHandle(h, name);

/** Runs an engine call into the caller's output Buffer and returns the filled slice, as pkcs11js does. */
export function into(
  buffer: Buffer,
  run: (capacity: number | null) => Output,
  name?: string,
): Buffer {
  const out = outBuffer(buffer, name);
  return fill(out, run(capacityOf(out)));
}

async function intoAsync(
  buffer: Buffer,
  run: (capacity: number | null) => Promise<Output>,
): Promise<Buffer> {
  const out = outBuffer(buffer);
  return fill(out, await run(capacityOf(out)));
}

/** A PIN the call cannot do without (no protected authentication path): none → CKR_ARGUMENTS_BAD. */
export function requiredPin(
  pin: unknown,
  what = 'a PIN is required (no protected authentication path)',
): Uint8Array {
  const p = pinArg(pin);
  if (!p) throw new Pkcs11Error(C.CKR_ARGUMENTS_BAD, what);
  return p;
}

function notSupported(): never {
  throw new Pkcs11Error(C.CKR_FUNCTION_NOT_SUPPORTED, 'not offered by this token');
}

function pair(r: { privateKey: number; publicKey: number }): KeyPair {
  return { privateKey: toHandle(r.privateKey), publicKey: toHandle(r.publicKey) };
}

// The shapes most C functions share, each made once for the engine method it calls.
type DataIn = 'digestUpdate' | 'signUpdate' | 'verifyUpdate';
type DataOut = 'digest' | 'sign' | 'encrypt' | 'decrypt' | 'encryptUpdate' | 'decryptUpdate';
type FinalOut = 'digestFinal' | 'signFinal' | 'encryptFinal' | 'decryptFinal';
/** C_SignInit and its kin: a mechanism and a key. */
const keyedInit =
  (init: 'signInit' | 'verifyInit' | 'encryptInit' | 'decryptInit') =>
  (e: E, s: Handle, mechanism: Mechanism, k: Handle): void =>
    e[init](session(s), toMechanism(mechanism), key(k));
/** C_DigestUpdate and its kin: a part in, nothing out. */
const dataIn =
  (work: DataIn) =>
  (e: E, s: Handle, inData: Buffer): void =>
    e[work](session(s), bytesArg(inData, 'inData'));
/**
 * C_Encrypt and its kin: input in, output into the caller's Buffer. `into` written out, with its order of
 * checks: C_Sign and C_Digest take this path on every call, and a closure per call is garbage.
 */
const dataOut =
  (work: DataOut) =>
  (e: E, s: Handle, inData: Buffer, outData: Buffer): Buffer => {
    const out = outBuffer(outData);
    return fill(out, e[work](session(s), bytesArg(inData, 'inData'), capacityOf(out)));
  };
/** C_DigestFinal and its kin: the operation's last output into the caller's Buffer. */
const finalOut =
  (work: FinalOut) =>
  (e: E, s: Handle, outData: Buffer): Buffer =>
    into(outData, (c) => e[work](session(s), c));
/** The async forms of dataOut and finalOut. */
const dataOutAsync =
  (work: 'signAsync' | 'decryptAsync') =>
  (e: E, s: Handle, inData: Buffer, outData: Buffer): Promise<Buffer> =>
    intoAsync(outData, (c) => e[work](session(s), bytesArg(inData, 'inData'), c));

/** CK_ULONG as the native addon hands it out: unsigned (CK_UNAVAILABLE_INFORMATION is 2^64 - 1). */
const ulong64 = (n: number): bigint => BigInt.asUintN(64, BigInt(n));

/**
 * CK_TOKEN_INFO as pkcs11js returns it: the four memory fields are BigInts at run time (its native
 * addon makes them with napi_create_bigint_uint64) while its declarations say number. They are declared
 * number here as well, so code typed against pkcs11js (graphene's Token) compiles against this package.
 */
function withBigIntMemory(i: TokenInfo): TokenInfo {
  const big = (n: number) => ulong64(n) as unknown as number;
  return {
    ...i,
    totalPublicMemory: big(i.totalPublicMemory),
    freePublicMemory: big(i.freePublicMemory),
    totalPrivateMemory: big(i.totalPrivateMemory),
    freePrivateMemory: big(i.freePrivateMemory),
  };
}

/** The calls without a callback form. */
export const PLAIN = {
  C_Initialize(e: E, options?: InitializeOptions): void {
    if (options !== undefined && options !== null && typeof options !== 'object') {
      throw new TypeError('Argument 0 has wrong type. Should be an Object');
    }
    e.initialize({ flags: options?.flags ?? C.CKF_OS_LOCKING_OK });
  },
  C_Finalize: (e: E): void => e.finalize(),
  C_GetInfo: (e: E) => e.getInfo(),
  C_GetSlotList: (e: E, tokenPresent = false): Handle[] =>
    e.getSlotList(tokenPresent).map(toHandle),
  C_GetSlotInfo: (e: E, slotId: Handle) => e.getSlotInfo(slot(slotId)),
  C_GetTokenInfo: (e: E, slotId: Handle) => withBigIntMemory(e.getTokenInfo(slot(slotId))),
  C_GetMechanismList: (e: E, slotId: Handle): number[] => e.getMechanismList(slot(slotId)),
  C_GetMechanismInfo: (e: E, slotId: Handle, type: number) =>
    e.getMechanismInfo(slot(slotId), type),
  /** Returns the label as stored: 32 bytes, blank-padded. */
  C_InitToken(e: E, slotId: Handle, pin?: string, label = ''): string {
    const padded = Buffer.alloc(32, ' ');
    const bytes = Buffer.from(label, 'utf8');
    if (bytes.length > 32)
      throw new Pkcs11Error(C.CKR_ARGUMENTS_BAD, 'token label longer than 32 bytes');
    bytes.copy(padded);
    e.initToken(slot(slotId), requiredPin(pin, 'an SO PIN is required'), padded);
    return padded.toString('utf8');
  },
  C_InitPIN: (e: E, s: Handle, pin?: string): void => e.initPin(session(s), requiredPin(pin)),
  C_SetPIN: (e: E, s: Handle, oldPin: string, newPin: string): void =>
    e.setPin(session(s), requiredPin(oldPin, 'the old PIN is required'), requiredPin(newPin)),
  C_OpenSession: (e: E, slotId: Handle, flags: number): Handle =>
    toHandle(e.openSession(slot(slotId), flags)),
  C_CloseSession: (e: E, s: Handle): void => e.closeSession(session(s)),
  C_CloseAllSessions: (e: E, slotId: Handle): void => e.closeAllSessions(slot(slotId)),
  C_GetSessionInfo(e: E, s: Handle): SessionInfoResult {
    const i = e.getSessionInfo(session(s));
    return { ...i, slotID: toHandle(i.slotID) };
  },
  C_Login: (e: E, s: Handle, userType: number, pin?: string): void =>
    e.login(session(s), userType, requiredPin(pin)),
  C_Logout: (e: E, s: Handle): void => e.logout(session(s)),

  C_CreateObject: (e: E, s: Handle, template: Template): Handle =>
    toHandle(e.createObject(session(s), toTemplate(template))),
  C_CopyObject: (e: E, s: Handle, object: Handle, template: Template): Handle =>
    toHandle(e.copyObject(session(s), key(object, 'object'), toTemplate(template))),
  C_DestroyObject: (e: E, s: Handle, object: Handle): void =>
    e.destroyObject(session(s), key(object, 'object')),
  C_GetObjectSize: (e: E, s: Handle, object: Handle): number =>
    e.getObjectSize(session(s), key(object, 'object')),
  /**
   * Fills `template` with the values (Buffers) and returns it; throws for the whole call on any CKR.
   * arguments.ts has checked the template (an array of entries with a numeric type).
   */
  C_GetAttributeValue(e: E, s: Handle, object: Handle, template: Template): AttributeResult[] {
    const queries = template.map((a) => ({ type: a.type, capacity: Number.MAX_SAFE_INTEGER }));
    const { rv, answers } = e.getAttributeValue(session(s), key(object, 'object'), queries);
    if (rv !== C.CKR_OK) throw new Pkcs11Error(rv);
    const out = template as unknown as AttributeResult[];
    answers.forEach((ans, i) => {
      (out[i] as AttributeResult).value = ans.value === undefined ? undefined : toResult(ans.value);
    });
    return out;
  },
  C_SetAttributeValue: (e: E, s: Handle, object: Handle, template: Template): void =>
    e.setAttributeValue(session(s), key(object, 'object'), toTemplate(template)),
  C_FindObjectsInit: (e: E, s: Handle, template: Template): void =>
    e.findObjectsInit(session(s), toTemplate(template)),
  C_FindObjectsFinal: (e: E, s: Handle): void => e.findObjectsFinal(session(s)),
  /**
   * The token is always present, so no slot event ever happens: with CKF_DONT_BLOCK the answer is null
   * (CKR_NO_EVENT, as pkcs11js reports it); a blocking wait would never return, so it is refused.
   */
  C_WaitForSlotEvent(e: E, flags: number): Handle | null {
    e.getInfo();
    if ((flags & C.CKF_DONT_BLOCK) !== 0) return null;
    throw new Pkcs11Error(
      C.CKR_FUNCTION_NOT_SUPPORTED,
      'a blocking wait would never end: the token is always present',
    );
  },

  C_DigestInit: (e: E, s: Handle, mechanism: Mechanism): void =>
    e.digestInit(session(s), toMechanism(mechanism)),
  C_DigestUpdate: dataIn('digestUpdate'),
  C_DigestKey: (e: E, s: Handle, k: Handle): void => e.digestKey(session(s), key(k)),
  C_SignInit: keyedInit('signInit'),
  C_SignUpdate: dataIn('signUpdate'),
  C_VerifyInit: keyedInit('verifyInit'),
  C_VerifyUpdate: dataIn('verifyUpdate'),
  C_EncryptInit: keyedInit('encryptInit'),
  C_EncryptUpdate: dataOut('encryptUpdate'),
  C_DecryptInit: keyedInit('decryptInit'),
  C_DecryptUpdate: dataOut('decryptUpdate'),
  C_SeedRandom(e: E, s: Handle, buf: Buffer): Buffer {
    e.seedRandom(session(s), bytesArg(buf, 'seed'));
    return buf;
  },
  /** Fills `buf` with random bytes and returns it. */
  C_GenerateRandom(e: E, s: Handle, buf: Buffer): Buffer {
    const out = outBuffer(buf, 'buffer');
    out.set(e.generateRandom(session(s), out.length));
    return out;
  },

  // Not offered by the token: pkcs11js's shapes, so feature probes get a CKR rather than a TypeError.
  C_SignRecoverInit: (_e: E, _s: Handle, _mechanism: Mechanism, _key: Handle): void =>
    notSupported(),
  C_SignRecover: (_e: E, _s: Handle, _inData: Buffer, _outData: Buffer): Buffer => notSupported(),
  C_VerifyRecoverInit: (_e: E, _s: Handle, _mechanism: Mechanism, _key: Handle): void =>
    notSupported(),
  C_VerifyRecover: (_e: E, _s: Handle, _signature: Buffer, _outData: Buffer): Buffer =>
    notSupported(),
  C_GetOperationState: (_e: E, _s: Handle): Buffer => notSupported(),
  C_SetOperationState: (
    _e: E,
    _s: Handle,
    _state: Buffer,
    _encryptionKey: Handle,
    _authenticationKey: Handle,
  ): void => notSupported(),
};

/** A call pkcs11js runs in its thread pool, and its own async form where the engine has one. */
export interface Threaded<A extends unknown[], R> {
  run(e: E, ...args: A): R;
  async?(e: E, ...args: A): Promise<R>;
}

export const threaded = <A extends unknown[], R>(t: Threaded<A, R>) => t;

/** pkcs11js's shape of a dual-function update (C_DigestEncryptUpdate, …), none of which is offered. */
const dualUpdate = threaded({
  run: (_e: E, _s: Handle, _inData: Buffer, _outData: Buffer): Buffer => notSupported(),
});

/** The calls with a trailing-callback form and a C_*Async form. */
export const THREADED = {
  C_Digest: threaded({ run: dataOut('digest') }),
  C_DigestFinal: threaded({ run: finalOut('digestFinal') }),
  C_Sign: threaded({ run: dataOut('sign'), async: dataOutAsync('signAsync') }),
  C_SignFinal: threaded({
    run: finalOut('signFinal'),
    async: (e: E, s: Handle, outData: Buffer): Promise<Buffer> =>
      intoAsync(outData, (c) => e.signFinalAsync(session(s), c)),
  }),
  /** True when the signature verifies; throws CKR_SIGNATURE_INVALID otherwise (as pkcs11js does). */
  C_Verify: threaded({
    run(e: E, s: Handle, inData: Buffer, signature: Buffer): boolean {
      e.verify(session(s), bytesArg(inData, 'inData'), bytesArg(signature, 'signature'));
      return true;
    },
  }),
  C_VerifyFinal: threaded({
    run(e: E, s: Handle, signature: Buffer): boolean {
      e.verifyFinal(session(s), bytesArg(signature, 'signature'));
      return true;
    },
  }),
  C_Encrypt: threaded({ run: dataOut('encrypt') }),
  C_EncryptFinal: threaded({ run: finalOut('encryptFinal') }),
  C_Decrypt: threaded({ run: dataOut('decrypt'), async: dataOutAsync('decryptAsync') }),
  C_DecryptFinal: threaded({ run: finalOut('decryptFinal') }),
  C_GenerateKey: threaded({
    run: (e: E, s: Handle, mechanism: Mechanism, template: Template): Handle =>
      toHandle(e.generateKey(session(s), toMechanism(mechanism), toTemplate(template))),
  }),
  C_GenerateKeyPair: threaded({
    run: (e: E, s: Handle, mechanism: Mechanism, pub: Template, priv: Template): KeyPair =>
      pair(
        e.generateKeyPair(session(s), toMechanism(mechanism), toTemplate(pub), toTemplate(priv)),
      ),
    async: async (e: E, s: Handle, mechanism: Mechanism, pub: Template, priv: Template) =>
      pair(
        await e.generateKeyPairAsync(
          session(s),
          toMechanism(mechanism),
          toTemplate(pub),
          toTemplate(priv),
        ),
      ),
  }),
  C_DeriveKey: threaded({
    run: (e: E, s: Handle, mechanism: Mechanism, baseKey: Handle, template: Template): Handle =>
      toHandle(e.deriveKey(session(s), toMechanism(mechanism), key(baseKey), toTemplate(template))),
  }),
  /** Writes the wrapped key into `wrappedKey` and returns the filled slice. */
  C_WrapKey: threaded({
    run: (
      e: E,
      s: Handle,
      mechanism: Mechanism,
      wrappingKey: Handle,
      k: Handle,
      wrappedKey: Buffer,
    ): Buffer =>
      into(
        wrappedKey,
        (c) =>
          e.wrapKey(session(s), toMechanism(mechanism), key(wrappingKey, 'wrappingKey'), key(k), c),
        'wrappedKey',
      ),
  }),
  C_UnwrapKey: threaded({
    run: (
      e: E,
      s: Handle,
      mechanism: Mechanism,
      unwrappingKey: Handle,
      wrappedKey: Buffer,
      template: Template,
    ): Handle =>
      toHandle(
        e.unwrapKey(
          session(s),
          toMechanism(mechanism),
          key(unwrappingKey, 'unwrappingKey'),
          bytesArg(wrappedKey, 'wrappedKey'),
          toTemplate(template),
        ),
      ),
  }),
  // Dual-function updates: not offered; with a callback the error arrives there, as pkcs11js does.
  C_DigestEncryptUpdate: dualUpdate,
  C_DecryptDigestUpdate: dualUpdate,
  C_SignEncryptUpdate: dualUpdate,
  C_DecryptVerifyUpdate: dualUpdate,
};
