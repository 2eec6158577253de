/**
 * DES and triple DES (v2.40 mechanisms §2.30–2.32), for tokens of the `compatible` profile only (they are
 * SoftHSMv2's; 56-bit DES is broken): key generation with odd parity, ECB, CBC and CBC_PAD, CKM_DES3_CMAC
 * (SP 800-38B with the 64-bit block) and its _GENERAL form, and the *_ENCRYPT_DATA derivations
 * (encrypt-data.ts). Node 20's OpenSSL has no
 * single DES, so every key runs as 3DES EDE: DES as K‖K‖K (which is single DES), DES2 as K1‖K2‖K1.
 * Layer L4.
 * @module
 */
import type { Profile } from '../objects/profile.js';
import { ede3Key } from '../objects/secret-keys.js';
import * as C from '../pkcs11/constants.js';
import { type BlockMode, blockModeCipher } from './block-modes.js';
import { secretKeyOf } from './common.js';
import { encryptDataMechanism } from './encrypt-data.js';
import { macMechanism } from './mac.js';
import { keyGen } from './secret-keygen.js';
import type { KeyRef, Mechanism } from './types.js';

const BLOCK = 8;
const PROFILES: readonly Profile[] = ['compatible'];
const FLAGS = C.CKF_ENCRYPT | C.CKF_DECRYPT | C.CKF_WRAP | C.CKF_UNWRAP;
const DES_KEYS = [C.CKK_DES];
const DES3_KEYS = [C.CKK_DES2, C.CKK_DES3];

const ede3 = (key: KeyRef) => ede3Key(secretKeyOf(key));

/** Key sizes in bytes: DES 8; the 3DES mechanisms take DES2 (16) and DES3 (24) keys. */
const sizesOf = (keyTypes: readonly number[]) =>
  keyTypes === DES_KEYS ? { minKeySize: 8, maxKeySize: 8 } : { minKeySize: 16, maxKeySize: 24 };

function cipherMechanism(type: number, keyTypes: readonly number[], mode: BlockMode): Mechanism {
  return {
    type,
    keyTypes,
    profiles: PROFILES,
    info: { ...sizesOf(keyTypes), flags: FLAGS },
    encrypt: (backend, m, key) =>
      blockModeCipher(backend, m, { cipher: 'des3', key: ede3(key) }, mode, BLOCK, true),
    decrypt: (backend, m, key) =>
      blockModeCipher(backend, m, { cipher: 'des3', key: ede3(key) }, mode, BLOCK, false),
  };
}

const des3Cmac = (general: boolean) =>
  macMechanism({
    type: general ? C.CKM_DES3_CMAC_GENERAL : C.CKM_DES3_CMAC,
    length: BLOCK,
    general,
    keyTypes: DES3_KEYS,
    open: (b, k) => b.createCmac(ede3Key(k), 'des3'),
    keySizes: [16, 24],
    profiles: PROFILES,
  });

export const DES_MECHANISMS: Mechanism[] = [
  keyGen(C.CKM_DES_KEY_GEN, [C.CKK_DES], [8, 8], PROFILES),
  keyGen(C.CKM_DES2_KEY_GEN, [C.CKK_DES2], [16, 16], PROFILES),
  keyGen(C.CKM_DES3_KEY_GEN, [C.CKK_DES3], [24, 24], PROFILES),
  cipherMechanism(C.CKM_DES_ECB, DES_KEYS, 'ecb'),
  cipherMechanism(C.CKM_DES_CBC, DES_KEYS, 'cbc'),
  cipherMechanism(C.CKM_DES_CBC_PAD, DES_KEYS, 'cbc-pad'),
  cipherMechanism(C.CKM_DES3_ECB, DES3_KEYS, 'ecb'),
  cipherMechanism(C.CKM_DES3_CBC, DES3_KEYS, 'cbc'),
  cipherMechanism(C.CKM_DES3_CBC_PAD, DES3_KEYS, 'cbc-pad'),
  des3Cmac(false),
  des3Cmac(true),
  ...(
    [
      [C.CKM_DES_ECB_ENCRYPT_DATA, DES_KEYS, 'ecb'],
      [C.CKM_DES_CBC_ENCRYPT_DATA, DES_KEYS, 'cbc'],
      [C.CKM_DES3_ECB_ENCRYPT_DATA, DES3_KEYS, 'ecb'],
      [C.CKM_DES3_CBC_ENCRYPT_DATA, DES3_KEYS, 'cbc'],
    ] as const
  ).map(([type, keyTypes, mode]) =>
    encryptDataMechanism({
      type,
      keyTypes,
      mode,
      block: BLOCK,
      key: (base) => ({ cipher: 'des3', key: ede3(base) }),
      profiles: PROFILES,
    }),
  ),
];
