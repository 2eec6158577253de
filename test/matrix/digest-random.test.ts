import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import type { Handle } from '../../src/api/convert.js';
import { assertRv, C, freshModule, PAL_PORTS, type TestModule } from '../helpers/token.js';

const MSG = Buffer.from('abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq');

for (const port of PAL_PORTS) {
  describe(`digest and random [${port.name}]`, () => {
    let m: TestModule;
    let s: Handle;
    before(() => {
      m = freshModule(port);
      s = m.p11.C_OpenSession(m.slot, C.CKF_SERIAL_SESSION);
    });
    after(() => m.cleanup());

    for (const [mech, hash] of [
      [C.CKM_SHA_1, 'sha1'],
      [C.CKM_SHA224, 'sha224'],
      [C.CKM_SHA256, 'sha256'],
      [C.CKM_SHA384, 'sha384'],
      [C.CKM_SHA512, 'sha512'],
    ] as const) {
      it(`${C.CKM_NAMES.get(mech)}: single-part and multi-part equal node:crypto`, () => {
        const want = createHash(hash).update(MSG).digest();
        m.p11.C_DigestInit(s, { mechanism: mech });
        assert.deepEqual(m.p11.C_Digest(s, MSG, Buffer.alloc(64)), want);
        m.p11.C_DigestInit(s, { mechanism: mech });
        for (let i = 0; i < MSG.length; i += 7) m.p11.C_DigestUpdate(s, MSG.subarray(i, i + 7));
        assert.deepEqual(m.p11.C_DigestFinal(s, Buffer.alloc(64)), want);
      });
    }

    it('CKR_BUFFER_TOO_SMALL and a bad session handle leave the digest active; it ends after the final call', () => {
      m.p11.C_DigestInit(s, { mechanism: C.CKM_SHA256 });
      m.p11.C_DigestUpdate(s, MSG);
      assertRv(() => m.p11.C_DigestFinal(s, Buffer.alloc(31)), C.CKR_BUFFER_TOO_SMALL);
      assertRv(
        () => m.p11.C_DigestFinal(Buffer.alloc(8), Buffer.alloc(32)),
        C.CKR_SESSION_HANDLE_INVALID,
      );
      assert.deepEqual(
        m.p11.C_DigestFinal(s, Buffer.alloc(32)),
        createHash('sha256').update(MSG).digest(),
      );
      assertRv(() => m.p11.C_DigestUpdate(s, MSG), C.CKR_OPERATION_NOT_INITIALIZED);
    });

    it('an empty output Buffer is a length query (as pkcs11js passes NULL): CKR_OK, the digest stays active', () => {
      m.p11.C_DigestInit(s, { mechanism: C.CKM_SHA256 });
      assert.equal(m.p11.C_Digest(s, MSG, Buffer.alloc(0)).length, 0);
      assert.deepEqual(
        m.p11.C_Digest(s, MSG, Buffer.alloc(32)),
        createHash('sha256').update(MSG).digest(),
      );
    });

    it('length query through the engine returns 32 and keeps the digest', () => {
      const h = s.readUInt32LE(0);
      m.engine.digestInit(h, { mechanism: C.CKM_SHA256 });
      assert.deepEqual(m.engine.digest(h, MSG, null), { length: 32, bytes: null });
      assert.equal(m.engine.digest(h, MSG, 32).length, 32);
    });

    it('C_DigestInit twice → CKR_OPERATION_ACTIVE; a non-digest mechanism → CKR_MECHANISM_INVALID', () => {
      assertRv(
        () => m.p11.C_DigestInit(s, { mechanism: C.CKM_SHA256_HMAC }),
        C.CKR_MECHANISM_INVALID,
      );
      m.p11.C_DigestInit(s, { mechanism: C.CKM_SHA256 });
      assertRv(() => m.p11.C_DigestInit(s, { mechanism: C.CKM_SHA256 }), C.CKR_OPERATION_ACTIVE);
      m.p11.C_DigestFinal(s, Buffer.alloc(32));
    });

    it('a parameter on CKM_SHA256 → CKR_MECHANISM_PARAM_INVALID', () => {
      assertRv(
        () => m.p11.C_DigestInit(s, { mechanism: C.CKM_SHA256, parameter: Buffer.from([1]) }),
        C.CKR_MECHANISM_PARAM_INVALID,
      );
    });

    it('C_Digest after C_DigestUpdate → CKR_OPERATION_ACTIVE', () => {
      m.p11.C_DigestInit(s, { mechanism: C.CKM_SHA256 });
      m.p11.C_DigestUpdate(s, MSG);
      assertRv(() => m.p11.C_Digest(s, MSG, Buffer.alloc(32)), C.CKR_OPERATION_ACTIVE);
    });

    it('C_GenerateRandom fills buffers of any length with distinct output', () => {
      const a = m.p11.C_GenerateRandom(s, Buffer.alloc(4096));
      const b = m.p11.C_GenerateRandom(s, Buffer.alloc(4096));
      assert.notDeepEqual(a, b);
      assert.ok(new Set(a).size > 200);
      assert.equal(m.p11.C_GenerateRandom(s, Buffer.alloc(0)).length, 0);
      assert.equal(m.p11.C_GenerateRandom(s, Buffer.alloc(100_000)).length, 100_000);
    });

    it('C_SeedRandom → CKR_OK: the seed is mixed in, the output stays unpredictable', () => {
      const seed = Buffer.from('the same seed everywhere');
      assert.deepEqual(m.p11.C_SeedRandom(s, seed), seed);
      const other = m.another();
      const [slot] = other.C_GetSlotList(true);
      const s2 = other.C_OpenSession(slot as Handle, C.CKF_SERIAL_SESSION);
      other.C_SeedRandom(s2, seed);
      // Seeded alike, two draws still differ: the OS generator stays the source of the bytes.
      const a = m.p11.C_GenerateRandom(s, Buffer.alloc(64));
      const b = other.C_GenerateRandom(s2, Buffer.alloc(64));
      assert.notDeepEqual(a, b);
      assert.ok(new Set(m.p11.C_GenerateRandom(s, Buffer.alloc(4096))).size > 200);
      m.p11.C_SeedRandom(s, Buffer.alloc(0));
      other.C_CloseSession(s2);
    });

    it('session handle 0 → CKR_SESSION_HANDLE_INVALID', () => {
      assertRv(
        () => m.p11.C_GenerateRandom(Buffer.alloc(8), Buffer.alloc(8)),
        C.CKR_SESSION_HANDLE_INVALID,
      );
      assertRv(
        () => m.p11.C_DigestInit(Buffer.alloc(8), { mechanism: C.CKM_SHA256 }),
        C.CKR_SESSION_HANDLE_INVALID,
      );
    });

    it('a handle Buffer of the wrong size is a TypeError (JS misuse, as in pkcs11js)', () => {
      assert.throws(() => m.p11.C_GenerateRandom(Buffer.alloc(3), Buffer.alloc(8)), TypeError);
      assert.throws(() => m.p11.C_DigestInit(s, 'sha256' as never), TypeError);
    });
  });
}
