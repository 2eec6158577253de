/**
 * The stored record formats and damaged storage (suite `records`): records round trip; corrupted or
 * truncated records read back as CKR_DEVICE_ERROR, never garbage; a token over storage with a damaged
 * record reports it and serves every other object exactly as stored.
 * @module
 */
import { describe, it } from 'node:test';
import { checkSuite, ciRuns } from './harness/ci.js';

describe('stored records', () => {
  it(
    `records: round trip, corruption is CKR_DEVICE_ERROR, damage loses objects but never changes one (${ciRuns(1000)} cases per property)`,
    {
      timeout: 120_000,
    },
    (t) => checkSuite(t, 'records', ciRuns(1000)),
  );
});
