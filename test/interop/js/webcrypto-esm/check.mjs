// node-webcrypto-p11 on a corepkcs11 token directory, from an ES module:
// `node check.mjs REPORT_JSON TOKEN_DIR CERT_PEM SO_PIN USER_PIN` (the SO PIN is not used). The token is already initialized (the test does
// it with corepkcs11's own API, as an administrator would before handing the directory to an application:
// node-webcrypto-p11 cannot initialize a token). Each check is recorded in the report with what the test
// needs to cross-check through corepkcs11's own API.
import assert from 'node:assert/strict';
import * as nodeCrypto from 'node:crypto';
import * as fs from 'node:fs';
import { Crypto } from 'node-webcrypto-p11';
// `pkcs11js` here is corepkcs11, installed under that name by the npm override.
import * as pkcs11 from 'pkcs11js';

const [reportPath, tokenDir, certPath, , userPin] = process.argv.slice(2);
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

const spkiKey = (der) =>
  nodeCrypto.createPublicKey({ key: Buffer.from(der), format: 'der', type: 'spki' });
const hex = (b) => Buffer.from(b).toString('hex');
const data = Buffer.from('node-webcrypto-p11 on corepkcs11');

let crypto;
let ec;
let ecSpki;
let rsa;

await check('new Crypto({ library: dir, slot, pin, readWrite }) opens and logs in', () => {
  crypto = new Crypto({
    library: tokenDir,
    name: 'corepkcs11',
    slot: 0,
    readWrite: true,
    pin: userPin,
  });
  assert.equal(crypto.isLoginRequired, true);
  assert.equal(crypto.isLoggedIn, true);
  assert.equal(crypto.isReadWrite, true);
  assert.equal(crypto.info.name, 'corepkcs11');
});

await check(
  'a wrong PIN is a Pkcs11Error from the pkcs11js import (CKR_PIN_INCORRECT); the right one logs in',
  () => {
    crypto.logout();
    assert.throws(
      () => crypto.login('wrong-pin'),
      (e) =>
        e instanceof pkcs11.Pkcs11Error &&
        e instanceof pkcs11.NativeError &&
        e.code === pkcs11.CKR_PIN_INCORRECT,
    );
    crypto.login(userPin);
    // node-webcrypto-p11 swallows this one by `instanceof pkcs11js.Pkcs11Error` and its code
    crypto.login(userPin);
    assert.equal(crypto.isLoggedIn, true);
  },
);

await check(
  'subtle.generateKey ECDSA P-256; sign; verify; exportKey spki; node:crypto verifies',
  async () => {
    ec = await crypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, false, [
      'sign',
      'verify',
    ]);
    const sig = await crypto.subtle.sign({ name: 'ECDSA', hash: 'SHA-256' }, ec.privateKey, data);
    assert.equal(
      await crypto.subtle.verify({ name: 'ECDSA', hash: 'SHA-256' }, ec.publicKey, sig, data),
      true,
    );
    assert.equal(
      await crypto.subtle.verify(
        { name: 'ECDSA', hash: 'SHA-256' },
        ec.publicKey,
        sig,
        Buffer.from('x'),
      ),
      false,
    );
    ecSpki = Buffer.from(await crypto.subtle.exportKey('spki', ec.publicKey));
    assert.ok(
      nodeCrypto.verify(
        'sha256',
        data,
        { key: spkiKey(ecSpki), dsaEncoding: 'ieee-p1363' },
        Buffer.from(sig),
      ),
    );
    await assert.rejects(crypto.subtle.exportKey('pkcs8', ec.privateKey));
    const jwk = await crypto.subtle.exportKey('jwk', ec.publicKey);
    assert.equal(jwk.crv, 'P-256');
  },
);

await check(
  'subtle.generateKey RSASSA-PKCS1-v1_5 2048; sign; verify; node:crypto verifies',
  async () => {
    const alg = {
      name: 'RSASSA-PKCS1-v1_5',
      hash: 'SHA-256',
      publicExponent: new Uint8Array([1, 0, 1]),
      modulusLength: 2048,
    };
    rsa = await crypto.subtle.generateKey(alg, false, ['sign', 'verify']);
    const sig = await crypto.subtle.sign('RSASSA-PKCS1-v1_5', rsa.privateKey, data);
    assert.equal(await crypto.subtle.verify('RSASSA-PKCS1-v1_5', rsa.publicKey, sig, data), true);
    const spki = await crypto.subtle.exportKey('spki', rsa.publicKey);
    assert.ok(nodeCrypto.verify('sha256', data, spkiKey(spki), Buffer.from(sig)));
  },
);

