/**
 * The RSA worker thread (rsa-worker.ts): runs `privateEncrypt` for each request and posts the result
 * or the library's error message back.
 * @module
 */
import { type KeyObject, privateEncrypt } from 'node:crypto';
import { parentPort } from 'node:worker_threads';

interface Request {
  id: number;
  key: KeyObject;
  padding: number;
  input: Uint8Array;
}

parentPort?.on('message', ({ id, key, padding, input }: Request) => {
  try {
    parentPort?.postMessage({ id, out: privateEncrypt({ key, padding }, input) });
  } catch (e) {
    parentPort?.postMessage({ id, error: (e as Error).message });
  }
});
