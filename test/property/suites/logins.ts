/**
 * Suites `logins-memory`, `logins-file`, `logins-flash` (issue 16 §1): random bursts of concurrent
 * logins — right and wrong PINs from several applications and processes over one store, with the async
 * login whose derivation runs in the thread pool, some of them cut off (a power cut or kill) while
 * spending their try or before giving it back — checked against what must hold whatever the order:
 * - a right PIN is never refused as locked, and a wrong one never, unless tries were really used up: the
 *   wrong PINs and the checks cut off after their spend reach maxPinTries;
 * - without right PINs or cuts, exactly min(wrong, maxPinTries) are CKR_PIN_INCORRECT;
 * - afterwards a new process sees the PIN locked only when tries were used up, and then the right PIN is
 *   refused; otherwise it logs in and every try is back.
 * A flash chip has one owner: its suite uses one process and no cuts (a cut kills the owner).
 * @module
 */
import fc from 'fast-check';
import { createNodeCrypto } from '../../../src/adapters/crypto-node/index.js';
import { ckrName, isPkcs11Error } from '../../../src/errors.js';
import * as C from '../../../src/pkcs11/constants.js';
import type { Pal } from '../../../src/storage/pal.js';
import { Application } from '../../../src/token/application.js';
import { Token } from '../../../src/token/token.js';
import { utf8 } from '../../../src/util/bytes.js';
import { initializedModule, PAL_PORTS, type TestModule, USER_PIN } from '../../helpers/token.js';
import { progress } from '../harness/progress.js';
import { runProperties, type SuiteOptions, type SuiteResult, Tally } from '../harness/suite.js';

type CutAt = 'none' | 'spend' | 'give-back';

interface Attempt {
  process: number;
  right: boolean;
  cut: CutAt;
}

class Cut extends Error {}

/** `pal`, cut off at its n-th write of a try counter: that write and every later one fail. */
function cutOff(pal: Pal, n: number): Pal {
  let writes = 0;
  const cut = (label: string) => {
    if (label.startsWith('corepkcs11.tries.') && ++writes >= n) throw new Cut(label);
  };
  const out: Pal = {
    initialize: () => pal.initialize(),
    saveObject: (label, data, isPrivate) => {
      cut(label);
      return pal.saveObject(label, data, isPrivate);
    },
    findObject: (l) => pal.findObject(l),
    getObjectValue: (h) => pal.getObjectValue(h),
    getObjectValueCleanup: (v) => pal.getObjectValueCleanup(v),
    destroyObject: (h) => pal.destroyObject(h),
  };
  if (pal.overwrite) {
    const overwrite = pal.overwrite.bind(pal);
    out.overwrite = (label, data) => {
      cut(label);
      return overwrite(label, data);
    };
  }
  if (pal.exclusive) out.exclusive = pal.exclusive.bind(pal);
  if (pal.generation) out.generation = pal.generation.bind(pal);
  return out;
}

/** One login through the async form; its CKR name, or 'cut'. */
async function login(token: Token, pin: string): Promise<string> {
  // The watchdog's heartbeat: every login beats it, so only a login that never settles (or a lock
  // wait without end) stops the beats, not a long run of quick bursts (seed 1149796147 --runs 6300 ran
  // past the soak's 120 s with a single beat at the property's start and was reported hung).
  progress('logins: login');
  const app = new Application(token);
  app.initialize();
  const s = app.openSession(1, C.CKF_SERIAL_SESSION);
  try {
    await app.loginAsync(s, C.CKU_USER, utf8(pin));
    return 'CKR_OK';
  } catch (e) {
    if (e instanceof Cut) return 'cut';
    if (!isPkcs11Error(e)) throw e;
    return ckrName(e.code);
  }
}

function fail(why: string, seen: unknown): never {
  throw new Error(`${why}: ${JSON.stringify(seen)}`);
}

