/**
 * Small JSON records with a CRC-32 trailer, for the token's own bookkeeping (token state, object index).
 * A torn or damaged record reads as CKR_DEVICE_ERROR. Layer L2.
 * @module
 */
import { Pkcs11Error } from '../errors.js';
import { CKR_DEVICE_ERROR } from '../pkcs11/constants.js';
import { crc32 } from '../util/crc32.js';

export function encodeJsonRecord(value: unknown): Uint8Array {
  const body = new TextEncoder().encode(JSON.stringify(value));
  const out = new Uint8Array(body.length + 4);
  out.set(body);
  new DataView(out.buffer).setUint32(body.length, crc32(body));
  return out;
}

export function decodeJsonRecord(bytes: Uint8Array, what: string): unknown {
  if (bytes.length < 4) throw new Pkcs11Error(CKR_DEVICE_ERROR, `${what}: record too short`);
  const body = bytes.subarray(0, bytes.length - 4);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (dv.getUint32(body.length) !== crc32(body)) {
    throw new Pkcs11Error(CKR_DEVICE_ERROR, `${what}: checksum mismatch`);
  }
  try {
    return JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(body));
  } catch (e) {
    throw new Pkcs11Error(CKR_DEVICE_ERROR, `${what}: not JSON`, { cause: e });
  }
}
