/**
 * One handler per RPC call the engine implements: decoded arguments in, reply arguments out, errors
 * thrown as Pkcs11Error (the dispatcher turns them into ERROR replies). Calls without a handler here are
 * answered CKR_FUNCTION_NOT_SUPPORTED. Heavy operations use the engine's async forms when it has them,
 * so one connection's key generation does not stall the others. Layer L7.
 * @module
 */
import { Pkcs11Error } from '../errors.js';
import * as C from '../pkcs11/constants.js';
import type { Cryptoki240, CryptokiAsync } from '../token/cryptoki.js';
import { equalBytes } from '../util/bytes.js';
import { type Args, capacity, fixed, outUlongs, withOutput, withOutputSync } from './args.js';
import { isTemplateType } from './attribute-kinds.js';
import { fromAnswers, toQueries } from './attributes.js';
import { CALL_ID } from './calls.js';
import { V3_HANDLERS } from './handlers-v3.js';
import type { Arg } from './message.js';

/** What the server drives: one PKCS#11 application per connection (a 2.40 one lacks the 3.0 calls). */
export type Application = Cryptoki240 & Partial<Omit<CryptokiAsync, 'loginUserAsync'>>;

export interface HandlerContext {
  app: Application;
  /** Negotiated protocol version. */
  version: number;
  /** Largest output a single reply may carry (random bytes, found handles). */
  maxOutput: number;
  /** Called after a successful C_Initialize / C_Finalize, so the connection knows what to clean up. */
  onInitialized(initialized: boolean): void;
  /**
   * Use the engine's synchronous calls even where it has async forms: a server with one client has
   * nothing to overlap, and the async forms cost a trip through the thread pool.
   */
  sync?: boolean;
}

export type Handler = (a: Args, c: HandlerContext) => Arg[] | Promise<Arg[]>;

const HANDSHAKE = new TextEncoder().encode('PRIVATE-GNOME-KEYRING-PKCS11-PROTOCOL-V-1');
const NONE: Arg[] = [];

/** The reply of a call with no output, once the engine call in its argument has returned. */
function empty(_done: unknown): Arg[] {
  return NONE;
}

/** The 32-byte blank-padded label from a NUL-terminated C string (C_InitToken, protocol 0). */
function labelFromCString(z: Uint8Array): Uint8Array {
  const out = new Uint8Array(32).fill(0x20);
  out.set(z.subarray(0, 32));
  return out;
}

