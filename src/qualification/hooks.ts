/**
 * Two implementations of the seed's FRTest_ThreadCreate / FRTest_ThreadTimedJoin:
 * - in-process: each task is an async function started at once; tasks interleave their Cryptoki calls
 *   on the event loop, and a module's async variants (pkcs11js's C_SignAsync, …) run off-thread;
 * - worker threads: each task runs in its own `worker_threads` Worker holding its own module, loaded by
 *   the worker from a module URL (a `.so` through pkcs11js, or corepkcs11's token over the same store),
 *   so separate module instances work on one store at the same time.
 * Layer L7.
 * @module
 */
import { Worker } from 'node:worker_threads';
import { CKR_GENERAL_ERROR } from '../pkcs11/constants.js';
import { TASKS } from './tasks.js';
import type {
  Labels,
  PlatformHooks,
  TaskEnv,
  TaskFunction,
  TaskParams,
  ThreadHandle,
} from './types.js';
import { NOT_A_CKR, rvOf } from './unity.js';

interface Running {
  done: Promise<void>;
  stop?: () => void;
}

async function joinWithin(thread: ThreadHandle, timeoutMs: number): Promise<number> {
  const running = thread as Running;
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<number>((resolve) => {
    timer = setTimeout(() => resolve(1), timeoutMs);
  });
  try {
    const joined = await Promise.race([running.done.then(() => 0), timeout]);
    if (joined !== 0) running.stop?.();
    return joined;
  } finally {
    clearTimeout(timer);
  }
}

function recordThrow(params: TaskParams, e: unknown): void {
  const rv = rvOf(e);
  params.testResult = rv === NOT_A_CKR || rv === 0 ? CKR_GENERAL_ERROR : rv;
  params.detail = `task threw ${e instanceof Error ? `${e.name}: ${e.message}` : String(e)}`;
}

/** Tasks as concurrent async functions in this thread (the default). */
export function inProcessHooks(): PlatformHooks {
  return {
    threadCreate(fn: TaskFunction, params: TaskParams, env: TaskEnv): ThreadHandle {
      const done = (async () => {
        try {
          await fn(env, params);
        } catch (e) {
          recordThrow(params, e);
        }
      })();
      return { done } satisfies Running;
    },
    threadTimedJoin: joinWithin,
  };
}

/**
 * Where a worker gets its module: an ES module at `url` exporting
 * `loadModule(arg: string): Pkcs11Like | Promise<Pkcs11Like>` and `createVerifier(): Verifier`.
 */
export interface WorkerModuleSpec {
  url: string;
  arg: string;
}

/** What the main thread sends a worker (structured-clone safe). */
export interface WorkerRequest {
  spec: WorkerModuleSpec;
  task: string;
  taskNumber: number;
  labels: Labels;
  rsaCertificateLength: number;
  slotIndex: number;
  pin: string;
}

/** What a worker sends back. */
export interface WorkerReply {
  testResult: number;
  detail?: string;
}

/** Tasks in worker threads, each with its own module instance from `spec`. */
export function workerThreadHooks(
  spec: WorkerModuleSpec,
  session: { slotIndex: number; pin: string },
): PlatformHooks {
  return {
    threadCreate(fn: TaskFunction, params: TaskParams, env: TaskEnv): ThreadHandle | null {
      if (TASKS[fn.name] !== fn) return null;
      const request: WorkerRequest = {
        spec,
        task: fn.name,
        taskNumber: params.taskNumber,
        labels: env.labels,
        rsaCertificateLength: env.rsaCertificateLength,
        ...session,
      };
      let worker: Worker;
      const entry = new URL('./worker-entry.js', import.meta.url);
      try {
        // Workers inherit the process's flags, but refuse --input-type (a `node -e` parent) and the
        // per-process flags Node 22+'s test runner gives its children (--v8-pool-size, --secure-heap …):
        // then the worker runs without the parent's flags.
        const inherited = process.execArgv.filter((a) => !a.startsWith('--input-type'));
        try {
          worker = new Worker(entry, { workerData: request, execArgv: inherited });
        } catch (e) {
          if ((e as { code?: string }).code !== 'ERR_WORKER_INVALID_EXEC_ARGV') throw e;
          worker = new Worker(entry, { workerData: request, execArgv: [] });
        }
      } catch {
        return null;
      }
      const done = new Promise<void>((resolve) => {
        let replied = false;
        worker.once('message', (reply: WorkerReply) => {
          replied = true;
          params.testResult = reply.testResult;
          if (reply.detail !== undefined) params.detail = reply.detail;
        });
        worker.once('error', (e) => recordThrow(params, e));
        worker.once('exit', (code) => {
          if (!replied && params.testResult === 0) {
            params.testResult = CKR_GENERAL_ERROR;
            params.detail = `worker exited with code ${code} without a result`;
          }
          resolve();
        });
      });
      return { done, stop: () => void worker.terminate() } satisfies Running;
    },
    threadTimedJoin: joinWithin,
    separateModules: true,
  };
}
