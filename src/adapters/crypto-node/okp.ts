/**
 * Edwards and Montgomery keys over node:crypto ("octet key pairs", RFC 8037): Ed25519 and Ed448 signing
 * (RFC 8032, pure), X25519 and X448 agreement (RFC 7748). Keys travel as their raw RFC encodings; the
 * KeyObject is built once per imported key.
 * @module
 */
import {
  createPrivateKey,
  createPublicKey,
  diffieHellman,
  generateKeyPairSync,
  type KeyObject,
  sign,
  verify,
} from 'node:crypto';
import type { CurveName, EcMaterial, KeyHandle } from '../../crypto/backend.js';
import { type Curve, curve as curveRow } from '../../crypto/curves.js';
import {
  CKR_ATTRIBUTE_VALUE_INVALID,
  CKR_MECHANISM_PARAM_INVALID,
} from '../../pkcs11/constants.js';
import { readChildren, readSingle, TAG_BIT_STRING, TAG_OCTET_STRING } from '../../util/der.js';
import { onInput, refused } from './input.js';
import { fromBase64Url, toBase64Url } from './rsa-math.js';

const INVALID = CKR_ATTRIBUTE_VALUE_INVALID;

type OkpType = 'ed25519' | 'ed448' | 'x25519' | 'x448';

function jwkOf(row: Curve, x: Uint8Array, d?: Uint8Array): Record<string, string> {
  const jwk: Record<string, string> = { kty: 'OKP', crv: row.jwk ?? row.name, x: toBase64Url(x) };
  if (d) jwk.d = toBase64Url(d);
  return jwk;
}

/** The caller's key bytes have the RFC length, or `code`. */
function checkLength(what: string, bytes: Uint8Array, want: number, code = INVALID): void {
  if (bytes.length !== want)
    throw refused(code, `${what} must be ${want} bytes, got ${bytes.length}`);
}

/** The raw public key of a KeyObject (JWK `x`). */
function rawPublic(key: KeyObject): Uint8Array {
  const x = key.export({ format: 'jwk' }).x;
  if (typeof x !== 'string') throw new Error('node:crypto exported no public value');
  return fromBase64Url(x);
}

export class OkpKey implements KeyHandle {
  readonly kind = 'ec';
  readonly isPrivate: boolean;
  readonly bits: number;
  readonly curve: CurveName;
  readonly point: Uint8Array;
  /** The private key when there is one, else the public key. */
  readonly object: KeyObject;
  readonly #row: Curve;

  constructor(m: EcMaterial) {
    const c = curveRow(m.curve);
    checkLength(`${c.name} public key`, m.point, c.publicBytes);
    if (m.d) {
      checkLength(`${c.name} private key`, m.d, c.orderBytes);
      // The JWK `x` is not checked by node:crypto: compare the public key d gives with the one we hold.
      const jwk = jwkOf(c, m.point, m.d);
      this.object = onInput(INVALID, `not a ${c.name} private key`, () =>
        createPrivateKey({ key: jwk, format: 'jwk' }),
      );
      if (Buffer.compare(rawPublic(this.object), m.point) !== 0)
        throw refused(INVALID, `${c.name} public key does not match the private key`);
    } else {
      const jwk = jwkOf(c, m.point);
      this.object = onInput(INVALID, `not a ${c.name} public key`, () =>
        createPublicKey({ key: jwk, format: 'jwk' }),
      );
    }
    this.#row = c;
    this.curve = m.curve;
    this.point = m.point;
    this.isPrivate = m.d !== undefined;
    this.bits = c.orderBits;
  }

  /** Pure Ed25519 / Ed448. */
  sign(data: Uint8Array): Uint8Array {
    // node:crypto's Buffer is returned as it is: it is the caller's alone, so a copy would only add garbage.
    return sign(null, data, this.object);
  }

  verify(data: Uint8Array, signature: Uint8Array): boolean {
    return verify(null, data, this.object, signature);
  }

  /**
   * X25519 / X448 with the peer's raw public key. OpenSSL refuses a small-order point (an all-zero
   * secret): CKR_MECHANISM_PARAM_INVALID, as for a point off a Weierstrass curve.
   */
  agree(peer: Uint8Array): Uint8Array {
    if (!this.isPrivate) throw new Error('key agreement needs a private key');
    const row = this.#row;
    checkLength(`${row.name} peer public key`, peer, row.publicBytes, CKR_MECHANISM_PARAM_INVALID);
    return onInput(CKR_MECHANISM_PARAM_INVALID, `not a usable ${row.name} public key`, () => {
      const publicKey = createPublicKey({ key: jwkOf(row, peer), format: 'jwk' });
      return new Uint8Array(diffieHellman({ privateKey: this.object, publicKey }));
    });
  }
}

/** The last element of a DER SEQUENCE's value: the key of an SPKI (BIT STRING) or PKCS#8 (OCTET STRING). */
function lastChild(der: Uint8Array, tag: number): Uint8Array {
  const children = readChildren(readSingle(der).value);
  const last = children[children.length - 1];
  if (!last || last.tag !== tag) throw new Error('node:crypto encoded the key unexpectedly');
  return last.value;
}

/**
 * A fresh key pair, out of DER (a KeyObject straight from generateKeyPairSync is never exported: see
 * rsa.ts on the Node 20 deadlock).
 */
export function generateOkp(curve: CurveName): EcMaterial {
  const c = curveRow(curve);
  const { publicKey, privateKey } = generateKeyPairSync(c.openssl as OkpType as 'ed25519', {
    publicKeyEncoding: { type: 'spki', format: 'der' },
    privateKeyEncoding: { type: 'pkcs8', format: 'der' },
  });
  // SPKI: BIT STRING with no unused bits; PKCS#8 (RFC 8410 §7): OCTET STRING holding an OCTET STRING.
  // Copies (new Uint8Array): Buffer#slice would be a view into the DER, which is wiped below.
  const point = new Uint8Array(lastChild(publicKey, TAG_BIT_STRING).subarray(1));
  const d = new Uint8Array(
    readSingle(lastChild(privateKey, TAG_OCTET_STRING), TAG_OCTET_STRING).value,
  );
  privateKey.fill(0);
  if (point.length !== c.publicBytes || d.length !== c.orderBytes)
    throw new Error(`node:crypto made a ${c.name} key of unexpected size`);
  return { curve, point, d };
}

export function okpPublicKey(curve: CurveName, d: Uint8Array): Uint8Array {
  const c = curveRow(curve);
  checkLength(`${c.name} private key`, d, c.orderBytes);
  // `x` is required by the JWK import but not used for a private key: any value of the right size.
  const jwk = jwkOf(c, new Uint8Array(c.publicBytes), d);
  return rawPublic(
    onInput(INVALID, `not a ${c.name} private key`, () =>
      createPrivateKey({ key: jwk, format: 'jwk' }),
    ),
  );
}
