/**
 * DSA and PKCS#3 DH on every PAL port: parameter generation into domain-parameter objects, key pairs on
 * them, DSA signatures checked by node:crypto both ways (hashed, multi-part and over a digest), DH
 * secrets equal to node:crypto's, and the refusals.
 * @module
 */
import assert from 'node:assert/strict';
import {
  createDiffieHellman,
  createHash,
  createPublicKey,
  generateKeyPairSync,
  getDiffieHellman,
  type KeyObject,
  sign,
  verify,
} from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import type { Handle } from '../../src/api/convert.js';
import {
  assertRv,
  C,
  initializedModule,
  PAL_PORTS,
  type TestModule,
  userSession,
} from '../helpers/token.js';

/** DER, written out here (not src/util/der) so the keys node:crypto checks with are built independently. */
const tlv = (tag: number, body: Buffer): Buffer => {
  const n = body.length;
  const len =
    n < 0x80
      ? Buffer.from([n])
      : n < 0x100
        ? Buffer.from([0x81, n])
        : Buffer.from([0x82, n >> 8, n & 0xff]);
  return Buffer.concat([Buffer.from([tag]), len, body]);
};
const int = (be: Buffer) =>
  tlv(0x02, be[0] !== undefined && be[0] & 0x80 ? Buffer.concat([Buffer.from([0]), be]) : be);
const seq = (...items: Buffer[]) => tlv(0x30, Buffer.concat(items));
const ID_DSA = Buffer.from('06072a8648ce380401', 'hex');

/** node:crypto's DSA public key for (p, q, g, y) as the token reports them. */
function dsaPublic(p: Buffer, q: Buffer, g: Buffer, y: Buffer): KeyObject {
  const spki = seq(
    seq(ID_DSA, seq(int(p), int(q), int(g))),
    tlv(0x03, Buffer.concat([Buffer.from([0]), int(y)])),
  );
  return createPublicKey({ key: spki, format: 'der', type: 'spki' });
}

/** The children of the DER TLV at `der` as [tag, value] pairs (definite lengths only). */
function children(der: Buffer): [number, Buffer][] {
  const header = (at: number): [number, number] => {
    const b = der[at + 1] as number;
    if (b < 0x80) return [b, 2];
    const n = b & 0x7f;
    return [der.readUIntBE(at + 2, n), 2 + n];
  };
  const [outer, skip] = header(0);
  const out: [number, Buffer][] = [];
  for (let i = skip; i < skip + outer; ) {
    const [len, h] = header(i);
    out.push([der[i] as number, der.subarray(i, i + h + len)]);
    i += h + len;
  }
  return out;
}
/** y = g^x mod p for a test key (public values only; square-and-multiply). */
function modPowBytes(g: Buffer, x: Buffer, p: Buffer): Buffer {
  const big = (b: Buffer) => BigInt(`0x${b.toString('hex') || '0'}`);
  const m = big(p);
  let result = 1n;
  let base = big(g) % m;
  for (let e = big(x); e > 0n; e >>= 1n) {
    if (e & 1n) result = (result * base) % m;
    base = (base * base) % m;
  }
  const hex = result.toString(16);
  return Buffer.from(hex.length % 2 ? `0${hex}` : hex, 'hex');
}
const innerTlvs = (tlv: Buffer) => children(Buffer.concat([Buffer.from([0x30]), tlv.subarray(1)]));
const unsigned = (intTlv: Buffer) => {
  const v = intTlv.subarray(
    intTlv.length -
      (intTlv.length - ((intTlv[1] as number) < 0x80 ? 2 : 2 + ((intTlv[1] as number) & 0x7f))),
  );
  return v[0] === 0 ? v.subarray(1) : v;
};

