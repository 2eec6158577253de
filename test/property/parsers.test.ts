/**
 * Hostile input to every parser (suite `parsers`): PEM/DER keys and certificates, EC parameters and
 * points, ECDSA signature forms, X.500 names and PKCS#11 URIs, random and mutated, return a
 * well-formed value or their documented CKR — never another exception — and valid input round trips.
 * @module
 */
import { describe, it } from 'node:test';
import { checkSuite, ciRuns } from './harness/ci.js';

describe('parsers of untrusted input', () => {
  it(
    `parsers: a value or the documented CKR for any input; round trips (${ciRuns(2000)} cases per property)`,
    {
      timeout: 120_000,
    },
    (t) => checkSuite(t, 'parsers', ciRuns(2000)),
  );
});
