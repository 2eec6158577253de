/**
 * corepkcs11 as a drop-in for pkcs11js: the fixture projects beside this file install graphene-pk11 and
 * node-webcrypto-p11 with npm `overrides` pointing `pkcs11js` at this package (packed as published), and
 * run their checks on a token directory. Then this test opens the same directory with corepkcs11's own
 * PKCS11 and finds what they made, and verifies their signatures with node:crypto.
 * @module
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as nodeCrypto from 'node:crypto';
import { copyFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it, type TestContext } from 'node:test';
import { fileURLToPath } from 'node:url';
import { type Handle, PKCS11 } from '../../../src/index.js';
import * as C from '../../../src/pkcs11/constants.js';
import {
  FIXTURES,
  installedPkcs11js,
  nativeModules,
  type Prepared,
  prepareFixtures,
  type Report,
  ROOT,
  run,
  runFixture,
  tokenDir,
} from './npm-fixture.js';

const SO_PIN = 'so-secret-0';
const USER_PIN = 'user-1234';
const CERT = join(FIXTURES, 'cert.pem');
const GRAPHENE = 'graphene-cjs';
const WEBCRYPTO = 'webcrypto-esm';

let preparing: Promise<Prepared> | undefined;
const prepared = () => {
  preparing ??= prepareFixtures([GRAPHENE, WEBCRYPTO]);
  return preparing;
};
after(async () => {
  const p = await preparing;
  if (p && 'tmp' in p) rmSync(p.tmp, { recursive: true, force: true });
});

/** The installed fixture's directory, or undefined after skipping `t` with the reason. */
async function fixture(t: TestContext, name: string): Promise<string | undefined> {
  const p = await prepared();
  if ('skip' in p) {
    t.skip(p.skip);
    return undefined;
  }
  return p.dirs.get(name);
}

async function reportChecks(t: TestContext, report: Report): Promise<void> {
  assert.ok(report.results.length > 0, 'the fixture ran no check');
  for (const r of report.results) {
    await t.test(r.name, () => {
      if (!r.ok) assert.fail(r.error ?? 'failed');
    });
  }
  assert.deepEqual(
    report.results.filter((r) => !r.ok).map((r) => r.name),
    [],
  );
}

function assertNoNativeBuild(dir: string): void {
  assert.deepEqual(nativeModules(dir), [], 'a native module was installed or built');
  assert.deepEqual(installedPkcs11js(join(dir, 'node_modules')), ['corepkcs11']);
}

/** Opens `dir` with corepkcs11's own API, logged in as the user. */
function openOurs(dir: string): { p: PKCS11; s: Handle } {
  const p = new PKCS11(dir);
  p.C_Initialize();
  const slot = p.C_GetSlotList(true)[0] as Handle;
  const s = p.C_OpenSession(slot, C.CKF_SERIAL_SESSION);
  p.C_Login(s, C.CKU_USER, USER_PIN);
  return { p, s };
}

function find(p: PKCS11, s: Handle, template: { type: number; value: unknown }[]): Handle[] {
  p.C_FindObjectsInit(s, template as Parameters<PKCS11['C_FindObjectsInit']>[1]);
  const found = p.C_FindObjects(s, 100);
  p.C_FindObjectsFinal(s);
  return found;
}

function value(p: PKCS11, s: Handle, h: Handle, type: number): Buffer {
  return p.C_GetAttributeValue(s, h, [{ type }])[0]?.value as Buffer;
}

const spki = (hex: string) =>
  nodeCrypto.createPublicKey({ key: Buffer.from(hex, 'hex'), format: 'der', type: 'spki' });
const bytes = (hex: string | string[] | undefined) => Buffer.from(String(hex), 'hex');

/** The SPKI of a P-256 public key object, from its CKA_EC_POINT (DER OCTET STRING around 04‖X‖Y). */
function ecSpkiHex(point: Buffer): string {
  const raw = point.subarray(point.length - 65);
  const jwk = {
    kty: 'EC',
    crv: 'P-256',
    x: raw.subarray(1, 33).toString('base64url'),
    y: raw.subarray(33).toString('base64url'),
  };
  const key = nodeCrypto.createPublicKey({ key: jwk, format: 'jwk' });
  return key.export({ format: 'der', type: 'spki' }).toString('hex');
}

/** Signs `data` with our API and verifies with node:crypto against the fixture's public key. */
function signWithOurs(p: PKCS11, s: Handle, key: Handle, ec: boolean, pub: string): boolean {
  const data = Buffer.from('signed through corepkcs11 with a key made elsewhere');
  p.C_SignInit(s, { mechanism: ec ? C.CKM_ECDSA_SHA256 : C.CKM_SHA256_RSA_PKCS }, key);
  const sig = p.C_Sign(s, data, Buffer.alloc(512));
  const opts = ec ? { key: spki(pub), dsaEncoding: 'ieee-p1363' as const } : spki(pub);
  return nodeCrypto.verify('sha256', data, opts, sig);
}

