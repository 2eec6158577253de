/**
 * Issue 15's yardstick: `corepkcs11 info -M --json` lists every mechanism of SoftHSMv2 2.6.1 (the list
 * pkcs11-tool printed for it, checked in as test/fixtures/softhsm2-2.6.1-mechanisms.txt, how it was made
 * beside it) on a `compatible` token, and the PKCS#11 3.0 mechanisms node:crypto can do on both
 * profiles; a `strict` token lists none of the legacy ones.
 * @module
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import * as C from '../../src/pkcs11/constants.js';
import { cli } from './cli-harness.js';

const FIXTURE = new URL('../../../test/fixtures/softhsm2-2.6.1-mechanisms.txt', import.meta.url);

/** Every CKM_ name the constants define, deprecated aliases included (pkcs11-tool prints some). */
const BY_NAME = new Map(
  Object.entries(C)
    .filter(([k, v]) => k.startsWith('CKM_') && typeof v === 'number')
    .map(([k, v]) => [k, v as number]),
);

/** The mechanism numbers of a pkcs11-tool -M listing (`  SHA-1-HMAC, keySize=…` or `mechtype-0x…`). */
function softhsmList(): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of readFileSync(FIXTURE, 'utf8').split('\n')) {
    const m = /^ {2}([A-Za-z0-9-]+)(,|$)/.exec(line);
    if (!m) continue;
    const name = m[1] as string;
    const hex = /^mechtype-0x([0-9A-Fa-f]+)$/.exec(name);
    const value = hex
      ? Number.parseInt(hex[1] as string, 16)
      : BY_NAME.get(`CKM_${name.replace(/-/g, '_')}`);
    assert.ok(value !== undefined, `pkcs11-tool's ${name} names no CKM_ constant`);
    out.set(name, value);
  }
  return out;
}

/** The mechanisms of PKCS#11 3.0 (and kryoptic) that node:crypto can do: issue 15 §2. */
const V3 = [
  C.CKM_EC_EDWARDS_KEY_PAIR_GEN,
  C.CKM_EDDSA,
  C.CKM_EC_MONTGOMERY_KEY_PAIR_GEN,
  C.CKM_SHA3_224,
  C.CKM_SHA3_256,
  C.CKM_SHA3_384,
  C.CKM_SHA3_512,
  C.CKM_SHA3_224_HMAC,
  C.CKM_SHA3_256_HMAC,
  C.CKM_SHA3_384_HMAC,
  C.CKM_SHA3_512_HMAC,
  C.CKM_SHA3_224_HMAC_GENERAL,
  C.CKM_SHA3_256_HMAC_GENERAL,
  C.CKM_SHA3_384_HMAC_GENERAL,
  C.CKM_SHA3_512_HMAC_GENERAL,
  C.CKM_ECDSA_SHA3_224,
  C.CKM_ECDSA_SHA3_256,
  C.CKM_ECDSA_SHA3_384,
  C.CKM_ECDSA_SHA3_512,
  C.CKM_SHA3_224_RSA_PKCS,
  C.CKM_SHA3_256_RSA_PKCS,
  C.CKM_SHA3_384_RSA_PKCS,
  C.CKM_SHA3_512_RSA_PKCS,
  C.CKM_SHA3_224_RSA_PKCS_PSS,
  C.CKM_SHA3_256_RSA_PKCS_PSS,
  C.CKM_SHA3_384_RSA_PKCS_PSS,
  C.CKM_SHA3_512_RSA_PKCS_PSS,
  C.CKM_SHA512_224,
  C.CKM_SHA512_256,
  C.CKM_SHA512_224_HMAC,
  C.CKM_SHA512_256_HMAC,
  C.CKM_HKDF_DERIVE,
  C.CKM_HKDF_DATA,
  C.CKM_HKDF_KEY_GEN,
  C.CKM_PKCS5_PBKD2,
  C.CKM_CHACHA20_KEY_GEN,
  C.CKM_CHACHA20_POLY1305,
  C.CKM_AES_CCM,
  C.CKM_AES_CFB8,
  C.CKM_AES_CFB128,
  C.CKM_AES_CFB1,
  C.CKM_AES_OFB,
  C.CKM_AES_XTS,
  C.CKM_AES_XTS_KEY_GEN,
];

