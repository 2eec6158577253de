/**
 * The contracts of the qualification suite: the module under test (the pkcs11js call shapes the suite
 * uses, so a pkcs11js-loaded `.so` and corepkcs11's own token both fit), the independent verifier that
 * plays mbedTLS's part, and the platform hooks that play FRTest_ThreadCreate / FRTest_ThreadTimedJoin.
 * Layer L7; types only.
 * @module
 */

/** A slot, session or object handle: a Buffer holding the native CK_ULONG, as pkcs11js passes them. */
export type Handle = Buffer;

export interface Attribute {
  type: number;
  value?: number | boolean | string | Buffer;
}

export type Template = Attribute[];

export interface Mechanism {
  mechanism: number;
  parameter?: Buffer | number;
}

export interface MechanismInfo {
  minKeySize: number;
  maxKeySize: number;
  flags: number;
}

/**
 * The subset of pkcs11js's `PKCS11` class the suite calls. Errors are thrown as objects with a numeric
 * `code` (the CK_RV) and `message` = CKR name, as pkcs11js's Pkcs11Error and corepkcs11's own are. An
 * empty output Buffer is the JS form of C's NULL output pointer: pkcs11js passes it to the module as NULL,
 * which makes the call a length query.
 */
export interface Pkcs11Like {
  C_Initialize(options?: { flags?: number }): void;
  C_Finalize(): void;
  C_GetSlotList(tokenPresent?: boolean): Handle[];
  C_GetMechanismInfo(slot: Handle, mechanism: number): MechanismInfo;
  C_OpenSession(slot: Handle, flags: number): Handle;
  C_CloseSession(session: Handle): void;
  C_Login(session: Handle, userType: number, pin?: string): void;
  C_CreateObject(session: Handle, template: Template): Handle;
  C_DestroyObject(session: Handle, object: Handle): void;
  C_FindObjectsInit(session: Handle, template: Template): void;
  C_FindObjects(session: Handle, maxObjectCount: number): Handle[];
  C_FindObjectsFinal(session: Handle): void;
  C_GetAttributeValue(
    session: Handle,
    object: Handle,
    template: Template,
  ): Array<{ type: number; value?: Buffer }>;
  C_DigestInit(session: Handle, mechanism: Mechanism): void;
  C_DigestUpdate(session: Handle, data: Buffer): void;
  C_DigestFinal(session: Handle, out: Buffer): Buffer;
  C_SignInit(session: Handle, mechanism: Mechanism, key: Handle): void;
  C_Sign(session: Handle, data: Buffer, out: Buffer): Buffer;
  C_VerifyInit(session: Handle, mechanism: Mechanism, key: Handle): void;
  C_Verify(session: Handle, data: Buffer, signature: Buffer): boolean;
  C_GenerateKeyPair(
    session: Handle,
    mechanism: Mechanism,
    publicTemplate: Template,
    privateTemplate: Template,
  ): { privateKey: Handle; publicKey: Handle };
  C_GenerateRandom(session: Handle, out: Buffer): Buffer;
  /** Off-thread variants; when a module lacks them the tasks interleave sync calls with awaits. */
  C_SignAsync?(session: Handle, data: Buffer, out: Buffer): Promise<Buffer>;
  C_VerifyAsync?(session: Handle, data: Buffer, signature: Buffer): Promise<boolean>;
}

import type { Verifier } from '../crypto/verifier.js';

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