describe('graphene-pk11 2.3.6 on corepkcs11 through the pkcs11js override (CommonJS)', () => {
  let report: Report | undefined;
  let store = '';

  it('npm install built no native module; pkcs11js is corepkcs11', async (t) => {
    const dir = await fixture(t, GRAPHENE);
    if (dir) assertNoNativeBuild(dir);
  });

  it('graphene checks (initialize, slots, tokens, PINs, EC/RSA keys, ECDSA, PKCS#1, PSS, digest, find, attributes, certificate, destroy, random)', async (t) => {
    const dir = await fixture(t, GRAPHENE);
    if (!dir) return;
    store = tokenDir(dir, 'graphene');
    report = await runFixture(dir, 'check.cjs', [store, CERT, SO_PIN, USER_PIN]);
    await reportChecks(t, report);
  });

  it('signatures made through graphene (ECDSA, PKCS#1 v1.5, PSS) verify with node:crypto', (t) => {
    if (!report) return t.skip('the graphene checks did not run');
    const { ec, rsa } = report.artifacts;
    assert.ok(ec && rsa);
    const sig = (h: string | string[] | undefined) => bytes(h);
    const ecKey = { key: spki(String(ec.spki)), dsaEncoding: 'ieee-p1363' as const };
    assert.ok(nodeCrypto.verify('sha256', bytes(ec.data), ecKey, sig(ec.signature)));
    assert.ok(nodeCrypto.verify('sha256', bytes(rsa.data), spki(String(rsa.spki)), sig(rsa.pkcs1)));
    const pss = {
      key: spki(String(rsa.spki)),
      padding: nodeCrypto.constants.RSA_PKCS1_PSS_PADDING,
      saltLength: 32,
    };
    assert.ok(nodeCrypto.verify('sha256', bytes(rsa.data), pss, sig(rsa.pss)));
  });

  it("keys and the certificate graphene made are corepkcs11's: found, same public keys, they sign; destroyed ones are gone", (t) => {
    if (!report) return t.skip('the graphene checks did not run');
    const { ec, rsa, cert, destroyed } = report.artifacts;
    assert.ok(ec && rsa && cert && destroyed);
    const { p, s } = openOurs(store);
    try {
      const label = (l: unknown) => ({ type: C.CKA_LABEL, value: String(l) });
      const [ecPriv, ...more] = find(p, s, [
        label(ec.label),
        { type: C.CKA_CLASS, value: C.CKO_PRIVATE_KEY },
      ]);
      assert.ok(ecPriv && more.length === 0);
      assert.deepEqual(value(p, s, ecPriv, C.CKA_ID), bytes(ec.id));
      const [ecPub] = find(p, s, [label(ec.label), { type: C.CKA_CLASS, value: C.CKO_PUBLIC_KEY }]);
      assert.equal(ecSpkiHex(value(p, s, ecPub as Handle, C.CKA_EC_POINT)), ec.spki);
      assert.ok(signWithOurs(p, s, ecPriv, true, String(ec.spki)));

      const [rsaPriv] = find(p, s, [
        label(rsa.label),
        { type: C.CKA_CLASS, value: C.CKO_PRIVATE_KEY },
      ]);
      assert.ok(rsaPriv);
      assert.ok(signWithOurs(p, s, rsaPriv, false, String(rsa.spki)));

      const [c] = find(p, s, [label(cert.label), { type: C.CKA_CLASS, value: C.CKO_CERTIFICATE }]);
      assert.deepEqual(value(p, s, c as Handle, C.CKA_VALUE), bytes(cert.der));
      for (const l of destroyed.labels as string[])
        assert.deepEqual(find(p, s, [label(l)]), [], `${l} is gone`);
    } finally {
      p.C_Finalize();
      p.close();
    }
    const listed = listWithCli(store).map((o) => o.label);
    for (const l of [ec.label, rsa.label, cert.label])
      assert.ok(listed.includes(String(l)), `corepkcs11 list shows ${l}`);
    for (const l of destroyed.labels as string[])
      assert.ok(!listed.includes(l), `corepkcs11 list no longer shows ${l}`);
  });
});

/** What `corepkcs11 list --json` shows of a store (as a user would check it). */
function listWithCli(dir: string): { label: string }[] {
  const cli = fileURLToPath(new URL('../../../src/cli/main.js', import.meta.url));
  const r = spawnSync(
    process.execPath,
    [cli, 'list', '--store', dir, '--pin', USER_PIN, '--json'],
    {
      encoding: 'utf8',
    },
  );
  assert.equal(r.status, 0, r.stderr);
  return (JSON.parse(r.stdout) as { objects: { label: string }[] }).objects;
}

