/**
 * The PKCS#11 3.0 calls over p11-kit RPC (issue 15 item 4), served by the real engine on a memory token.
 * No p11-kit ≥ 0.25 client is installed here (Debian bookworm has 0.24, which sends none of these), so
 * the requests are frames built by hand from p11-kit's rpc-message.h call table and rpc-client.c's
 * encoders (call id, signature, then each argument; `ay` as flag byte + length + bytes, NULL as flag 1
 * + 0xffffffff; a NULL mechanism as type 0xffffffff), and the replies are checked byte for byte.
 * @module
 */
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import * as C from '../../../src/pkcs11/constants.js';
import { CALL_ID } from '../../../src/rpc/calls.js';
import { encodeFrame } from '../../../src/rpc/frame.js';
import { utf8 } from '../../../src/util/bytes.js';
import { USER_PIN } from '../../helpers/token.js';
import type { RpcClient } from './helpers/client.js';
import {
  type FakeServer,
  fakeServer,
  PIN_BYTES,
  type TokenServer,
  tokenServer,
} from './helpers/serve.js';

const PIN = USER_PIN;
const KEY = Buffer.alloc(32, 0x5a);
const DATA = Buffer.from('a message in two parts');
const AAD_BYTES = Buffer.from('associated');

const hex = (s: string) => Buffer.from(s.replace(/\s+/g, ''), 'hex');
const u64 = (n: number) => n.toString(16).padStart(16, '0');
const u32 = (n: number) => n.toString(16).padStart(8, '0');
const ay = (b: Buffer) => `01 ${u32(b.length)} ${b.toString('hex')}`;
const NULL_AY = '01 ffffffff';
/** A reply body: the call id and its (empty) reply signature. */
const emptyReply = (id: number) => hex(`${u32(id)} 00000000`);
/** An ERROR reply body (call 0, signature "u") carrying `rv`. */
const errorReply = (rv: number) => hex(`00000000 00000001 75 ${u64(rv)}`);