await check(
  'subtle.generateKey RSA-PSS 2048; sign (salt 32); verify; node:crypto verifies',
  async () => {
    const alg = {
      name: 'RSA-PSS',
      hash: 'SHA-256',
      publicExponent: new Uint8Array([1, 0, 1]),
      modulusLength: 2048,
    };
    const keys = await crypto.subtle.generateKey(alg, false, ['sign', 'verify']);
    const sig = await crypto.subtle.sign(
      { name: 'RSA-PSS', saltLength: 32 },
      keys.privateKey,
      data,
    );
    assert.equal(
      await crypto.subtle.verify({ name: 'RSA-PSS', saltLength: 32 }, keys.publicKey, sig, data),
      true,
    );
    const key = spkiKey(await crypto.subtle.exportKey('spki', keys.publicKey));
    const opts = { key, padding: nodeCrypto.constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 };
    assert.ok(nodeCrypto.verify('sha256', data, opts, Buffer.from(sig)));
  },
);

await check('subtle.digest SHA-1, SHA-256, SHA-384, SHA-512 equal node:crypto', async () => {
  for (const [web, node] of [
    ['SHA-1', 'sha1'],
    ['SHA-256', 'sha256'],
    ['SHA-384', 'sha384'],
    ['SHA-512', 'sha512'],
  ]) {
    const got = Buffer.from(await crypto.subtle.digest(web, data));
    assert.deepEqual(got, nodeCrypto.createHash(node).update(data).digest(), web);
  }
});

