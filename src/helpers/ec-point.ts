/**
 * The public point of an EC private key whose encoding left it out (SEC1 and PKCS#8 make it optional;
 * `openssl ec -no_public` and some Java tools omit it). The token computes x(d·G) with CKM_ECDH1_DERIVE
 * against the generator, y follows from the curve equation, and a signature made and checked on the
 * token picks between y and −y. The scalar never leaves the token; only public values meet the
 * variable-time BigInt arithmetic here. Layer L7.
 * @module
 */
import {
  CK_PARAMS_EC_DH,
  CKA_CLASS,
  CKA_DERIVE,
  CKA_EC_PARAMS,
  CKA_EC_POINT,
  CKA_EXTRACTABLE,
  CKA_KEY_TYPE,
  CKA_SENSITIVE,
  CKA_SIGN,
  CKA_TOKEN,
  CKA_VALUE,
  CKA_VALUE_LEN,
  CKA_VERIFY,
  CKD_NULL,
  CKK_EC,
  CKK_GENERIC_SECRET,
  CKM_ECDH1_DERIVE,
  CKM_ECDSA,
  CKO_PRIVATE_KEY,
  CKO_PUBLIC_KEY,
  CKO_SECRET_KEY,
  CKR_SIGNATURE_INVALID,
} from '../pkcs11/constants.js';
import { encodeTlv, TAG_OCTET_STRING } from '../util/der.js';
import { type EcPrivateKeyData, ecParamsOf } from './keys.js';
import {
  badInput,
  type Handle,
  hasRv,
  outputBuffer,
  type Pkcs11Module,
  readAttribute,
} from './module.js';
import { EC_COMPONENT_BYTES, type EcCurve } from './pki.js';

/** Field prime, curve coefficient b and generator (04‖X‖Y) of the NIST curves (FIPS 186-4 D.1.2). */
const CURVES: Record<EcCurve, { p: string; b: string; g: string }> = {
  'P-256': {
    p: 'ffffffff00000001000000000000000000000000ffffffffffffffffffffffff',
    b: '5ac635d8aa3a93e7b3ebbd55769886bc651d06b0cc53b0f63bce3c3e27d2604b',
    g: '046b17d1f2e12c4247f8bce6e563a440f277037d812deb33a0f4a13945d898c2964fe342e2fe1a7f9b8ee7eb4a7c0f9e162bce33576b315ececbb6406837bf51f5',
  },
  'P-384': {
    p: 'fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffeffffffff0000000000000000ffffffff',
    b: 'b3312fa7e23ee7e4988e056be3f82d19181d9c6efe8141120314088f5013875ac656398d8a2ed19d2a85c8edd3ec2aef',
    g: '04aa87ca22be8b05378eb1c71ef320ad746e1d3b628ba79b9859f741e082542a385502f25dbf55296c3a545e3872760ab73617de4a96262c6f5d9e98bf9292dc29f8f41dbd289a147ce9da3113b5f0b8c00a60b1ce1d7e819d7a431d7c90ea0e5f',
  },
  'P-521': {
    p: '01ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff',
    b: '0051953eb9618e1c9a1f929a21a0b68540eea2da725b99b315f3b8b489918ef109e156193951ec7e937b1652c0bd3bb1bf073573df883d2c34f1ef451fd46b503f00',
    g: '0400c6858e06b70404e9cd9e3ecb662395b4429c648139053fb521f828af606b4d3dbaa14b5e77efe75928fe1dc127a2ffa8de3348b3c1856a429bf97e7e31c2e5bd66011839296a789a3bc0045c8a5fb42c7d1bd998f54449579b446817afbd17273e662c97ee72995ef42640c550b9013fad0761353c7086a272c24088be94769fd16650',
  },
};

const big = (hex: string) => BigInt(`0x${hex}`);
const hexOf = (b: Uint8Array) => Buffer.from(b).toString('hex');

function modPow(base: bigint, exp: bigint, m: bigint): bigint {
  let r = 1n;
  let b = base % m;
  for (let e = exp; e > 0n; e >>= 1n) {
    if (e & 1n) r = (r * b) % m;
    b = (b * b) % m;
  }
  return r;
}

