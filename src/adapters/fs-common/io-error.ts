/**
 * File-system failures as the PAL contract reports them: a full disk or quota is CKR_DEVICE_MEMORY,
 * anything else CKR_DEVICE_ERROR, with the operation and the system's message in the detail.
 * @module
 */
import { Pkcs11Error } from '../../errors.js';
import { CKR_DEVICE_ERROR, CKR_DEVICE_MEMORY } from '../../pkcs11/constants.js';

export function ioError(what: string, e: unknown): Pkcs11Error {
  const code = (e as NodeJS.ErrnoException).code;
  const ckr = code === 'ENOSPC' || code === 'EDQUOT' ? CKR_DEVICE_MEMORY : CKR_DEVICE_ERROR;
  return new Pkcs11Error(ckr, `${what}: ${(e as Error).message}`, { cause: e });
}
