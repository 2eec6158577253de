import assert from 'node:assert/strict';
import { createHash, verify } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import * as C from '../../../src/pkcs11/constants.js';
import type { WireAttribute } from '../../../src/rpc/attributes.js';
import type { WireMechanism } from '../../../src/rpc/mechanisms.js';
import { HANDSHAKE } from './helpers/client.js';
import { CERTIFICATE, PRIVATE_KEY, SLOT } from './helpers/fake-cryptoki.js';
import { bytesAttr, type FakeServer, fakeServer, PIN_BYTES } from './helpers/serve.js';

const ECDSA: WireMechanism = { type: C.CKM_ECDSA, param: { form: 'none' } };
const digest = createHash('sha256').update('to be signed').digest();

describe('RPC handlers over the fake engine', () => {
  let s: FakeServer;
  before(async () => {
    s = await fakeServer();
  });
  after(() => s.stop());

  it('C_Initialize with a wrong handshake string → CKR_GENERAL_ERROR', async () => {
    const client = await s.open();
    const r = await client.call('C_Initialize', [new Uint8Array(41), 0, new Uint8Array(1)]);
    assert.equal(r.rv, C.CKR_GENERAL_ERROR);
    client.close();
  });

  it('C_Initialize passes CKF_OS_LOCKING_OK and whether pReserved was given', async () => {
    const client = await s.open();
    assert.equal((await client.call('C_Initialize', [HANDSHAKE, 0, new Uint8Array(1)])).rv, 0);
    const app = s.apps.at(-1)!;
    assert.deepEqual(app.lastInitArgs, { flags: C.CKF_OS_LOCKING_OK, reservedIsNull: true });
    assert.equal(
      (await client.call('C_Initialize', [HANDSHAKE, 0, new Uint8Array(1)])).rv,
      C.CKR_CRYPTOKI_ALREADY_INITIALIZED,
    );
    client.close();
  });

  it('C_GetSlotList: NULL buffer gets the count, too small a buffer the count, room the list', async () => {
    const { client } = await s.session();
    assert.deepEqual((await client.call('C_GetSlotList', [1, 0])).args, [{ lengthOnly: 1 }]);
    assert.deepEqual((await client.call('C_GetSlotList', [1, 4])).args, [[SLOT]]);
    client.close();
  });

  it('C_GetTokenInfo sends blank-padded fields of the exact widths and -1 as all ones', async () => {
    const { client } = await s.session();
    const r = await client.call('C_GetTokenInfo', [SLOT]);
    const widths = r.args.slice(0, 4).map((a) => (a as Uint8Array).length);
    assert.deepEqual(widths, [32, 32, 16, 16]);
    assert.equal(Buffer.from(r.args[0] as Uint8Array).toString(), 'fake token'.padEnd(32));
    assert.equal(r.args[8], -1); // rwSessionCount = CK_UNAVAILABLE_INFORMATION
    assert.equal((r.args[17] as Uint8Array).length, 16);
    assert.equal((await client.call('C_GetTokenInfo', [7])).rv, C.CKR_SLOT_ID_INVALID);
    client.close();
  });

  it('C_Sign: size query, too small a buffer (operation kept), then a signature that verifies', async () => {
    const { client, session } = await s.session();
    assert.equal((await client.call('C_Login', [session, C.CKU_USER, PIN_BYTES])).rv, 0);
    assert.equal((await client.call('C_SignInit', [session, ECDSA, PRIVATE_KEY])).rv, 0);
    assert.deepEqual((await client.call('C_Sign', [session, digest, 0])).args, [
      { lengthOnly: 64 },
    ]);
    assert.deepEqual((await client.call('C_Sign', [session, digest, 10])).args, [
      { lengthOnly: 64 },
    ]);
    const sig = (await client.call('C_Sign', [session, digest, 512])).args[0] as Uint8Array;
    assert.equal(sig.length, 64);
    const key = s.apps.at(-1)!.key.publicKey;
    const ok = verify(
      'sha256',
      Buffer.from('to be signed'),
      { key, dsaEncoding: 'ieee-p1363' },
      sig,
    );
    assert.ok(ok, 'ECDSA signature made through RPC verifies with node:crypto');
    assert.equal(
      (await client.call('C_Sign', [session, digest, 512])).rv,
      C.CKR_OPERATION_NOT_INITIALIZED,
    );
    client.close();
  });

  it('C_Login with a wrong PIN → CKR_PIN_INCORRECT as an ERROR reply', async () => {
    const { client, session } = await s.session();
    const r = await client.call('C_Login', [session, C.CKU_USER, new Uint8Array([1, 2])]);
    assert.equal(r.rv, C.CKR_PIN_INCORRECT);
    client.close();
  });

  it('C_FindObjects: template decoded to raw C values, handles returned up to the room', async () => {
    const { client, session } = await s.session();
    const cls: WireAttribute = {
      type: C.CKA_CLASS,
      length: 8,
      value: { kind: 'ulong', value: BigInt(C.CKO_PRIVATE_KEY) },
    };
    const tmpl = [cls, bytesAttr(C.CKA_ID, Uint8Array.of(1))];
    assert.equal((await client.call('C_FindObjectsInit', [session, tmpl])).rv, 0);
    const raw = s.apps.at(-1)!.lastTemplate!;
    assert.deepEqual(raw[0], { type: C.CKA_CLASS, value: Uint8Array.of(3, 0, 0, 0, 0, 0, 0, 0) });
    assert.deepEqual((await client.call('C_FindObjects', [session, 10])).args, [[PRIVATE_KEY]]);
    assert.deepEqual((await client.call('C_FindObjects', [session, 10])).args, [[]]);
    assert.equal((await client.call('C_FindObjectsFinal', [session])).rv, 0);
    client.close();
  });

  describe('C_GetAttributeValue', () => {
    const query = (types: [number, number][]) => types.map(([type, room]) => ({ type, room }));

    it('answers a size query with a placeholder each kind decodes, CKR_OK inside the reply', async () => {
      const { client, session } = await s.session();
      const r = await client.call('C_GetAttributeValue', [
        session,
        PRIVATE_KEY,
        query([
          [C.CKA_SIGN, 0],
          [C.CKA_KEY_TYPE, 0],
          [C.CKA_LABEL, 0],
          [C.CKA_ALLOWED_MECHANISMS, 0],
        ]),
      ]);
      assert.deepEqual(r.args, [
        [
          { type: C.CKA_SIGN, length: 1, value: { kind: 'byte', value: 0 } },
          { type: C.CKA_KEY_TYPE, length: 8, value: { kind: 'ulong', value: 0n } },
          { type: C.CKA_LABEL, length: 5, value: { kind: 'bytes', value: null } },
          { type: C.CKA_ALLOWED_MECHANISMS, length: 16, value: { kind: 'mechanisms', value: [] } },
        ],
        C.CKR_OK,
      ]);
      client.close();
    });

    it('sends values typed by attribute, dates and mechanism arrays included', async () => {
      const { client, session } = await s.session();
      const r = await client.call('C_GetAttributeValue', [
        session,
        PRIVATE_KEY,
        query([
          [C.CKA_KEY_TYPE, 8],
          [C.CKA_ALLOWED_MECHANISMS, 16],
        ]),
      ]);
      const [attrs, rv] = r.args as [WireAttribute[], number];
      assert.equal(rv, C.CKR_OK);
      assert.deepEqual(attrs[0]?.value, { kind: 'ulong', value: BigInt(C.CKK_EC) });
      assert.deepEqual(attrs[1]?.value, {
        kind: 'mechanisms',
        value: [BigInt(C.CKM_ECDSA), BigInt(C.CKM_ECDSA_SHA256)],
      });
      const cert = await client.call('C_GetAttributeValue', [
        session,
        CERTIFICATE,
        query([
          [C.CKA_START_DATE, 8],
          [C.CKA_END_DATE, 8],
        ]),
      ]);
      const dates = (cert.args[0] as WireAttribute[]).map((a) => a.value);
      assert.deepEqual(dates[0], { kind: 'date', value: new TextEncoder().encode('20260101') });
      assert.equal((dates[1]?.value as Uint8Array | null)?.length, 0);
      client.close();
    });

    it('marks sensitive, unknown and too-small entries unavailable, CK_RV inside the reply', async () => {
      const { client, session } = await s.session();
      for (const [type, room, rv] of [
        [C.CKA_VALUE, 32, C.CKR_ATTRIBUTE_SENSITIVE],
        [C.CKA_MODULUS, 0, C.CKR_ATTRIBUTE_TYPE_INVALID],
        [C.CKA_LABEL, 2, C.CKR_BUFFER_TOO_SMALL],
      ] as const) {
        const r = await client.call('C_GetAttributeValue', [
          session,
          PRIVATE_KEY,
          query([[type, room]]),
        ]);
        assert.deepEqual(r.args, [[{ type, length: -1 }], rv], `0x${type.toString(16)}`);
      }
      client.close();
    });

    it('refuses a nested template to protocol 0 for the whole call → CKR_ATTRIBUTE_TYPE_INVALID', async () => {
      const { client, session } = await s.session(0);
      const r = await client.call('C_GetAttributeValue', [
        session,
        PRIVATE_KEY,
        query([[C.CKA_WRAP_TEMPLATE, 0]]),
      ]);
      assert.equal(r.rv, C.CKR_ATTRIBUTE_TYPE_INVALID);
      client.close();
    });

    it('sends a nested template to protocol 2 clients', async () => {
      const { client, session } = await s.session(2);
      const r = await client.call('C_GetAttributeValue', [
        session,
        PRIVATE_KEY,
        query([[C.CKA_WRAP_TEMPLATE, 24]]),
      ]);
      assert.deepEqual(r.args, [
        [
          {
            type: C.CKA_WRAP_TEMPLATE,
            length: 24,
            value: {
              kind: 'attributes',
              value: [{ type: C.CKA_TOKEN, length: 1, value: { kind: 'byte', value: 1 } }],
            },
          },
        ],
        C.CKR_OK,
      ]);
      client.close();
    });
  });

  it('C_GenerateRandom: the requested bytes, none for a 0-byte buffer; beyond the output limit → CKR_DEVICE_MEMORY', async () => {
    const { client, session } = await s.session();
    assert.equal(
      ((await client.call('C_GenerateRandom', [session, 48])).args[0] as Uint8Array).length,
      48,
    );
    // Room 0: NULL, or (p11-kit before 0.25) a non-NULL buffer of length 0, which pkcs11-tool --test
    // sends and expects CKR_OK for: the two cannot be told apart, so it asks for nothing.
    assert.deepEqual((await client.call('C_GenerateRandom', [session, 0])).args, [null]);
    const huge = await client.call('C_GenerateRandom', [session, 0xffff_fffe]);
    assert.equal(huge.rv, C.CKR_DEVICE_MEMORY);
    // p11-kit 0.25+: room 0xffffffff is a non-NULL buffer of length 0 (pkcs11-tool --test asks that).
    const empty = await client.call('C_GenerateRandom', [session, 0xffff_ffff]);
    assert.deepEqual(empty.args, [new Uint8Array(0)]);
    client.close();
  });

  it('C_WaitForSlotEvent: CKF_DONT_BLOCK → CKR_NO_EVENT, blocking → CKR_FUNCTION_NOT_SUPPORTED', async () => {
    const { client } = await s.session();
    assert.equal((await client.call('C_WaitForSlotEvent', [C.CKF_DONT_BLOCK])).rv, C.CKR_NO_EVENT);
    assert.equal((await client.call('C_WaitForSlotEvent', [0])).rv, C.CKR_FUNCTION_NOT_SUPPORTED);
    client.close();
  });

  it('calls the engine lacks (C_GetOperationState, C_LoginUser) → CKR_FUNCTION_NOT_SUPPORTED', async () => {
    const { client, session } = await s.session(1);
    assert.equal(
      (await client.call('C_GetOperationState', [session, 0])).rv,
      C.CKR_FUNCTION_NOT_SUPPORTED,
    );
    const loginUser = await client.call('C_LoginUser', [session, 1, PIN_BYTES, PIN_BYTES]);
    assert.equal(loginUser.rv, C.CKR_FUNCTION_NOT_SUPPORTED);
    assert.equal(
      (await client.call('C_GetSessionInfo', [session])).rv,
      0,
      'connection still usable',
    );
    client.close();
  });

  it('C_InitToken (protocol 0) blank-pads the NUL-terminated label; C_InitToken2 takes 32 bytes', async () => {
    const { client } = await s.session(1);
    const so = new TextEncoder().encode('5678');
    assert.equal(
      (await client.call('C_InitToken', [SLOT, so, new TextEncoder().encode('lbl')])).rv,
      0,
    );
    assert.equal(Buffer.from(s.apps.at(-1)!.lastLabel!).toString(), 'lbl'.padEnd(32));
    const label = new TextEncoder().encode('second'.padEnd(32));
    assert.equal((await client.call('C_InitToken2', [SLOT, so, label])).rv, 0);
    assert.deepEqual(s.apps.at(-1)!.lastLabel, label);
    const short = await client.call('C_InitToken2', [SLOT, so, new Uint8Array(5)]);
    assert.equal(short.rv, C.CKR_DEVICE_ERROR);
    client.close();
  });
});
