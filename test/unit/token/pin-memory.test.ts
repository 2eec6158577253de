/**
 * The PIN memory of a process (issue 16 §1): many applications logging in at once with one PIN cost one
 * derivation between them, a PIN verified before costs none, and a wrong PIN always costs its own.
 * @module
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createNodeCrypto } from '../../../src/adapters/crypto-node/index.js';
import { createMemoryPal } from '../../../src/adapters/pal-memory/index.js';
import type { CryptoBackend } from '../../../src/crypto/backend.js';
import { isPkcs11Error } from '../../../src/errors.js';
import * as C from '../../../src/pkcs11/constants.js';
import { Application } from '../../../src/token/application.js';
import { Token } from '../../../src/token/token.js';
import { utf8 } from '../../../src/util/bytes.js';
import { SO_PIN, TEST_TOKEN_OPTIONS, USER_PIN } from '../../helpers/token.js';

/** node:crypto, counting the PIN derivations. */
function countingCrypto(): { crypto: CryptoBackend; derivations: () => number } {
  const real = createNodeCrypto();
  let n = 0;
  const crypto = new Proxy(real, {
    get(target, prop, receiver) {
      if (prop === 'pbkdf2' || prop === 'pbkdf2Async') {
        return (...args: unknown[]) => {
          n++;
          return (Reflect.get(target, prop, receiver) as (...a: unknown[]) => unknown)(...args);
        };
      }
      return Reflect.get(target, prop, receiver);
    },
  });
  return { crypto, derivations: () => n };
}

function provisioned() {
  const { crypto, derivations } = countingCrypto();
  const token = new Token(createMemoryPal(), crypto, { ...TEST_TOKEN_OPTIONS, maxPinTries: 3 });
  const admin = new Application(token);
  admin.initialize();
  admin.initToken(1, utf8(SO_PIN), new Uint8Array(32).fill(0x20));
  const s = admin.openSession(1, C.CKF_SERIAL_SESSION | C.CKF_RW_SESSION);
  admin.login(s, C.CKU_SO, utf8(SO_PIN));
  admin.initPin(s, utf8(USER_PIN));
  admin.logout(s);
  return { token, derivations };
}

async function logins(token: Token, pins: string[]): Promise<string[]> {
  return Promise.all(
    pins.map(async (pin) => {
      const app = new Application(token);
      app.initialize();
      const s = app.openSession(1, C.CKF_SERIAL_SESSION);
      try {
        await app.loginAsync(s, C.CKU_USER, utf8(pin));
        return 'CKR_OK';
      } catch (e) {
        if (isPkcs11Error(e)) return e.message;
        throw e;
      }
    }),
  );
}

describe('the PIN memory of a process', () => {
  it('40 applications logging in at once with the right PIN: one derivation between them, all → CKR_OK', async () => {
    const { token, derivations } = provisioned();
    const before = derivations();
    const rvs = await logins(token, Array(40).fill(USER_PIN));
    assert.deepEqual(new Set(rvs), new Set(['CKR_OK']));
    assert.equal(derivations() - before, 1);
  });

  it('a PIN verified before in the process: logins cost no derivation → CKR_OK', async () => {
    const { token, derivations } = provisioned();
    await logins(token, [USER_PIN]);
    const before = derivations();
    assert.deepEqual(await logins(token, Array(10).fill(USER_PIN)), Array(10).fill('CKR_OK'));
    assert.equal(derivations(), before);
  });

  it('wrong PINs never ride on a derivation or a verifier: each costs its own try → CKR_PIN_INCORRECT', async () => {
    const { token, derivations } = provisioned();
    await logins(token, [USER_PIN]);
    const before = derivations();
    assert.deepEqual(await logins(token, ['0000', '0001']), [
      'CKR_PIN_INCORRECT',
      'CKR_PIN_INCORRECT',
    ]);
    assert.equal(derivations() - before, 2);
    assert.deepEqual(await logins(token, ['0000']), ['CKR_PIN_INCORRECT']);
    assert.deepEqual(await logins(token, [USER_PIN]), ['CKR_PIN_LOCKED']);
  });
});
