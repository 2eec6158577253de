import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { createEcdsaKey } from '../../../../../src/adapters/crypto-node/ecdsa/ecdsa-key.js';
import { curveNamed } from '../../../../../src/crypto/curves.js';

/** From dist/test/unit/adapters/crypto-node/ecdsa/ to the repository's test/vectors/ecdsa/. */
const FILE = new URL('../../../../../../test/vectors/ecdsa/wycheproof-p1363.json', import.meta.url);

interface WycheproofFile {
  source: string;
  files: {
    file: string;
    curve: string;
    sha: string;
    groups: {
      publicKey: string;
      tests: { tcId: number; msg: string; sig: string; result: string; flags: string[] }[];
    }[];
  }[];
}

const vectors = JSON.parse(readFileSync(FILE, 'utf8')) as WycheproofFile;
const hex = (s: string) => new Uint8Array(Buffer.from(s, 'hex'));

describe('Wycheproof ECDSA P1363 verification (P-192, P-224, secp256k1, brainpool r1)', () => {
  it('the vector file names its source and holds valid and invalid cases of every curve', () => {
    assert.match(vectors.source, /C2SP\/wycheproof, commit [0-9a-f]{40}/);
    for (const f of vectors.files) {
      const results = new Set(f.groups.flatMap((g) => g.tests.map((t) => t.result)));
      assert.deepEqual([...results].sort(), ['invalid', 'valid'], f.file);
    }
  });

  for (const f of vectors.files) {
    it(`${f.curve} with ${f.sha}: every result is reproduced by the CKM_ECDSA verifier`, () => {
      const curve = curveNamed(f.curve);
      assert.ok(curve, `${f.curve} is in the curve table`);
      const hash = f.sha.replace('-', '').toLowerCase();
      let checked = 0;
      for (const g of f.groups) {
        const key = createEcdsaKey(curve.name, { point: hex(g.publicKey) });
        for (const t of g.tests) {
          const digest = new Uint8Array(createHash(hash).update(hex(t.msg)).digest());
          const ok = key.verify(digest, hex(t.sig));
          assert.equal(ok, t.result === 'valid', `tcId ${t.tcId} (${t.flags.join(', ')})`);
          checked++;
        }
      }
      assert.ok(checked > 40);
    });
  }
});
