import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { createMemoryPal } from '../../../src/adapters/pal-memory/index.js';
import { Pkcs11Error } from '../../../src/errors.js';
import {
  findObjects,
  findObjectWithLabelAndClass,
  initializePkcs11Session,
  initializePkcs11Token,
} from '../../../src/helpers/core.js';
import { readOne } from '../../../src/helpers/credentials.js';
import { provisionDevice } from '../../../src/helpers/device.js';
import { describeObject } from '../../../src/helpers/inspect.js';
import { readPublicKey } from '../../../src/helpers/keygen.js';
import { samePublicKey } from '../../../src/helpers/keys.js';
import * as L from '../../../src/helpers/labels.js';
import type { Pkcs11Module } from '../../../src/helpers/module.js';
import type { Pal } from '../../../src/storage/pal.js';
import { WELL_KNOWN_LABELS } from '../../../src/token/object-store.js';
import {
  assertRv,
  assertRvAsync,
  C,
  freshModule,
  PAL_PORTS,
  SO_PIN,
  USER_PIN,
} from '../../helpers/token.js';
import { OPENSSL_MISSING, openssl, scratch, selfSigned } from './openssl.js';

function token() {
  const m = freshModule(PAL_PORTS[0]!);
  initializePkcs11Token(m.p11, { soPin: SO_PIN, userPin: USER_PIN });
  return { p11: m.p11, s: initializePkcs11Session(m.p11, { pin: USER_PIN }) };
}

/** Labels and object ids on the token, to compare "before" and "after". */
function snapshot(p11: Pkcs11Module, s: Buffer): string[] {
  return findObjects(p11, s, [])
    .map((h) => {
      const d = describeObject(p11, s, h);
      return `${d.type}:${d.label}:${Buffer.from(d.id).toString('hex')}:${h.toString('hex')}`;
    })
    .sort();
}

function credentials(dir: string, n: number) {
  openssl(
    ['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', `key${n}.pem`],
    dir,
  );
  selfSigned(dir, `key${n}.pem`, `cert${n}.pem`, `/CN=device ${n}`);
  return {
    privateKey: readFileSync(join(dir, `key${n}.pem`)),
    certificate: readFileSync(join(dir, `cert${n}.pem`)),
  };
}

