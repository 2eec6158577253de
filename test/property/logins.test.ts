/**
 * Bursts of concurrent logins on every PAL port (suites logins-*): right PINs are never refused as
 * locked, wrong ones stop at exactly maxPinTries, and checks cut off before or after spending their try
 * cost exactly what they spent.
 * @module
 */
import { describe, it } from 'node:test';
import { checkSuite, ciRuns } from './harness/ci.js';

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
