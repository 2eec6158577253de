import assert from 'node:assert/strict';
import { constants, type KeyObject, sign as nodeSign, verify as nodeVerify } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { createNodeCrypto } from '../../../src/adapters/crypto-node/index.js';
import type { Handle } from '../../../src/api/convert.js';
import type { Accumulator, CryptoBackend, SignScheme } from '../../../src/crypto/backend.js';
import { Collected, HashingInput } from '../../../src/mechanisms/common.js';
import { mechanism } from '../../../src/mechanisms/registry.js';
import type { KeyRef } from '../../../src/mechanisms/types.js';
import {
  ecMaterial,
  ecPrivateTemplate,
  ecPublicTemplate,
  rsaMaterial,
  rsaPrivateTemplate,
  rsaPublicTemplate,
} from '../../helpers/material.js';
import {
  assertRv,
  C,
  initializedModule,
  PAL_PORTS,
  type TestModule,
  userSession,
} from '../../helpers/token.js';

type Family = 'ec' | 'rsa';
interface Row {
  mech: number;
  family: Family;
  hash: string;
  parameter?: object;
  /** node:crypto sign/verify options beyond the key. */
  node: object;
  deterministic: boolean;
}

const HASHES = [
  ['sha1', C.CKM_SHA_1, C.CKG_MGF1_SHA1, 20],
  ['sha224', C.CKM_SHA224, C.CKG_MGF1_SHA224, 28],
  ['sha256', C.CKM_SHA256, C.CKG_MGF1_SHA256, 32],
  ['sha384', C.CKM_SHA384, C.CKG_MGF1_SHA384, 48],
  ['sha512', C.CKM_SHA512, C.CKG_MGF1_SHA512, 64],
] as const;
const MECHS: Record<string, [ecdsa: number, pkcs: number, pss: number]> = {
  sha1: [C.CKM_ECDSA_SHA1, C.CKM_SHA1_RSA_PKCS, C.CKM_SHA1_RSA_PKCS_PSS],
  sha224: [C.CKM_ECDSA_SHA224, C.CKM_SHA224_RSA_PKCS, C.CKM_SHA224_RSA_PKCS_PSS],
  sha256: [C.CKM_ECDSA_SHA256, C.CKM_SHA256_RSA_PKCS, C.CKM_SHA256_RSA_PKCS_PSS],
  sha384: [C.CKM_ECDSA_SHA384, C.CKM_SHA384_RSA_PKCS, C.CKM_SHA384_RSA_PKCS_PSS],
  sha512: [C.CKM_ECDSA_SHA512, C.CKM_SHA512_RSA_PKCS, C.CKM_SHA512_RSA_PKCS_PSS],
};
const ROWS: Row[] = HASHES.flatMap(([hash, hashAlg, mgf, hLen]) => {
  const [ecdsa, pkcs, pss] = MECHS[hash] as [number, number, number];
  return [
    { mech: ecdsa, family: 'ec', hash, node: { dsaEncoding: 'ieee-p1363' }, deterministic: false },
    { mech: pkcs, family: 'rsa', hash, node: {}, deterministic: true },
    {
      mech: pss,
      family: 'rsa',
      hash,
      parameter: { type: C.CK_PARAMS_RSA_PSS, hashAlg, mgf, saltLen: hLen },
      node: { padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: hLen },
      deterministic: false,
    },
  ] satisfies Row[];
});

const MESSAGE = Buffer.from('hash-then-sign over parts; '.repeat(50));
/** Part boundaries in MESSAGE, one part empty. */
const CUTS = [0, 7, 7, 300, 301, MESSAGE.length];

/** Feeds `message` part by part through one Buffer the caller overwrites between the calls. */
function feed(message: Buffer, update: (part: Buffer) => void): void {
  const scratch = Buffer.alloc(message.length);
  const cuts = message === MESSAGE ? CUTS : [0, message.length];
  for (let i = 1; i < cuts.length; i++) {
    const part = message.subarray(cuts[i - 1], cuts[i]);
    part.copy(scratch);
    update(scratch.subarray(0, part.length));
    scratch.fill(0xee);
  }
}

