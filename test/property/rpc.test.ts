/**
 * The RPC decoders (suite `rpc`), beside test/unit/rpc/fuzz.test.ts: frame streams split anywhere come
 * out as exactly their frames, oversized headers are refused before their body is buffered, and any
 * mutated message body decodes to arguments that re-encode to themselves, or is refused.
 * @module
 */
import { describe, it } from 'node:test';
import { checkSuite, ciRuns } from './harness/ci.js';

describe('RPC frame and message decoders', () => {
  it(
    `rpc: frames split anywhere, oversized headers refused, bodies decode consistently (${ciRuns(3000)} cases per property)`,
    {
      timeout: 120_000,
    },
    (t) => checkSuite(t, 'rpc', ciRuns(3000)),
  );
});
