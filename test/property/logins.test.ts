/**
 * Bursts of concurrent logins on every PAL port (suites logins-*): right PINs are never refused as
 * locked, wrong ones stop at exactly maxPinTries, and checks cut off before or after spending their try
 * cost exactly what they spent.
 * @module
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { checkSuite, ciRuns } from './harness/ci.js';
import { attachHeartbeat } from './harness/progress.js';
import { loginsSuite } from './suites/logins.js';

const RUNS: Record<string, number> = { memory: 200, file: 40, flash: 60 };

describe('concurrent logins, against what must hold in any order', () => {
  for (const [port, runs] of Object.entries(RUNS)) {
    it(
      `logins-${port}: no right PIN locked out, no try lost or created (${ciRuns(runs)} bursts)`,
      { timeout: 120_000 },
      (t) => checkSuite(t, `logins-${port}`, ciRuns(runs)),
    );
  }
});

describe('the logins suite under the hang watchdog', () => {
  // A soak run (seed 1149796147, --runs 6300) was reported hung: the suite beat the watchdog once, at
  // the property's start, so any run longer than the 120 s stall limit looked like a login that never
  // settles. Every burst and every login must beat it.
  it('every burst of CKR_OK / CKR_PIN_INCORRECT / CKR_PIN_LOCKED logins beats the heartbeat', async () => {
    const heartbeat = new SharedArrayBuffer(8);
    attachHeartbeat(heartbeat);
    const runs = 12;
    const r = await loginsSuite('file')({ numRuns: runs, seed: 1149796147 });
    assert.equal(r.failure, undefined);
    const logins = r.detail.logins ?? 0;
    assert.ok(logins > runs, `${logins} logins in ${runs} bursts`);
    // one beat for the property, one per burst and one per login
    assert.equal(Atomics.load(new Int32Array(heartbeat), 0), 1 + runs + logins);
  });
});
