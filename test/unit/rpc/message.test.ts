import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as C from '../../../src/pkcs11/constants.js';
import type { WireAttribute } from '../../../src/rpc/attributes.js';
import { CALLS } from '../../../src/rpc/calls.js';
import type { WireMechanism } from '../../../src/rpc/mechanisms.js';
import {
  decodeMessage,
  encodeError,
  encodeMessage,
  parseSignature,
} from '../../../src/rpc/message.js';
import { loadCaptures } from './helpers/captures.js';

const captures = loadCaptures();
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

describe('RPC message codec against the captures', () => {
  it('has all 17 captures', () => {
    assert.equal(captures.length, 17);
  });

  for (const cap of captures) {
    it(`${cap.name}: decodes and re-encodes every frame byte for byte`, () => {
      const ctx = { version: cap.serverVersion };
      let frames = 0;
      for (const [dir, list] of [
        ['request', cap.requests],
        ['reply', cap.replies],
      ] as const) {
        for (const f of list) {
          const { call, args } = decodeMessage(f.body, dir, ctx);
          assert.equal(
            hex(encodeMessage(call.id, dir, args, ctx)),
            hex(f.body),
            `${dir} ${call.name}`,
          );
          frames++;
        }
      }
      assert.equal(frames, cap.requests.length + cap.replies.length);
      assert.equal(cap.requests.length, cap.replies.length);
    });
  }

  it('decodes C_Login: session, CKU_USER and the PIN as an input byte array', () => {
    const cap = captures.find((c) => c.name.startsWith('03-'))!;
    const login = cap.requests
      .map((f) => decodeMessage(f.body, 'request', { version: 0 }))
      .find((m) => m.call.name === 'C_Login')!;
    assert.deepEqual(login.args.slice(0, 2), [0x11, C.CKU_USER]);
    assert.equal(Buffer.from(login.args[2] as Uint8Array).toString(), '1234');
  });

  it('decodes CKM_ECDSA without parameter and CKM_RSA_PKCS_PSS with its three ulongs', () => {
    const mech = (name: string) =>
      captures
        .find((c) => c.name.startsWith(name))!
        .requests.map((f) => decodeMessage(f.body, 'request', { version: 0 }))
        .find((m) => m.call.name === 'C_SignInit')!.args[1] as WireMechanism;
    assert.deepEqual(mech('05-'), { type: C.CKM_ECDSA, param: { form: 'none' } });
    assert.deepEqual(mech('11-'), {
      type: C.CKM_RSA_PKCS_PSS,
      param: { form: 'pss', hashAlg: C.CKM_SHA256, mgf: C.CKG_MGF1_SHA256, saltLen: 32 },
    });
  });

  it('types template values by attribute: ulong, bool and byte array (04 keygen)', () => {
    const cap = captures.find((c) => c.name.startsWith('04-'))!;
    const gen = cap.requests
      .map((f) => decodeMessage(f.body, 'request', { version: 0 }))
      .find((m) => m.call.name === 'C_GenerateKeyPair')!;
    const pub = gen.args[2] as WireAttribute[];
    const byType = new Map(pub.map((a) => [a.type, a]));
    assert.deepEqual(byType.get(C.CKA_TOKEN)?.value, { kind: 'byte', value: 1 });
    assert.equal(byType.get(C.CKA_EC_PARAMS)?.value?.kind, 'bytes');
    assert.equal(
      hex(byType.get(C.CKA_EC_PARAMS)?.value?.value as Uint8Array),
      '06082a8648ce3d030107',
    );
  });

  it('writes an ERROR reply as call 0, signature u, the CK_RV as uint64', () => {
    assert.equal(
      hex(encodeError(C.CKR_SLOT_ID_INVALID)),
      '00000000000000017500000000' + '00000003',
    );
  });

  it('parses every signature of the call table into known codes', () => {
    for (const c of CALLS) {
      for (const code of [...parseSignature(c.request), ...parseSignature(c.reply)]) {
        assert.match(code, /^(y|u|v|s|z|ay|au|fy|fu|fA|aA|M|P)$/, `${c.name}`);
      }
    }
    assert.equal(CALLS.length, 90);
    assert.equal(CALLS[89]?.name, 'C_DeriveKey2');
  });

  it('refuses a request whose signature differs from the table → CKR_DEVICE_ERROR', () => {
    const body = encodeMessage(18, 'request', [1, 1, new Uint8Array(1)], { version: 0 });
    body[8] = 0x76; // 'u' → 'v'
    assert.throws(() => decodeMessage(body, 'request', { version: 0 }), {
      code: C.CKR_DEVICE_ERROR,
    });
  });

  it('refuses trailing bytes after the last argument → CKR_DEVICE_ERROR', () => {
    const body = encodeMessage(11, 'request', [5], { version: 0 });
    const longer = new Uint8Array(body.length + 1);
    longer.set(body);
    assert.throws(() => decodeMessage(longer, 'request', { version: 0 }), {
      code: C.CKR_DEVICE_ERROR,
    });
  });
});
