/**
 * The RSA worker thread (rsa-worker.ts): runs `privateEncrypt` or `privateDecrypt` for each request and
 * posts the result or the library's error message back.
 * @module
 */
import { type KeyObject, privateDecrypt, privateEncrypt, type RsaPrivateKey } from 'node:crypto';
import { parentPort } from 'node:worker_threads';

interface Request {
  id: number;
  decrypt: boolean;
  key: KeyObject;
  options: Omit<RsaPrivateKey, 'key'>;
  input: Uint8Array;
}

parentPort?.on('message', ({ id, decrypt, key, options, input }: Request) => {
  try {
    const run = decrypt ? privateDecrypt : privateEncrypt;
    parentPort?.postMessage({ id, out: run({ key, ...options }, input) });
  } catch (e) {
    parentPort?.postMessage({ id, error: (e as Error).message });
  }
});
