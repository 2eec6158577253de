/**
 * AES-256-GCM sealing and HKDF-SHA256 over node:crypto, for keys at rest: iv (12) ‖ ciphertext ‖ tag (16).
 * @module
 */
import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';

const IV = 12;
const TAG = 16;

export function seal(key: Uint8Array, plaintext: Uint8Array, aad: Uint8Array): Uint8Array {
  const iv = randomBytes(IV);
  const c = createCipheriv('aes-256-gcm', key, iv);
  c.setAAD(aad);
  const body = Buffer.concat([c.update(plaintext), c.final()]);
  return new Uint8Array(Buffer.concat([iv, body, c.getAuthTag()]));
}

export function open(key: Uint8Array, sealed: Uint8Array, aad: Uint8Array): Uint8Array | undefined {
  if (sealed.length < IV + TAG || key.length !== 32) return undefined;
  try {
    const d = createDecipheriv('aes-256-gcm', key, sealed.subarray(0, IV));
    d.setAAD(aad);
    d.setAuthTag(sealed.subarray(sealed.length - TAG));
    return new Uint8Array(
      Buffer.concat([d.update(sealed.subarray(IV, sealed.length - TAG)), d.final()]),
    );
  } catch {
    return undefined;
  }
}

export function hkdf(
  ikm: Uint8Array,
  salt: Uint8Array,
  info: Uint8Array,
  length: number,
): Uint8Array {
  return new Uint8Array(hkdfSync('sha256', ikm, salt, info, length));
}