function toBytes(v: bigint, width: number): Uint8Array {
  return Uint8Array.from(Buffer.from(v.toString(16).padStart(2 * width, '0'), 'hex'));
}

/** Both points with this x: y and p − y (every NIST prime is 3 mod 4, so √a = a^((p+1)/4)). */
function pointsWithX(curve: EcCurve, xBytes: Uint8Array): Uint8Array[] {
  const c = CURVES[curve];
  const p = big(c.p);
  const x = big(hexOf(xBytes));
  const rhs = (((x * x * x - 3n * x + big(c.b)) % p) + p) % p;
  const y = modPow(rhs, (p + 1n) / 4n, p);
  if ((y * y) % p !== rhs) throw badInput('the EC private value gives no point on the curve');
  const width = EC_COMPONENT_BYTES[curve];
  return [y, (p - y) % p].map((v) =>
    Uint8Array.from([4, ...toBytes(x, width), ...toBytes(v, width)]),
  );
}

/** The uncompressed public point of `key`, computed on the token behind `session`. */
export function ecPublicPointOf(
  p11: Pkcs11Module,
  session: Handle,
  key: EcPrivateKeyData,
): Uint8Array {
  const params = Buffer.from(ecParamsOf(key.curve));
  const width = EC_COMPONENT_BYTES[key.curve];
  const made: Handle[] = [];
  try {
    const priv = p11.C_CreateObject(session, [
      { type: CKA_CLASS, value: CKO_PRIVATE_KEY },
      { type: CKA_KEY_TYPE, value: CKK_EC },
      { type: CKA_TOKEN, value: false },
      { type: CKA_SENSITIVE, value: true },
      { type: CKA_DERIVE, value: true },
      { type: CKA_SIGN, value: true },
      { type: CKA_EC_PARAMS, value: params },
      { type: CKA_VALUE, value: key.d },
    ]);
    made.push(priv);
    const generator = Buffer.from(CURVES[key.curve].g, 'hex');
    const secret = p11.C_DeriveKey(
      session,
      {
        mechanism: CKM_ECDH1_DERIVE,
        parameter: { type: CK_PARAMS_EC_DH, kdf: CKD_NULL, publicData: generator },
      },
      priv,
      [
        { type: CKA_CLASS, value: CKO_SECRET_KEY },
        { type: CKA_KEY_TYPE, value: CKK_GENERIC_SECRET },
        { type: CKA_TOKEN, value: false },
        { type: CKA_SENSITIVE, value: false },
        { type: CKA_EXTRACTABLE, value: true },
        { type: CKA_VALUE_LEN, value: width },
      ],
    );
    made.push(secret);
    const x = readAttribute(p11, session, secret, CKA_VALUE);
    if (!x) throw badInput('the token did not reveal the derived x coordinate');
    const digest = Buffer.alloc(32, 0x5a);
    p11.C_SignInit(session, { mechanism: CKM_ECDSA }, priv);
    const signature = p11.C_Sign(session, digest, outputBuffer(2 * width));
    for (const point of pointsWithX(key.curve, x)) {
      const pub = p11.C_CreateObject(session, [
        { type: CKA_CLASS, value: CKO_PUBLIC_KEY },
        { type: CKA_KEY_TYPE, value: CKK_EC },
        { type: CKA_TOKEN, value: false },
        { type: CKA_VERIFY, value: true },
        { type: CKA_EC_PARAMS, value: params },
        { type: CKA_EC_POINT, value: Buffer.from(encodeTlv(TAG_OCTET_STRING, point)) },
      ]);
      made.push(pub);
      p11.C_VerifyInit(session, { mechanism: CKM_ECDSA }, pub);
      try {
        p11.C_Verify(session, digest, signature);
        return point;
      } catch (e) {
        if (!hasRv(e, CKR_SIGNATURE_INVALID)) throw e;
      }
    }
    throw badInput('neither point with the derived x verifies the key’s signature');
  } finally {
    for (const h of made) p11.C_DestroyObject(session, h);
  }
}

/** `key` with its public point, computed on the token when the encoding did not carry it. */
export function withPublicPoint(
  p11: Pkcs11Module,
  session: Handle,
  key: EcPrivateKeyData,
): EcPrivateKeyData {
  return key.point ? key : { ...key, point: ecPublicPointOf(p11, session, key) };
}