describe('node-webcrypto-p11 2.8.0 on corepkcs11 through the pkcs11js override (ES module)', () => {
  let report: Report | undefined;
  let store = '';

  it('npm install built no native module; pkcs11js is corepkcs11', async (t) => {
    const dir = await fixture(t, WEBCRYPTO);
    if (dir) assertNoNativeBuild(dir);
  });

  it('node-webcrypto-p11 checks (subtle generateKey/sign/verify/digest/exportKey/importKey, keyStorage, certStorage, getRandomValues)', async (t) => {
    const dir = await fixture(t, WEBCRYPTO);
    if (!dir) return;
    store = tokenDir(dir, 'webcrypto');
    // node-webcrypto-p11 cannot initialize a token: set it up first with corepkcs11's API.
    const p = new PKCS11(store);
    p.C_Initialize();
    const slot = p.C_GetSlotList(true)[0] as Handle;
    p.C_InitToken(slot, SO_PIN, 'webcrypto interop');
    const s = p.C_OpenSession(slot, C.CKF_SERIAL_SESSION | C.CKF_RW_SESSION);
    p.C_Login(s, C.CKU_SO, SO_PIN);
    p.C_InitPIN(s, USER_PIN);
    p.C_Finalize();
    p.close();
    report = await runFixture(dir, 'check.mjs', [store, CERT, SO_PIN, USER_PIN]);
    await reportChecks(t, report);
  });

  it('a signature made with a keyStorage key verifies with node:crypto', (t) => {
    if (!report) return t.skip('the node-webcrypto-p11 checks did not run');
    const { ec } = report.artifacts;
    assert.ok(ec);
    const key = { key: spki(String(ec.spki)), dsaEncoding: 'ieee-p1363' as const };
    assert.ok(nodeCrypto.verify('sha256', bytes(ec.data), key, bytes(ec.signature)));
  });

  it('keyStorage and certStorage items are corepkcs11 token objects; removed ones are gone', (t) => {
    if (!report) return t.skip('the node-webcrypto-p11 checks did not run');
    const { ec, cert } = report.artifacts;
    assert.ok(ec && cert);
    const { p, s } = openOurs(store);
    try {
      const byId = (id: unknown, cls: number) =>
        find(p, s, [
          { type: C.CKA_ID, value: bytes(String(id)) },
          { type: C.CKA_CLASS, value: cls },
          { type: C.CKA_TOKEN, value: true },
        ]);
      const [priv, ...more] = byId(ec.privateId, C.CKO_PRIVATE_KEY);
      assert.ok(priv && more.length === 0);
      const [pub] = byId(ec.publicId, C.CKO_PUBLIC_KEY);
      assert.equal(ecSpkiHex(value(p, s, pub as Handle, C.CKA_EC_POINT)), ec.spki);
      assert.ok(signWithOurs(p, s, priv, true, String(ec.spki)));
      assert.deepEqual(byId(ec.removedId, C.CKO_PUBLIC_KEY), []);
      const [c] = byId(cert.id, C.CKO_CERTIFICATE);
      assert.deepEqual(value(p, s, c as Handle, C.CKA_VALUE), bytes(cert.der));
    } finally {
      p.C_Finalize();
      p.close();
    }
  });

  describe('TypeScript', () => {
    let errors: string[] | undefined;
    const typeCheck = async (t: TestContext): Promise<string[] | undefined> => {
      const dir = await fixture(t, WEBCRYPTO);
      if (!dir || errors) return errors;
      copyFileSync(join(FIXTURES, 'types-check.ts.txt'), join(dir, 'types-check.ts'));
      const options = {
        strict: true,
        noEmit: true,
        skipLibCheck: false,
        module: 'nodenext',
        moduleResolution: 'nodenext',
        target: 'es2022',
        lib: ['es2023', 'dom'],
        types: ['node'],
        typeRoots: [join(ROOT, 'node_modules', '@types')],
      };
      const config = { compilerOptions: options, files: ['types-check.ts'] };
      writeFileSync(join(dir, 'tsconfig.json'), JSON.stringify(config));
      const tsc = join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
      const r = await run(process.execPath, [tsc, '-p', 'tsconfig.json'], dir, 120_000);
      errors = r.output.split('\n').filter((l) => / error TS\d+/.test(l));
      return errors;
    };

    it('code written for pkcs11js, graphene-pk11 and node-webcrypto-p11 type-checks against this package', async (t) => {
      const e = await typeCheck(t);
      if (e)
        assert.deepEqual(
          e.filter((l) => l.startsWith('types-check.ts')),
          [],
        );
    });

    it("graphene-pk11's declarations find every pkcs11js type name they use (skipLibCheck: false)", async (t) => {
      const e = await typeCheck(t);
      if (!e) return;
      const names = e
        .filter((l) => l.includes('pkcs11js'))
        .map((l) => /member '(\w+)'/.exec(l)?.[1] ?? l);
      assert.deepEqual([...new Set(names)], [], 'type names graphene imports from pkcs11js');
    });
  });
});
