// graphene-pk11 on a corepkcs11 token directory, from CommonJS:
// `node check.cjs REPORT_JSON TOKEN_DIR CERT_PEM SO_PIN USER_PIN`.
// The token directory starts empty; graphene initializes it (C_InitToken, C_InitPIN) itself. Each check
// is recorded in the report with what the test needs to cross-check through corepkcs11's own API.
'use strict';
const assert = require('node:assert/strict');
const nodeCrypto = require('node:crypto');
const fs = require('node:fs');
const graphene = require('graphene-pk11');
const pkcs11 = require('pkcs11js');

const [reportPath, tokenDir, certPath, SO_PIN, USER_PIN] = process.argv.slice(2);
const results = [];
const artifacts = {};

async function check(name, fn) {
  try {
    await fn();
    results.push({ name, ok: true });
  } catch (e) {
    results.push({ name, ok: false, error: String(e?.stack ?? e) });
  }
}

/** Wraps a node-style call in a promise (graphene's callback forms use pkcs11js's callbacks). */
const viaCallback = (fn) =>
  new Promise((resolve, reject) => fn((err, r) => (err ? reject(err) : resolve(r))));

/** An X9.62 uncompressed point, as CKA_EC_POINT holds it (DER OCTET STRING around 04‖X‖Y). */
function p256Spki(ecPoint) {
  const raw =
    ecPoint[0] === 0x04 && ecPoint[1] === ecPoint.length - 2 ? ecPoint.subarray(2) : ecPoint;
  assert.equal(raw.length, 65);
  const jwk = {
    kty: 'EC',
    crv: 'P-256',
    x: raw.subarray(1, 33).toString('base64url'),
    y: raw.subarray(33).toString('base64url'),
  };
  return nodeCrypto.createPublicKey({ key: jwk, format: 'jwk' });
}

function rsaPublic(modulus, exponent) {
  const jwk = { kty: 'RSA', n: modulus.toString('base64url'), e: exponent.toString('base64url') };
  return nodeCrypto.createPublicKey({ key: jwk, format: 'jwk' });
}

const spkiHex = (key) => key.export({ format: 'der', type: 'spki' }).toString('hex');

