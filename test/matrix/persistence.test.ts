/**
 * Persistence per PAL port (issue 2 §3–4, DESIGN §2.3): token objects of every class survive a restart
 * with every attribute byte-exact, session objects do not, the corePKCS11 well-known labels work and sit
 * in their own PAL slots, 200 objects with mixed labels come back, and damaged records (through the PAL
 * on every port, as files on the file port) are reported and skipped, never returned as garbage.
 * @module
 */
import assert from 'node:assert/strict';
import { verify } from 'node:crypto';
import { readdirSync, readFileSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, it } from 'node:test';
import type { Handle, Template } from '../../src/api/convert.js';
import { isPkcs11Error } from '../../src/errors.js';
import {
  attr,
  certTemplate,
  dataTemplate,
  type EcMaterial,
  ecMaterial,
  ecPrivateTemplate,
  ecPublicTemplate,
  findAll,
  labelsOf,
  makeCertificate,
  num,
  rsaMaterial,
  rsaPrivateTemplate,
  rsaPublicTemplate,
  secretTemplate,
} from '../helpers/material.js';
import {
  indexBuckets,
  readStored,
  recordLabelOf,
  rewriteStored,
  snapshot,
} from '../helpers/store.js';
import {
  C,
  initializedModule,
  PAL_PORTS,
  SO_PIN,
  TEST_TOKEN_OPTIONS,
  type TestModule,
  USER_PIN,
  userSession,
} from '../helpers/token.js';

const TOKEN: Template = [{ type: C.CKA_TOKEN, value: true }];
const OPEN: Template = [
  { type: C.CKA_SENSITIVE, value: false },
  { type: C.CKA_EXTRACTABLE, value: true },
];
const ulongs = (...v: number[]) =>
  Buffer.concat(
    v.map((x) => {
      const b = Buffer.alloc(8);
      b.writeBigUInt64LE(BigInt(x));
      return b;
    }),
  );

/** Damaged records named in the warnings (the token reports them at load and again at C_Initialize). */
const distinctDamaged = (warnings: string[]) =>
  new Set(warnings.filter((w) => /damaged/.test(w))).size;

/** One token object of every kind, each named by its CKA_LABEL. */
function provision(m: TestModule, s: Handle, ec: EcMaterial): string[] {
  const rsa = rsaMaterial();
  const other = ecMaterial();
  const label = (l: string): Template => [...TOKEN, { type: C.CKA_LABEL, value: l }];
  const templates: Template[] = [
    dataTemplate('p-data', [...TOKEN, { type: C.CKA_OBJECT_ID, value: Buffer.of(6, 3, 1) }]),
    dataTemplate('p-data-private', [...TOKEN, { type: C.CKA_PRIVATE, value: true }]),
    certTemplate(makeCertificate('persisted'), [
      ...label('p-cert'),
      { type: C.CKA_ID, value: Buffer.of(1) },
    ]),
    rsaPublicTemplate(rsa, label('p-rsa-pub')),
    rsaPrivateTemplate(rsa, [...label('p-rsa-priv'), ...OPEN]),
    ecPublicTemplate(other, label('p-ec-pub')),
    ecPrivateTemplate(other, [
      ...label('p-ec-priv'),
      ...OPEN,
      { type: C.CKA_START_DATE, value: '20250101' },
      { type: C.CKA_ALLOWED_MECHANISMS, value: ulongs(C.CKM_ECDSA, C.CKM_ECDSA_SHA256) },
      {
        type: C.CKA_UNWRAP_TEMPLATE,
        value: [
          { type: C.CKA_TOKEN, value: true },
          { type: C.CKA_EXTRACTABLE, value: false },
        ],
      },
    ]),
    ecPrivateTemplate(ec, label('p-ec-sensitive')),
    secretTemplate(C.CKK_AES, Buffer.alloc(32, 0x3c), [...label('p-aes'), ...OPEN]),
    secretTemplate(C.CKK_SHA256_HMAC, Buffer.alloc(48, 0x7e), [...label('p-hmac'), ...OPEN]),
  ];
  for (const t of templates) m.p11.C_CreateObject(s, t);
  m.p11.C_GenerateKey(s, { mechanism: C.CKM_AES_KEY_GEN }, [
    ...label('p-generated'),
    { type: C.CKA_VALUE_LEN, value: 16 },
  ]);
  return [
    ...templates.map((t) => String(t.find((a) => a.type === C.CKA_LABEL)?.value)),
    'p-generated',
  ];
}