const H: Record<string, Handler> = {
  C_Initialize: (a, c) => {
    const handshake = a.raw(0);
    if (!(handshake instanceof Uint8Array) || !equalBytes(handshake, HANDSHAKE)) {
      throw new Pkcs11Error(C.CKR_GENERAL_ERROR, 'invalid RPC handshake string');
    }
    c.app.initialize({ flags: C.CKF_OS_LOCKING_OK, reservedIsNull: a.num(1) === 0 });
    c.onInitialized(true);
    return NONE;
  },
  C_Finalize: (_a, c) => {
    c.app.finalize();
    c.onInitialized(false);
    return NONE;
  },
  C_GetInfo: (_a, c) => {
    const i = c.app.getInfo();
    const desc = fixed(i.libraryDescription, 32);
    return [i.cryptokiVersion, fixed(i.manufacturerID, 32), i.flags, desc, i.libraryVersion];
  },
  C_GetSlotList: (a, c) => [outUlongs(c.app.getSlotList(a.num(0) !== 0), a.num(1))],
  C_GetSlotInfo: (a, c) => {
    const i = c.app.getSlotInfo(a.num(0));
    const desc = fixed(i.slotDescription, 64);
    return [desc, fixed(i.manufacturerID, 32), i.flags, i.hardwareVersion, i.firmwareVersion];
  },
  C_GetTokenInfo: (a, c) => {
    const t = c.app.getTokenInfo(a.num(0));
    return [
      fixed(t.label, 32),
      fixed(t.manufacturerID, 32),
      fixed(t.model, 16),
      fixed(t.serialNumber, 16),
      t.flags,
      t.maxSessionCount,
      t.sessionCount,
      t.maxRwSessionCount,
      t.rwSessionCount,
      t.maxPinLen,
      t.minPinLen,
      t.totalPublicMemory,
      t.freePublicMemory,
      t.totalPrivateMemory,
      t.freePrivateMemory,
      t.hardwareVersion,
      t.firmwareVersion,
      fixed(t.utcTime, 16),
    ];
  },
  C_GetMechanismList: (a, c) => [outUlongs(c.app.getMechanismList(a.num(0)), a.num(1))],
  C_GetMechanismInfo: (a, c) => {
    const i = c.app.getMechanismInfo(a.num(0), a.num(1));
    return [i.minKeySize, i.maxKeySize, i.flags];
  },
  C_InitToken: (a, c) => {
    c.app.initToken(a.num(0), a.pin(1), labelFromCString(a.str(2)));
    return NONE;
  },
  C_InitToken2: (a, c) => {
    const label = a.str(2);
    if (label.length !== 32)
      throw new Pkcs11Error(C.CKR_DEVICE_ERROR, 'rpc: label is not 32 bytes');
    c.app.initToken(a.num(0), a.pin(1), label);
    return NONE;
  },
  C_OpenSession: (a, c) => [c.app.openSession(a.num(0), a.num(1))],
  C_CloseSession: (a, c) => empty(c.app.closeSession(a.num(0))),
  C_CloseAllSessions: (a, c) => empty(c.app.closeAllSessions(a.num(0))),
  C_GetSessionInfo: (a, c) => {
    const i = c.app.getSessionInfo(a.num(0));
    return [i.slotID, i.state, i.flags, i.deviceError];
  },
  C_InitPIN: (a, c) => empty(c.app.initPin(a.num(0), a.pin(1))),
  C_SetPIN: (a, c) => empty(c.app.setPin(a.num(0), a.pin(1), a.pin(2))),
  C_Login: async (a, c) => {
    const pin = a.pin(2);
    if (c.app.loginAsync && !c.sync) await c.app.loginAsync(a.num(0), a.num(1), pin);
    else c.app.login(a.num(0), a.num(1), pin);
    return NONE;
  },
  C_Logout: (a, c) => empty(c.app.logout(a.num(0))),

  C_CreateObject: (a, c) => [c.app.createObject(a.num(0), a.template(1))],
  C_CopyObject: (a, c) => [c.app.copyObject(a.num(0), a.num(1), a.template(2))],
  C_DestroyObject: (a, c) => empty(c.app.destroyObject(a.num(0), a.num(1))),
  C_GetObjectSize: (a, c) => [c.app.getObjectSize(a.num(0), a.num(1))],
  C_GetAttributeValue: (a, c) => {
    const queries = a.queries(2);
    // p11-kit before 0.25.4 fails the whole call on any nested-template entry in the reply, valid or not
    // (its check is on the type): answer for the whole call instead, which the client passes through.
    if (c.version < 2 && queries.some((q) => isTemplateType(q.type))) {
      throw new Pkcs11Error(C.CKR_ATTRIBUTE_TYPE_INVALID, 'nested templates need p11-kit ≥ 0.26');
    }
    const { rv, answers } = c.app.getAttributeValue(a.num(0), a.num(1), toQueries(queries));
    if (answers.length !== queries.length || answers.some((x, i) => x.type !== queries[i]?.type)) {
      throw new Pkcs11Error(C.CKR_GENERAL_ERROR, 'engine answered a different template');
    }
    return [fromAnswers(answers, c.version), rv];
  },
  C_SetAttributeValue: (a, c) => empty(c.app.setAttributeValue(a.num(0), a.num(1), a.template(2))),
  C_FindObjectsInit: (a, c) => empty(c.app.findObjectsInit(a.num(0), a.template(1))),
  C_FindObjects: (a, c) => {
    const room = a.num(1);
    const found = c.app.findObjects(a.num(0), Math.min(room, c.maxOutput >>> 3));
    return [room === 0 ? { lengthOnly: found.length } : found.slice(0, room)];
  },
  C_FindObjectsFinal: (a, c) => empty(c.app.findObjectsFinal(a.num(0))),

  C_EncryptInit: (a, c) => empty(c.app.encryptInit(a.num(0), a.initMechanism(1), a.num(2))),
  C_Encrypt: (a, c) => [withOutputSync(a.num(2), (k) => c.app.encrypt(a.num(0), a.bytes(1), k))],
  C_EncryptUpdate: (a, c) => [
    withOutputSync(a.num(2), (k) => c.app.encryptUpdate(a.num(0), a.bytes(1), k)),
  ],
  C_EncryptFinal: (a, c) => [withOutputSync(a.num(1), (k) => c.app.encryptFinal(a.num(0), k))],
  C_DecryptInit: (a, c) => empty(c.app.decryptInit(a.num(0), a.initMechanism(1), a.num(2))),
  C_Decrypt: (a, c) => [withOutputSync(a.num(2), (k) => c.app.decrypt(a.num(0), a.bytes(1), k))],
  C_DecryptUpdate: (a, c) => [
    withOutputSync(a.num(2), (k) => c.app.decryptUpdate(a.num(0), a.bytes(1), k)),
  ],
  C_DecryptFinal: (a, c) => [withOutputSync(a.num(1), (k) => c.app.decryptFinal(a.num(0), k))],

  C_DigestInit: (a, c) => empty(c.app.digestInit(a.num(0), a.initMechanism(1))),
  C_Digest: (a, c) => [withOutputSync(a.num(2), (k) => c.app.digest(a.num(0), a.bytes(1), k))],
  C_DigestUpdate: (a, c) => empty(c.app.digestUpdate(a.num(0), a.bytes(1))),
  C_DigestKey: (a, c) => empty(c.app.digestKey(a.num(0), a.num(1))),
  C_DigestFinal: (a, c) => [withOutputSync(a.num(1), (k) => c.app.digestFinal(a.num(0), k))],

  C_SignInit: (a, c) => empty(c.app.signInit(a.num(0), a.initMechanism(1), a.num(2))),
  C_Sign: async (a, c) => {
    const { app } = c;
    const run =
      app.signAsync && !c.sync
        ? (k: number | null) => app.signAsync!(a.num(0), a.bytes(1), k)
        : (k: number | null) => app.sign(a.num(0), a.bytes(1), k);
    return [await withOutput(a.num(2), run)];
  },
  C_SignUpdate: (a, c) => empty(c.app.signUpdate(a.num(0), a.bytes(1))),
  C_SignFinal: (a, c) => [withOutputSync(a.num(1), (k) => c.app.signFinal(a.num(0), k))],
  C_VerifyInit: (a, c) => empty(c.app.verifyInit(a.num(0), a.initMechanism(1), a.num(2))),
  C_Verify: async (a, c) => {
    if (c.app.verifyAsync && !c.sync) await c.app.verifyAsync(a.num(0), a.bytes(1), a.bytes(2));
    else c.app.verify(a.num(0), a.bytes(1), a.bytes(2));
    return NONE;
  },
  C_VerifyUpdate: (a, c) => empty(c.app.verifyUpdate(a.num(0), a.bytes(1))),
  C_VerifyFinal: (a, c) => empty(c.app.verifyFinal(a.num(0), a.bytes(1))),

  C_GenerateKey: (a, c) => [c.app.generateKey(a.num(0), a.mechanism(1), a.template(2))],
  C_GenerateKeyPair: async (a, c) => {
    const { app } = c;
    const args = [a.num(0), a.mechanism(1), a.template(2), a.template(3)] as const;
    const pair =
      app.generateKeyPairAsync && !c.sync
        ? await app.generateKeyPairAsync(...args)
        : app.generateKeyPair(...args);
    return [pair.publicKey, pair.privateKey];
  },
  C_WrapKey: (a, c) => [
    withOutputSync(a.num(4), (k) => c.app.wrapKey(a.num(0), a.mechanism(1), a.num(2), a.num(3), k)),
  ],
  C_UnwrapKey: (a, c) => [
    c.app.unwrapKey(a.num(0), a.mechanism(1), a.num(2), a.bytes(3), a.template(4)),
  ],
  C_DeriveKey: (a, c) => [c.app.deriveKey(a.num(0), a.mechanism(1), a.num(2), a.template(3))],
  C_DeriveKey2: (a, c) => {
    const wire = a.wireMechanism(1);
    const key = c.app.deriveKey(a.num(0), a.mechanism(1), a.num(2), a.template(3));
    // No mechanism we know returns an updated parameter; echo whether one was sent, as p11-kit does.
    return [C.CKR_OK, { mechanism: wire.type, present: wire.param.form !== 'none' }, key];
  },
  C_SeedRandom: (a, c) => empty(c.app.seedRandom(a.num(0), a.bytes(1))),
  C_GenerateRandom: (a, c) => {
    // Room 0 is a NULL buffer, but p11-kit-client before 0.25 sends a non-NULL buffer of length 0 the
    // same way, and pkcs11-tool --test asks exactly that (and wants CKR_OK): so room 0 asks for nothing.
    const length = capacity(a.num(1));
    if ((length ?? 0) > c.maxOutput)
      throw new Pkcs11Error(C.CKR_DEVICE_MEMORY, `${length} random bytes`);
    const bytes = c.app.generateRandom(a.num(0), length ?? 0);
    return [length === null && bytes.length === 0 ? null : bytes];
  },
  C_WaitForSlotEvent: (a) => {
    if ((a.num(0) & C.CKF_DONT_BLOCK) !== 0) throw new Pkcs11Error(C.CKR_NO_EVENT);
    throw new Pkcs11Error(C.CKR_FUNCTION_NOT_SUPPORTED, 'blocking slot events');
  },
};

/** Handlers indexed by call id. */
export const HANDLERS: readonly (Handler | undefined)[] = (() => {
  const table: (Handler | undefined)[] = [];
  for (const [name, h] of Object.entries({ ...H, ...V3_HANDLERS })) {
    const id = CALL_ID[name];
    if (id === undefined) throw new Error(`rpc: no call named ${name}`);
    table[id] = h;
  }
  return table;
})();