/** SoftHSMv2's legacy mechanisms: offered by `compatible` tokens only. */
const LEGACY = [
  C.CKM_DES_KEY_GEN,
  C.CKM_DES2_KEY_GEN,
  C.CKM_DES3_KEY_GEN,
  C.CKM_DES_ECB,
  C.CKM_DES_CBC,
  C.CKM_DES_CBC_PAD,
  C.CKM_DES3_ECB,
  C.CKM_DES3_CBC,
  C.CKM_DES3_CBC_PAD,
  C.CKM_DES3_CMAC,
  C.CKM_DES_ECB_ENCRYPT_DATA,
  C.CKM_DES_CBC_ENCRYPT_DATA,
  C.CKM_DES3_ECB_ENCRYPT_DATA,
  C.CKM_DES3_CBC_ENCRYPT_DATA,
  C.CKM_MD5,
  C.CKM_MD5_HMAC,
  C.CKM_MD5_RSA_PKCS,
];

/**
 * Uses SoftHSMv2 has that this token does not offer, each with why: RSA PKCS#1 v1.5 decryption waits for
 * implicit rejection (issue 14 §4; its timing leaks otherwise, the Marvin attack).
 */
const USES_NOT_OFFERED = new Map([['RSA-PKCS', ['decrypt']]]);

interface Listed {
  type: number;
  name: string;
  minKeySize: number;
  maxKeySize: number;
  flags: number;
  flagNames: string[];
}

describe('corepkcs11 info -M --json against SoftHSMv2 2.6.1 and PKCS#11 3.0', () => {
  const dir = mkdtempSync(join(tmpdir(), 'corepkcs11-parity-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  const listed = (store: string): Map<number, Listed> => {
    const r = cli(['info', '-M', '--json', '--store', store], { cwd: dir });
    assert.equal(r.code, 0, r.stderr);
    const json = JSON.parse(r.stdout) as { mechanisms: Listed[] };
    return new Map(json.mechanisms.map((m) => [m.type, m]));
  };

  it("the fixture is SoftHSMv2's 70 mechanisms, every name resolved", () => {
    assert.equal(softhsmList().size, 70);
  });

  it('a compatible token lists every mechanism of SoftHSMv2 2.6.1, with a use flag that SoftHSMv2 has', () => {
    const ours = listed('memory:');
    const missing = [...softhsmList()].filter(([, v]) => !ours.has(v)).map(([n]) => n);
    assert.deepEqual(missing, []);
    const text = readFileSync(FIXTURE, 'utf8');
    for (const [name, value] of softhsmList()) {
      const line =
        text.split('\n').find((l) => l.startsWith(`  ${name},`) || l === `  ${name}`) ?? '';
      const theirs = [
        'digest',
        'sign',
        'verify',
        'encrypt',
        'decrypt',
        'generate',
        'generate_key_pair',
        'derive',
      ].filter((f) => new RegExp(`, ${f}(,|$)`).test(line));
      const flags = ours.get(value)?.flagNames ?? [];
      for (const f of theirs) {
        if (USES_NOT_OFFERED.get(name)?.includes(f)) continue;
        assert.ok(flags.includes(f), `${name}: SoftHSMv2 says ${f}, we say ${flags.join(',')}`);
      }
    }
  });

  it('both profiles list the PKCS#11 3.0 set; a strict token none of the legacy mechanisms', () => {
    const compatible = listed('memory:');
    assert.equal(
      cli(
        [
          'init-token',
          '--store',
          join(dir, 'strict'),
          '--label',
          'strict',
          '--so-pin',
          '12345678',
          '--profile',
          'strict',
        ],
        { cwd: dir },
      ).code,
      0,
    );
    const strict = listed(join(dir, 'strict'));
    for (const v of V3) {
      assert.ok(compatible.has(v), `compatible: ${C.CKM_NAMES.get(v)}`);
      assert.ok(strict.has(v), `strict: ${C.CKM_NAMES.get(v)}`);
    }
    for (const v of LEGACY) {
      assert.ok(compatible.has(v), `compatible: ${C.CKM_NAMES.get(v)}`);
      assert.ok(!strict.has(v), `strict: ${C.CKM_NAMES.get(v)}`);
    }
    // Names and sizes as the table shows them: EdDSA keys of 256 (Ed25519) to 456 (Ed448) bits.
    const eddsa = compatible.get(C.CKM_EDDSA);
    assert.deepEqual([eddsa?.name, eddsa?.minKeySize, eddsa?.maxKeySize], ['EDDSA', 256, 456]);
    assert.ok(eddsa?.flagNames.includes('sign') && eddsa.flagNames.includes('verify'));
  });
});
