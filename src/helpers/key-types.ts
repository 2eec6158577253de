/**
 * Key types in pkcs11-tool's spelling, as `keygen --key-type` and `provision --key-type` take them:
 * key pairs (`EC:prime256v1`, `EC:ed25519`, `EC:x25519`, `rsa:2048`, `DSA:2048`) and secret keys
 * (`AES:256`, `DES3`, `CHACHA20`, `GENERIC:32`), with the generation mechanism each needs. Layer L7.
 * @module
 */
import { CURVES, curveNamed } from '../crypto/curves.js';
import {
  CKK_AES,
  CKK_CHACHA20,
  CKK_DES,
  CKK_DES2,
  CKK_DES3,
  CKK_GENERIC_SECRET,
  CKM_AES_KEY_GEN,
  CKM_CHACHA20_KEY_GEN,
  CKM_DES_KEY_GEN,
  CKM_DES2_KEY_GEN,
  CKM_DES3_KEY_GEN,
  CKM_GENERIC_SECRET_KEY_GEN,
} from '../pkcs11/constants.js';
import { badInput } from './module.js';
import type { EcCurve } from './pki.js';

/** A key pair's type: a curve of the table (Weierstrass, Edwards or Montgomery), RSA or DSA. */
export type KeyTypeSpec =
  | { kind: 'ec'; curve: EcCurve }
  | { kind: 'rsa'; bits: number }
  | { kind: 'dsa'; bits: number };

/** A secret key's type, its length in bytes, and the mechanism that makes it. */
export interface SecretKeySpec {
  kind: 'secret';
  /** The name as given (`AES`, `DES3` …), upper case. */
  name: string;
  keyType: number;
  bytes: number;
  mechanism: number;
  /** True when the key type fixes the length (DES, DES2, DES3, ChaCha20): no CKA_VALUE_LEN. */
  fixedLength: boolean;
}

/** Secret key types by the names pkcs11-tool and the mechanisms use, and the lengths each takes. */
const SECRETS: Readonly<Record<string, { keyType: number; mechanism: number; sizes: number[] }>> = {
  aes: { keyType: CKK_AES, mechanism: CKM_AES_KEY_GEN, sizes: [16, 24, 32] },
  des: { keyType: CKK_DES, mechanism: CKM_DES_KEY_GEN, sizes: [8] },
  des2: { keyType: CKK_DES2, mechanism: CKM_DES2_KEY_GEN, sizes: [16] },
  des3: { keyType: CKK_DES3, mechanism: CKM_DES3_KEY_GEN, sizes: [24] },
  chacha20: { keyType: CKK_CHACHA20, mechanism: CKM_CHACHA20_KEY_GEN, sizes: [32] },
  generic: {
    keyType: CKK_GENERIC_SECRET,
    mechanism: CKM_GENERIC_SECRET_KEY_GEN,
    sizes: Array.from({ length: 512 }, (_, i) => i + 1),
  },
};

const KNOWN = `${CURVES.map((c) => `EC:${c.openssl}`).join(', ')}, rsa:2048, rsa:3072, rsa:4096, DSA:1024, DSA:2048, DSA:3072`;
const KNOWN_SECRET = 'AES:128, AES:192, AES:256, DES, DES2, DES3, CHACHA20, GENERIC:<1-512 bytes>';

function split(spec: string): { kind: string; arg: string; n: number | undefined } {
  const m = /^([a-z0-9]+)(?::(.+))?$/i.exec(spec.trim());
  const arg = m?.[2] ?? '';
  return { kind: m?.[1]?.toLowerCase() ?? '', arg, n: /^\d+$/.test(arg) ? Number(arg) : undefined };
}

function pairType(spec: string): KeyTypeSpec | undefined {
  const { kind, arg, n } = split(spec);
  if (kind === 'ec') {
    const c = curveNamed(arg);
    return c ? { kind: 'ec', curve: c.name } : undefined;
  }
  if (kind === 'rsa' && n !== undefined && n >= 1024 && n <= 16384 && n % 8 === 0) {
    return { kind: 'rsa', bits: n };
  }
  if (kind === 'dsa' && n !== undefined && [1024, 2048, 3072].includes(n)) {
    return { kind: 'dsa', bits: n };
  }
  return undefined;
}

function secretType(spec: string): SecretKeySpec | undefined {
  const { kind, arg, n } = split(spec);
  const s = SECRETS[kind];
  if (!s) return undefined;
  // AES lengths are bits (pkcs11-tool's AES:256), generic secrets' bytes; no length: the largest.
  const bytes = arg === '' ? s.sizes[s.sizes.length - 1] : kind === 'aes' ? (n ?? 0) / 8 : n;
  if (bytes === undefined || !s.sizes.includes(bytes)) return undefined;
  return {
    kind: 'secret',
    name: kind.toUpperCase(),
    keyType: s.keyType,
    bytes,
    mechanism: s.mechanism,
    fixedLength: s.sizes.length === 1,
  };
}

/** A key pair type (CKR_ARGUMENTS_BAD naming the known ones for anything else). */
export function parseKeyType(spec: string): KeyTypeSpec {
  const t = pairType(spec);
  if (t) return t;
  throw badInput(`unknown key pair type '${spec}' (${KNOWN})`);
}

/** A key pair type or a secret key type, as `keygen --key-type` takes them. */
export function parseAnyKeyType(spec: string): KeyTypeSpec | SecretKeySpec {
  const t = pairType(spec) ?? secretType(spec);
  if (t) return t;
  throw badInput(`unknown key type '${spec}' (${KNOWN}, ${KNOWN_SECRET})`);
}

/** How a key type is named to people: `EC Ed25519`, `RSA 2048`, `DSA 2048`, `AES 256`, `DES3`. */
export function describeKeyType(k: KeyTypeSpec | SecretKeySpec): string {
  if (k.kind === 'ec') return `EC ${k.curve}`;
  if (k.kind === 'rsa') return `RSA ${k.bits}`;
  if (k.kind === 'dsa') return `DSA ${k.bits}`;
  if (k.fixedLength) return k.name;
  return `${k.name} ${k.name === 'AES' ? k.bytes * 8 : k.bytes}`;
}
