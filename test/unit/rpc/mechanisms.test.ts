import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import * as C from '../../../src/pkcs11/constants.js';
import {
  hasNoParameterV2,
  NULL_MECHANISM,
  readMechanism,
  toRawMechanism,
  type WireMechanism,
  writeMechanism,
} from '../../../src/rpc/mechanisms.js';
import { WireReader, WireWriter } from '../../../src/rpc/wire.js';
import { type FakeServer, fakeServer } from './helpers/serve.js';

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const bytes = (h: string) => new Uint8Array(Buffer.from(h, 'hex'));

function encode(m: WireMechanism, version: number): string {
  const w = new WireWriter();
  writeMechanism(w, m, version);
  return hex(w.finish());
}

function decode(h: string, version: number): WireMechanism {
  const r = new WireReader(bytes(h));
  const m = readMechanism(r, version);
  assert.equal(r.remaining, 0, 'whole mechanism consumed');
  return m;
}

describe('CK_MECHANISM wire forms', () => {
  it('protocol 0/1: a mechanism without parameter is a NULL byte array (captured 00001041 ffffffff)', () => {
    const ecdsa: WireMechanism = { type: C.CKM_ECDSA, param: { form: 'none' } };
    assert.equal(encode(ecdsa, 0), '00001041ffffffff');
    assert.deepEqual(decode('00001041ffffffff', 1), ecdsa);
  });

  it('protocol 2: no-parameter types carry nothing, others a presence byte first', () => {
    assert.ok(hasNoParameterV2(C.CKM_ECDSA_SHA256));
    assert.equal(encode({ type: C.CKM_ECDSA, param: { form: 'none' } }, 2), '00001041');
    assert.equal(encode({ type: C.CKM_RSA_PKCS_PSS, param: { form: 'none' } }, 2), '0000000d00');
    const pss: WireMechanism = {
      type: C.CKM_RSA_PKCS_PSS,
      param: { form: 'pss', hashAlg: C.CKM_SHA256, mgf: C.CKG_MGF1_SHA256, saltLen: 32 },
    };
    const v2 = '0000000d01' + '0000000000000250' + '0000000000000002' + '0000000000000020';
    assert.equal(encode(pss, 2), v2);
    assert.deepEqual(decode(v2, 2), pss);
    assert.deepEqual(
      decode(v2.slice(0, 8) + v2.slice(10), 0),
      pss,
      'protocol 0 has no presence byte',
    );
  });

  it('the NULL mechanism (0xffffffff, a 3.0 cancel) carries nothing from protocol 1 on', () => {
    assert.deepEqual(decode('ffffffff', 1), { type: NULL_MECHANISM, param: { form: 'none' } });
    assert.throws(() => decode('ffffffff', 0), { code: C.CKR_DEVICE_ERROR });
  });

  const cases: [string, WireMechanism][] = [
    [
      'OAEP',
      {
        type: C.CKM_RSA_PKCS_OAEP,
        param: {
          form: 'oaep',
          hashAlg: C.CKM_SHA256,
          mgf: 2,
          source: 1,
          sourceData: bytes('6c6162'),
        },
      },
    ],
    [
      'ECDH1',
      {
        type: C.CKM_ECDH1_DERIVE,
        param: { form: 'ecdh1', kdf: 1, sharedData: null, publicData: bytes('04aabb') },
      },
    ],
    ['AES-CBC IV', { type: C.CKM_AES_CBC, param: { form: 'bytes', data: new Uint8Array(16) } }],
    ['DES3-CBC IV', { type: C.CKM_DES3_CBC, param: { form: 'bytes', data: new Uint8Array(8) } }],
    [
      'AES-CTR',
      {
        type: C.CKM_AES_CTR,
        param: { form: 'ctr', counterBits: 128, block: new Uint8Array(16).fill(7) },
      },
    ],
    [
      'AES-GCM',
      {
        type: C.CKM_AES_GCM,
        param: { form: 'gcm', iv: new Uint8Array(12), ivBits: 96, aad: null, tagBits: 128 },
      },
    ],
    ['HMAC-GENERAL', { type: C.CKM_SHA256_HMAC_GENERAL, param: { form: 'ulong', value: 16 } }],
    ['other bytes', { type: C.CKM_AES_KEY_WRAP, param: { form: 'bytes', data: bytes('0102') } }],
    [
      'IBM vendor (opaque)',
      {
        type: C.CKM_VENDOR_DEFINED + 0x10031,
        param: { form: 'opaque', data: bytes('0000000000000005') },
      },
    ],
  ];
  for (const [name, m] of cases) {
    it(`round-trips ${name} in protocols 0, 1 and 2`, () => {
      for (const v of [0, 1, 2]) assert.deepEqual(decode(encode(m, v), v), m, `protocol ${v}`);
    });
  }

  it('refuses an IV of the wrong length, an empty DH value and a short counter block → CKR_DEVICE_ERROR', () => {
    assert.throws(() => decode(`000010820000000f${'00'.repeat(15)}`, 0), {
      code: C.CKR_DEVICE_ERROR,
    });
    assert.throws(() => decode('00000021' + '00000000', 0), { code: C.CKR_DEVICE_ERROR });
    const ctr = `00001086000000000000008000000004${'00'.repeat(4)}`;
    assert.throws(() => decode(ctr, 0), { code: C.CKR_DEVICE_ERROR });
  });

  it('gives the engine pkcs11js-shaped parameters', () => {
    assert.deepEqual(toRawMechanism(cases[0]![1]).parameter, {
      type: C.CK_PARAMS_RSA_OAEP,
      hashAlg: C.CKM_SHA256,
      mgf: 2,
      source: 1,
      sourceData: bytes('6c6162'),
    });
    assert.deepEqual(toRawMechanism(cases[6]![1]).parameter, 16);
    const ctr = toRawMechanism(cases[4]![1]).parameter as Uint8Array;
    assert.equal(hex(ctr.subarray(0, 8)), '8000000000000000', 'CK_AES_CTR_PARAMS in C layout');
  });
});