/** p, q, g and x of a node:crypto DSA private key (PKCS#8 with RFC 3279 Dss-Parms). */
function dsaComponents(privateKey: KeyObject) {
  const der = privateKey.export({ format: 'der', type: 'pkcs8' });
  const [, algorithm, privateOctets] = children(der).map(([, v]) => v) as [Buffer, Buffer, Buffer];
  const [, params] = children(algorithm).map(([, v]) => v) as [Buffer, Buffer];
  const [p, q, g] = children(params).map(([, v]) => unsigned(v)) as [Buffer, Buffer, Buffer];
  const [[, xInt]] = innerTlvs(privateOctets) as [[number, Buffer]];
  return { p, q, g, x: unsigned(xInt) };
}

for (const port of PAL_PORTS) {
  describe(`DSA and DH [${port.name}]`, () => {
    let m: TestModule;
    let s: Handle;
    let dsaParams: Handle;
    let dhParams: Handle;
    before(() => {
      m = initializedModule(port);
      s = userSession(m);
      dsaParams = m.p11.C_GenerateKey(s, { mechanism: C.CKM_DSA_PARAMETER_GEN }, [
        { type: C.CKA_PRIME_BITS, value: 1024 },
      ]);
      dhParams = m.p11.C_GenerateKey(s, { mechanism: C.CKM_DH_PKCS_PARAMETER_GEN }, [
        { type: C.CKA_PRIME_BITS, value: 512 },
      ]);
    });
    after(() => m.cleanup());

    const get = (h: Handle, type: number) =>
      m.p11.C_GetAttributeValue(s, h, [{ type }])[0]?.value as Buffer;
    const ulong = (h: Handle, type: number) => get(h, type).readUInt32LE(0);
    const dsaPair = (params: { p: Buffer; q: Buffer; g: Buffer }) =>
      m.p11.C_GenerateKeyPair(
        s,
        { mechanism: C.CKM_DSA_KEY_PAIR_GEN },
        [
          { type: C.CKA_PRIME, value: params.p },
          { type: C.CKA_SUBPRIME, value: params.q },
          { type: C.CKA_BASE, value: params.g },
        ],
        [{ type: C.CKA_SIGN, value: true }],
      );
    const domain = (h: Handle) => ({
      p: get(h, C.CKA_PRIME),
      q: get(h, C.CKA_SUBPRIME),
      g: get(h, C.CKA_BASE),
    });
    const publicOf = (pub: Handle) =>
      dsaPublic(
        get(pub, C.CKA_PRIME),
        get(pub, C.CKA_SUBPRIME),
        get(pub, C.CKA_BASE),
        get(pub, C.CKA_VALUE),
      );
    const signWith = (mechanism: number, key: Handle, data: Buffer, parts = 1) => {
      m.p11.C_SignInit(s, { mechanism }, key);
      if (parts === 1) return m.p11.C_Sign(s, data, Buffer.alloc(64));
      m.p11.C_SignUpdate(s, data.subarray(0, 3));
      m.p11.C_SignUpdate(s, data.subarray(3));
      return m.p11.C_SignFinal(s, Buffer.alloc(64));
    };
    const verifyWith = (mechanism: number, key: Handle, data: Buffer, sig: Buffer) => {
      m.p11.C_VerifyInit(s, { mechanism }, key);
      return m.p11.C_Verify(s, data, sig);
    };
    const DATA = Buffer.from('DSA and DH through the token');

    it('CKM_DSA_PARAMETER_GEN makes DSA domain parameters (L 1024, N 160) that are local', () => {
      assert.equal(ulong(dsaParams, C.CKA_CLASS), C.CKO_DOMAIN_PARAMETERS);
      assert.equal(ulong(dsaParams, C.CKA_KEY_TYPE), C.CKK_DSA);
      assert.equal(ulong(dsaParams, C.CKA_PRIME_BITS), 1024);
      assert.equal(get(dsaParams, C.CKA_PRIME).length, 128);
      assert.equal(get(dsaParams, C.CKA_SUBPRIME).length, 20);
      assert.equal(get(dsaParams, C.CKA_LOCAL)[0], 1);
    });

    it('CKM_DSA_KEY_PAIR_GEN on them: CKM_DSA_SHA1/SHA256/SHA3-256 signatures (one and two parts) verified by node:crypto', () => {
      const k = dsaPair(domain(dsaParams));
      assert.equal(ulong(k.privateKey, C.CKA_KEY_TYPE), C.CKK_DSA);
      const pub = publicOf(k.publicKey);
      for (const [mech, hash] of [
        [C.CKM_DSA_SHA1, 'sha1'],
        [C.CKM_DSA_SHA256, 'sha256'],
        [C.CKM_DSA_SHA3_256, 'sha3-256'],
      ] as const) {
        for (const parts of [1, 2]) {
          const sig = signWith(mech, k.privateKey, DATA, parts);
          assert.equal(sig.length, 40);
          assert.ok(
            verify(hash, DATA, { key: pub, dsaEncoding: 'ieee-p1363' }, sig),
            `${hash} ${parts}`,
          );
          assert.equal(verifyWith(mech, k.publicKey, DATA, sig), true);
        }
      }
    });

    it("CKM_DSA signs a digest node:crypto verifies as DSA-SHA256 (truncated to N bits), and verifies node:crypto's", () => {
      const k = dsaPair(domain(dsaParams));
      const pub = publicOf(k.publicKey);
      const digest = createHash('sha256').update(DATA).digest();
      for (let i = 0; i < 4; i++) {
        const sig = signWith(C.CKM_DSA, k.privateKey, digest);
        assert.ok(verify('sha256', DATA, { key: pub, dsaEncoding: 'ieee-p1363' }, sig));
      }
      const foreign = generateKeyPairSync('dsa', { modulusLength: 1024, divisorLength: 160 });
      const c = dsaComponents(foreign.privateKey);
      const foreignPub = m.p11.C_CreateObject(s, [
        { type: C.CKA_CLASS, value: C.CKO_PUBLIC_KEY },
        { type: C.CKA_KEY_TYPE, value: C.CKK_DSA },
        { type: C.CKA_PRIME, value: c.p },
        { type: C.CKA_SUBPRIME, value: c.q },
        { type: C.CKA_BASE, value: c.g },
        { type: C.CKA_VALUE, value: modPowBytes(c.g, c.x, c.p) },
      ]);
      const theirs = sign('sha256', DATA, { key: foreign.privateKey, dsaEncoding: 'ieee-p1363' });
      assert.equal(verifyWith(C.CKM_DSA, foreignPub, digest, theirs), true);
      assert.equal(verifyWith(C.CKM_DSA_SHA256, foreignPub, DATA, theirs), true);
    });

    it('a DSA key from node:crypto (L 2048, N 256): the token signs with it, node:crypto verifies; and the reverse', () => {
      const theirs = generateKeyPairSync('dsa', { modulusLength: 2048, divisorLength: 256 });
      const { p, q, g, x } = dsaComponents(theirs.privateKey);
      const priv = m.p11.C_CreateObject(s, [
        { type: C.CKA_CLASS, value: C.CKO_PRIVATE_KEY },
        { type: C.CKA_KEY_TYPE, value: C.CKK_DSA },
        { type: C.CKA_PRIME, value: p },
        { type: C.CKA_SUBPRIME, value: q },
        { type: C.CKA_BASE, value: g },
        { type: C.CKA_VALUE, value: x },
      ]);
      const sig = signWith(C.CKM_DSA_SHA384, priv, DATA);
      assert.equal(sig.length, 64);
      assert.ok(verify('sha384', DATA, { key: theirs.publicKey, dsaEncoding: 'ieee-p1363' }, sig));
      const digest = createHash('sha256').update(DATA).digest();
      assert.ok(
        verify(
          'sha256',
          DATA,
          { key: theirs.publicKey, dsaEncoding: 'ieee-p1363' },
          signWith(C.CKM_DSA, priv, digest),
        ),
      );
    });

    it('DSA refusals: CKR_DATA_LEN_RANGE, CKR_SIGNATURE_LEN_RANGE, CKR_SIGNATURE_INVALID, CKR_KEY_SIZE_RANGE, CKR_TEMPLATE_INCOMPLETE, CKR_ATTRIBUTE_VALUE_INVALID', () => {
      const k = dsaPair(domain(dsaParams));
      m.p11.C_SignInit(s, { mechanism: C.CKM_DSA }, k.privateKey);
      assertRv(() => m.p11.C_Sign(s, Buffer.alloc(65), Buffer.alloc(40)), C.CKR_DATA_LEN_RANGE);
      const digest = createHash('sha1').update(DATA).digest();
      const sig = signWith(C.CKM_DSA, k.privateKey, digest);
      assertRv(
        () => verifyWith(C.CKM_DSA, k.publicKey, digest, sig.subarray(1)),
        C.CKR_SIGNATURE_LEN_RANGE,
      );
      const bad = Buffer.from(sig);
      bad[30] = (bad[30] as number) ^ 4;
      assertRv(() => verifyWith(C.CKM_DSA, k.publicKey, digest, bad), C.CKR_SIGNATURE_INVALID);
      assertRv(
        () => verifyWith(C.CKM_DSA, k.publicKey, Buffer.alloc(20), sig),
        C.CKR_SIGNATURE_INVALID,
      );
      assertRv(
        () =>
          m.p11.C_GenerateKey(s, { mechanism: C.CKM_DSA_PARAMETER_GEN }, [
            { type: C.CKA_PRIME_BITS, value: 1000 },
          ]),
        C.CKR_KEY_SIZE_RANGE,
      );
      assertRv(
        () => m.p11.C_GenerateKey(s, { mechanism: C.CKM_DSA_PARAMETER_GEN }, []),
        C.CKR_TEMPLATE_INCOMPLETE,
      );
      const { p, q } = domain(dsaParams);
      assertRv(
        () =>
          m.p11.C_GenerateKeyPair(
            s,
            { mechanism: C.CKM_DSA_KEY_PAIR_GEN },
            [
              { type: C.CKA_PRIME, value: p },
              { type: C.CKA_BASE, value: Buffer.from([2]) },
            ],
            [],
          ),
        C.CKR_TEMPLATE_INCOMPLETE,
      );
      assertRv(() => dsaPair({ p, q, g: Buffer.from([1]) }), C.CKR_ATTRIBUTE_VALUE_INVALID);
      assertRv(
        () => dsaPair({ p, q: Buffer.from([7]), g: Buffer.from([2]) }),
        C.CKR_ATTRIBUTE_VALUE_INVALID,
      );
    });

    it('C_CreateObject of DSA and DH domain parameters states CKA_PRIME_BITS (and CKA_SUBPRIME_BITS)', () => {
      const { p, q, g } = domain(dsaParams);
      const o = m.p11.C_CreateObject(s, [
        { type: C.CKA_CLASS, value: C.CKO_DOMAIN_PARAMETERS },
        { type: C.CKA_KEY_TYPE, value: C.CKK_DSA },
        { type: C.CKA_PRIME, value: p },
        { type: C.CKA_SUBPRIME, value: q },
        { type: C.CKA_BASE, value: g },
      ]);
      assert.equal(ulong(o, C.CKA_PRIME_BITS), 1024);
      assert.equal(ulong(o, C.CKA_SUBPRIME_BITS), 160);
      assert.equal(get(o, C.CKA_LOCAL)[0], 0);
      assertRv(
        () =>
          m.p11.C_CreateObject(s, [
            { type: C.CKA_CLASS, value: C.CKO_DOMAIN_PARAMETERS },
            { type: C.CKA_KEY_TYPE, value: C.CKK_DH },
            { type: C.CKA_PRIME, value: p },
            { type: C.CKA_BASE, value: g },
            { type: C.CKA_PRIME_BITS, value: 1024 },
          ]),
        C.CKR_ATTRIBUTE_READ_ONLY,
      );
    });

    it('CKM_DH_PKCS_PARAMETER_GEN: a 512-bit prime and generator 2', () => {
      assert.equal(ulong(dhParams, C.CKA_KEY_TYPE), C.CKK_DH);
      assert.equal(ulong(dhParams, C.CKA_PRIME_BITS), 512);
      assert.deepEqual(get(dhParams, C.CKA_BASE), Buffer.from([2]));
    });

    for (const group of ['generated 512-bit', 'RFC 3526 group 14'] as const) {
      it(`CKM_DH_PKCS_DERIVE on ${group} parameters equals node:crypto's secret on both sides`, () => {
        const p =
          group === 'RFC 3526 group 14'
            ? getDiffieHellman('modp14').getPrime()
            : get(dhParams, C.CKA_PRIME);
        const g = group === 'RFC 3526 group 14' ? Buffer.from([2]) : get(dhParams, C.CKA_BASE);
        const k = m.p11.C_GenerateKeyPair(
          s,
          { mechanism: C.CKM_DH_PKCS_KEY_PAIR_GEN },
          [
            { type: C.CKA_PRIME, value: p },
            { type: C.CKA_BASE, value: g },
          ],
          [
            { type: C.CKA_DERIVE, value: true },
            { type: C.CKA_VALUE_BITS, value: 256 },
          ],
        );
        assert.equal(ulong(k.privateKey, C.CKA_VALUE_BITS), 256);
        const theirs = createDiffieHellman(p, g);
        theirs.generateKeys();
        const derive = (template: { type: number; value: unknown }[]) =>
          m.p11.C_DeriveKey(
            s,
            { mechanism: C.CKM_DH_PKCS_DERIVE, parameter: theirs.getPublicKey() },
            k.privateKey,
            [
              { type: C.CKA_SENSITIVE, value: false },
              { type: C.CKA_EXTRACTABLE, value: true },
              ...template,
            ] as never,
          );
        const expected = theirs.computeSecret(get(k.publicKey, C.CKA_VALUE));
        assert.equal(expected.length, p.length);
        assert.deepEqual(get(derive([]), C.CKA_VALUE), expected);
        assert.deepEqual(
          get(derive([{ type: C.CKA_VALUE_LEN, value: 16 }]), C.CKA_VALUE),
          expected.subarray(expected.length - 16),
        );
        const aes = derive([
          { type: C.CKA_KEY_TYPE, value: C.CKK_AES },
          { type: C.CKA_VALUE_LEN, value: 32 },
        ]);
        assert.equal(ulong(aes, C.CKA_KEY_TYPE), C.CKK_AES);
        assert.deepEqual(get(aes, C.CKA_VALUE), expected.subarray(expected.length - 32));
      });
    }

    it('CKM_DH_PKCS_DERIVE with a peer value of 0, 1, p-1 or p or above → CKR_MECHANISM_PARAM_INVALID', () => {
      const p = get(dhParams, C.CKA_PRIME);
      const k = m.p11.C_GenerateKeyPair(
        s,
        { mechanism: C.CKM_DH_PKCS_KEY_PAIR_GEN },
        [
          { type: C.CKA_PRIME, value: p },
          { type: C.CKA_BASE, value: get(dhParams, C.CKA_BASE) },
        ],
        [{ type: C.CKA_DERIVE, value: true }],
      );
      const pMinus1 = Buffer.from(p);
      pMinus1[pMinus1.length - 1] = (pMinus1[pMinus1.length - 1] as number) - 1;
      for (const peer of [
        Buffer.from([0]),
        Buffer.from([1]),
        pMinus1,
        p,
        Buffer.alloc(p.length + 1, 0xff),
      ]) {
        assertRv(
          () =>
            m.p11.C_DeriveKey(
              s,
              { mechanism: C.CKM_DH_PKCS_DERIVE, parameter: peer },
              k.privateKey,
              [],
            ),
          C.CKR_MECHANISM_PARAM_INVALID,
        );
      }
      assertRv(
        () => m.p11.C_DeriveKey(s, { mechanism: C.CKM_DH_PKCS_DERIVE }, k.privateKey, []),
        C.CKR_MECHANISM_PARAM_INVALID,
      );
    });
  });
}
