/**
 * Random sequences of PKCS11 calls with random arguments against a fresh token on every PAL port
 * (suites api-*): every answer is one PKCS#11 v2.40 allows for the function, a TypeError only for
 * arguments of the wrong JS type, nothing hangs, and the store reopened holds what the live token does.
 * @module
 */
import { describe, it } from 'node:test';
import { checkSuite, ciRuns } from './harness/ci.js';

const RUNS: Record<string, number> = { memory: 300, file: 120, flash: 150 };

describe('the PKCS11 API under random call sequences', () => {
  for (const [port, runs] of Object.entries(RUNS)) {
    it(
      `api-${port}: every answer allowed by v2.40, no hang, store consistent (${ciRuns(runs)} sequences)`,
      {
        timeout: 120_000,
      },
      (t) => checkSuite(t, `api-${port}`, ciRuns(runs)),
    );
  }
});
