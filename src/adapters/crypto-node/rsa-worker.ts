/**
 * Raw RSA private-key operations off the event loop. node:crypto's `sign` has a thread-pool form, but
 * `privateEncrypt` (CKM_RSA_PKCS over a DigestInfo, CKM_RSA_X_509, PSS over a caller's digest) and
 * `privateDecrypt` (OAEP, raw) have none, so C_SignAsync and C_DecryptAsync run those in one worker thread. The worker holds the process open only while
 * an answer is owed. Its entry is rsa-worker-entry.ts.
 * @module
 */
import type { KeyObject, RsaPrivateKey } from 'node:crypto';
import { Worker } from 'node:worker_threads';
import { refused } from './input.js';

interface Pending {
  resolve(out: Uint8Array): void;
  reject(e: Error): void;
  /** The CKR and detail of a refusal by the library: what is wrong with the caller's input. */
  refusal: readonly [number, string];
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
    // The library refused the input: the caller's data, as in the synchronous calls.
    else if (p) p.reject(refused(p.refusal[0], `${p.refusal[1]} (${m.error})`));
  });
  w.on('error', (e) => failAll(w, e));
  w.on('exit', (code) => failAll(w, new Error(`RSA worker exited (${code})`)));
  w.unref();
  return w;
}

/**
 * privateEncrypt (or, with `decrypt`, privateDecrypt) of `input` in the worker: the `refusal` CKR when
 * the library refuses the input; a worker that dies is a bug and rejects with its own error.
 */
export function privateOpAsync(
  decrypt: boolean,
  key: KeyObject,
  options: Omit<RsaPrivateKey, 'key'>,
  input: Uint8Array,
  refusal: readonly [number, string],
): Promise<Uint8Array> {
  worker ??= start();
  const w = worker;
  const id = nextId++;
  return new Promise((resolve, reject) => {
    pending.set(id, { resolve, reject, refusal });
    w.ref();
    w.postMessage({ id, decrypt, key, options, input });
  });
}
