/**
 * Runs a sequence of generated calls against a module and checks the invariant on each: the call
 * returns, or throws a Pkcs11Error whose CKR v2.40 allows for that function, or a TypeError when an
 * argument was of the wrong JS type. Anything else — another exception, CKR_GENERAL_ERROR wrapping a
 * foreign exception (a bug the API boundary papered over), a callback called twice or never — fails.
 * @module
 */
import { ckrName, Pkcs11Error } from '../../../src/errors.js';
import { CKR_GENERAL_ERROR } from '../../../src/pkcs11/constants.js';
import { progress } from '../harness/progress.js';
import type { Tally } from '../harness/suite.js';
import { isAllowed, isDeviation } from './allowed-rv.js';
import { type KeyClass, type Pool, type Resolved, resolve } from './args.js';
import type { CallSpec } from './calls.js';

export class InvariantError extends Error {
  override name = 'InvariantError';
}

type Method = (...args: unknown[]) => unknown;

function describeError(e: unknown): string {
  if (e instanceof Error)
    return `${e.name}: ${e.message}${e.cause ? ` (cause: ${String(e.cause)})` : ''}`;
  return String(e);
}

/**
 * Checks a thrown value against the invariant; returns quietly when it is an allowed answer, and
 * 'deviation' for a listed deviation.
 */
export function checkThrown(fn: string, e: unknown, misuse: boolean): 'deviation' | undefined {
  if (e instanceof TypeError) {
    if (misuse) return undefined;
    throw new InvariantError(`${fn}: TypeError for arguments of the right JS types: ${e.message}`, {
      cause: e,
    });
  }
  if (!(e instanceof Pkcs11Error)) {
    throw new InvariantError(
      `${fn} threw something other than a Pkcs11Error: ${describeError(e)}`,
      {
        cause: e,
      },
    );
  }
  const cause = e.cause;
  // The API boundary turns an unexpected exception into CKR_GENERAL_ERROR with it as the cause: a bug.
  // (Other codes with a cause are deliberate mappings of a failure the token expected.)
  if (e.code === CKR_GENERAL_ERROR && cause !== undefined && !(cause instanceof Pkcs11Error)) {
    throw new InvariantError(
      `${fn}: ${e.message} wraps a foreign exception: ${describeError(cause)}`,
      {
        cause,
      },
    );
  }
  if (isDeviation(fn, e.code)) return 'deviation';
  if (!isAllowed(fn, e.code)) {
    throw new InvariantError(
      `${fn} returned ${ckrName(e.code)}, which v2.40 does not list for it`,
      {
        cause: e,
      },
    );
  }
  return undefined;
}

/** Calls with a node-style callback: exactly one callback, on a later tick, with (error, result). */
function viaCallback(
  method: Method,
  target: unknown,
  args: unknown[],
  fn: string,
): Promise<unknown> {
  return new Promise((resolve, reject) => {
    let calls = 0;
    const cb = (error: unknown, result: unknown) => {
      calls++;
      if (calls > 1) reject(new InvariantError(`${fn}: callback called ${calls} times`));
      else if (error !== null && error !== undefined) reject(error);
      else resolve(result);
    };
    const returned = method.apply(target, [...args, cb]);
    if (returned !== undefined)
      reject(new InvariantError(`${fn}: the callback form returned ${String(returned)}`));
  });
}

const MAKES_OBJECT = new Set([
  'C_CreateObject',
  'C_CopyObject',
  'C_GenerateKey',
  'C_DeriveKey',
  'C_UnwrapKey',
]);

const KEY_FIXTURES = new Set<string>([
  'ecPrivate',
  'ecPublic',
  'rsaPrivate',
  'rsaPublic',
  'aes',
  'hmac',
]);

function keep(list: Buffer[], max: number): void {
  // Keep handle lists short: later specs index them modulo their length.
  if (list.length > max) list.splice(0, list.length - max);
}

function record(pool: Pool, call: CallSpec, result: unknown): void {
  const fn = call.fn;
  if (fn === 'C_OpenSession') pool.sessions.push(result as Buffer);
  else if (MAKES_OBJECT.has(fn)) {
    pool.objects.push(result as Buffer);
    const fixture = call.args.find((a) => a.k === 'fixture');
    const cls =
      fn === 'C_GenerateKey' ? 'aes' : fixture && KEY_FIXTURES.has(fixture.name) && fixture.name;
    if (cls) pool.keys[cls as KeyClass].push(result as Buffer);
  } else if (result instanceof Buffer && fn === 'C_FindObjects') pool.objects.push(result);
  else if (Array.isArray(result) && fn === 'C_FindObjects') {
    for (const h of result) pool.objects.push(h as Buffer);
  } else if (result && typeof result === 'object' && 'privateKey' in result) {
    const r = result as { privateKey: Buffer; publicKey: Buffer };
    pool.objects.push(r.publicKey, r.privateKey);
    pool.keys.ecPublic.push(r.publicKey);
    pool.keys.ecPrivate.push(r.privateKey);
  }
  keep(pool.objects, 64);
  keep(pool.sessions, 16);
  for (const list of Object.values(pool.keys)) keep(list, 8);
}

/** Runs one call; throws InvariantError when the answer breaks the invariant. */
export async function executeCall(
  p11: object,
  call: CallSpec,
  pool: Pool,
  tally: Tally,
): Promise<void> {
  const resolved: Resolved[] = call.args.map((a) => resolve(a, pool));
  const misuse = resolved.some((r) => r.misuse);
  const values = resolved.map((r) => r.value);
  const name = call.form === 'async' ? `${call.fn}Async` : call.fn;
  const method = (p11 as Record<string, Method>)[name];
  if (typeof method !== 'function') throw new Error(`the API has no ${name}`);
  progress(`${name} (${call.form})`);
  tally.add('calls');
  let result: unknown;
  try {
    if (call.form === 'callback') result = await viaCallback(method, p11, values, call.fn);
    else {
      result = method.apply(p11, values);
      if (call.form === 'async') {
        if (!(result instanceof Promise))
          throw new InvariantError(`${name} did not return a promise`);
        result = await result;
      }
    }
  } catch (e) {
    if (e instanceof InvariantError) throw e;
    if (checkThrown(call.fn, e, misuse) === 'deviation') tally.add(`deviation ${call.fn}`);
    tally.add('errors');
    return;
  }
  tally.add('ok');
  tally.add(`ok ${name}`);
  record(pool, call, result);
}
