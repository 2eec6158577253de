/**
 * Entry point of a qualification worker thread: load an own module instance, initialise it (a `.so`
 * dlopen'ed twice in one process is one instance, so "already initialised" is fine and then left
 * initialised), open and log in an own session, find the test objects by label, run the requested task
 * and post its result. Layer L7.
 * @module
 */
import { parentPort, workerData } from 'node:worker_threads';
import {
  CKO_CERTIFICATE,
  CKO_PRIVATE_KEY,
  CKO_PUBLIC_KEY,
  CKR_CRYPTOKI_ALREADY_INITIALIZED,
  CKR_GENERAL_ERROR,
  CKR_OK,
  CKR_USER_ALREADY_LOGGED_IN,
} from '../pkcs11/constants.js';
import {
  findObjectWithLabelAndClass,
  initializePkcs11,
  initializePkcs11Session,
} from './cryptoki.js';
import type { WorkerReply, WorkerRequest } from './hooks.js';
import { TASKS } from './tasks.js';
import type { Pkcs11Like, TaskParams, Verifier } from './types.js';
import { call, describeRv } from './unity.js';

interface ModuleSource {
  loadModule(arg: string): Pkcs11Like | Promise<Pkcs11Like>;
  createVerifier(): Verifier;
}

async function run(req: WorkerRequest): Promise<WorkerReply> {
  const task = TASKS[req.task];
  if (!task) return { testResult: CKR_GENERAL_ERROR, detail: `unknown task ${req.task}` };
  const source = (await import(req.spec.url)) as ModuleSource;
  const p11 = await source.loadModule(req.spec.arg);
  const init = initializePkcs11(p11);
  if (init.rv !== CKR_OK && init.rv !== CKR_CRYPTOKI_ALREADY_INITIALIZED) {
    return { testResult: CKR_GENERAL_ERROR, detail: `worker C_Initialize: ${describeRv(init)}` };
  }
  const ownsModule = init.rv === CKR_OK;
  try {
    const { rv, session } = initializePkcs11Session(p11, req.slotIndex, req.pin);
    if (!session || (rv.rv !== CKR_OK && rv.rv !== CKR_USER_ALREADY_LOGGED_IN)) {
      return { testResult: CKR_GENERAL_ERROR, detail: `worker session: ${describeRv(rv)}` };
    }
    const find = (label: string, cls: number) =>
      findObjectWithLabelAndClass(p11, session, label, cls).handle ?? undefined;
    const params: TaskParams = {
      taskNumber: req.taskNumber,
      testResult: 0,
      data: {
        session,
        // A separate module instance cannot use the main thread's session: the global-session
        // certificate read of the EC GetAttributeValue task uses this worker's own session.
        globalSession: session,
        privateKey: find(req.labels.privateKey, CKO_PRIVATE_KEY),
        publicKey: find(req.labels.publicKey, CKO_PUBLIC_KEY),
        certificate: find(req.labels.certificate, CKO_CERTIFICATE),
      },
    };
    const env = {
      p11,
      verifier: source.createVerifier(),
      labels: req.labels,
      rsaCertificateLength: req.rsaCertificateLength,
    };
    try {
      await task(env, params);
    } catch (e) {
      params.testResult = CKR_GENERAL_ERROR;
      params.detail = `task threw ${e instanceof Error ? e.message : String(e)}`;
    }
    call(() => p11.C_CloseSession(session));
    return { testResult: params.testResult, ...(params.detail ? { detail: params.detail } : {}) };
  } finally {
    if (ownsModule) call(() => p11.C_Finalize());
  }
}

const request = workerData as WorkerRequest;
run(request).then(
  (reply) => parentPort?.postMessage(reply),
  (e: unknown) =>
    parentPort?.postMessage({
      testResult: CKR_GENERAL_ERROR,
      detail: `worker failed: ${e instanceof Error ? e.message : String(e)}`,
    } satisfies WorkerReply),
);
