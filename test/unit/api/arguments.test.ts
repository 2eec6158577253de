/**
 * pkcs11js's argument checks: the same TypeErrors (and NativeError before load) for the same calls.
 * Each case's expected outcome is what pkcs11js 2.1.7 answers (its native GET_ARGS_* checks and JS
 * layer); where SoftHSMv2 and the pkcs11js dev dependency are installed, every case also runs on the
 * real pkcs11js side by side and the two outcomes must be equal.
 * @module
 */
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { after, describe, it } from 'node:test';
import { PKCS11 } from '../../../src/create.js';
import * as C from '../../../src/pkcs11/constants.js';
import { scratch } from '../helpers/openssl.js';
import { freshToken, softHsm, USER_PIN } from '../qualification/softhsm.js';

type Loose = Record<string, (...args: unknown[]) => unknown>;

const wrong = (i: number, what: string) =>
  `throws TypeError: Argument ${i} has wrong type. ${what}`;
const count = (expected: number, received: number) =>
  `throws TypeError: Parameters are required. Expected ${expected} arguments, but received ${received}.`;
const date = (type: string, why: string) =>
  `throws TypeError: Attribute with type ${type} is not convertible to CK_DATE. ${why}`;
const SHORT = 'The length of the data should be at least 8 bytes.';

/** Case name → [arguments builder, method, pkcs11js 2.1.7's outcome]. */
function cases(slot: Buffer, s: Buffer): [string, unknown[], string][] {
  const key = Buffer.alloc(8);
  const out = Buffer.alloc(64);
  const sha = { mechanism: C.CKM_SHA256 };
  return [
    ['C_GetSlotInfo', [], count(1, 0)],
    ['C_GetSlotInfo', ['x'], wrong(0, 'Should be a Buffer')],
    [
      'C_GetSlotInfo',
      [Buffer.alloc(0)],
      'throws TypeError: Argument 0 has wrong length. Should be 8 bytes.',
    ],
    [
      'C_GetSlotInfo',
      [Buffer.alloc(4)],
      'throws TypeError: Argument 0 has wrong length. Should be 8 bytes.',
    ],
    ['C_GetSlotInfo', [slot, 1], count(1, 2)],
    ['C_GetSlotList', ['x'], wrong(0, 'Should be a Boolean')],
    ['C_GetMechanismInfo', [slot, 'x'], wrong(1, 'Should be a Number')],
    ['C_OpenSession', [slot], count(2, 1)],
    ['C_OpenSession', [slot, 'x'], wrong(1, 'Should be a Number')],
    ['C_Login', [s, C.CKU_USER], count(3, 2)],
    ['C_Login', [s, C.CKU_USER, undefined], wrong(2, 'Should be a String')],
    ['C_Login', [s, C.CKU_USER, 1234], wrong(2, 'Should be a String')],
    ['C_InitToken', [slot, 1, 'l'], wrong(1, 'Should be a String')],
    ['C_InitToken', [slot, 'p', 5], wrong(2, 'Should be a String')],
    ['C_DigestInit', [s, null], wrong(1, 'Should be an Object')],
    ['C_DigestInit', [s, { mechanism: 'x' }], wrong(1, "Property 'mechanism' should be a Number")],
    [
      'C_DigestInit',
      [s, { ...sha, parameter: 'x' }],
      wrong(1, "Property 'parameter' should be an Object or Buffer"),
    ],
    [
      'C_DigestInit',
      [s, { ...sha, parameter: {} }],
      wrong(1, "Property 'type' should be a Number"),
    ],
    ['C_CreateObject', [s, {}], wrong(1, 'Should be an Array')],
    ['C_CreateObject', [s, [1]], 'throws TypeError: Element 0 has wrong type. Should be an Object'],
    [
      'C_CreateObject',
      [s, [{ type: 'x' }]],
      "throws TypeError: Element 0 has wrong type. Property 'type' should be a Number",
    ],
    [
      'C_CreateObject',
      [s, [{ type: C.CKA_LABEL, value: {} }]],
      "throws TypeError: Element 0 has wrong type. Property 'value' should be a Number, Boolean, String or Buffer",
    ],
    [
      'C_CreateObject',
      [s, [{ type: C.CKA_START_DATE, value: 123 }]],
      date('0x00000110', 'Should be a String, Buffer or Date'),
    ],
    ['C_CreateObject', [s, [{ type: C.CKA_START_DATE, value: '123' }]], date('0x00000110', SHORT)],
    ['C_CreateObject', [s, [{ type: C.CKA_END_DATE, value: '' }]], date('0x00000111', SHORT)],
    ['C_Digest', [s, 'x', out], wrong(1, 'Should be a Buffer')],
    ['C_Digest', [s, Buffer.alloc(1), out, 'cb'], wrong(3, 'Should be a Function')],
    ['C_Sign', [s, Buffer.alloc(1)], count(3, 2)],
    ['C_WrapKey', [s, { mechanism: C.CKM_AES_KEY_WRAP }, key, key], count(5, 4)],
    ['C_FindObjects', [s, 'x'], wrong(1, 'Should be a Number')],
    ['C_FindObjects', [], count(2, 1)],
    ['C_SetOperationState', [s, Buffer.alloc(1)], count(4, 2)],
    ['C_WaitForSlotEvent', [], count(1, 0)],
    [
      'C_GenerateKeyPairAsync',
      [s, { mechanism: C.CKM_RSA_PKCS_KEY_PAIR_GEN }, [], 'wrong'],
      `rejects ${wrong(3, 'Should be an Array').slice(7)}`,
    ],
    ['C_SignAsync', [s], `rejects ${count(4, 2).slice(7)}`],
  ];
}