describe('hash-then-sign mechanisms (HashingInput)', () => {
  let m: TestModule;
  let s: Handle;
  const keys = {} as Record<
    Family,
    { pub: Handle; priv: Handle; nodePub: KeyObject; nodePriv: KeyObject }
  >;
  before(() => {
    m = initializedModule(PAL_PORTS[0] as (typeof PAL_PORTS)[number]);
    s = userSession(m);
    const ec = ecMaterial();
    const rsa = rsaMaterial();
    keys.ec = {
      pub: m.p11.C_CreateObject(s, ecPublicTemplate(ec)),
      priv: m.p11.C_CreateObject(s, ecPrivateTemplate(ec, [{ type: C.CKA_SIGN, value: true }])),
      nodePub: ec.publicKey,
      nodePriv: ec.privateKey,
    };
    keys.rsa = {
      pub: m.p11.C_CreateObject(s, rsaPublicTemplate(rsa)),
      priv: m.p11.C_CreateObject(s, rsaPrivateTemplate(rsa, [{ type: C.CKA_SIGN, value: true }])),
      nodePub: rsa.publicKey,
      nodePriv: rsa.privateKey,
    };
  });
  after(() => m.cleanup());

  for (const row of ROWS) {
    const name = C.CKM_NAMES.get(row.mech);
    const mech = () => ({ mechanism: row.mech, parameter: row.parameter as never });
    for (const [what, message] of [
      ['a message', MESSAGE],
      ['the empty message', Buffer.alloc(0)],
    ] as const) {
      it(`${name} over ${what}: single-part and multi-part (reused Buffer) cross-verify with node:crypto → CKR_OK`, () => {
        const k = keys[row.family];
        m.p11.C_SignInit(s, mech(), k.priv);
        const one = m.p11.C_Sign(s, message, Buffer.alloc(512));
        m.p11.C_SignInit(s, mech(), k.priv);
        feed(message, (p) => m.p11.C_SignUpdate(s, p));
        const multi = m.p11.C_SignFinal(s, Buffer.alloc(512));
        if (row.deterministic) assert.deepEqual(multi, one);
        const theirs = nodeSign(row.hash, message, { key: k.nodePriv, ...row.node });
        for (const sig of [one, multi, theirs]) {
          assert.ok(nodeVerify(row.hash, message, { key: k.nodePub, ...row.node }, sig));
          m.p11.C_VerifyInit(s, mech(), k.pub);
          assert.equal(m.p11.C_Verify(s, message, sig), true);
          m.p11.C_VerifyInit(s, mech(), k.pub);
          feed(message, (p) => m.p11.C_VerifyUpdate(s, p));
          assert.equal(m.p11.C_VerifyFinal(s, sig), true);
        }
        m.p11.C_VerifyInit(s, mech(), k.pub);
        m.p11.C_VerifyUpdate(s, Buffer.from('another'));
        m.p11.C_VerifyUpdate(s, message);
        assertRv(() => m.p11.C_VerifyFinal(s, multi), C.CKR_SIGNATURE_INVALID);
      });
    }
  }
});

/** A node:crypto backend that records what reaches the hash accumulators and the signer. */
function spyBackend(): { backend: CryptoBackend; hashed: () => number; schemes: SignScheme[] } {
  const real = createNodeCrypto();
  let hashed = 0;
  const schemes: SignScheme[] = [];
  const backend: CryptoBackend = {
    ...real,
    createHash(hash): Accumulator {
      const acc = real.createHash(hash);
      return {
        update: (d) => {
          hashed += d.length;
          acc.update(d);
        },
        finish: () => acc.finish(),
      };
    },
    sign(key, scheme, data) {
      schemes.push(scheme);
      return real.sign(key, scheme, data);
    },
    verify(key, scheme, data, sig) {
      schemes.push(scheme);
      return real.verify(key, scheme, data, sig);
    },
  };
  return { backend, hashed: () => hashed, schemes };
}

describe('HashingInput', () => {
  it('keeps one part whole, and from the second part on holds nothing: every part is hashed as it arrives', () => {
    const { backend, hashed } = spyBackend();
    const input = new HashingInput(backend, 'sha256');
    const part = new Uint8Array(1 << 20).fill(7);
    input.add(part);
    assert.equal(input.heldBytes, part.length);
    assert.equal(hashed(), 0);
    for (let i = 0; i < 8; i++) {
      input.add(part);
      assert.equal(input.heldBytes, 0);
      assert.equal(hashed(), (i + 2) * part.length);
    }
    const out = input.take();
    assert.ok('digest' in out && out.digest.length === 32);
  });

  it('C_SignUpdate parts of CKM_ECDSA_SHA256 and CKM_SHA256_RSA_PKCS(_PSS) are hashed before C_SignFinal, which signs the digest → CKR_OK', () => {
    const ec = ecMaterial();
    const rsa = rsaMaterial();
    const cases = [
      [
        C.CKM_ECDSA_SHA256,
        undefined,
        { kind: 'ec', curve: 'P-256', point: ec.point.subarray(2), d: ec.d },
        'ecdsa-prehashed',
      ],
      [C.CKM_SHA256_RSA_PKCS, undefined, { kind: 'rsa', ...rsa }, 'rsa-pkcs1-raw'],
      [
        C.CKM_SHA256_RSA_PKCS_PSS,
        { type: C.CK_PARAMS_RSA_PSS, hashAlg: C.CKM_SHA256, mgf: C.CKG_MGF1_SHA256, saltLen: 32 },
        { kind: 'rsa', ...rsa },
        'rsa-pss',
      ],
    ] as const;
    for (const [type, parameter, material, finalScheme] of cases) {
      const { backend, hashed, schemes } = spyBackend();
      const handle = backend.importKey(material as never);
      const key: KeyRef = { object: undefined as never, handle: () => handle };
      const mech = mechanism(type, 'compatible');
      const op = (mech.sign as NonNullable<typeof mech.sign>)(
        backend,
        { mechanism: type, parameter },
        key,
      );
      for (let i = 0; i < 3; i++) op.update(MESSAGE);
      assert.equal(hashed(), 3 * MESSAGE.length);
      op.finish();
      assert.equal(schemes.at(-1)?.type, finalScheme);
      const last = schemes.at(-1);
      if (last?.type === 'rsa-pss') assert.equal(last.prehashed, true);
    }
  });
});

describe('Collected', () => {
  it('refuses input past its bound with the code it was given → CKR_ENCRYPTED_DATA_LEN_RANGE', () => {
    const c = new Collected(10, C.CKR_ENCRYPTED_DATA_LEN_RANGE);
    c.add(new Uint8Array(10));
    assertRv(() => c.add(new Uint8Array(1)), C.CKR_ENCRYPTED_DATA_LEN_RANGE);
    assert.equal(c.length, 10);
    assertRv(() => new Collected(3).add(new Uint8Array(4)), C.CKR_DATA_LEN_RANGE);
  });
});
