/**
 * CK_MECHANISM on the wire (`M`, p11-kit rpc-message.c) in both encodings p11-kit has used, and its conversion
 * to the engine's RawMechanism.
 *
 * Protocol 0 and 1 (p11-kit 0.24, 0.25): uint32 type, then the parameter in the form its type's
 * serializer defines, or a byte array (0xffffffff = none) for every other type. Protocol 2 (0.26, same
 * commit that added C_DeriveKey2): types on p11-kit's "no parameter" list carry nothing after the type;
 * the others carry a presence byte, then the serializer's form. The reference's advice to answer the
 * version byte with 0 would break 0.26 clients: they encode mechanisms the new way whatever the
 * negotiated version, so the server negotiates up to 2 and decodes by the version it answered.
 * 0xffffffff as the type (0.25+) is the NULL mechanism of a PKCS#11 3.0 "cancel" C_*Init. Layer L7.
 * @module
 */
import * as C from '../pkcs11/constants.js';
import type { RawMechanism } from '../pkcs11/types.js';
import { malformed, type WireReader, type WireWriter } from './wire.js';

export type WireParam =
  | { form: 'none' }
  | { form: 'bytes'; data: Uint8Array }
  | { form: 'pss'; hashAlg: number; mgf: number; saltLen: number }
  | { form: 'oaep'; hashAlg: number; mgf: number; source: number; sourceData: Uint8Array | null }
  | { form: 'ecdh1'; kdf: number; sharedData: Uint8Array | null; publicData: Uint8Array | null }
  | { form: 'ctr'; counterBits: number; block: Uint8Array }
  | { form: 'gcm'; iv: Uint8Array | null; ivBits: number; aad: Uint8Array | null; tagBits: number }
  | { form: 'ulong'; value: number }
  /** IBM vendor structures: kept as the wire bytes they arrived in; the engine rejects the type. */
  | { form: 'opaque'; data: Uint8Array };

export interface WireMechanism {
  type: number;
  param: WireParam;
}

export const NULL_MECHANISM = 0xffff_ffff;

type Shape = 'pss' | 'oaep' | 'ecdh1' | 'iv16' | 'iv8' | 'ctr' | 'gcm' | 'ulong' | 'dh' | IbmShape;
type IbmShape = 'ibm-u64' | 'ibm-btc' | 'ibm-kyber';

const V = C.CKM_VENDOR_DEFINED;
const SHAPES = new Map<number, Shape>();
function shape(s: Shape, types: number[]): void {
  for (const t of types) SHAPES.set(t, s);
}
shape('pss', [
  C.CKM_RSA_PKCS_PSS,
  C.CKM_SHA1_RSA_PKCS_PSS,
  C.CKM_SHA224_RSA_PKCS_PSS,
  C.CKM_SHA256_RSA_PKCS_PSS,
  C.CKM_SHA384_RSA_PKCS_PSS,
  C.CKM_SHA512_RSA_PKCS_PSS,
]);
shape('oaep', [C.CKM_RSA_PKCS_OAEP]);
shape('ecdh1', [C.CKM_ECDH1_DERIVE, V + 0x1001b, V + 0x1001e]);
shape('iv16', [
  C.CKM_AES_CBC,
  C.CKM_AES_CBC_PAD,
  C.CKM_AES_OFB,
  C.CKM_AES_CFB1,
  C.CKM_AES_CFB8,
  C.CKM_AES_CFB64,
  C.CKM_AES_CFB128,
  C.CKM_AES_CTS,
]);
shape('iv8', [
  C.CKM_DES_CBC,
  C.CKM_DES_CBC_PAD,
  C.CKM_DES3_CBC,
  C.CKM_DES3_CBC_PAD,
  C.CKM_DES_CFB8,
  C.CKM_DES_CFB64,
  C.CKM_DES_OFB64,
]);
shape('ctr', [C.CKM_AES_CTR]);
shape('gcm', [C.CKM_AES_GCM]);
shape('ulong', [
  C.CKM_SHA_1_HMAC_GENERAL,
  C.CKM_SHA224_HMAC_GENERAL,
  C.CKM_SHA256_HMAC_GENERAL,
  C.CKM_SHA384_HMAC_GENERAL,
  C.CKM_SHA512_HMAC_GENERAL,
  C.CKM_SHA512_224_HMAC_GENERAL,
  C.CKM_SHA512_256_HMAC_GENERAL,
  C.CKM_AES_MAC_GENERAL,
  C.CKM_AES_CMAC_GENERAL,
  C.CKM_DES3_MAC_GENERAL,
  C.CKM_DES3_CMAC_GENERAL,
]);
shape('dh', [C.CKM_DH_PKCS_DERIVE]);
shape('ibm-u64', [V + 0x10031, V + 0x20004]);
shape('ibm-btc', [V + 0x70001]);
shape('ibm-kyber', [V + 0x10024]);

