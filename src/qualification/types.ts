/**
 * The contracts of the qualification suite: the module under test (the pkcs11js call shapes the suite
 * uses, so a pkcs11js-loaded `.so` and corepkcs11's own token both fit), the independent verifier that
 * plays mbedTLS's part, and the platform hooks that play FRTest_ThreadCreate / FRTest_ThreadTimedJoin.
 * Layer L7; types only.
 * @module
 */

import type { Handle } from '../api/convert.js';
import type { PKCS11 } from '../api/pkcs11.js';
import type { Verifier } from '../crypto/verifier.js';

/** Handles (Buffers holding the native CK_ULONG), templates and mechanisms as pkcs11js passes them. */
export type { Attribute, Handle, Mechanism, Template } from '../api/convert.js';
export type { MechanismInfo } from '../pkcs11/types.js';

/**
 * The subset of pkcs11js's `PKCS11` class the suite calls, with corepkcs11's PKCS11 (api/pkcs11.ts)
 * as the declaration of each call's shape. Errors are thrown as objects with a numeric `code` (the
 * CK_RV) and `message` = CKR name, as pkcs11js's Pkcs11Error and corepkcs11's own are. An empty output
 * Buffer is the JS form of C's NULL output pointer: pkcs11js passes it to the module as NULL, which makes
 * the call a length query. The off-thread forms are optional: without them the tasks interleave sync
 * calls with awaits.
 */
export type Pkcs11Like = Pick<
  PKCS11,
  | 'C_Initialize'
  | 'C_Finalize'
  | 'C_GetSlotList'
  | 'C_GetMechanismInfo'
  | 'C_OpenSession'
  | 'C_CloseSession'
  | 'C_Login'
  | 'C_CreateObject'
  | 'C_DestroyObject'
  | 'C_FindObjectsInit'
  | 'C_FindObjects'
  | 'C_FindObjectsFinal'
  | 'C_GetAttributeValue'
  | 'C_DigestInit'
  | 'C_DigestUpdate'
  | 'C_DigestFinal'
  | 'C_SignInit'
  | 'C_Sign'
  | 'C_VerifyInit'
  | 'C_Verify'
  | 'C_GenerateKeyPair'
  | 'C_GenerateRandom'
> &
  Partial<Pick<PKCS11, 'C_SignAsync' | 'C_VerifyAsync'>>;

export type { EcKeyParts, KeyParts, RsaKeyParts, Verifier } from '../crypto/verifier.js';

/** The C suite's MultithreadTaskParams_t: the task writes its CK_RV (0 = success) into `testResult`. */
export interface TaskParams {
  taskNumber: number;
  testResult: number;
  /** Why the task failed (the C suite's TEST_PRINTF line), surfaced in the failure message. */
  detail?: string;
  data: TaskData;
}

/** What a task works on: its own session and the objects the main test found (the C task structs). */
export interface TaskData {
  session: Handle;
  /** The main test's session, used by the EC GetAttributeValue task as the C suite does. */
  globalSession?: Handle;
  privateKey?: Handle;
  publicKey?: Handle;
  certificate?: Handle;
}

/** A thread joined by `threadTimedJoin`; opaque to the suite. */
export type ThreadHandle = object;

/** A task as FRTest_ThreadCreate receives it; its `name` identifies it across worker_threads. */
export type TaskFunction = ((env: TaskEnv, params: TaskParams) => Promise<void>) & {
  readonly name: string;
};

/** What a task runs against: a module, the verifier and the run's labels. */
export interface TaskEnv {
  p11: Pkcs11Like;
  verifier: Verifier;
  labels: Labels;
  rsaCertificateLength: number;
}

/** The seed's FRTest_* platform functions used by the suite. */
export interface PlatformHooks {
  /** FRTest_ThreadCreate: start `fn(env, params)` concurrently; null when it cannot be started. */
  threadCreate(fn: TaskFunction, params: TaskParams, env: TaskEnv): ThreadHandle | null;
  /** FRTest_ThreadTimedJoin: 0 once the task has finished and written `params`, non-zero on timeout. */
  threadTimedJoin(thread: ThreadHandle, timeoutMs: number): Promise<number>;
  /**
   * True when each task gets its own module instance (worker threads): a task then sees token objects
   * only, so tests whose objects include session objects run their tasks in-process instead, as the C
   * suite's threads share one module.
   */
  readonly separateModules?: boolean;
}

/** The labels of test_param_config.h. */
export interface Labels {
  privateKey: string;
  publicKey: string;
  certificate: string;
  codeVerificationKey: string;
  jitpCertificate: string;
  rootCertificate: string;
}
