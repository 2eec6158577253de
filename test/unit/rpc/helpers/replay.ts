/**
 * An engine scripted from a capture: for each captured request, in order, it expects the matching
 * Cryptoki method and returns what makes our server write the captured reply (or throws its ERROR
 * code). Feeding the captured client stream into a server over this engine must give back the
 * captured server stream.
 * @module
 */
import { Pkcs11Error } from '../../../../src/errors.js';
import { CKR_BUFFER_TOO_SMALL } from '../../../../src/pkcs11/constants.js';
import type { AttributeAnswer, Output, Version } from '../../../../src/pkcs11/types.js';
import type { WireAttribute } from '../../../../src/rpc/attributes.js';
import { toRawTemplate } from '../../../../src/rpc/attributes.js';
import { CALLS } from '../../../../src/rpc/calls.js';
import type { ServedApplication } from '../../../../src/rpc/handlers.js';
import { type Arg, type ByteArrayArg, decodeMessage } from '../../../../src/rpc/message.js';
import type { Capture } from './captures.js';

type Step = { method: string; answer: (...args: unknown[]) => unknown };

const latin1 = (b: Arg): string => Buffer.from(b as Uint8Array).toString('latin1');
const v = (a: Arg): Version => a as Version;
const n = (a: Arg): number => a as number;

/** Cryptoki method name for a C_ call name. */
export function methodOf(call: string): string {
  const special: Record<string, string> = {
    C_InitPIN: 'initPin',
    C_SetPIN: 'setPin',
    C_InitToken2: 'initToken',
    C_DeriveKey2: 'deriveKey',
  };
  const base = call.slice(2);
  return special[call] ?? base.charAt(0).toLowerCase() + base.slice(1);
}

function output(reply: ByteArrayArg): (...args: unknown[]) => Output {
  return (...args) => {
    const capacity = args[args.length - 1] as number | null;
    if (reply === null) return { length: 0, bytes: null };
    if (reply instanceof Uint8Array) return { length: reply.length, bytes: reply };
    if (capacity === null) return { length: reply.lengthOnly, bytes: null };
    throw new Pkcs11Error(CKR_BUFFER_TOO_SMALL, 'scripted', { requiredLength: reply.lengthOnly });
  };
}

function answers(attrs: WireAttribute[], queries: { type: number; capacity: number | null }[]) {
  return attrs.map((a, i): AttributeAnswer => {
    if (a.length < 0) return { type: a.type, length: -1 };
    if (queries[i]?.capacity === null) return { type: a.type, length: a.length };
    const raw = toRawTemplate([a])[0];
    return { type: a.type, length: a.length, value: raw?.value as Uint8Array };
  });
}

/** The engine result that reproduces a decoded reply of `call`. */
function resultOf(call: string, r: Arg[]): (...args: unknown[]) => unknown {
  const [a0, a1, a2, a3, a4] = r;
  switch (call) {
    case 'C_GetInfo':
      return () => ({
        cryptokiVersion: v(a0 as Arg),
        manufacturerID: latin1(a1 as Arg),
        flags: n(a2 as Arg),
        libraryDescription: latin1(a3 as Arg),
        libraryVersion: v(a4 as Arg),
      });
    case 'C_GetSlotList':
    case 'C_GetMechanismList':
    case 'C_FindObjects':
      return () =>
        Array.isArray(a0) ? a0 : new Array((a0 as { lengthOnly: number }).lengthOnly).fill(0);
    case 'C_GetSlotInfo':
      return () => ({
        slotDescription: latin1(a0 as Arg),
        manufacturerID: latin1(a1 as Arg),
        flags: n(a2 as Arg),
        hardwareVersion: v(a3 as Arg),
        firmwareVersion: v(a4 as Arg),
      });
    case 'C_GetTokenInfo': {
      const k = ['label', 'manufacturerID', 'model', 'serialNumber'];
      const u = ['flags', 'maxSessionCount', 'sessionCount', 'maxRwSessionCount', 'rwSessionCount'];
      u.push('maxPinLen', 'minPinLen', 'totalPublicMemory', 'freePublicMemory');
      u.push('totalPrivateMemory', 'freePrivateMemory');
      const info: Record<string, unknown> = {};
      k.forEach((key, i) => {
        info[key] = latin1(r[i] as Arg);
      });
      u.forEach((key, i) => {
        info[key] = r[4 + i];
      });
      info.hardwareVersion = r[15];
      info.firmwareVersion = r[16];
      info.utcTime = latin1(r[17] as Arg);
      return () => info;
    }
    case 'C_GetMechanismInfo':
      return () => ({ minKeySize: a0, maxKeySize: a1, flags: a2 });
    case 'C_GetSessionInfo':
      return () => ({ slotID: a0, state: a1, flags: a2, deviceError: a3 });
    case 'C_GenerateKeyPair':
      return () => ({ publicKey: a0, privateKey: a1 });
    case 'C_GetAttributeValue':
      return (_s, _o, queries) => ({
        rv: a1,
        answers: answers(
          a0 as WireAttribute[],
          queries as { type: number; capacity: number | null }[],
        ),
      });
    case 'C_GenerateRandom':
      return () => (a0 instanceof Uint8Array ? a0 : new Uint8Array(0));
    default:
      if (CALLS.find((c) => c.name === call)?.reply === 'ay') return output(a0 as ByteArrayArg);
      return () => a0;
  }
}

/** The steps of a capture: one per request, in order, with its captured reply. */
export function scriptOf(capture: Capture, version: number): Step[] {
  const replies = new Map(capture.replies.map((f) => [f.serial, f.body]));
  return capture.requests.map((req) => {
    const { call } = decodeMessage(req.body, 'request', { version });
    const body = replies.get(req.serial);
    if (!body) throw new Error(`${capture.name}: no reply for serial ${req.serial}`);
    const reply = decodeMessage(body, 'reply', { version });
    const method = methodOf(call.name);
    if (reply.call.id === 0) {
      const rv = reply.args[0] as number;
      return {
        method,
        answer: () => {
          throw new Pkcs11Error(rv, 'scripted');
        },
      };
    }
    return { method, answer: resultOf(call.name, reply.args) };
  });
}

/** A Cryptoki that plays `steps` in order and records the methods called. */
export function replayApplication(steps: Step[]): { app: ServedApplication; called: string[] } {
  const called: string[] = [];
  const queue = [...steps];
  const app = new Proxy({} as ServedApplication, {
    get(_t, prop) {
      if (typeof prop !== 'string' || prop.endsWith('Async') || prop === 'then') return undefined;
      return (...args: unknown[]) => {
        called.push(prop);
        const step = queue.shift();
        if (!step) throw new Error(`replay: unexpected ${prop} after the script ended`);
        if (step.method !== prop)
          throw new Error(`replay: ${prop} called, ${step.method} expected`);
        return step.answer(...args);
      };
    },
  });
  return { app, called };
}