await check(
  'subtle.importKey spki (ECDSA) and jwk (RSA) public keys verify node:crypto signatures',
  async () => {
    const nk = nodeCrypto.generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const pub = await crypto.subtle.importKey(
      'spki',
      nk.publicKey.export({ format: 'der', type: 'spki' }),
      { name: 'ECDSA', namedCurve: 'P-256' },
      true,
      ['verify'],
    );
    const sig = nodeCrypto.sign('sha256', data, { key: nk.privateKey, dsaEncoding: 'ieee-p1363' });
    assert.equal(
      await crypto.subtle.verify({ name: 'ECDSA', hash: 'SHA-256' }, pub, sig, data),
      true,
    );
    const nr = nodeCrypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
    const rpub = await crypto.subtle.importKey(
      'jwk',
      nr.publicKey.export({ format: 'jwk' }),
      { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' },
      true,
      ['verify'],
    );
    assert.equal(
      await crypto.subtle.verify(
        'RSASSA-PKCS1-v1_5',
        rpub,
        nodeCrypto.sign('sha256', data, nr.privateKey),
        data,
      ),
      true,
    );
  },
);

await check(
  'subtle.importKey pkcs8 (ECDSA private) signs what node:crypto verifies; raw HMAC equals node:crypto',
  async () => {
    const nk = nodeCrypto.generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const priv = await crypto.subtle.importKey(
      'pkcs8',
      nk.privateKey.export({ format: 'der', type: 'pkcs8' }),
      { name: 'ECDSA', namedCurve: 'P-256' },
      false,
      ['sign'],
    );
    const sig = await crypto.subtle.sign({ name: 'ECDSA', hash: 'SHA-256' }, priv, data);
    assert.ok(
      nodeCrypto.verify(
        'sha256',
        data,
        { key: nk.publicKey, dsaEncoding: 'ieee-p1363' },
        Buffer.from(sig),
      ),
    );
    const secret = nodeCrypto.randomBytes(32);
    const hk = await crypto.subtle.importKey(
      'raw',
      secret,
      { name: 'HMAC', hash: 'SHA-256' },
      false,
      ['sign', 'verify'],
    );
    const mac = Buffer.from(await crypto.subtle.sign('HMAC', hk, data));
    assert.deepEqual(mac, nodeCrypto.createHmac('sha256', secret).update(data).digest());
  },
);

await check(
  'AES-GCM, RSA-OAEP and ECDH through subtle (beyond the issue: the token has them)',
  async () => {
    const aes = await crypto.subtle.generateKey({ name: 'AES-GCM', length: 256 }, false, [
      'encrypt',
      'decrypt',
    ]);
    const iv = nodeCrypto.randomBytes(12);
    const ct = await crypto.subtle.encrypt({ name: 'AES-GCM', iv }, aes, data);
    assert.deepEqual(
      Buffer.from(await crypto.subtle.decrypt({ name: 'AES-GCM', iv }, aes, ct)),
      data,
    );
    const oaepAlg = {
      name: 'RSA-OAEP',
      hash: 'SHA-256',
      publicExponent: new Uint8Array([1, 0, 1]),
      modulusLength: 2048,
    };
    const oaep = await crypto.subtle.generateKey(oaepAlg, false, ['encrypt', 'decrypt']);
    const oct = await crypto.subtle.encrypt({ name: 'RSA-OAEP' }, oaep.publicKey, data);
    assert.deepEqual(
      Buffer.from(await crypto.subtle.decrypt({ name: 'RSA-OAEP' }, oaep.privateKey, oct)),
      data,
    );
    const a = await crypto.subtle.generateKey({ name: 'ECDH', namedCurve: 'P-256' }, false, [
      'deriveBits',
    ]);
    const nb = nodeCrypto.createECDH('prime256v1');
    const nbPub = nb.generateKeys();
    const bPub = await crypto.subtle.importKey(
      'raw',
      nbPub,
      { name: 'ECDH', namedCurve: 'P-256' },
      true,
      [],
    );
    const bits = Buffer.from(
      await crypto.subtle.deriveBits({ name: 'ECDH', public: bPub }, a.privateKey, 256),
    );
    const aPub = Buffer.from(await crypto.subtle.exportKey('raw', a.publicKey));
    assert.deepEqual(bits, nb.computeSecret(aPub));
  },
);

await check('keyStorage setItem, keys, getItem (signs), indexOf, removeItem', async () => {
  const privId = await crypto.keyStorage.setItem(ec.privateKey);
  const pubId = await crypto.keyStorage.setItem(ec.publicKey);
  const rsaId = await crypto.keyStorage.setItem(rsa.publicKey);
  const keys = await crypto.keyStorage.keys();
  for (const id of [privId, pubId, rsaId]) assert.ok(keys.includes(id), `${id} in ${keys}`);
  const stored = await crypto.keyStorage.getItem(privId);
  assert.equal(await crypto.keyStorage.indexOf(stored), privId);
  const sig = await crypto.subtle.sign({ name: 'ECDSA', hash: 'SHA-256' }, stored, data);
  assert.ok(
    nodeCrypto.verify(
      'sha256',
      data,
      { key: spkiKey(ecSpki), dsaEncoding: 'ieee-p1363' },
      Buffer.from(sig),
    ),
  );
  await crypto.keyStorage.removeItem(rsaId);
  assert.ok(!(await crypto.keyStorage.keys()).includes(rsaId));
  // ids are `${type}-${handle hex}-${CKA_ID hex}`; handles belong to this process, CKA_ID to the object
  artifacts.ec = {
    privateId: privId.split('-')[2],
    publicId: pubId.split('-')[2],
    removedId: rsaId.split('-')[2],
    spki: hex(ecSpki),
    data: hex(data),
    signature: hex(sig),
  };
});

await check(
  'certStorage importCert, setItem, keys, getItem, exportCert raw, removeItem',
  async () => {
    const pem = fs.readFileSync(certPath, 'utf8');
    const der = new nodeCrypto.X509Certificate(pem).raw;
    const cert = await crypto.certStorage.importCert(
      'pem',
      pem,
      { name: 'ECDSA', namedCurve: 'P-256' },
      ['verify'],
    );
    assert.match(cert.subjectName, /CN=corepkcs11 interop/);
    const index = await crypto.certStorage.setItem(cert);
    assert.ok((await crypto.certStorage.keys()).includes(index));
    const got = await crypto.certStorage.getItem(index);
    assert.deepEqual(Buffer.from(await crypto.certStorage.exportCert('raw', got)), der);
    await crypto.certStorage.removeItem(index);
    assert.ok(!(await crypto.certStorage.keys()).includes(index));
    const kept = await crypto.certStorage.setItem(cert);
    artifacts.cert = { id: kept.split('-')[2], der: hex(der) };
  },
);

await check('getRandomValues fills the array from the token', () => {
  const a = crypto.getRandomValues(new Uint8Array(64));
  const b = crypto.getRandomValues(new Uint8Array(64));
  assert.equal(a.length, 64);
  assert.notDeepEqual(a, b);
  assert.throws(() => crypto.getRandomValues(new Uint8Array(65537)));
});

await check('close (logout, finalize, close the module)', () => {
  crypto.close();
});

fs.writeFileSync(reportPath, JSON.stringify({ results, artifacts }, null, 2));
