/**
 * Full_PKCS11_NoObject: digesting (with the error conditions that must not end the operation) and random
 * generation, from one session and from concurrent tasks. C's NULL output buffer (a length query) is an
 * empty Buffer here, which pkcs11js passes to the module as NULL. Layer L7.
 * @module
 */
import {
  CKM_SHA256,
  CKR_BUFFER_TOO_SMALL,
  CKR_MECHANISM_INVALID,
  CKR_OK,
  CKR_OPERATION_NOT_INITIALIZED,
  CKR_SESSION_HANDLE_INVALID,
} from '../pkcs11/constants.js';
import { nullHandle } from './cryptoki.js';
import { MULTI_THREAD_TASK_COUNT, type Suite } from './suite.js';
import { generateRandomMultiThreadTask } from './tasks.js';
import type { Handle } from './types.js';
import { type CallResult, call, check, type Group } from './unity.js';

/** The 896-bit NIST test message (FIPS 180-2 appendix B.3 style) and its SHA-256. */
const INPUT_896_BITS = Buffer.from(
  'abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu',
);
const SHA256_OF_896_BITS = Buffer.from(
  'cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1',
  'hex',
);
const SHA256_LENGTH = 32;
const RAND_BUFFER_SIZE = 10;

export function noObjectGroup(s: Suite): Group {
  const group = 'Full_PKCS11_NoObject';
  const p11 = s.p11;
  const sha256 = { mechanism: CKM_SHA256 };
  return s.group(group, [
    {
      group,
      name: 'PKCS11_Digest',
      run() {
        const session = s.session();
        check.returns(CKR_OK, () => p11.C_DigestInit(session, sha256));
        check.returns(CKR_OK, () => p11.C_DigestUpdate(session, INPUT_896_BITS));
        // Length query: must succeed and leave the operation active.
        check.returns(CKR_OK, () => p11.C_DigestFinal(session, Buffer.alloc(0)));
        const digest = call(() => p11.C_DigestFinal(session, Buffer.alloc(SHA256_LENGTH)));
        check.rv(CKR_OK, digest);
        check.equal(SHA256_LENGTH, digest.value?.length, 'Digest length.');
        check.bytes(SHA256_OF_896_BITS, digest.value, 'Digest value.');
      },
    },
    {
      group,
      name: 'PKCS11_Digest_ErrorConditions',
      run() {
        const session = s.session();
        for (const fn of [p11.C_DigestInit, p11.C_DigestUpdate, p11.C_DigestFinal]) {
          check.that(typeof fn === 'function', 'Digest function missing.');
        }
        const badMechanism = { mechanism: 0x253 }; // 0x253 corresponds to no mechanism.
        check.returns(CKR_MECHANISM_INVALID, () => p11.C_DigestInit(session, badMechanism));
        check.returns(CKR_SESSION_HANDLE_INVALID, () => p11.C_DigestInit(nullHandle(), sha256));
        // DigestUpdate fails when DigestInit did not succeed.
        check.returns(CKR_OPERATION_NOT_INITIALIZED, () =>
          p11.C_DigestUpdate(session, INPUT_896_BITS),
        );
        check.returns(CKR_OK, () => p11.C_DigestInit(session, sha256));
        check.returns(CKR_SESSION_HANDLE_INVALID, () =>
          p11.C_DigestUpdate(nullHandle(), INPUT_896_BITS),
        );
        check.returns(CKR_OK, () => p11.C_DigestUpdate(session, INPUT_896_BITS));
        check.returns(CKR_BUFFER_TOO_SMALL, () =>
          p11.C_DigestFinal(session, Buffer.alloc(SHA256_LENGTH - 1)),
        );
        check.returns(CKR_SESSION_HANDLE_INVALID, () =>
          p11.C_DigestFinal(nullHandle(), Buffer.alloc(SHA256_LENGTH)),
        );
        // Neither "buffer too small" nor a bad session handle ends the digest.
        const digest = call(() => p11.C_DigestFinal(session, Buffer.alloc(SHA256_LENGTH)));
        check.rv(CKR_OK, digest);
        check.bytes(SHA256_OF_896_BITS, digest.value, 'Digest value.');
        check.returns(CKR_OPERATION_NOT_INITIALIZED, () =>
          p11.C_DigestUpdate(session, INPUT_896_BITS),
        );
      },
    },
    {
      group,
      name: 'PKCS11_GenerateRandom',
      run() {
        const bufs = [1, 2, 3].map(() => Buffer.alloc(RAND_BUFFER_SIZE));
        const draw = (session: Handle, buf: Buffer) =>
          call(() => p11.C_GenerateRandom(session, buf));
        let result: CallResult<unknown> = draw(s.session(), bufs[0] as Buffer);
        if (result.rv === CKR_OK) result = draw(s.session(), bufs[1] as Buffer);
        if (result.rv === CKR_OK) {
          const old = s.session();
          call(() => p11.C_CloseSession(old));
        }
        // Re-open a session: random bytes must differ across sessions as well.
        const reopened = s.openSession();
        s.globalSession = reopened.session;
        result = reopened.rv;
        if (result.rv === CKR_OK && reopened.session) {
          result = draw(reopened.session, bufs[2] as Buffer);
        }
        check.rv(CKR_OK, result, 'C_GenerateRandom returns unexpected value.');
        const [b1, b2, b3] = bufs as [Buffer, Buffer, Buffer];
        let sameSession = 0;
        let differentSessions = 0;
        for (let i = 0; i < RAND_BUFFER_SIZE; i++) {
          if (b1[i] === b2[i]) sameSession++;
          if (b1[i] === b3[i]) differentSessions++;
        }
        // The C suite's statistical check: fewer than 2 equal byte positions in 10. Good random
        // bytes fail it with probability about 2 × C(10,2)/256² ≈ 0.14 % per run (a false alarm).
        const shown = `${b1.toString('hex')} / ${b2.toString('hex')} / ${b3.toString('hex')}`;
        check.that(sameSession < 2, `Expected less than 2 Was ${sameSession}. ${shown}`);
        check.that(
          differentSessions < 2,
          `Expected less than 2 Was ${differentSessions}. ${shown}`,
        );
      },
    },
    {
      group,
      name: 'PKCS11_GenerateRandomMultiThread',
      async run() {
        // The C test opens the task sessions without checking the results.
        const sessions = Array.from(
          { length: MULTI_THREAD_TASK_COUNT },
          () => s.openSession().session ?? nullHandle(),
        );
        try {
          await s.multiThread(
            generateRandomMultiThreadTask,
            sessions.map((session) => ({ session })),
          );
        } finally {
          for (const session of sessions) call(() => p11.C_CloseSession(session));
        }
      },
    },
  ]);
}