describe('mechanisms through the server', () => {
  let s: FakeServer;
  before(async () => {
    s = await fakeServer();
  });
  after(() => s.stop());

  it('decodes C_EncryptInit with GCM parameters from a protocol 2 client', async () => {
    const { client, session } = await s.session(2);
    assert.equal(client.version, 2);
    const gcm = cases()[0]!;
    assert.equal((await client.call('C_EncryptInit', [session, gcm, 5])).rv, 0);
    assert.deepEqual(s.apps.at(-1)!.lastMechanism, {
      mechanism: C.CKM_AES_GCM,
      parameter: {
        type: C.CK_PARAMS_AES_GCM_v240,
        iv: new Uint8Array(12),
        ivBits: 96,
        aad: new Uint8Array(0),
        tagBits: 128,
      },
    });
    client.close();
  });

  it('answers C_DeriveKey2 with CK_RV, the parameter presence and the new handle (uPu)', async () => {
    const { client, session } = await s.session(2);
    const ecdh: WireMechanism = {
      type: C.CKM_ECDH1_DERIVE,
      param: { form: 'ecdh1', kdf: 1, sharedData: null, publicData: bytes('04') },
    };
    const r = await client.call('C_DeriveKey2', [session, ecdh, 3, []], C.CKM_ECDH1_DERIVE);
    assert.deepEqual(r.args, [0, { mechanism: C.CKM_ECDH1_DERIVE, present: true }, 99]);
    client.close();
  });

  function cases(): WireMechanism[] {
    return [
      {
        type: C.CKM_AES_GCM,
        param: { form: 'gcm', iv: new Uint8Array(12), ivBits: 96, aad: null, tagBits: 128 },
      },
    ];
  }
});