async function main() {
  const data = Buffer.from('graphene-pk11 on corepkcs11');
  let mod;
  let slot;
  let session;
  let ec;
  let rsa;

  await check(
    'Module.load(dir) and initialize (twice: the second CKR_CRYPTOKI_ALREADY_INITIALIZED is swallowed)',
    () => {
      mod = graphene.Module.load(tokenDir, 'corepkcs11');
      mod.initialize();
      mod.initialize();
      assert.equal(mod.manufacturerID, 'corepkcs11');
      assert.deepEqual(mod.cryptokiVersion, { major: 2, minor: 40 });
    },
  );

  await check('slots and tokens: one slot, a present token, not yet initialized', () => {
    const slots = mod.getSlots(true);
    assert.equal(slots.length, 1);
    slot = slots.items(0);
    assert.ok(slot.flags & graphene.SlotFlag.TOKEN_PRESENT);
    const token = slot.getToken();
    assert.equal(token.flags & graphene.TokenFlag.TOKEN_INITIALIZED, 0);
    assert.ok(token.serialNumber.length > 0);
  });

  await check('slot.initToken and session.initPin: graphene provisions the token itself', () => {
    slot.initToken(SO_PIN, 'graphene interop');
    const so = slot.open(graphene.SessionFlag.SERIAL_SESSION | graphene.SessionFlag.RW_SESSION);
    so.login(SO_PIN, graphene.UserType.SO);
    so.initPin(USER_PIN);
    so.logout();
    so.close();
    const token = slot.getToken();
    assert.equal(token.label, 'graphene interop');
    assert.ok(token.flags & graphene.TokenFlag.TOKEN_INITIALIZED);
    assert.ok(token.flags & graphene.TokenFlag.USER_PIN_INITIALIZED);
    assert.ok(token.flags & graphene.TokenFlag.LOGIN_REQUIRED);
  });

  await check(
    'open a R/W session; a wrong PIN is a pkcs11js Pkcs11Error (CKR_PIN_INCORRECT); login',
    () => {
      session = slot.open(graphene.SessionFlag.SERIAL_SESSION | graphene.SessionFlag.RW_SESSION);
      assert.throws(
        () => session.login('wrong-pin'),
        (e) =>
          e instanceof pkcs11.Pkcs11Error &&
          e.code === pkcs11.CKR_PIN_INCORRECT &&
          e.message === 'CKR_PIN_INCORRECT',
      );
      session.login(USER_PIN);
      // CKS_RW_USER_FUNCTIONS (pkcs11js exports no CKS_* constants)
      assert.equal(session.lib.C_GetSessionInfo(session.handle).state, 3);
    },
  );

  await check(
    'mechanism list names ECDSA_SHA256, SHA256_RSA_PKCS, SHA256_RSA_PKCS_PSS, SHA256',
    () => {
      const mechs = slot.getMechanisms();
      const names = [];
      for (let i = 0; i < mechs.length; i++) names.push(mechs.items(i).name);
      for (const n of [
        'ECDSA_SHA256',
        'SHA256_RSA_PKCS',
        'SHA256_RSA_PKCS_PSS',
        'SHA256',
        'EC_KEY_PAIR_GEN',
        'RSA_PKCS_KEY_PAIR_GEN',
      ]) {
        assert.ok(names.includes(n), `${n} in ${names.join(' ')}`);
      }
    },
  );

  await check('generateKeyPair EC P-256 (token objects, label and id)', () => {
    const id = Buffer.from('ec01', 'hex');
    ec = session.generateKeyPair(
      graphene.KeyGenMechanism.EC,
      {
        keyType: graphene.KeyType.EC,
        token: true,
        verify: true,
        label: 'graphene-ec',
        id,
        paramsEC: graphene.NamedCurve.getByName('secp256r1').value,
      },
      {
        keyType: graphene.KeyType.EC,
        token: true,
        sign: true,
        label: 'graphene-ec',
        id,
        private: true,
        sensitive: true,
        extractable: false,
      },
    );
    assert.equal(ec.privateKey.class, graphene.ObjectClass.PRIVATE_KEY);
    assert.equal(ec.privateKey.handle.length, 8);
    const point = ec.publicKey.getAttribute({ pointEC: null }).pointEC;
    artifacts.ec = { label: 'graphene-ec', id: id.toString('hex'), spki: spkiHex(p256Spki(point)) };
  });

  await check(
    'ECDSA_SHA256 sign and verify; node:crypto verifies; a wrong message verifies false',
    () => {
      const sig = session.createSign('ECDSA_SHA256', ec.privateKey).once(data);
      assert.equal(sig.length, 64);
      assert.equal(session.createVerify('ECDSA_SHA256', ec.publicKey).once(data, sig), true);
      // graphene answers false only when the error is `instanceof pkcs11js.Pkcs11Error` with CKR_SIGNATURE_INVALID
      assert.equal(
        session.createVerify('ECDSA_SHA256', ec.publicKey).once(Buffer.from('other'), sig),
        false,
      );
      const key = nodeCrypto.createPublicKey({
        key: Buffer.from(artifacts.ec.spki, 'hex'),
        format: 'der',
        type: 'spki',
      });
      assert.ok(nodeCrypto.verify('sha256', data, { key, dsaEncoding: 'ieee-p1363' }, sig));
      artifacts.ec.data = data.toString('hex');
      artifacts.ec.signature = sig.toString('hex');
    },
  );

  await check('ECDSA sign through the callback form (C_Sign with a callback)', async () => {
    const sig = await viaCallback((cb) =>
      session.createSign('ECDSA_SHA256', ec.privateKey).once(data, cb),
    );
    const key = nodeCrypto.createPublicKey({
      key: Buffer.from(artifacts.ec.spki, 'hex'),
      format: 'der',
      type: 'spki',
    });
    assert.ok(nodeCrypto.verify('sha256', data, { key, dsaEncoding: 'ieee-p1363' }, sig));
  });

  await check('generateKeyPair RSA 2048 (token objects)', async () => {
    const id = Buffer.from('5a01', 'hex');
    rsa = await viaCallback((cb) =>
      session.generateKeyPair(
        graphene.KeyGenMechanism.RSA,
        {
          keyType: graphene.KeyType.RSA,
          token: true,
          verify: true,
          encrypt: true,
          label: 'graphene-rsa',
          id,
          modulusBits: 2048,
          publicExponent: Buffer.from([1, 0, 1]),
        },
        {
          keyType: graphene.KeyType.RSA,
          token: true,
          sign: true,
          decrypt: true,
          label: 'graphene-rsa',
          id,
          private: true,
          sensitive: true,
        },
        cb,
      ),
    );
    const a = rsa.publicKey.getAttribute({
      modulus: null,
      publicExponent: null,
      modulusBits: null,
    });
    assert.equal(a.modulusBits, 2048);
    artifacts.rsa = {
      label: 'graphene-rsa',
      id: id.toString('hex'),
      spki: spkiHex(rsaPublic(a.modulus, a.publicExponent)),
    };
  });

  await check('RSA PKCS#1 v1.5 (SHA256_RSA_PKCS) sign and verify; node:crypto verifies', () => {
    const sig = session.createSign('SHA256_RSA_PKCS', rsa.privateKey).once(data);
    assert.equal(session.createVerify('SHA256_RSA_PKCS', rsa.publicKey).once(data, sig), true);
    const key = nodeCrypto.createPublicKey({
      key: Buffer.from(artifacts.rsa.spki, 'hex'),
      format: 'der',
      type: 'spki',
    });
    assert.ok(nodeCrypto.verify('sha256', data, key, sig));
    artifacts.rsa.data = data.toString('hex');
    artifacts.rsa.pkcs1 = sig.toString('hex');
  });

  await check(
    'RSA-PSS (SHA256_RSA_PKCS_PSS, MGF1-SHA256, salt 32) sign and verify; node:crypto verifies',
    () => {
      const alg = {
        name: 'SHA256_RSA_PKCS_PSS',
        params: new graphene.RsaPssParams(
          graphene.MechanismEnum.SHA256,
          graphene.RsaMgf.MGF1_SHA256,
          32,
        ),
      };
      const sig = session.createSign(alg, rsa.privateKey).once(data);
      assert.equal(session.createVerify(alg, rsa.publicKey).once(data, sig), true);
      const key = nodeCrypto.createPublicKey({
        key: Buffer.from(artifacts.rsa.spki, 'hex'),
        format: 'der',
        type: 'spki',
      });
      const opts = { key, padding: nodeCrypto.constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 };
      assert.ok(nodeCrypto.verify('sha256', data, opts, sig));
      artifacts.rsa.pss = sig.toString('hex');
    },
  );

  await check('digest SHA-256 (one part and in parts) equals node:crypto', () => {
    const want = nodeCrypto.createHash('sha256').update(data).digest();
    assert.deepEqual(session.createDigest('SHA256').once(data), want);
    const d = session.createDigest('SHA256');
    d.update(data.subarray(0, 5));
    d.update(data.subarray(5));
    assert.deepEqual(d.final(), want);
  });

  await check('find objects by template (class, label, id, key type)', () => {
    assert.equal(
      session.find({ class: graphene.ObjectClass.PRIVATE_KEY, label: 'graphene-ec' }).length,
      1,
    );
    assert.equal(session.find({ label: 'graphene-rsa' }).length, 2);
    assert.equal(session.find({ id: Buffer.from('ec01', 'hex') }).length, 2);
    assert.equal(
      session.find({ keyType: graphene.KeyType.RSA, class: graphene.ObjectClass.PUBLIC_KEY })
        .length,
      1,
    );
  });

  await check('read attributes; a sensitive private value is CKR_ATTRIBUTE_SENSITIVE', () => {
    const a = ec.privateKey.getAttribute({
      label: null,
      id: null,
      sensitive: null,
      extractable: null,
      local: null,
      private: null,
      token: null,
    });
    assert.deepEqual(a, {
      label: 'graphene-ec',
      id: Buffer.from('ec01', 'hex'),
      sensitive: true,
      extractable: false,
      local: true,
      private: true,
      token: true,
    });
    assert.equal(ec.privateKey.toType().type, graphene.KeyType.EC);
    assert.throws(
      () => ec.privateKey.getAttribute({ value: null }),
      (e) => e instanceof pkcs11.Pkcs11Error && e.code === pkcs11.CKR_ATTRIBUTE_SENSITIVE,
    );
  });

  await check('create an X.509 certificate object and read it back', () => {
    const der = new nodeCrypto.X509Certificate(fs.readFileSync(certPath)).raw;
    const cert = session.create({
      class: graphene.ObjectClass.CERTIFICATE,
      certType: graphene.CertificateType.X_509,
      token: true,
      label: 'graphene-cert',
      id: Buffer.from('ce01', 'hex'),
      subject: Buffer.from('3000', 'hex'),
      value: der,
    });
    const found = session.find({ class: graphene.ObjectClass.CERTIFICATE, label: 'graphene-cert' });
    assert.equal(found.length, 1);
    assert.deepEqual(found.items(0).getAttribute({ value: null }).value, der);
    assert.ok(cert.handle.equals(found.items(0).handle));
    artifacts.cert = { label: 'graphene-cert', id: 'ce01', der: der.toString('hex') };
  });

  await check('destroy objects (a data object and a session key pair)', () => {
    session.create({
      class: graphene.ObjectClass.DATA,
      token: true,
      label: 'graphene-gone',
      application: 'interop',
      value: Buffer.from('x'),
    });
    assert.equal(session.find({ label: 'graphene-gone' }).length, 1);
    assert.equal(session.destroy({ label: 'graphene-gone' }), 1);
    assert.equal(session.find({ label: 'graphene-gone' }).length, 0);
    const tmp = session.generateKeyPair(
      graphene.KeyGenMechanism.EC,
      {
        keyType: graphene.KeyType.EC,
        token: false,
        verify: true,
        label: 'graphene-tmp',
        paramsEC: graphene.NamedCurve.getByName('secp384r1').value,
      },
      { keyType: graphene.KeyType.EC, token: false, sign: true, label: 'graphene-tmp' },
    );
    tmp.privateKey.destroy();
    tmp.publicKey.destroy();
    assert.equal(session.find({ label: 'graphene-tmp' }).length, 0);
    artifacts.destroyed = { labels: ['graphene-gone', 'graphene-tmp'] };
  });

  await check('generateRandom', () => {
    const a = session.generateRandom(32);
    const b = session.generateRandom(32);
    assert.equal(a.length, 32);
    assert.ok(!a.equals(b));
  });

  await check('logout, close the session, finalize and close the module', () => {
    session.logout();
    session.close();
    mod.finalize();
    mod.close();
  });

  fs.writeFileSync(reportPath, JSON.stringify({ results, artifacts }, null, 2));
}

main().catch((e) => {
  fs.writeFileSync(
    reportPath,
    JSON.stringify({ results, artifacts, fatal: String(e?.stack ?? e) }),
  );
  process.exitCode = 1;
});
