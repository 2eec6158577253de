/**
 * Concurrent logins and cut-off checks (issue 16 §1, DESIGN §2.7), once per PAL port. Checks run at once
 * — C_Login's async form, whose derivation runs in the thread pool, from several applications of one
 * process and from several processes over one store (two Tokens stand for two processes) — must never
 * make the right PIN read as locked, and wrong PINs still stop at exactly maxPinTries. A check cut off
 * (power cut, kill) after its try was spent has spent it; one cut off before has not.
 * @module
 */
import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { createNodeCrypto } from '../../src/adapters/crypto-node/index.js';
import { ckrName, isPkcs11Error } from '../../src/errors.js';
import type { Pal } from '../../src/storage/pal.js';
import { Application } from '../../src/token/application.js';
import { Token } from '../../src/token/token.js';
import { utf8 } from '../../src/util/bytes.js';
import {
  C,
  initializedModule,
  PAL_PORTS,
  TEST_TOKEN_OPTIONS,
  type TestModule,
  USER_PIN,
} from '../helpers/token.js';

const THREE_TRIES = { ...TEST_TOKEN_OPTIONS, maxPinTries: 3 };
const AT_ONCE = 7;
const USER_FLAGS = C.CKF_USER_PIN_COUNT_LOW | C.CKF_USER_PIN_FINAL_TRY | C.CKF_USER_PIN_LOCKED;
const userFlags = (m: TestModule) => m.p11.C_GetTokenInfo(m.slot).flags & USER_FLAGS;

/** C_Login through the async form on a new session of `app`; resolves to the CKR name. */
async function loginAsync(app: Application, pin: string): Promise<string> {
  app.initialize();
  const s = app.openSession(1, C.CKF_SERIAL_SESSION);
  try {
    await app.loginAsync(s, C.CKU_USER, utf8(pin));
    return 'CKR_OK';
  } catch (e) {
    if (!isPkcs11Error(e)) throw e;
    return ckrName(e.code);
  }
}

function count(rvs: string[]): Record<string, number> {
  const n: Record<string, number> = {};
  for (const rv of rvs) n[rv] = (n[rv] ?? 0) + 1;
  return n;
}

/** A power cut at the n-th write of the try counters: that write and everything after it fail. */
class Cut extends Error {}
function cutAtTriesWrite(pal: Pal, n: number): Pal {
  let writes = 0;
  const cut = (label: string) => {
    if (label.startsWith('corepkcs11.tries.') && ++writes >= n) throw new Cut(`cut at ${label}`);
  };
  return {
    initialize: () => pal.initialize(),
    saveObject(label, data, isPrivate) {
      cut(label);
      return pal.saveObject(label, data, isPrivate);
    },
    findObject: (l) => pal.findObject(l),
    getObjectValue: (h) => pal.getObjectValue(h),
    getObjectValueCleanup: (v) => pal.getObjectValueCleanup(v),
    destroyObject: (h) => pal.destroyObject(h),
    ...(pal.overwrite
      ? {
          overwrite: (label: string, data: Uint8Array) => {
            cut(label);
            return pal.overwrite!(label, data);
          },
        }
      : {}),
    ...(pal.exclusive ? { exclusive: <T>(fn: () => T): T => pal.exclusive!(fn) } : {}),
    ...(pal.generation ? { generation: () => pal.generation!() } : {}),
  };
}

for (const port of PAL_PORTS) {
  const processes =
    port.name === 'flash' ? { skip: 'a flash device is not shared by processes' } : {};

  describe(`concurrent logins [${port.name}]`, () => {
    const modules: TestModule[] = [];
    const initialized = (options = THREE_TRIES) => {
      const m = initializedModule(port, options);
      modules.push(m);
      return m;
    };
    afterEach(() => {
      for (const m of modules.splice(0)) m.cleanup();
    });

    /** AT_ONCE applications of one process, or of as many processes. */
    const applications = (m: TestModule, across: 'process' | 'processes') =>
      Array.from({ length: AT_ONCE }, () =>
        across === 'process' ? new Application(m.token) : new Application(m.restart().token),
      );

    for (const across of ['process', 'processes'] as const) {
      const skip = across === 'processes' ? processes : {};

      it(
        `${AT_ONCE} right PINs at once from one ${across} (maxPinTries 3): every one → CKR_OK, no try lost`,
        skip,
        async () => {
          const m = initialized();
          const rvs = await Promise.all(
            applications(m, across).map((a) => loginAsync(a, USER_PIN)),
          );
          assert.deepEqual(count(rvs), { CKR_OK: AT_ONCE });
          assert.equal(userFlags(m.restart()), 0);
        },
      );

      it(
        `${AT_ONCE} wrong PINs at once from ${across} (maxPinTries 3): exactly 3 → CKR_PIN_INCORRECT, the rest → CKR_PIN_LOCKED`,
        skip,
        async () => {
          const m = initialized();
          const rvs = await Promise.all(applications(m, across).map((a) => loginAsync(a, '0000')));
          assert.deepEqual(count(rvs), { CKR_PIN_INCORRECT: 3, CKR_PIN_LOCKED: AT_ONCE - 3 });
          assert.equal(userFlags(m.restart()), C.CKF_USER_PIN_COUNT_LOW | C.CKF_USER_PIN_LOCKED);
        },
      );

      it(
        `right and wrong PINs at once from ${across}: every right one → CKR_OK, every wrong one → CKR_PIN_INCORRECT`,
        skip,
        async () => {
          const m = initialized();
          const pins = [USER_PIN, '0000', USER_PIN, USER_PIN, '0000', USER_PIN, USER_PIN];
          const apps = applications(m, across);
          const rvs = await Promise.all(
            pins.map((pin, i) => loginAsync(apps[i] as Application, pin)),
          );
          rvs.forEach((rv, i) => {
            assert.equal(rv, pins[i] === USER_PIN ? 'CKR_OK' : 'CKR_PIN_INCORRECT', `login ${i}`);
          });
        },
      );
    }

    it('a check cut off after its try was spent, before the try was given back, has spent it (CKF_USER_PIN_COUNT_LOW)', () => {
      const m = initialized();
      const token = new Token(cutAtTriesWrite(m.reopen(), 2), createNodeCrypto(), THREE_TRIES);
      const app = new Application(token);
      app.initialize();
      const s = app.openSession(1, C.CKF_SERIAL_SESSION);
      assert.throws(() => app.login(s, C.CKU_USER, utf8(USER_PIN)), Cut);
      assert.equal(userFlags(m.restart()), C.CKF_USER_PIN_COUNT_LOW);
    });

    it('a check cut off while spending its try has spent nothing → CKR_OK afterwards, no flag', () => {
      const m = initialized();
      const token = new Token(cutAtTriesWrite(m.reopen(), 1), createNodeCrypto(), THREE_TRIES);
      const app = new Application(token);
      app.initialize();
      const s = app.openSession(1, C.CKF_SERIAL_SESSION);
      assert.throws(() => app.login(s, C.CKU_USER, utf8('0000')), Cut);
      const r = m.restart();
      assert.equal(userFlags(r), 0);
    });
  });
}
