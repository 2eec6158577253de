/**
 * Suite `parsers`: every parser of untrusted input gets random and mutated encodings and must return a
 * well-formed value or refuse with its documented CKR, never throw anything else: PEM/DER credential
 * import (src/helpers: keys, certificates, encrypted-key detection), EC parameters and points
 * (src/objects/key-material.ts), ECDSA signature forms, X.500 names and PKCS#11 URIs. Valid inputs round
 * trip.
 * @module
 */
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { type CurveName, curveNamed, CURVES as TABLE } from '../../../src/crypto/curves.js';
import {
  curveOfEcParams,
  ecdsaDerToRaw,
  ecdsaRawToDer,
  encodePem,
  encodeSpki,
  formatName,
  isEncryptedPrivateKeyInfo,
  parseCertificate,
  parseEcPrivateKey,
  parsePrivateKeyInfo,
  parseRsaPrivateKey,
  parseRsaPublicKey,
  parseSpki,
  parseSubject,
  readCredentials,
} from '../../../src/helpers/index.js';
import { curveOf } from '../../../src/objects/ec-params.js';
import { decodeEcPoint, encodeEcPoint } from '../../../src/objects/key-material.js';
import * as C from '../../../src/pkcs11/constants.js';
import { progress } from '../harness/progress.js';
import { runProperties, type SuiteOptions, type SuiteResult, Tally } from '../harness/suite.js';
import { corpus } from '../support/corpus.js';
import { mutated, refusedWith } from '../support/mutate.js';
import { uriProperties } from './uri-properties.js';

const IMPORT = [C.CKR_ARGUMENTS_BAD, C.CKR_CURVE_NOT_SUPPORTED];
const ATTRIBUTE = [C.CKR_ATTRIBUTE_VALUE_INVALID, C.CKR_CURVE_NOT_SUPPORTED];
/** The Weierstrass curves of the table (field and scalar have one width on each). */
const EC = TABLE.filter((c) => c.family === 'weierstrass');
const CURVES: CurveName[] = EC.map((c) => c.name);
const WIDTH = Object.fromEntries(EC.map((c) => [c.name, c.fieldBytes])) as Record<
  CurveName,
  number
>;

/** A parsed key is well formed: an EC key's scalar and point have the curve's sizes. */
function checkKey(key: { kind: string; curve?: string; d?: Uint8Array; point?: Uint8Array }): void {
  if (key.kind !== 'ec') return;
  const width = WIDTH[key.curve as keyof typeof WIDTH];
  assert.ok(width, `a supported curve, not ${key.curve}`);
  if (key.d) assert.equal(key.d.length, width, 'the scalar has the curve width');
  if (key.point) assert.equal(key.point.length, 2 * width + 1, 'an uncompressed point');
}

function derProperty(tally: Tally) {
  const c = corpus();
  return fc.property(mutated(c.der), (der) => {
    progress('parsers: DER credentials');
    tally.add('der inputs');
    const r = refusedWith(IMPORT, () => {
      for (const cred of readCredentials(der)) if (cred.kind !== 'certificate') checkKey(cred.key);
    });
    tally.add(`der ${r}`);
    for (const parse of [
      parsePrivateKeyInfo,
      parseEcPrivateKey,
      (d: Uint8Array) => parseEcPrivateKey(d, 'P-384'),
      parseRsaPrivateKey,
      parseSpki,
      parseRsaPublicKey,
      parseCertificate,
    ]) {
      refusedWith(IMPORT, () => {
        const v = parse(der) as { kind?: string };
        if (v.kind) checkKey(v as never);
      });
    }
    isEncryptedPrivateKeyInfo(der);
  });
}

const PEM_LABELS = [
  'CERTIFICATE',
  'TRUSTED CERTIFICATE',
  'X509 CERTIFICATE',
  'PRIVATE KEY',
  'ENCRYPTED PRIVATE KEY',
  'EC PRIVATE KEY',
  'RSA PRIVATE KEY',
  'PUBLIC KEY',
  'RSA PUBLIC KEY',
  'EC PARAMETERS',
  'OTHER THING',
];

/** PEM text: blocks of (mutated) DER under (sometimes wrong) labels, with text edits on top. */
function pemText(): fc.Arbitrary<string> {
  const c = corpus();
  const block = fc
    .tuple(
      fc.nat(c.pem.length - 1),
      fc.option(fc.constantFrom(...PEM_LABELS), { freq: 4, nil: undefined }),
      fc.oneof(
        {
          weight: 2,
          arbitrary: fc.nat(c.pem.length - 1).map((j) => (c.pem[j] as [string, Uint8Array])[1]),
        },
        { weight: 1, arbitrary: mutated(c.pem.map(([, d]) => d)) },
      ),
      fc.constantFrom('', 'Proc-Type: 4,ENCRYPTED\nDEK-Info: AES-128-CBC,00\n\n', 'Comment: x\n'),
    )
    .map(([i, label, der, headers]) => {
      const text = encodePem(label ?? (c.pem[i] as [string, Uint8Array])[0], der);
      return headers === '' ? text : text.replace('-----\n', `-----\n${headers}`);
    });
  const edit = fc.record({
    at: fc.nat(),
    cut: fc.nat(8),
    insert: fc.constantFrom(
      '',
      '-',
      '=',
      '\n',
      '\r\n',
      ' ',
      '-----END X-----',
      '-----BEGIN ',
      '\u00e9',
      '%',
    ),
  });
  return fc
    .tuple(fc.array(block, { minLength: 1, maxLength: 3 }), fc.array(edit, { maxLength: 2 }))
    .map(([blocks, edits]) => {
      let text = blocks.join('text between blocks\n');
      for (const e of edits) {
        const at = e.at % (text.length + 1);
        text = text.slice(0, at) + e.insert + text.slice(at + e.cut);
      }
      return text;
    });
}

