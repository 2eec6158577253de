/**
 * A worker-thread module source for the concurrency test: loads SoftHSMv2 like softhsm.ts, and reports
 * from inside each worker (over a BroadcastChannel) that a module was loaded in a thread other than the
 * main one.
 * @module
 */
import { BroadcastChannel, isMainThread, threadId } from 'node:worker_threads';
import type { Pkcs11Like } from '../../../src/qualification/index.js';
import { loadModule as loadSoftHsm } from './softhsm.js';

export { createVerifier } from './softhsm.js';

export const PROBE_CHANNEL = 'corepkcs11-qualification-probe';

export function loadModule(library: string): Pkcs11Like {
  const channel = new BroadcastChannel(PROBE_CHANNEL);
  channel.postMessage({ threadId, isMainThread });
  channel.close();
  return loadSoftHsm(library);
}