for (const port of PAL_PORTS) {
  describe(`persistence [${port.name}]`, () => {
    const modules: TestModule[] = [];
    const open = (warnings?: string[]) => {
      const m = initializedModule(port, { ...TEST_TOKEN_OPTIONS, warn: (w) => warnings?.push(w) });
      modules.push(m);
      return m;
    };
    afterEach(() => {
      for (const m of modules.splice(0)) m.cleanup();
    });
    const one = (m: TestModule, s: Handle, label: string) => {
      const found = findAll(m.p11, s, [{ type: C.CKA_LABEL, value: label }]);
      assert.equal(found.length, 1, label);
      return found[0] as Handle;
    };

    it('token objects of every class survive a restart with every attribute byte-exact → CKR_OK', () => {
      const m = open();
      const s = userSession(m);
      const ec = ecMaterial();
      const labels = provision(m, s, ec);
      const before = new Map(labels.map((l) => [l, snapshot(m.engine, num(s), num(one(m, s, l)))]));
      const r = m.restart();
      const rs = userSession(r);
      assert.equal(r.p11.C_GetTokenInfo(r.slot).label.trimEnd(), 'test');
      assert.deepEqual(labelsOf(r.p11, rs), [...labels].sort());
      for (const l of labels) {
        const after = snapshot(r.engine, num(rs), num(one(r, rs, l)));
        assert.ok(after.size >= 8, `${l}: ${after.size} attributes`);
        assert.deepEqual(after, before.get(l), l);
      }
      // the sensitive key still hides its value and still signs what node:crypto verifies
      const key = one(r, rs, 'p-ec-sensitive');
      assert.equal(snapshot(r.engine, num(rs), num(key)).has(C.CKA_VALUE), false);
      r.p11.C_SignInit(rs, { mechanism: C.CKM_ECDSA_SHA256 }, key);
      const sig = r.p11.C_Sign(rs, Buffer.from('after restart'), Buffer.alloc(64));
      assert.ok(
        verify(
          'sha256',
          Buffer.from('after restart'),
          { key: ec.publicKey, dsaEncoding: 'ieee-p1363' },
          sig,
        ),
      );
    });

    it('session objects do not survive a restart (not found) → CKR_OK', () => {
      const m = open();
      const s = userSession(m);
      m.p11.C_CreateObject(s, dataTemplate('gone'));
      m.p11.C_CreateObject(s, dataTemplate('gone', [{ type: C.CKA_PRIVATE, value: true }]));
      m.p11.C_CreateObject(s, dataTemplate('stays', TOKEN));
      const r = m.restart();
      const rs = userSession(r);
      assert.deepEqual(labelsOf(r.p11, rs), ['stays']);
    });

    it('changes and destructions persist across a restart (latched CKA_SENSITIVE → CKR_ATTRIBUTE_SENSITIVE)', () => {
      const m = open();
      const s = userSession(m);
      const renamed = m.p11.C_CreateObject(s, dataTemplate('old name', TOKEN));
      const latched = m.p11.C_CreateObject(
        s,
        secretTemplate(C.CKK_AES, Buffer.alloc(16, 1), [
          ...TOKEN,
          ...OPEN,
          { type: C.CKA_LABEL, value: 'latched' },
        ]),
      );
      const doomed = m.p11.C_CreateObject(s, dataTemplate('doomed', TOKEN));
      m.p11.C_SetAttributeValue(s, renamed, [
        { type: C.CKA_LABEL, value: 'new name' },
        { type: C.CKA_VALUE, value: Buffer.from('new value') },
      ]);
      m.p11.C_SetAttributeValue(s, latched, [{ type: C.CKA_SENSITIVE, value: true }]);
      m.p11.C_DestroyObject(s, doomed);
      const r = m.restart();
      const rs = userSession(r);
      assert.deepEqual(labelsOf(r.p11, rs), ['latched', 'new name']);
      assert.equal(attr(r.p11, rs, one(r, rs, 'new name'), C.CKA_VALUE).toString(), 'new value');
      const key = one(r, rs, 'latched');
      assert.throws(
        () => r.p11.C_GetAttributeValue(rs, key, [{ type: C.CKA_VALUE }]),
        (e) => isPkcs11Error(e, C.CKR_ATTRIBUTE_SENSITIVE),
      );
    });

    it('the corePKCS11 well-known labels: each object sits in its own PAL slot and is found by its label after a restart → CKR_OK', () => {
      const m = open();
      const s = userSession(m);
      const ec = ecMaterial();
      const cert = makeCertificate('device');
      const byLabel: [string, Template][] = [
        ['Device Priv TLS Key', ecPrivateTemplate(ec)],
        ['Device Pub TLS Key', ecPublicTemplate(ec)],
        ['Device Cert', certTemplate(cert)],
        ['Code Verify Key', ecPublicTemplate(ecMaterial())],
        ['Root Cert', certTemplate(makeCertificate('root'))],
        ['JITP Cert', certTemplate(makeCertificate('jitp'))],
        ['HMAC Key', secretTemplate(C.CKK_SHA256_HMAC, Buffer.alloc(32, 1))],
        ['CMAC Key', secretTemplate(C.CKK_AES, Buffer.alloc(16, 2))],
        ['Claim Key', ecPrivateTemplate(ecMaterial())],
        ['Claim Cert', certTemplate(makeCertificate('claim'))],
      ];
      for (const [label, t] of byLabel) {
        m.p11.C_CreateObject(s, [...t, ...TOKEN, { type: C.CKA_LABEL, value: label }]);
        assert.notEqual(m.pal.findObject(label), 0, `${label} is stored under its own PAL label`);
      }
      // a second object with a taken well-known label is kept too
      m.p11.C_CreateObject(s, [
        ...certTemplate(makeCertificate('second')),
        ...TOKEN,
        { type: C.CKA_LABEL, value: 'Device Cert' },
      ]);
      const r = m.restart();
      const rs = userSession(r);
      for (const [label] of byLabel) {
        const n = findAll(r.p11, rs, [{ type: C.CKA_LABEL, value: label }]).length;
        assert.equal(n, label === 'Device Cert' ? 2 : 1, label);
      }
      assert.ok(findAll(r.p11, rs, [{ type: C.CKA_VALUE, value: cert.der }]).length === 1);
      const key = one(r, rs, 'Device Priv TLS Key');
      r.p11.C_SignInit(rs, { mechanism: C.CKM_ECDSA_SHA256 }, key);
      const sig = r.p11.C_Sign(rs, Buffer.from('tls'), Buffer.alloc(64));
      assert.ok(
        verify('sha256', Buffer.from('tls'), { key: ec.publicKey, dsaEncoding: 'ieee-p1363' }, sig),
      );
      // destroying the object in the slot frees it; the other 'Device Cert' stays
      const [first] = findAll(r.p11, rs, [{ type: C.CKA_VALUE, value: cert.der }]);
      r.p11.C_DestroyObject(rs, first as Handle);
      assert.equal(r.pal.findObject('Device Cert'), 0);
      const again = r.restart();
      assert.equal(
        findAll(again.p11, userSession(again), [{ type: C.CKA_LABEL, value: 'Device Cert' }])
          .length,
        1,
      );
    });

    it('200 token objects with mixed labels survive a restart, each byte-exact → CKR_OK', () => {
      const m = open();
      const s = userSession(m);
      const labelOf = (i: number) =>
        i % 10 === 0 ? `solo ${i}` : i % 23 === 0 ? 'Device Cert' : `group ${i % 7}`;
      const expected = new Map<string, number>();
      for (let i = 0; i < 200; i++) {
        const label = labelOf(i);
        expected.set(label, (expected.get(label) ?? 0) + 1);
        m.p11.C_CreateObject(s, [
          { type: C.CKA_CLASS, value: C.CKO_DATA },
          { type: C.CKA_TOKEN, value: true },
          { type: C.CKA_PRIVATE, value: i % 3 === 0 },
          { type: C.CKA_LABEL, value: label },
          { type: C.CKA_OBJECT_ID, value: Buffer.from(String(i)) },
          { type: C.CKA_VALUE, value: Buffer.alloc(i + 1, i) },
        ]);
      }
      const r = m.restart();
      const rs = userSession(r);
      const all = findAll(r.p11, rs, [{ type: C.CKA_CLASS, value: C.CKO_DATA }], 17);
      assert.equal(all.length, 200);
      for (const [label, n] of expected) {
        assert.equal(findAll(r.p11, rs, [{ type: C.CKA_LABEL, value: label }]).length, n, label);
      }
      const seen = new Set<number>();
      for (const h of all) {
        const i = Number(attr(r.p11, rs, h, C.CKA_OBJECT_ID).toString());
        seen.add(i);
        assert.deepEqual(attr(r.p11, rs, h, C.CKA_VALUE), Buffer.alloc(i + 1, i), `object ${i}`);
        assert.equal(attr(r.p11, rs, h, C.CKA_LABEL).toString(), labelOf(i));
        assert.equal(attr(r.p11, rs, h, C.CKA_PRIVATE)[0], i % 3 === 0 ? 1 : 0);
      }
      assert.equal(seen.size, 200);
    });

    it('records damaged through the PAL (byte flipped, truncated, emptied) are reported and skipped; the rest load byte-exact → CKR_OK', () => {
      const warnings: string[] = [];
      const m = open(warnings);
      const s = userSession(m);
      for (const l of ['intact 1', 'flipped', 'truncated', 'emptied', 'intact 2']) {
        m.p11.C_CreateObject(
          s,
          dataTemplate(l, [...TOKEN, { type: C.CKA_PRIVATE, value: l === 'intact 2' }]),
        );
      }
      rewriteStored(m.pal, recordLabelOf(m.pal, 'flipped'), (b) => {
        const i = b.indexOf('value of flipped');
        b[i] = (b[i] as number) ^ 0x01;
        return b;
      });
      rewriteStored(m.pal, recordLabelOf(m.pal, 'truncated'), (b) => b.subarray(0, b.length >> 1));
      rewriteStored(m.pal, recordLabelOf(m.pal, 'emptied'), () => Buffer.alloc(0));
      const r = m.restart();
      assert.equal(distinctDamaged(warnings), 3, warnings.join('\n'));
      const rs = userSession(r);
      assert.deepEqual(labelsOf(r.p11, rs), ['intact 1', 'intact 2']);
      for (const l of ['intact 1', 'intact 2']) {
        assert.equal(attr(r.p11, rs, one(r, rs, l), C.CKA_VALUE).toString(), `value of ${l}`);
      }
      // the token still works: new objects are stored and come back
      r.p11.C_CreateObject(rs, dataTemplate('after damage', TOKEN));
      const again = r.restart();
      assert.ok(labelsOf(again.p11, userSession(again)).includes('after damage'));
    });

    it('object files damaged on disk (byte flipped, truncated, zero length) are reported and skipped → CKR_OK', {
      skip: port.name === 'file' ? false : 'only the file port keeps objects in files',
    }, () => {
      const warnings: string[] = [];
      const m = open(warnings);
      const s = userSession(m);
      for (const l of ['keep', 'flip', 'cut', 'zero'])
        m.p11.C_CreateObject(s, dataTemplate(l, TOKEN));
      const dir = m.dir as string;
      const fileOf = (l: string) => {
        const name = readdirSync(dir).find(
          (f) =>
            f.startsWith('o-corepkcs11.obj.') &&
            readFileSync(join(dir, f)).includes(`value of ${l}`),
        );
        assert.ok(name, l);
        return join(dir, name);
      };
      const flip = fileOf('flip');
      const bytes = readFileSync(flip);
      bytes[bytes.length - 9] = (bytes[bytes.length - 9] as number) ^ 0x80;
      writeFileSync(flip, bytes);
      const cut = fileOf('cut');
      truncateSync(cut, readFileSync(cut).length - 5);
      truncateSync(fileOf('zero'), 0);
      const r = m.restart();
      assert.equal(distinctDamaged(warnings), 3, warnings.join('\n'));
      const rs = userSession(r);
      assert.deepEqual(labelsOf(r.p11, rs), ['keep']);
      assert.equal(attr(r.p11, rs, one(r, rs, 'keep'), C.CKA_VALUE).toString(), 'value of keep');
    });

    it('a damaged index bucket is reported; what loads is byte-exact, never garbage → CKR_OK', () => {
      const warnings: string[] = [];
      const m = open(warnings);
      const s = userSession(m);
      for (let i = 0; i < 20; i++) m.p11.C_CreateObject(s, dataTemplate(`indexed ${i}`, TOKEN));
      const [bucket] = [...indexBuckets(m.pal).keys()];
      assert.ok(bucket);
      rewriteStored(m.pal, bucket, (b) => {
        b[2] = (b[2] as number) ^ 0x20;
        return b;
      });
      const r = m.restart();
      assert.ok(
        warnings.some((w) => w.includes(bucket)),
        warnings.join('\n'),
      );
      const rs = userSession(r);
      const labels = labelsOf(r.p11, rs);
      assert.ok(labels.length < 20);
      for (const l of labels) {
        assert.match(l, /^indexed \d+$/);
        assert.equal(attr(r.p11, rs, one(r, rs, l), C.CKA_VALUE).toString(), `value of ${l}`);
      }
    });

    it('a damaged token record: the token opens as damaged, never a blank token; C_Login and C_InitToken → CKR_DEVICE_ERROR until the repair removes it', () => {
      const warnings: string[] = [];
      const m = open(warnings);
      const stored = readStored(m.pal, 'corepkcs11.token');
      assert.ok(stored);
      rewriteStored(m.pal, 'corepkcs11.token', (b) => {
        b[1] = (b[1] as number) ^ 0x04;
        return b;
      });
      const r = m.restart();
      assert.ok(
        warnings.some((w) => /damaged storage: corepkcs11\.token/.test(w)),
        warnings.join('\n'),
      );
      assert.equal(r.p11.C_GetTokenInfo(r.slot).flags & C.CKF_TOKEN_INITIALIZED, 0);
      assert.equal(r.token.storageHealth.recordLost, true);
      const s = r.p11.C_OpenSession(r.slot, C.CKF_SERIAL_SESSION | C.CKF_RW_SESSION);
      assert.throws(
        () => r.p11.C_Login(s, C.CKU_USER, USER_PIN),
        (e) => isPkcs11Error(e, C.CKR_DEVICE_ERROR),
      );
      r.p11.C_CloseSession(s);
      assert.throws(
        () => r.p11.C_InitToken(r.slot, SO_PIN, 'again'),
        (e) => isPkcs11Error(e, C.CKR_DEVICE_ERROR),
      );
      assert.deepEqual(
        readStored(r.pal, 'corepkcs11.token')?.data.length,
        stored.data.length,
        'nothing rewritten',
      );
      assert.match(r.token.repairStorage().join('\n'), /corepkcs11\.token: unreadable, removed/);
      r.p11.C_InitToken(r.slot, SO_PIN, 'again');
      assert.equal(r.p11.C_GetTokenInfo(r.slot).label.trimEnd(), 'again');
    });
  });
}
