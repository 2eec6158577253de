/**
 * Model-based tests of the token's objects on every PAL port (suites objects-*): after every create,
 * destroy, rename, copy, login, logout, session change and restart, the token shows exactly the objects
 * the model says exist, and reopening the store shows exactly the token objects.
 * @module
 */
import { describe, it } from 'node:test';
import { checkSuite, ciRuns } from './harness/ci.js';

const RUNS: Record<string, number> = { memory: 400, file: 100, flash: 100 };

describe('which objects exist, against a model', () => {
  for (const [port, runs] of Object.entries(RUNS)) {
    it(
      `objects-${port}: the token and the reopened store show exactly the model's objects (${ciRuns(runs)} command sequences)`,
      {
        timeout: 120_000,
      },
      (t) => checkSuite(t, `objects-${port}`, ciRuns(runs)),
    );
  }
});