describe('dev-mode device provisioning', { skip: OPENSSL_MISSING }, () => {
  it('stores key, public key, certificate, JITP and root certificates under the well-known labels', async () => {
    const t = token();
    const tmp = scratch();
    try {
      const dev = credentials(tmp.dir, 1);
      const ca = credentials(tmp.dir, 2);
      const r = await provisionDevice(t.p11, t.s, {
        ...dev,
        jitpCertificate: ca.certificate,
        rootCertificate: ca.certificate,
      });
      assert.deepEqual(r.stored, [
        L.LABEL_DEVICE_PRIVATE_KEY,
        L.LABEL_DEVICE_PUBLIC_KEY,
        L.LABEL_DEVICE_CERTIFICATE,
        L.LABEL_JITP_CERTIFICATE,
        L.LABEL_ROOT_CERTIFICATE,
      ]);
      assert.equal(r.destroyed, 0);
      const priv = findObjectWithLabelAndClass(
        t.p11,
        t.s,
        L.LABEL_DEVICE_PRIVATE_KEY,
        C.CKO_PRIVATE_KEY,
      );
      const cert = findObjectWithLabelAndClass(
        t.p11,
        t.s,
        L.LABEL_DEVICE_CERTIFICATE,
        C.CKO_CERTIFICATE,
      );
      assert.ok(priv && cert);
      assert.deepEqual(describeObject(t.p11, t.s, priv).id, describeObject(t.p11, t.s, cert).id);
      assert.ok(
        findObjectWithLabelAndClass(t.p11, t.s, L.LABEL_JITP_CERTIFICATE, C.CKO_CERTIFICATE),
      );
    } finally {
      tmp.cleanup();
    }
  });

  it('replaces the credentials in one call, destroying the old ones after the new are stored', async () => {
    const t = token();
    const tmp = scratch();
    try {
      await provisionDevice(t.p11, t.s, credentials(tmp.dir, 1));
      const second = credentials(tmp.dir, 2);
      const r = await provisionDevice(t.p11, t.s, second);
      assert.equal(r.destroyed, 3);
      assert.equal(findObjects(t.p11, t.s, []).length, 3);
      const pub = findObjectWithLabelAndClass(
        t.p11,
        t.s,
        L.LABEL_DEVICE_PUBLIC_KEY,
        C.CKO_PUBLIC_KEY,
      );
      assert.ok(pub);
      const want = readOne(
        openssl(['pkey', '-in', 'key2.pem', '-pubout'], tmp.dir),
        'public-key',
      ).key;
      assert.ok(samePublicKey(readPublicKey(t.p11, t.s, pub), want));
      assert.match(
        describeObject(
          t.p11,
          t.s,
          findObjectWithLabelAndClass(t.p11, t.s, L.LABEL_DEVICE_CERTIFICATE, C.CKO_CERTIFICATE)!,
        ).subject ?? '',
        /device 2/,
      );
    } finally {
      tmp.cleanup();
    }
  });

  it('leaves the token as it was when the certificate is not for the key → CKR_ARGUMENTS_BAD', async () => {
    const t = token();
    const tmp = scratch();
    try {
      const first = credentials(tmp.dir, 1);
      await provisionDevice(t.p11, t.s, first);
      const before = snapshot(t.p11, t.s);
      const other = credentials(tmp.dir, 2);
      await assertRvAsync(
        provisionDevice(t.p11, t.s, {
          privateKey: other.privateKey,
          certificate: first.certificate,
        }),
        C.CKR_ARGUMENTS_BAD,
      );
      await assertRvAsync(
        provisionDevice(t.p11, t.s, { certificate: other.certificate }),
        C.CKR_ARGUMENTS_BAD,
      );
      await assertRvAsync(
        provisionDevice(t.p11, t.s, { ...other, rootCertificate: 'not pem' }),
        C.CKR_ARGUMENTS_BAD,
      );
      assert.deepEqual(snapshot(t.p11, t.s), before);
    } finally {
      tmp.cleanup();
    }
  });

  it('leaves the old credentials whole when storing a new one fails midway (CKR_DEVICE_MEMORY)', async () => {
    const t = token();
    const tmp = scratch();
    try {
      await provisionDevice(t.p11, t.s, credentials(tmp.dir, 1));
      const before = snapshot(t.p11, t.s);
      let creates = 0;
      const failing: Pkcs11Module = new Proxy(t.p11, {
        get(target, prop, receiver) {
          if (prop === 'C_CreateObject') {
            return (s: Buffer, tpl: Parameters<typeof target.C_CreateObject>[1]) => {
              if (++creates === 3)
                throw new Pkcs11Error(C.CKR_DEVICE_MEMORY, 'simulated full store');
              return target.C_CreateObject(s, tpl);
            };
          }
          const v = Reflect.get(target, prop, receiver);
          return typeof v === 'function' ? v.bind(target) : v;
        },
      });
      await assertRvAsync(
        provisionDevice(failing, t.s, credentials(tmp.dir, 2)),
        C.CKR_DEVICE_MEMORY,
      );
      assert.deepEqual(snapshot(t.p11, t.s), before);
    } finally {
      tmp.cleanup();
    }
  });

  it('on a port with only the fixed corePKCS11 slots, a replacement fails → CKR_DEVICE_MEMORY and the old credentials stay', async () => {
    const store = createMemoryPal();
    const fixed = (inner: Pal): Pal => ({
      ...inner,
      saveObject(label, data, isPrivate) {
        if (!WELL_KNOWN_LABELS.includes(label))
          throw new Pkcs11Error(C.CKR_DEVICE_MEMORY, `no slot for ${label}`);
        return inner.saveObject(label, data, isPrivate);
      },
    });
    const m = freshModule({
      name: 'fixed',
      create: () => ({ pal: fixed(store), reopen: () => fixed(store), cleanup() {} }),
    });
    initializePkcs11Token(m.p11, { soPin: SO_PIN, userPin: USER_PIN });
    const s = initializePkcs11Session(m.p11, { pin: USER_PIN });
    const tmp = scratch();
    try {
      await provisionDevice(m.p11, s, credentials(tmp.dir, 1));
      const before = snapshot(m.p11, s);
      await assertRvAsync(provisionDevice(m.p11, s, credentials(tmp.dir, 2)), C.CKR_DEVICE_MEMORY);
      assert.deepEqual(snapshot(m.p11, s), before);
    } finally {
      tmp.cleanup();
    }
  });

  it('generates a device key pair when there is none, keeps it on the next run, replaces it with always', async () => {
    const t = token();
    const r1 = await provisionDevice(t.p11, t.s, {});
    assert.equal(r1.generated, true);
    const r2 = await provisionDevice(t.p11, t.s, {});
    assert.equal(r2.generated, false);
    const r3 = await provisionDevice(t.p11, t.s, { generate: 'always' });
    assert.equal(r3.generated, true);
    assert.equal(r3.destroyed, 2);
    assert.ok(r1.publicKey && r3.publicKey && !samePublicKey(r1.publicKey, r3.publicKey));
    assert.equal(findObjects(t.p11, t.s, []).length, 2);
    assertRv(
      () =>
        readPublicKey(
          t.p11,
          t.s,
          findObjectWithLabelAndClass(t.p11, t.s, L.LABEL_DEVICE_PRIVATE_KEY, C.CKO_PRIVATE_KEY)!,
        ),
      C.CKR_ARGUMENTS_BAD,
    );
  });
});
