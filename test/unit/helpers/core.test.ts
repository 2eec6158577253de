import assert from 'node:assert/strict';
import { createHash, verify } from 'node:crypto';
import { describe, it } from 'node:test';
import {
  appendSha256AlgorithmIdentifierSequence,
  findObjects,
  findObjectWithLabelAndClass,
  firstSlot,
  initializePkcs11,
  initializePkcs11Session,
  initializePkcs11Token,
} from '../../../src/helpers/core.js';
import { provisionPrivateKey } from '../../../src/helpers/provision.js';
import { freshKeyPair } from '../../helpers/keypair.js';
import { assertRv, C, freshModule, PAL_PORTS, SO_PIN, USER_PIN } from '../../helpers/token.js';

const memory = PAL_PORTS[0]!;

describe('corePKCS11 helper calls', () => {
  it('initializePkcs11 tolerates CKR_CRYPTOKI_ALREADY_INITIALIZED', () => {
    const m = freshModule(memory);
    assert.equal(initializePkcs11(m.p11), false, 'freshModule already called C_Initialize');
    m.p11.C_Finalize();
    assert.equal(initializePkcs11(m.p11), true);
  });

  it('initializePkcs11Token initialises a new token once, then leaves it (and its objects) alone', () => {
    const m = freshModule(memory);
    const first = initializePkcs11Token(m.p11, { soPin: SO_PIN, userPin: USER_PIN, label: 'dev' });
    assert.equal(first.initialized, true);
    assert.match(m.p11.C_GetTokenInfo(first.slot).label, /^dev +$/);
    const s = initializePkcs11Session(m.p11, { pin: USER_PIN });
    m.p11.C_CreateObject(s, [
      { type: C.CKA_CLASS, value: C.CKO_DATA },
      { type: C.CKA_TOKEN, value: true },
      { type: C.CKA_LABEL, value: 'keep me' },
    ]);
    const again = initializePkcs11Token(m.p11, { soPin: 'other-pin', label: 'other' });
    assert.equal(again.initialized, false);
    assert.ok(findObjectWithLabelAndClass(m.p11, s, 'keep me', C.CKO_DATA));
  });

  it('initializePkcs11Session logs in, and a second session of the application is already logged in (CKR_USER_ALREADY_LOGGED_IN tolerated)', () => {
    const m = freshModule(memory);
    initializePkcs11Token(m.p11, { soPin: SO_PIN, userPin: USER_PIN });
    const a = initializePkcs11Session(m.p11, { pin: USER_PIN });
    const b = initializePkcs11Session(m.p11, { pin: USER_PIN });
    assert.equal(m.p11.C_GetSessionInfo(b).state, C.CKS_RW_USER_FUNCTIONS);
    assert.notDeepEqual(a, b);
  });

  it('initializePkcs11Session with a wrong PIN → CKR_PIN_INCORRECT and no session left open', () => {
    const m = freshModule(memory);
    const { slot } = initializePkcs11Token(m.p11, { soPin: SO_PIN, userPin: USER_PIN });
    assertRv(() => initializePkcs11Session(m.p11, { pin: 'wrong' }), C.CKR_PIN_INCORRECT);
    assert.equal(m.p11.C_GetTokenInfo(slot).sessionCount, 0);
  });

  it('firstSlot names the token slot', () => {
    const m = freshModule(memory);
    assert.deepEqual(firstSlot(m.p11), m.slot);
  });

  it('findObjectWithLabelAndClass finds by label and class, null when absent, and always ends the find', () => {
    const m = freshModule(memory);
    initializePkcs11Token(m.p11, { soPin: SO_PIN, userPin: USER_PIN });
    const s = initializePkcs11Session(m.p11, { pin: USER_PIN });
    const { privateKey } = freshKeyPair('ec', { namedCurve: 'P-256' });
    const pem = privateKey.export({ format: 'pem', type: 'pkcs8' }) as string;
    const k = provisionPrivateKey(m.p11, s, pem, { label: 'Device Priv TLS Key' });
    assert.deepEqual(
      findObjectWithLabelAndClass(m.p11, s, 'Device Priv TLS Key', C.CKO_PRIVATE_KEY),
      k.privateKey,
    );
    assert.deepEqual(
      findObjectWithLabelAndClass(m.p11, s, 'Device Priv TLS Key', C.CKO_PUBLIC_KEY),
      k.publicKey,
    );
    assert.equal(findObjectWithLabelAndClass(m.p11, s, 'Device Cert', C.CKO_CERTIFICATE), null);
    // no find operation is left active
    m.p11.C_FindObjectsInit(s, []);
    m.p11.C_FindObjectsFinal(s);
    assert.equal(findObjects(m.p11, s, [{ type: C.CKA_ID, value: Buffer.from(k.id) }]).length, 2);
  });

  it('appendSha256AlgorithmIdentifierSequence builds the DigestInfo CKM_RSA_PKCS signs', () => {
    const m = freshModule(memory);
    initializePkcs11Token(m.p11, { soPin: SO_PIN, userPin: USER_PIN });
    const s = initializePkcs11Session(m.p11, { pin: USER_PIN });
    const { privateKey, publicKey } = freshKeyPair('rsa', { modulusLength: 2048 });
    const k = provisionPrivateKey(m.p11, s, privateKey.export({ format: 'der', type: 'pkcs1' }), {
      label: 'rsa',
    });
    const message = Buffer.from('corePKCS11 signs a DigestInfo');
    const info = appendSha256AlgorithmIdentifierSequence(
      createHash('sha256').update(message).digest(),
    );
    assert.equal(info.length, 51);
    m.p11.C_SignInit(s, { mechanism: C.CKM_RSA_PKCS }, k.privateKey);
    const sig = m.p11.C_Sign(s, Buffer.from(info), Buffer.alloc(256));
    assert.ok(verify('sha256', message, publicKey, sig));
  });

  it('appendSha256AlgorithmIdentifierSequence refuses a hash that is not 32 bytes → CKR_ARGUMENTS_BAD', () => {
    assertRv(
      () => appendSha256AlgorithmIdentifierSequence(new Uint8Array(20)),
      C.CKR_ARGUMENTS_BAD,
    );
  });
});
