/**
 * Suites `api-memory`, `api-file`, `api-flash`: random sequences of PKCS11 calls against a fresh token
 * on one PAL port, every answer checked against the v2.40 return-value table, then the store checked
 * against the live token (execute.ts, store-check.ts).
 * @module
 */
import fc from 'fast-check';
import * as C from '../../../src/pkcs11/constants.js';
import { initializedModule, PAL_PORTS, type TestModule, userSession } from '../../helpers/token.js';
import type { Pool } from '../api/args.js';
import { callGroup } from '../api/calls.js';
import { executeCall } from '../api/execute.js';
import { checkStore } from '../api/store-check.js';
import { runProperties, type SuiteOptions, type SuiteResult, Tally } from '../harness/suite.js';

export function apiSuite(portName: string) {
  const port = PAL_PORTS.find((p) => p.name === portName);
  if (!port) throw new Error(`no PAL port ${portName}`);
  return (options: SuiteOptions): Promise<SuiteResult> => {
    const tally = new Tally();
    const sequences = fc.asyncProperty(
      fc.array(callGroup, { minLength: 1, maxLength: 24, size: 'max' }),
      async (groups) => {
        const calls = groups.flat();
        const warnings: string[] = [];
        const m: TestModule = initializedModule(port, {
          pinIterations: 10,
          allowWeakPinIterations: true,
          warn: (w) => warnings.push(w),
        });
        try {
          const pool: Pool = {
            slot: m.slot,
            sessions: [userSession(m), m.p11.C_OpenSession(m.slot, C.CKF_SERIAL_SESSION)],
            objects: [],
            keys: { ecPrivate: [], ecPublic: [], rsaPrivate: [], rsaPublic: [], aes: [], hmac: [] },
          };
          for (const call of calls) await executeCall(m.p11, call, pool, tally);
          tally.add('sequences');
          checkStore(m, warnings);
        } finally {
          m.cleanup();
        }
      },
    );
    return runProperties(`api-${portName}`, options, tally, [['call sequences', sequences]]);
  };
}
