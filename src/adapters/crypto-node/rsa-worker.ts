/**
 * Raw RSA private-key operations off the event loop. node:crypto's `sign` has a thread-pool form, but
 * `privateEncrypt` (CKM_RSA_PKCS over a DigestInfo, CKM_RSA_X_509, PSS over a caller's digest) has
 * none, so C_SignAsync runs those in one worker thread. The worker holds the process open only while
 * an answer is owed. Its entry is rsa-worker-entry.ts.
 * @module
 */
import type { KeyObject } from 'node:crypto';
import { Worker } from 'node:worker_threads';

interface Pending {
  resolve(out: Uint8Array): void;
  reject(e: Error): void;
}

let worker: Worker | undefined;
let nextId = 0;
const pending = new Map<number, Pending>();

function failAll(w: Worker, e: Error): void {
  if (worker === w) worker = undefined;
  for (const p of pending.values()) p.reject(e);
  pending.clear();
}

function start(): Worker {
  const w = new Worker(new URL('./rsa-worker-entry.js', import.meta.url));
  w.on('message', (m: { id: number; out?: Uint8Array; error?: string }) => {
    const p = pending.get(m.id);
    pending.delete(m.id);
    if (pending.size === 0) w.unref();
    if (m.out) p?.resolve(new Uint8Array(m.out));
    else p?.reject(new Error(m.error ?? 'RSA worker failed'));
  });
  w.on('error', (e) => failAll(w, e));
  w.on('exit', (code) => failAll(w, new Error(`RSA worker exited (${code})`)));
  w.unref();
  return w;
}

/** privateEncrypt({ key, padding }, input) in the worker; rejects with the library's error. */
export function privateEncryptAsync(
  key: KeyObject,
  padding: number,
  input: Uint8Array,
): Promise<Uint8Array> {
  worker ??= start();
  const w = worker;
  const id = nextId++;
  return new Promise((resolve, reject) => {
    pending.set(id, { resolve, reject });
    w.ref();
    w.postMessage({ id, key, padding, input });
  });
}