function pemProperty(tally: Tally) {
  return fc.property(pemText(), fc.boolean(), (text, asBytes) => {
    progress('parsers: PEM credentials');
    tally.add('pem inputs');
    const r = refusedWith(IMPORT, () => {
      const input = asBytes ? new TextEncoder().encode(text) : text;
      for (const cred of readCredentials(input))
        if (cred.kind !== 'certificate') checkKey(cred.key);
    });
    tally.add(`pem ${r}`);
  });
}

function roundTripProperty(tally: Tally) {
  const c = corpus();
  return fc.property(fc.nat(c.der.length - 1), (i) => {
    tally.add('round trips');
    const der = c.der[i] as Uint8Array;
    const [cred] = readCredentials(der);
    assert.ok(cred);
    if (cred.kind === 'public-key' && der[4] !== 0x02) {
      // SubjectPublicKeyInfo re-encodes byte for byte (PKCS#1 public keys start with an INTEGER).
      try {
        assert.deepEqual(encodeSpki(cred.key), der);
      } catch {
        assert.deepEqual(encodeSpki(parseSpki(encodeSpki(cred.key))), encodeSpki(cred.key));
      }
    }
  });
}

function ecProperty(tally: Tally) {
  const c = corpus();
  return fc.property(
    mutated([...c.ecParams, ...c.ecPoints.map(([, p]) => p)]),
    fc.constantFrom(...CURVES),
    (bytes, curve) => {
      progress('parsers: EC params and points');
      tally.add('ec inputs');
      refusedWith(ATTRIBUTE, () => {
        const name = curveOf(bytes);
        assert.ok(CURVES.includes(name));
      });
      refusedWith(ATTRIBUTE, () => {
        const point = decodeEcPoint(bytes, curve);
        assert.equal(point.length, 2 * WIDTH[curve] + 1);
        assert.equal(point[0], 4);
        assert.deepEqual(decodeEcPoint(encodeEcPoint(point), curve), point);
      });
      refusedWith(IMPORT, () => assert.ok(curveNamed(curveOfEcParams(bytes))));
    },
  );
}

function signatureProperty(tally: Tally) {
  const c = corpus();
  return fc.property(
    mutated(c.signatures.map(([, s]) => s)),
    fc.constantFrom(...CURVES),
    fc.uint8Array({ minLength: 0, maxLength: 140 }),
    (der, curve, raw) => {
      progress('parsers: ECDSA signatures');
      tally.add('signatures');
      refusedWith([C.CKR_SIGNATURE_INVALID], () => {
        const r = ecdsaDerToRaw(der, curve);
        assert.equal(r.length, 2 * WIDTH[curve]);
        assert.deepEqual(ecdsaDerToRaw(ecdsaRawToDer(r, curve), curve), r);
      });
      refusedWith([C.CKR_SIGNATURE_LEN_RANGE], () => {
        const d = ecdsaRawToDer(raw);
        const width = raw.length / 2;
        const curveOfRaw = CURVES.find((k) => WIDTH[k] === width);
        assert.ok(curveOfRaw);
        assert.deepEqual(ecdsaDerToRaw(d, curveOfRaw), raw);
      });
    },
  );
}

function namesProperty(tally: Tally) {
  const c = corpus();
  const subject = fc.oneof(
    fc.string({ maxLength: 60 }),
    fc
      .array(
        fc.tuple(
          fc.constantFrom('CN', 'O', 'OU', 'C', 'L', 'ST', 'emailAddress', 'x', '2.5.4.3', ''),
          fc.string({ maxLength: 12 }),
        ),
        { maxLength: 4 },
      )
      .map((parts) => parts.map(([k, v]) => `/${k}=${v}`).join('')),
  );
  return fc.property(subject, mutated(c.der), (text, der) => {
    progress('parsers: names');
    tally.add('names');
    refusedWith(IMPORT, () => {
      const encoded = parseSubject(text);
      assert.equal(typeof formatName(encoded), 'string');
    });
    refusedWith(IMPORT, () => formatName(der));
  });
}

export async function parsersSuite(options: SuiteOptions): Promise<SuiteResult> {
  const tally = new Tally();
  return runProperties('parsers', options, tally, [
    ['DER credentials', derProperty(tally), 1],
    ['PEM credentials', pemProperty(tally), 0.5],
    ['valid credentials round trip', roundTripProperty(tally), 0.05],
    ['EC parameters and points', ecProperty(tally), 0.5],
    ['ECDSA signatures', signatureProperty(tally), 0.5],
    ['X.500 names', namesProperty(tally), 0.3],
    ...uriProperties(tally),
  ]);
}
