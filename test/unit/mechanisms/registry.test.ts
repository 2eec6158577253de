import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { buildRegistry, mechanism, mechanismTypes } from '../../../src/mechanisms/registry.js';
import type { Mechanism } from '../../../src/mechanisms/types.js';
import { PROFILES } from '../../../src/objects/profile.js';
import { assertRv, C } from '../../helpers/token.js';

const entry = (type: number, extra: Partial<Mechanism> = {}): Mechanism => ({
  type,
  info: { minKeySize: 0, maxKeySize: 0, flags: C.CKF_DIGEST },
  ...extra,
});

describe('mechanism registry per profile', () => {
  it('an entry for compatible only is absent from a strict registry', () => {
    const entries = [
      entry(C.CKM_SHA256),
      entry(C.CKM_MD5, { profiles: ['compatible'] }),
      entry(C.CKM_SHA512, { profiles: ['strict'] }),
    ];
    assert.deepEqual([...buildRegistry(entries, 'compatible').keys()], [C.CKM_SHA256, C.CKM_MD5]);
    assert.deepEqual([...buildRegistry(entries, 'strict').keys()], [C.CKM_SHA256, C.CKM_SHA512]);
  });

  it('entries of one type registered per profile keep their own info', () => {
    const entries = PROFILES.map((p, i) =>
      entry(C.CKM_RSA_PKCS, {
        profiles: [p],
        info: { minKeySize: 1000 * (i + 1), maxKeySize: 9000, flags: C.CKF_SIGN },
      }),
    );
    assert.equal(buildRegistry(entries, 'compatible').get(C.CKM_RSA_PKCS)?.info.minKeySize, 1000);
    assert.equal(buildRegistry(entries, 'strict').get(C.CKM_RSA_PKCS)?.info.minKeySize, 2000);
  });

  it('every mechanism of the strict list is also offered by compatible', () => {
    const compatible = new Set(mechanismTypes('compatible'));
    for (const t of mechanismTypes('strict')) assert.ok(compatible.has(t), `0x${t.toString(16)}`);
  });

  it('an unknown mechanism → CKR_MECHANISM_INVALID on both profiles', () => {
    for (const p of PROFILES) assertRv(() => mechanism(0x7fff_fff0, p), C.CKR_MECHANISM_INVALID);
  });

  it('RSA key-pair generation starts at 1024 bits in compatible, 2048 in strict', () => {
    assert.equal(mechanism(C.CKM_RSA_PKCS_KEY_PAIR_GEN, 'compatible').info.minKeySize, 1024);
    assert.equal(mechanism(C.CKM_RSA_PKCS_KEY_PAIR_GEN, 'strict').info.minKeySize, 2048);
  });
});