describe('PKCS#11 3.0 calls over RPC, as p11-kit ≥ 0.25 frames them', () => {
  let served: TokenServer;
  before(async () => {
    served = await tokenServer();
  });
  after(() => served.stop());

  /** A protocol-1 (p11-kit 0.25) connection with an initialized application and a R/W session. */
  async function connect(version = 1): Promise<{ c: RpcClient; session: number }> {
    const opened = await served.connect(version);
    assert.equal(opened.c.version, version);
    return opened;
  }

  let serial = 0x100;
  /** Sends a hand-built request body; returns the reply body. */
  async function raw(c: RpcClient, body: Buffer): Promise<Buffer> {
    const mine = serial++;
    c.raw.write(encodeFrame(mine, body));
    const f = await c.next();
    assert.equal(f.serial, mine);
    return Buffer.from(f.body);
  }

  const state = async (c: RpcClient, s: number) =>
    (await c.call('C_GetSessionInfo', [s])).args[1] as number;

  it("the 3.0 call ids are p11-kit's: C_LoginUser 66, C_SessionCancel 67 … C_MessageVerifyFinal 87", () => {
    assert.equal(CALL_ID.C_WaitForSlotEvent, 65);
    assert.equal(CALL_ID.C_LoginUser, 66);
    assert.equal(CALL_ID.C_SessionCancel, 67);
    assert.equal(CALL_ID.C_MessageEncryptInit, 68);
    assert.equal(CALL_ID.C_MessageSignInit, 78);
    assert.equal(CALL_ID.C_MessageVerifyFinal, 87);
    assert.equal(CALL_ID.C_InitToken2, 88);
  });

  it('C_LoginUser with a NULL user name → CKR_OK (empty reply), the session is a user session', async () => {
    const { c, session } = await connect();
    const body = hex(
      `00000042 00000006 ${Buffer.from('uuayay').toString('hex')}
       ${u64(session)} ${u64(C.CKU_USER)} ${ay(Buffer.from(PIN))} ${NULL_AY}`,
    );
    assert.deepEqual(await raw(c, body), emptyReply(66));
    assert.equal(await state(c, session), C.CKS_RW_USER_FUNCTIONS);
    c.close();
  });

  it('C_LoginUser with a user name → CKR_ARGUMENTS_BAD; with a wrong PIN → CKR_PIN_INCORRECT', async () => {
    const { c, session } = await connect();
    const login = (pin: string, name: string) =>
      hex(
        `00000042 00000006 757561796179 ${u64(session)} ${u64(C.CKU_USER)}
         ${ay(Buffer.from(pin))} ${ay(Buffer.from(name))}`,
      );
    assert.deepEqual(await raw(c, login(PIN, 'alice')), errorReply(C.CKR_ARGUMENTS_BAD));
    assert.deepEqual(await raw(c, login('0000', '')), errorReply(C.CKR_PIN_INCORRECT));
    assert.equal(await state(c, session), C.CKS_RW_PUBLIC_SESSION);
    // the try the wrong PIN spent is reset by a good login
    assert.deepEqual(await raw(c, login(PIN, '')), emptyReply(66));
    c.close();
  });

  it('C_SessionCancel(CKF_DIGEST) → CKR_OK; the digest is gone → CKR_OPERATION_NOT_INITIALIZED', async () => {
    const { c, session } = await connect();
    const sha256 = { type: C.CKM_SHA256, param: { form: 'none' as const } };
    assert.equal((await c.call('C_DigestInit', [session, sha256])).rv, 0);
    const body = hex(`00000043 00000002 7575 ${u64(session)} ${u64(C.CKF_DIGEST)}`);
    assert.deepEqual(await raw(c, body), emptyReply(67));
    const r = await c.call('C_DigestUpdate', [session, new Uint8Array(4)]);
    assert.equal(r.rv, C.CKR_OPERATION_NOT_INITIALIZED);
    const bad = hex(`00000043 00000002 7575 ${u64(session)} ${u64(C.CKF_HW)}`);
    assert.deepEqual(await raw(c, bad), errorReply(C.CKR_ARGUMENTS_BAD));
    const closed = hex(`00000043 00000002 7575 ${u64(999)} ${u64(C.CKF_DIGEST)}`);
    assert.deepEqual(await raw(c, closed), errorReply(C.CKR_SESSION_HANDLE_INVALID));
    c.close();
  });

  it('C_DigestInit / C_SignInit with the NULL mechanism (type 0xffffffff) end the operation → CKR_OK', async () => {
    const { c, session } = await connect();
    const sha256 = { type: C.CKM_SHA256, param: { form: 'none' as const } };
    assert.equal((await c.call('C_DigestInit', [session, sha256])).rv, 0);
    const digestInit = hex(`00000025 00000002 754d ${u64(session)} ffffffff`);
    assert.deepEqual(await raw(c, digestInit), emptyReply(37));
    const r = await c.call('C_DigestUpdate', [session, new Uint8Array(4)]);
    assert.equal(r.rv, C.CKR_OPERATION_NOT_INITIALIZED);
    // nothing active: still CKR_OK; the key handle is not looked at
    const signInit = hex(`0000002a 00000003 754d75 ${u64(session)} ffffffff ${u64(12345)}`);
    assert.deepEqual(await raw(c, signInit), emptyReply(42));
    c.close();
  });

  /** A logged-in connection with an HMAC session key (CKA_SIGN, CKA_VERIFY). */
  async function withHmacKey(): Promise<{ c: RpcClient; session: number; key: number }> {
    const { c, session } = await connect();
    assert.equal((await c.call('C_Login', [session, C.CKU_USER, utf8(PIN)])).rv, 0);
    const ulong = (type: number, v: number) => ({
      type,
      length: 8,
      value: { kind: 'ulong' as const, value: BigInt(v) },
    });
    const yes = (type: number) => ({ type, length: 1, value: { kind: 'byte' as const, value: 1 } });
    const value = { type: C.CKA_VALUE, length: 32, value: { kind: 'bytes' as const, value: KEY } };
    const template = [
      ulong(C.CKA_CLASS, C.CKO_SECRET_KEY),
      ulong(C.CKA_KEY_TYPE, C.CKK_GENERIC_SECRET),
      value,
      yes(C.CKA_SIGN),
      yes(C.CKA_VERIFY),
    ];
    const r = await c.call('C_CreateObject', [session, template]);
    assert.equal(r.rv, 0);
    return { c, session, key: r.args[0] as number };
  }
  const HMAC = { type: C.CKM_SHA256_HMAC, param: { form: 'none' as const } };
  const mac = (d: Buffer) => createHmac('sha256', KEY).update(d).digest();

  it('C_SignMessage (id 79) with a NULL parameter → CKR_OK: the HMAC node:crypto computes', async () => {
    const { c, session, key } = await withHmacKey();
    assert.equal((await c.call('C_MessageSignInit', [session, HMAC, key])).rv, 0);
    const body = hex(
      `0000004f 00000007 ${Buffer.from('uayayfy').toString('hex')}
       ${u64(session)} ${NULL_AY} ${ay(DATA)} ${u32(64)}`,
    );
    // reply: call 79, signature "ay", the 32-byte MAC
    const want = hex(`0000004f 00000002 6179 ${ay(mac(DATA))}`);
    assert.deepEqual(await raw(c, body), want);
    assert.equal((await c.call('C_MessageSignFinal', [session])).rv, 0);
    c.close();
  });

  it('C_SignMessageNext (id 81) without a signature asked → a NULL array; then the MAC of every part', async () => {
    const { c, session, key } = await withHmacKey();
    assert.equal((await c.call('C_MessageSignInit', [session, HMAC, key])).rv, 0);
    assert.equal((await c.call('C_SignMessageBegin', [session, null])).rv, 0);
    const part = (data: Buffer, expected: number, room: number) =>
      hex(
        `00000051 00000008 ${Buffer.from('uayayyfy').toString('hex')}
         ${u64(session)} ${NULL_AY} ${ay(data)} ${expected.toString(16).padStart(2, '0')} ${u32(room)}`,
      );
    assert.deepEqual(
      await raw(c, part(DATA.subarray(0, 5), 0, 0)),
      hex(`00000051 00000002 6179 ${NULL_AY}`),
    );
    assert.deepEqual(
      await raw(c, part(DATA.subarray(5), 1, 64)),
      hex(`00000051 00000002 6179 ${ay(mac(DATA))}`),
    );
    c.close();
  });

  it('C_VerifyMessage (id 84) → CKR_OK for the right MAC, CKR_SIGNATURE_INVALID for another', async () => {
    const { c, session, key } = await withHmacKey();
    assert.equal((await c.call('C_MessageVerifyInit', [session, HMAC, key])).rv, 0);
    const verifyBody = (sig: Buffer) =>
      hex(
        `00000054 00000007 ${Buffer.from('uayayay').toString('hex')}
         ${u64(session)} ${NULL_AY} ${ay(DATA)} ${ay(sig)}`,
      );
    assert.deepEqual(await raw(c, verifyBody(mac(DATA))), emptyReply(84));
    assert.deepEqual(
      await raw(c, verifyBody(mac(Buffer.from('other')))),
      errorReply(C.CKR_SIGNATURE_INVALID),
    );
    c.close();
  });

  it('C_EncryptMessage (id 69) with AES-GCM: the C structure’s bytes cannot carry IV and tag → CKR_MECHANISM_PARAM_INVALID', async () => {
    // Protocol 2 (p11-kit 0.26): 0.25's client cannot even send CKM_AES_GCM with a NULL parameter (its
    // GCM serializer fails on anything but a CK_GCM_PARAMS), so C_MessageEncryptInit needs 0.26.
    const { c, session } = await connect(2);
    assert.equal((await c.call('C_Login', [session, C.CKU_USER, utf8(PIN)])).rv, 0);
    const aesKey = await c.call('C_GenerateKey', [
      session,
      { type: C.CKM_AES_KEY_GEN, param: { form: 'none' } },
      [
        { type: C.CKA_VALUE_LEN, length: 8, value: { kind: 'ulong', value: 32n } },
        { type: C.CKA_ENCRYPT, length: 1, value: { kind: 'byte', value: 1 } },
      ],
    ]);
    assert.equal(aesKey.rv, 0);
    const handle = aesKey.args[0] as number;
    const gcm = { type: C.CKM_AES_GCM, param: { form: 'none' as const } };
    assert.equal((await c.call('C_MessageEncryptInit', [session, gcm, handle])).rv, 0);
    // CK_GCM_MESSAGE_PARAMS on x86-64: pIv, ulIvLen, ulIvFixedBits, ivGenerator, pTag, ulTagBits (48 bytes)
    const struct = Buffer.alloc(48);
    struct.writeBigUInt64LE(0x7ffd_1234_5678n, 0);
    struct.writeBigUInt64LE(12n, 8);
    struct.writeBigUInt64LE(0x7ffd_1234_5690n, 32);
    struct.writeBigUInt64LE(128n, 40);
    const body = hex(
      `00000045 00000009 ${Buffer.from('uayayayfy').toString('hex')}
       ${u64(session)} ${ay(struct)} ${ay(AAD_BYTES)} ${ay(DATA)} ${u32(64)}`,
    );
    assert.deepEqual(await raw(c, body), errorReply(C.CKR_MECHANISM_PARAM_INVALID));
    assert.equal((await c.call('C_MessageEncryptFinal', [session])).rv, 0);
    c.close();
  });
});

describe('PKCS#11 3.0 calls over RPC to a 2.40 module', () => {
  let s: FakeServer;
  before(async () => {
    s = await fakeServer();
  });
  after(() => s.stop());

  it('C_LoginUser, C_SessionCancel, C_MessageEncryptInit → CKR_FUNCTION_NOT_SUPPORTED', async () => {
    const { client, session } = await s.session(2);
    const r = await client.call('C_LoginUser', [session, C.CKU_USER, PIN_BYTES, null]);
    assert.equal(r.rv, C.CKR_FUNCTION_NOT_SUPPORTED);
    assert.equal(
      (await client.call('C_SessionCancel', [session, C.CKF_SIGN])).rv,
      C.CKR_FUNCTION_NOT_SUPPORTED,
    );
    const gcm = { type: C.CKM_AES_GCM, param: { form: 'none' as const } };
    assert.equal(
      (await client.call('C_MessageEncryptInit', [session, gcm, 1])).rv,
      C.CKR_FUNCTION_NOT_SUPPORTED,
    );
    client.close();
  });
});