async function burst(
  m: TestModule,
  options: { maxTries: number; processes: number },
  attempts: Attempt[],
) {
  const tokenOptions = {
    pinIterations: 10,
    allowWeakPinIterations: true,
    maxPinTries: options.maxTries,
    warn: () => {},
  };
  const tokens = Array.from({ length: options.processes }, (_, i) =>
    i === 0 ? m.token : m.restart().token,
  );
  const rvs = await Promise.all(
    attempts.map((a) => {
      const pin = a.right ? USER_PIN : '0000';
      if (a.cut === 'none') return login(tokens[a.process % tokens.length] as Token, pin);
      // a process of its own that dies at its first (spend) or second (give-back) counter write
      const dying = new Token(
        cutOff(m.reopen(), a.cut === 'spend' ? 1 : 2),
        createNodeCrypto(),
        tokenOptions,
      );
      return login(dying, pin);
    }),
  );
  return rvs;
}

export function loginsSuite(portName: string) {
  const port = PAL_PORTS.find((p) => p.name === portName);
  if (!port) throw new Error(`no PAL port ${portName}`);
  const shared = portName !== 'flash';
  const attempt = fc.record({
    process: fc.nat({ max: 2 }),
    right: fc.boolean(),
    cut: shared
      ? fc.constantFrom<CutAt>('none', 'none', 'none', 'spend', 'give-back')
      : fc.constant<CutAt>('none'),
  });
  return (options: SuiteOptions): Promise<SuiteResult> => {
    const tally = new Tally();
    const property = fc.asyncProperty(
      fc.integer({ min: 1, max: 5 }),
      shared ? fc.integer({ min: 1, max: 3 }) : fc.constant(1),
      fc.array(attempt, { minLength: 1, maxLength: 9 }),
      async (maxTries, processes, attempts) => {
        // A heartbeat per burst: the soak's watchdog takes a property silent for 2 minutes as hung.
        progress(`logins-${portName}: burst`);
        const m = initializedModule(port, {
          pinIterations: 10,
          allowWeakPinIterations: true,
          maxPinTries: maxTries,
          warn: () => {},
        });
        try {
          const rvs = await burst(m, { maxTries, processes }, attempts);
          const seen = { maxTries, processes, attempts, rvs };
          rvs.forEach((rv, i) => {
            const a = attempts[i] as Attempt;
            const allowed = ['CKR_PIN_LOCKED', a.right ? 'CKR_OK' : 'CKR_PIN_INCORRECT'];
            if (a.cut !== 'none') allowed.push('cut');
            if (!allowed.includes(rv)) fail(`attempt ${i} → ${rv}`, seen);
          });
          // tries that were spent and never given back
          const used =
            rvs.filter((rv) => rv === 'CKR_PIN_INCORRECT').length +
            rvs.filter((rv, i) => rv === 'cut' && (attempts[i] as Attempt).cut === 'give-back')
              .length;
          const locked = rvs.filter((rv) => rv === 'CKR_PIN_LOCKED').length;
          if (locked > 0 && used < maxTries) fail(`locked after ${used} used tries`, seen);
          const wrong = attempts.filter((a) => !a.right).length;
          if (attempts.every((a) => !a.right && a.cut === 'none')) {
            if (used !== Math.min(wrong, maxTries))
              fail(`${used} of ${wrong} wrong PINs counted`, seen);
          }
          const after = m.restart();
          const flags = after.p11.C_GetTokenInfo(after.slot).flags;
          const isLocked = (flags & C.CKF_USER_PIN_LOCKED) !== 0;
          if (isLocked && used < maxTries) fail('the PIN reads locked', seen);
          const last = await login(after.token, USER_PIN);
          if (last !== (isLocked ? 'CKR_PIN_LOCKED' : 'CKR_OK'))
            fail(`then the right PIN → ${last}`, seen);
          const back = after.p11.C_GetTokenInfo(after.slot).flags & C.CKF_USER_PIN_COUNT_LOW;
          if (!isLocked && back !== 0) fail('a successful login left tries spent', seen);
          tally.add('bursts');
          tally.add('logins', attempts.length + 1);
          tally.add('cut off', rvs.filter((rv) => rv === 'cut').length);
          tally.add('locked', isLocked ? 1 : 0);
        } finally {
          m.cleanup();
        }
      },
    );
    return runProperties(`logins-${portName}`, options, tally, [['concurrent logins', property]]);
  };
}
