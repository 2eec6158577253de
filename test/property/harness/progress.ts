/**
 * The heartbeat between a suite running in a worker and the watchdog in the parent: a shared counter
 * bumped at every step and the id of the step's label, so a step that never returns (a synchronous
 * loop, a promise that never settles) is caught and named rather than hanging the test run.
 * @module
 */
import { isMainThread, parentPort } from 'node:worker_threads';

let beat: Int32Array | undefined;
const ids = new Map<string, number>();

/** Called once in the worker with the buffer the watchdog reads. */
export function attachHeartbeat(buffer: SharedArrayBuffer): void {
  beat = new Int32Array(buffer);
}

/** Marks the start of a step (an API call, a parse, a command). Cheap enough for every call. */
export function progress(label: string): void {
  if (!beat) return;
  let id = ids.get(label);
  if (id === undefined) {
    id = ids.size + 1;
    ids.set(label, id);
    if (!isMainThread) parentPort?.postMessage({ type: 'label', id, label });
  }
  Atomics.store(beat, 1, id);
  Atomics.add(beat, 0, 1);
}
