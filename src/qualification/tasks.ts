/**
 * The bodies of the C suite's multi-thread tasks. Each loops PKCS11_TEST_MULTI_THREAD_LOOP_COUNT times on
 * its own session and writes its CK_RV into `params.testResult` (0 = success), with the reason in
 * `params.detail`. Tasks run concurrently: signing and verifying go through the module's async variants
 * (off the event loop in pkcs11js), and every iteration yields so the tasks' calls interleave. The same
 * functions run in-process or in a worker thread (looked up by name in TASKS). Layer L7.
 * @module
 */
import {
  CKA_EC_PARAMS,
  CKA_PRIVATE_EXPONENT,
  CKA_VALUE,
  CKM_ECDSA,
  CKO_CERTIFICATE,
  CKO_PRIVATE_KEY,
  CKO_PUBLIC_KEY,
  CKR_ATTRIBUTE_SENSITIVE,
  CKR_GENERAL_ERROR,
  CKR_OBJECT_HANDLE_INVALID,
  CKR_OK,
  CKR_SIGNATURE_INVALID,
} from '../pkcs11/constants.js';
import { findObjectWithLabelAndClass, getAttribute, P256_OID_DER, yieldTurn } from './cryptoki.js';
import type { Handle, TaskEnv, TaskFunction, TaskParams } from './types.js';
import { type CallResult, call, callAsync, describeRv, NOT_A_CKR } from './unity.js';

/** PKCS11_TEST_MULTI_THREAD_TASK_COUNT, _LOOP_COUNT and PKCS11_TEST_WAIT_THREAD_TIMEOUT_MS. */
export const MULTI_THREAD_TASK_COUNT = 2;
export const MULTI_THREAD_LOOP_COUNT = 10;
export const WAIT_THREAD_TIMEOUT_MS = 1_000_000;

/** Records a failed step and ends the task, like the C tasks' `break` with TEST_PRINTF. */
function failTask(params: TaskParams, rv: number, detail: string, count: number): void {
  params.testResult = rv === CKR_OK || rv === NOT_A_CKR ? CKR_GENERAL_ERROR : rv;
  params.detail = `${detail} Count: ${count}`;
}

/** Fails the task unless `r` is CKR_OK (and `valid`), with `what` and the CK_RV; true when it failed. */
function failed(
  params: TaskParams,
  r: CallResult<unknown>,
  what: string,
  count: number,
  valid = true,
): boolean {
  if (r.rv === CKR_OK && valid) return false;
  failTask(params, r.rv, `${what} Error: ${describeRv(r)}`, count);
  return true;
}

function need(h: Handle | undefined, what: string): Handle {
  if (!h) throw new Error(`task started without a ${what} handle`);
  return h;
}

/** prvGenerateRandomMultiThreadTask. */
export async function generateRandomMultiThreadTask(env: TaskEnv, params: TaskParams) {
  const { session } = params.data;
  for (let i = 0; i < MULTI_THREAD_LOOP_COUNT; i++) {
    const r = call(() => env.p11.C_GenerateRandom(session, Buffer.alloc(10)));
    if (failed(params, r, 'GenerateRandom multi-thread task failed.', i)) return;
    await yieldTurn();
  }
  params.testResult = CKR_OK;
}

/** prvFindObjectMultiThreadTask: find the private key, certificate and public key by label. */
export async function findObjectMultiThreadTask(env: TaskEnv, params: TaskParams) {
  const { session } = params.data;
  const targets: Array<[string, number, string]> = [
    [env.labels.privateKey, CKO_PRIVATE_KEY, 'private key'],
    [env.labels.certificate, CKO_CERTIFICATE, 'certificate'],
    [env.labels.publicKey, CKO_PUBLIC_KEY, 'public key'],
  ];
  for (let i = 0; i < MULTI_THREAD_LOOP_COUNT; i++) {
    for (const [label, objectClass, what] of targets) {
      const found = findObjectWithLabelAndClass(env.p11, session, label, objectClass);
      const why = `FindObject multithreaded task failed to find ${what}.`;
      if (failed(params, found.rv, why, i)) return;
      if (!found.handle) {
        const why = `FindObject multi-thread task failed to find ${what}. Invalid object handle returned.`;
        return failTask(params, CKR_OBJECT_HANDLE_INVALID, why, i);
      }
      await yieldTurn();
    }
  }
  params.testResult = CKR_OK;
}

