/**
 * One handler per RPC call the engine implements: decoded arguments in, reply arguments out, errors
 * thrown as Pkcs11Error (the dispatcher turns them into ERROR replies). Calls without a handler here are
 * answered CKR_FUNCTION_NOT_SUPPORTED. Heavy operations use the engine's async forms when it has them,
 * so one connection's key generation does not stall the others. Layer L7.
 * @module
 */
import { Pkcs11Error } from '../errors.js';
import * as C from '../pkcs11/constants.js';
import type { Output } from '../pkcs11/types.js';
import { type Cryptoki240, type CryptokiAsync, CALLS as ENGINE } from '../token/cryptoki.js';
import { equalBytes } from '../util/bytes.js';
import { type Args, capacity, fixed, outUlongs, withOutput, withOutputSync } from './args.js';
import { isTemplateType } from './attribute-kinds.js';
import { fromAnswers, toQueries } from './attributes.js';
import { CALL_ID, CALLS, type CallSpec } from './calls.js';
import { V3_HANDLERS } from './handlers-v3.js';
import { type Arg, parseSignature } from './message.js';

/** What the server drives: one PKCS#11 application per connection (a 2.40 one lacks the 3.0 calls). */
export type ServedApplication = Cryptoki240 & Partial<Omit<CryptokiAsync, 'loginUserAsync'>>;

export interface HandlerContext {
  app: ServedApplication;
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

/** The 32-byte blank-padded label from a NUL-terminated C string (C_InitToken, protocol 0). */
function labelFromCString(z: Uint8Array): Uint8Array {
  const out = new Uint8Array(32).fill(0x20);
  out.set(z.subarray(0, 32));
  return out;
}

const SPECIAL: Record<string, Handler> = {
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
  C_GetSessionInfo: (a, c) => {
    const i = c.app.getSessionInfo(a.num(0));
    return [i.slotID, i.state, i.flags, i.deviceError];
  },
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
  C_FindObjects: (a, c) => {
    const room = a.num(1);
    const found = c.app.findObjects(a.num(0), Math.min(room, c.maxOutput >>> 3));
    return [room === 0 ? { lengthOnly: found.length } : found.slice(0, room)];
  },
  C_GenerateKeyPair: async (a, c) => {
    const { app } = c;
    const args = [a.num(0), a.mechanism(1), a.template(2), a.template(3)] as const;
    const pair =
      app.generateKeyPairAsync && !c.sync
        ? await app.generateKeyPairAsync(...args)
        : app.generateKeyPair(...args);
    return [pair.publicKey, pair.privateKey];
  },
  C_DeriveKey2: (a, c) => {
    const wire = a.wireMechanism(1);
    const key = c.app.deriveKey(a.num(0), a.mechanism(1), a.num(2), a.template(3));
    // No mechanism we know returns an updated parameter; echo whether one was sent, as p11-kit does.
    return [C.CKR_OK, { mechanism: wire.type, present: wire.param.form !== 'none' }, key];
  },
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

/** The engine method of a C function: C_GetObjectSize → getObjectSize, C_InitPIN → initPin. */
function methodOf(name: string): string {
  const bare = name.slice(2).replace('PIN', 'Pin');
  return bare.charAt(0).toLowerCase() + bare.slice(1);
}

type EngineCall = (...args: unknown[]) => unknown;

/** The calls whose byte arrays are PINs: a NULL one is CKR_ARGUMENTS_BAD before the token sees it. */
const PIN_CALLS = new Set(['C_InitPIN', 'C_SetPIN', 'C_Login']);

/**
 * The handler the call table implies for a C function whose arguments are handles, numbers, byte
 * arrays, a mechanism and templates, and whose reply is nothing, one ulong or one C output buffer (a
 * trailing `fy`): decode by kind, call the engine's method of the same name (its async form when it has
 * one and the connection overlaps calls), encode by the reply. Undefined for any other shape and for a
 * C function the token's engine does not implement (the dispatcher answers CKR_FUNCTION_NOT_SUPPORTED).
 */
function fromSignature(spec: CallSpec): Handler | undefined {
  const kinds = parseSignature(spec.request);
  const output = kinds.at(-1) === 'fy';
  const inputs = output ? kinds.slice(0, -1) : kinds;
  const shapes = inputs.every((k) => ['u', 'y', 'ay', 'M', 'aA'].includes(k));
  if (!shapes || !(output ? spec.reply === 'ay' : spec.reply === '' || spec.reply === 'u')) {
    return undefined;
  }
  const method = methodOf(spec.name);
  if (!Object.hasOwn(ENGINE, method)) return undefined;
  const pins = PIN_CALLS.has(spec.name);
  // A C_*Init's mechanism may be NULL: PKCS#11 3.0's way to cancel the operation.
  const init = spec.name.endsWith('Init');
  const decode = (a: Args): unknown[] =>
    inputs.map((k, i) =>
      k === 'ay'
        ? pins
          ? a.pin(i)
          : a.bytes(i)
        : k === 'M'
          ? init
            ? a.initMechanism(i)
            : a.mechanism(i)
          : k === 'aA'
            ? a.template(i)
            : a.num(i),
    );
  const reply = (v: unknown): Arg[] => (spec.reply === 'u' ? [v as number] : NONE);
  return (a, c) => {
    const app = c.app as unknown as Record<string, EngineCall | undefined>;
    const overlapped = c.sync ? undefined : app[`${method}Async`];
    const run = overlapped ?? app[method];
    // A 2.40 module behind the server has no 3.0 calls.
    if (run === undefined)
      throw new Pkcs11Error(C.CKR_FUNCTION_NOT_SUPPORTED, `the module has no ${method}`);
    const args = decode(a);
    const call = (cap?: number | null) =>
      (output ? run.call(app, ...args, cap) : run.call(app, ...args)) as Output;
    if (output && overlapped) return withOutput(a.num(inputs.length), call).then((o) => [o]);
    if (output) return [withOutputSync(a.num(inputs.length), call)];
    if (overlapped) return (call() as unknown as Promise<unknown>).then(reply);
    return reply(call());
  };
}

/** Handlers indexed by call id: the special ones (2.40, then 3.0), else the one the signatures imply. */
export const HANDLERS: readonly (Handler | undefined)[] = CALLS.map(
  (spec) => SPECIAL[spec.name] ?? V3_HANDLERS[spec.name] ?? fromSignature(spec),
);
for (const name of [...Object.keys(SPECIAL), ...Object.keys(V3_HANDLERS)]) {
  if (CALL_ID[name] === undefined) throw new Error(`rpc: no call named ${name}`);
}