/** p11-kit 0.26's mechanism_has_no_parameters list: with protocol 2 these carry no parameter bytes. */
const NO_PARAMETER_V2 = new Set<number>([
  ...[C.CKM_RSA_PKCS_KEY_PAIR_GEN, C.CKM_RSA_X9_31_KEY_PAIR_GEN, C.CKM_RSA_PKCS, C.CKM_RSA_9796],
  ...[
    C.CKM_RSA_X_509,
    C.CKM_RSA_X9_31,
    C.CKM_MD2_RSA_PKCS,
    C.CKM_MD5_RSA_PKCS,
    C.CKM_SHA1_RSA_PKCS,
  ],
  ...[C.CKM_SHA224_RSA_PKCS, C.CKM_SHA256_RSA_PKCS, C.CKM_SHA384_RSA_PKCS, C.CKM_SHA512_RSA_PKCS],
  ...[C.CKM_RIPEMD128_RSA_PKCS, C.CKM_RIPEMD160_RSA_PKCS, C.CKM_SHA1_RSA_X9_31],
  ...[C.CKM_DSA_KEY_PAIR_GEN, C.CKM_DSA_PARAMETER_GEN, C.CKM_DSA, C.CKM_DSA_SHA1],
  ...[C.CKM_FORTEZZA_TIMESTAMP, C.CKM_EC_KEY_PAIR_GEN, C.CKM_ECDSA, C.CKM_ECDSA_SHA1],
  ...[C.CKM_ECDSA_SHA224, C.CKM_ECDSA_SHA256, C.CKM_ECDSA_SHA384, C.CKM_ECDSA_SHA512],
  ...[C.CKM_DH_PKCS_KEY_PAIR_GEN, C.CKM_DH_PKCS_PARAMETER_GEN, C.CKM_X9_42_DH_KEY_PAIR_GEN],
  ...[C.CKM_X9_42_DH_PARAMETER_GEN, C.CKM_KEA_KEY_PAIR_GEN, C.CKM_GENERIC_SECRET_KEY_GEN],
  ...[C.CKM_RC2_KEY_GEN, C.CKM_RC4_KEY_GEN, C.CKM_RC4, C.CKM_RC5_KEY_GEN, C.CKM_AES_KEY_GEN],
  ...[C.CKM_AES_ECB, C.CKM_AES_MAC, C.CKM_AES_CMAC, C.CKM_DES_KEY_GEN, C.CKM_DES2_KEY_GEN],
  ...[C.CKM_DES3_KEY_GEN, C.CKM_CDMF_KEY_GEN, C.CKM_CAST_KEY_GEN, C.CKM_CAST3_KEY_GEN],
  ...[C.CKM_CAST128_KEY_GEN, C.CKM_IDEA_KEY_GEN, C.CKM_SSL3_PRE_MASTER_KEY_GEN],
  ...[C.CKM_TLS_PRE_MASTER_KEY_GEN, C.CKM_SKIPJACK_KEY_GEN, C.CKM_BATON_KEY_GEN],
  ...[C.CKM_JUNIPER_KEY_GEN, C.CKM_RC2_ECB, C.CKM_DES_ECB, C.CKM_DES3_ECB, C.CKM_CDMF_ECB],
  ...[C.CKM_CAST_ECB, C.CKM_CAST3_ECB, C.CKM_CAST128_ECB, C.CKM_RC5_ECB, C.CKM_IDEA_ECB],
  ...[C.CKM_RC2_MAC, C.CKM_DES_MAC, C.CKM_DES3_MAC, C.CKM_DES3_CMAC, C.CKM_CDMF_MAC],
  ...[C.CKM_CAST_MAC, C.CKM_CAST3_MAC, C.CKM_RC5_MAC, C.CKM_IDEA_MAC, C.CKM_SSL3_MD5_MAC],
  ...[C.CKM_SSL3_SHA1_MAC, C.CKM_SKIPJACK_WRAP, C.CKM_BATON_WRAP, C.CKM_JUNIPER_WRAP],
  ...[C.CKM_MD2, C.CKM_MD2_HMAC, C.CKM_MD5, C.CKM_MD5_HMAC, C.CKM_SHA_1, C.CKM_SHA_1_HMAC],
  ...[C.CKM_SHA1_KEY_DERIVATION, C.CKM_SHA224, C.CKM_SHA224_HMAC, C.CKM_SHA224_KEY_DERIVATION],
  ...[C.CKM_SHA256, C.CKM_SHA256_HMAC, C.CKM_SHA256_KEY_DERIVATION, C.CKM_SHA384],
  ...[C.CKM_SHA384_HMAC, C.CKM_SHA384_KEY_DERIVATION, C.CKM_SHA512, C.CKM_SHA512_HMAC],
  ...[C.CKM_SHA512_KEY_DERIVATION, C.CKM_SHA512_T, C.CKM_SHA512_T_HMAC],
  ...[C.CKM_SHA512_T_KEY_DERIVATION, C.CKM_SHA512_224, C.CKM_SHA512_224_HMAC],
  ...[C.CKM_SHA512_224_KEY_DERIVATION, C.CKM_SHA512_256, C.CKM_SHA512_256_HMAC],
  ...[C.CKM_SHA512_256_KEY_DERIVATION, C.CKM_FASTHASH, C.CKM_RIPEMD128, C.CKM_RIPEMD128_HMAC],
  ...[C.CKM_RIPEMD160, C.CKM_RIPEMD160_HMAC, C.CKM_KEY_WRAP_LYNKS],
  // IBM: SHA3 224..512, CMAC, DILITHIUM, SHA3 HMACs, ED25519_SHA512, ED448_SHA3
  ...[0x10001, 0x10002, 0x10003, 0x10004, 0x10007, 0x10023].map((n) => V + n),
  ...[0x10025, 0x10026, 0x10027, 0x10028, 0x1001c, 0x1001f].map((n) => V + n),
]);