/** prvRSAGetAttributeValueMultiThreadTask: certificate value twice, then the sensitive exponent. */
export async function rsaGetAttributeValueMultiThreadTask(env: TaskEnv, params: TaskParams) {
  const { session } = params.data;
  const certificate = need(params.data.certificate, 'certificate');
  const privateKey = need(params.data.privateKey, 'private key');
  const expected = env.rsaCertificateLength;
  for (let i = 0; i < MULTI_THREAD_LOOP_COUNT; i++) {
    for (const step of ['length', 'value']) {
      const r = getAttribute(env.p11, session, certificate, CKA_VALUE);
      if (r.rv !== CKR_OK) {
        return failTask(
          params,
          r.rv,
          `Failed to get RSA certificate ${step}: ${describeRv(r)}.`,
          i,
        );
      }
      if (r.value?.length !== expected) {
        const why = `GetAttributeValue returned incorrect length of RSA certificate value (${r.value?.length}, expected ${expected}).`;
        return failTask(params, CKR_GENERAL_ERROR, why, i);
      }
      await yieldTurn();
    }
    const secret = getAttribute(env.p11, session, privateKey, CKA_PRIVATE_EXPONENT);
    if (secret.rv !== CKR_ATTRIBUTE_SENSITIVE) {
      const why = `Incorrect error code retrieved when trying to obtain private key: ${describeRv(secret)}.`;
      return failTask(params, secret.rv === CKR_OK ? CKR_GENERAL_ERROR : secret.rv, why, i);
    }
    await yieldTurn();
  }
  params.testResult = CKR_OK;
}

/**
 * prvECGetAttributeValueMultiThreadTask: the private key's EC params on the task's session, and the
 * certificate value on the *global* session as the C task does, which must parse as X.509.
 */
export async function ecGetAttributeValueMultiThreadTask(env: TaskEnv, params: TaskParams) {
  const { session } = params.data;
  const privateKey = need(params.data.privateKey, 'private key');
  const certificate = need(params.data.certificate, 'certificate');
  const globalSession = params.data.globalSession ?? session;
  for (let i = 0; i < MULTI_THREAD_LOOP_COUNT; i++) {
    const ecParams = getAttribute(env.p11, session, privateKey, CKA_EC_PARAMS);
    const why = "GetAttributeValue multithread test failed to get private key's EC Params.";
    if (failed(params, ecParams, why, i)) return;
    if (!ecParams.value?.equals(P256_OID_DER)) {
      const why = 'GetAttributeValue multithread test returned an incorrect value for EC Params.';
      return failTask(params, CKR_GENERAL_ERROR, why, i);
    }
    await yieldTurn();
    const cert = getAttribute(env.p11, globalSession, certificate, CKA_VALUE);
    if (failed(params, cert, 'GetAttributeValue multi-thread task failed to get certificate.', i))
      return;
    if (!cert.value || cert.value.length > 1000 || !env.verifier.parsesAsCertificate(cert.value)) {
      const why = 'GetAttributeValue multi-thread task found an invalid certificate value.';
      return failTask(params, CKR_GENERAL_ERROR, why, i);
    }
    await yieldTurn();
  }
  params.testResult = CKR_OK;
}

async function sign(env: TaskEnv, session: Handle, data: Buffer): Promise<CallResult<Buffer>> {
  const out = Buffer.alloc(64);
  const p11 = env.p11;
  if (p11.C_SignAsync) return callAsync(() => p11.C_SignAsync!(session, data, out));
  await yieldTurn();
  return call(() => p11.C_Sign(session, data, out));
}

async function verify(env: TaskEnv, session: Handle, data: Buffer, sig: Buffer) {
  const p11 = env.p11;
  let r: CallResult<boolean>;
  if (p11.C_VerifyAsync) {
    r = await callAsync(() => p11.C_VerifyAsync!(session, data, sig));
  } else {
    await yieldTurn();
    r = call(() => p11.C_Verify(session, data, sig));
  }
  // pkcs11js reports CKR_SIGNATURE_INVALID by throwing; a module returning false means the same.
  return r.rv === CKR_OK && r.value === false ? { rv: CKR_SIGNATURE_INVALID } : r;
}

/** prvECSignVerifyMultiThreadTask: SignInit → Sign → VerifyInit → Verify, ten times. */
export async function ecSignVerifyMultiThreadTask(env: TaskEnv, params: TaskParams) {
  const { session } = params.data;
  const privateKey = need(params.data.privateKey, 'private key');
  const publicKey = need(params.data.publicKey, 'public key');
  const hash = Buffer.alloc(32);
  hash[0] = 0xab;
  const mechanism = { mechanism: CKM_ECDSA };
  for (let i = 0; i < MULTI_THREAD_LOOP_COUNT; i++) {
    const init = call(() => env.p11.C_SignInit(session, mechanism, privateKey));
    if (failed(params, init, 'Sign multi-threaded test failed to SignInit.', i)) return;
    const signature = await sign(env, session, hash);
    const what = 'Sign multi-threaded test failed to Sign.';
    if (failed(params, signature, what, i, !!signature.value)) return;
    const sig = Buffer.alloc(64);
    signature.value?.copy(sig);
    const vinit = call(() => env.p11.C_VerifyInit(session, mechanism, publicKey));
    if (failed(params, vinit, 'Multithread VerifyInit failed.', i)) return;
    const verified = await verify(env, session, hash, sig);
    if (failed(params, verified, 'Multithread Verify failed.', i)) return;
  }
  params.testResult = CKR_OK;
}

/** Every task by name, so a worker thread can run the one the main thread asked for. */
export const TASKS: Readonly<Record<string, TaskFunction>> = Object.freeze({
  generateRandomMultiThreadTask,
  findObjectMultiThreadTask,
  rsaGetAttributeValueMultiThreadTask,
  ecGetAttributeValueMultiThreadTask,
  ecSignVerifyMultiThreadTask,
});
