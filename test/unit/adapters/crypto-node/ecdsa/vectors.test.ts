import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { createCurveContext } from '../../../../../src/adapters/crypto-node/ecdsa/context.js';
import { CURVES, type EcdsaCurve } from '../../../../../src/adapters/crypto-node/ecdsa/curves.js';
import {
  createEcdsaKey,
  createEcdsaKeyIn,
  type EcdsaKey,
} from '../../../../../src/adapters/crypto-node/ecdsa/ecdsa-key.js';
import { isPkcs11Error } from '../../../../../src/errors.js';
import { CKR_ATTRIBUTE_VALUE_INVALID } from '../../../../../src/pkcs11/constants.js';
import { bigIntToBytes } from '../../../../../src/util/bigint.js';

/** From dist/test/unit/adapters/crypto-node/ecdsa/ to the repository's test/vectors/ecdsa/. */
const VECTORS = new URL('../../../../../../test/vectors/ecdsa/', import.meta.url);

interface CavpFile {
  source: string;
  groups: {
    curve: EcdsaCurve;
    hash: string;
    tests: { msg: string; qx: string; qy: string; r: string; s: string; result: string }[];
  }[];
}

interface Rfc6979File {
  source: string;
  sections: {
    section: string;
    curve: EcdsaCurve;
    x: string;
    ux: string;
    uy: string;
    signatures: { hash: string; message: string; k: string; r: string; s: string }[];
  }[];
}

const load = <T>(name: string): T => JSON.parse(readFileSync(new URL(name, VECTORS), 'utf8')) as T;

/** Big-endian bytes of a hex number, left-padded to `size`. */
const fixed = (hex: string, size: number) => bigIntToBytes(BigInt(`0x${hex}`), size);
const hashName = (h: string) => h.replace('-', '').toLowerCase();
const digestOf = (hash: string, message: Uint8Array) =>
  new Uint8Array(createHash(hashName(hash)).update(message).digest());

describe('NIST CAVP FIPS 186-4 SigVer (P-256, P-384, P-521)', () => {
  const cavp = load<CavpFile>('cavp-sigver-186-4.json');

  it('the vector file names its CAVP source and holds valid and invalid cases', () => {
    assert.match(cavp.source, /CAVP.*SigVer\.rsp/);
    const all = cavp.groups.flatMap((g) => g.tests);
    assert.equal(all.length, 225);
    assert.equal(all.filter((t) => t.result.startsWith('P')).length, 45);
  });

  for (const group of cavp.groups) {
    it(`[${group.curve},${group.hash}]: every Result (P/F) is reproduced by verify`, () => {
      const { size } = CURVES[group.curve];
      for (const [i, t] of group.tests.entries()) {
        const point = new Uint8Array([0x04, ...fixed(t.qx, size), ...fixed(t.qy, size)]);
        let key: EcdsaKey | undefined;
        try {
          key = createEcdsaKey(group.curve, { point });
        } catch (e) {
          // A changed Q that falls off the curve is rejected as key material.
          assert.ok(isPkcs11Error(e, CKR_ATTRIBUTE_VALUE_INVALID));
        }
        const sig = new Uint8Array([...fixed(t.r, size), ...fixed(t.s, size)]);
        const ok = key?.verify(digestOf(group.hash, Buffer.from(t.msg, 'hex')), sig) ?? false;
        assert.equal(ok, t.result.startsWith('P'), `record ${i}: Result = ${t.result}`);
      }
    });
  }
});

describe('RFC 6979 A.2.5–A.2.7 signatures', () => {
  const rfc = load<Rfc6979File>('rfc6979-a2.json');

  it('the vector file names its RFC source and covers the three curves', () => {
    assert.match(rfc.source, /RFC 6979/);
    assert.deepEqual(
      rfc.sections.map((s) => [s.section, s.curve, s.signatures.length]),
      [
        ['A.2.5', 'P-256', 10],
        ['A.2.6', 'P-384', 10],
        ['A.2.7', 'P-521', 10],
      ],
    );
  });

  for (const sec of rfc.sections) {
    const { size } = CURVES[sec.curve];
    const point = new Uint8Array([0x04, ...fixed(sec.ux, size), ...fixed(sec.uy, size)]);
    const d = fixed(sec.x, size);

    it(`${sec.section} ${sec.curve}: verify accepts each published signature, by Q and through d`, () => {
      const pub = createEcdsaKey(sec.curve, { point });
      const priv = createEcdsaKey(sec.curve, { d, point });
      for (const v of sec.signatures) {
        const dg = digestOf(v.hash, new TextEncoder().encode(v.message));
        const sig = new Uint8Array([...fixed(v.r, size), ...fixed(v.s, size)]);
        assert.ok(pub.verify(dg, sig), `${v.hash} "${v.message}" (public key)`);
        assert.ok(priv.verify(dg, sig), `${v.hash} "${v.message}" (with d)`);
        const other = sec.signatures.find((o) => o !== v && o.hash === v.hash);
        if (other) {
          const wrong = new Uint8Array([...fixed(other.r, size), ...fixed(other.s, size)]);
          assert.equal(pub.verify(dg, wrong), false, 'the other message’s signature');
        }
      }
    });

    it(`${sec.section} ${sec.curve}: given the RFC's k, sign reproduces r‖s exactly (blinding cancels)`, () => {
      const queue = sec.signatures.map((v) => BigInt(`0x${v.k}`));
      const ctx = createCurveContext(CURVES[sec.curve], {
        batch: 1,
        drawNonce: (buf) => {
          const k = queue.shift();
          assert.ok(k !== undefined, 'one nonce per signature');
          bigIntToBytes(k, size, buf);
        },
      });
      const key = createEcdsaKeyIn(ctx, { d, point });
      for (const v of sec.signatures) {
        const sig = key.sign(digestOf(v.hash, new TextEncoder().encode(v.message)));
        const expected = new Uint8Array([...fixed(v.r, size), ...fixed(v.s, size)]);
        assert.deepEqual(sig, expected, `${v.hash} "${v.message}"`);
      }
      assert.equal(queue.length, 0);
    });
  }
});