const show = (e: unknown) => `${(e as Error).constructor.name}: ${(e as Error).message}`;

/** Runs every case on an initialized, logged-in module; the outcome of each, in order. */
async function outcomes(p11: Loose, pin: string): Promise<string[]> {
  const loose = p11 as unknown as Loose & { C_GetSlotList(t: boolean): Buffer[] };
  const slot = loose.C_GetSlotList(true)[0] as Buffer;
  const s = loose.C_OpenSession?.(slot, C.CKF_SERIAL_SESSION | C.CKF_RW_SESSION) as Buffer;
  loose.C_Login?.(s, C.CKU_USER, pin);
  const result: string[] = [];
  for (const [method, args] of cases(slot, s)) {
    try {
      const r = (loose[method] as (...a: unknown[]) => unknown).apply(p11, args);
      if (r instanceof Promise) {
        result.push(
          await r.then(
            () => 'resolved',
            (e) => `rejects ${show(e)}`,
          ),
        );
      } else result.push('ok');
    } catch (e) {
      result.push(`throws ${show(e)}`);
    }
  }
  return result;
}

const PIN = '1234';
const tmp = scratch('corepkcs11-arguments-');
after(() => tmp.cleanup());

describe("arguments: pkcs11js's TypeErrors, word for word", () => {
  it("before load(), every call is pkcs11js's NativeError 'PKCS11 module not loaded yet', whatever its arguments", () => {
    const p11 = new PKCS11() as unknown as Loose;
    for (const name of ['C_GetInfo', 'C_Initialize', 'C_GetSlotInfo', 'C_Sign']) {
      assert.throws(() => p11[name]?.call(p11), {
        name: 'NativeError',
        message: 'PKCS11 module not loaded yet',
      });
    }
  });

  it('each case gives the TypeError pkcs11js gives, and reaches no token', async () => {
    const p11 = new PKCS11('memory:', { pinIterations: 10_000 });
    p11.C_Initialize();
    const slot = p11.C_GetSlotList(true)[0] as Buffer;
    p11.C_InitToken(slot, '12345678', 'args');
    const so = p11.C_OpenSession(slot, C.CKF_SERIAL_SESSION | C.CKF_RW_SESSION);
    p11.C_Login(so, C.CKU_SO, '12345678');
    p11.C_InitPIN(so, PIN);
    p11.C_Logout(so);
    const got = await outcomes(p11 as unknown as Loose, PIN);
    const want = cases(slot, slot).map((c) => c[2]);
    assert.deepEqual(got, want);
    const flags = p11.C_GetTokenInfo(slot).flags;
    assert.equal(flags & C.CKF_USER_PIN_COUNT_LOW, 0, 'a refused C_Login spent no PIN try');
    p11.C_Finalize();
  });

  const shm = softHsm();
  it('side by side with the real pkcs11js over SoftHSMv2: the same outcome for every case', {
    skip: 'missing' in shm ? shm.missing : false,
  }, async () => {
    const dir = freshToken('args');
    try {
      const native = createRequire(import.meta.url)('pkcs11js') as {
        PKCS11: new () => Loose & { load(p: string): void };
      };
      const real = new native.PKCS11();
      real.load((shm as { library: string }).library);
      real.C_Initialize?.();
      const theirs = await outcomes(real, USER_PIN);
      real.C_Finalize?.();
      const slot = Buffer.alloc(8);
      assert.deepEqual(
        theirs,
        cases(slot, slot).map((c) => c[2]),
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