export function hasNoParameterV2(type: number): boolean {
  return NO_PARAMETER_V2.has(type);
}

export function readMechanism(r: WireReader, version: number): WireMechanism {
  const type = r.uint32();
  if (version >= 1 && type === NULL_MECHANISM) return { type, param: { form: 'none' } };
  if (version >= 2) {
    if (NO_PARAMETER_V2.has(type) || r.byte() === 0) return { type, param: { form: 'none' } };
  }
  const s = SHAPES.get(type);
  if (s === undefined) {
    const data = r.byteArray('mechanism parameter');
    return { type, param: data === null ? { form: 'none' } : { form: 'bytes', data } };
  }
  return { type, param: readShape(r, s) };
}

function readShape(r: WireReader, s: Shape): WireParam {
  switch (s) {
    case 'pss':
      return { form: 'pss', hashAlg: r.uint64(), mgf: r.uint64(), saltLen: r.uint64() };
    case 'oaep':
      return {
        form: 'oaep',
        hashAlg: r.uint64(),
        mgf: r.uint64(),
        source: r.uint64(),
        sourceData: r.byteArray('OAEP source data'),
      };
    case 'ecdh1':
      return {
        form: 'ecdh1',
        kdf: r.uint64(),
        sharedData: r.byteArray('ECDH shared data'),
        publicData: r.byteArray('ECDH public data'),
      };
    case 'iv16':
    case 'iv8': {
      const data = r.byteArray('IV');
      if (data?.length !== (s === 'iv16' ? 16 : 8))
        throw malformed(`an IV of ${data?.length} bytes`);
      return { form: 'bytes', data };
    }
    case 'ctr': {
      const counterBits = r.uint64();
      const block = r.byteArray('counter block');
      if (block?.length !== 16) throw malformed('a counter block that is not 16 bytes');
      return { form: 'ctr', counterBits, block };
    }
    case 'gcm':
      return {
        form: 'gcm',
        iv: r.byteArray('GCM IV'),
        ivBits: r.uint64(),
        aad: r.byteArray('GCM AAD'),
        tagBits: r.uint64(),
      };
    case 'ulong':
      return { form: 'ulong', value: r.uint64() };
    case 'dh': {
      const data = r.byteArray('DH public value');
      if (data === null || data.length === 0) throw malformed('an empty DH public value');
      return { form: 'bytes', data };
    }
    default:
      return { form: 'opaque', data: skipIbm(r, s) };
  }
}

/** Consumes an IBM vendor parameter and returns its wire bytes. */
function skipIbm(r: WireReader, s: IbmShape): Uint8Array {
  const start = r.position;
  if (s === 'ibm-u64') r.bytes(8);
  else if (s === 'ibm-btc') {
    r.bytes(16);
    r.byteArray();
    r.bytes(8);
  } else {
    r.bytes(25);
    r.byteArray();
    r.byteArray();
    r.bytes(8);
  }
  return r.span(start);
}

export function writeMechanism(w: WireWriter, m: WireMechanism, version: number): void {
  w.uint32(m.type);
  const p = m.param;
  if (version >= 1 && m.type === NULL_MECHANISM) return;
  if (version >= 2) {
    if (NO_PARAMETER_V2.has(m.type)) return;
    if (p.form === 'none') {
      w.byte(0);
      return;
    }
    w.byte(1);
  }
  switch (p.form) {
    case 'none':
      w.byteArray(null);
      break;
    case 'bytes':
      w.byteArray(p.data);
      break;
    case 'pss':
      w.uint64(p.hashAlg).uint64(p.mgf).uint64(p.saltLen);
      break;
    case 'oaep':
      w.uint64(p.hashAlg).uint64(p.mgf).uint64(p.source).byteArray(p.sourceData);
      break;
    case 'ecdh1':
      w.uint64(p.kdf).byteArray(p.sharedData).byteArray(p.publicData);
      break;
    case 'ctr':
      w.uint64(p.counterBits).byteArray(p.block);
      break;
    case 'gcm':
      w.byteArray(p.iv).uint64(p.ivBits).byteArray(p.aad).uint64(p.tagBits);
      break;
    case 'ulong':
      w.uint64(p.value);
      break;
    case 'opaque':
      w.bytes(p.data);
      break;
  }
}

/** The engine's view of a wire mechanism, with parameters in pkcs11js's shapes. */
export function toRawMechanism(m: WireMechanism): RawMechanism {
  const p = m.param;
  const mechanism = m.type;
  switch (p.form) {
    case 'none':
      return { mechanism };
    case 'bytes':
    case 'opaque':
      return { mechanism, parameter: p.data };
    case 'pss':
      return {
        mechanism,
        parameter: {
          type: C.CK_PARAMS_RSA_PSS,
          hashAlg: p.hashAlg,
          mgf: p.mgf,
          saltLen: p.saltLen,
        },
      };
    case 'oaep': {
      const parameter = {
        type: C.CK_PARAMS_RSA_OAEP,
        hashAlg: p.hashAlg,
        mgf: p.mgf,
        source: p.source,
      };
      return {
        mechanism,
        parameter: p.sourceData ? { ...parameter, sourceData: p.sourceData } : parameter,
      };
    }
    case 'ecdh1': {
      const publicData = p.publicData ?? new Uint8Array(0);
      const parameter = { type: C.CK_PARAMS_EC_DH, kdf: p.kdf, publicData };
      return {
        mechanism,
        parameter: p.sharedData ? { ...parameter, sharedData: p.sharedData } : parameter,
      };
    }
    case 'ctr': {
      // No structured shape for CK_AES_CTR_PARAMS: pass its C layout, as a pkcs11js caller would.
      const raw = new Uint8Array(24);
      new DataView(raw.buffer).setBigUint64(0, BigInt(p.counterBits), true);
      raw.set(p.block, 8);
      return { mechanism, parameter: raw };
    }
    case 'gcm':
      return {
        mechanism,
        parameter: {
          type: C.CK_PARAMS_AES_GCM_v240,
          iv: p.iv ?? new Uint8Array(0),
          ivBits: p.ivBits,
          aad: p.aad ?? new Uint8Array(0),
          tagBits: p.tagBits,
        },
      };
    case 'ulong':
      return { mechanism, parameter: p.value };
  }
}
