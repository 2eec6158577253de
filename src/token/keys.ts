/**
 * Importing key objects into the crypto backend, cached per object, and the checks that bind a key to
 * an operation (v2.40 §5.11–5.12: key class, key type, usage flag, allowed mechanisms, size range).
 * Layer L5.
 * @module
 */
import { readBytes } from '../attributes/values.js';
import type { CryptoBackend, KeyHandle } from '../crypto/backend.js';
import { Pkcs11Error } from '../errors.js';
import type { KeyRef, Mechanism } from '../mechanisms/types.js';
import { keyMaterialOf } from '../objects/key-material.js';
import type { TokenObject } from '../objects/object.js';
import * as C from '../pkcs11/constants.js';
import { decodeUlong } from '../util/bytes.js';
import type { AppState } from './app-state.js';
import { pointKey } from './ec-partners.js';

/** The public point (as pointKey) of every imported EC key, private ones included. */
const ecPoints = new WeakMap<KeyHandle, string>();

export function importKey(crypto: CryptoBackend, obj: TokenObject): KeyHandle {
  if (obj.cachedKey) return obj.cachedKey;
  const m = keyMaterialOf(obj.objectClass, obj.keyType ?? -1, obj.attrs);
  if (m.kind === 'ec' && m.d && m.point.length === 0) m.point = crypto.ecPublicPoint(m.curve, m.d);
  obj.cachedKey = crypto.importKey(m);
  // The verify-with-the-private-half fast path is ECDSA's (ec-partners.ts): CKK_EC keys only.
  if (m.kind === 'ec' && obj.keyType === C.CKK_EC) ecPoints.set(obj.cachedKey, pointKey(m.point));
  return obj.cachedKey;
}

/** A key object whose backend key is imported on first use (one object, no closure, per C_*Init). */
class LazyKeyRef implements KeyRef {
  readonly object: TokenObject;
  readonly #crypto: CryptoBackend;
  constructor(crypto: CryptoBackend, object: TokenObject) {
    this.#crypto = crypto;
    this.object = object;
  }
  handle(): KeyHandle {
    return importKey(this.#crypto, this.object);
  }
}

export function keyRef(crypto: CryptoBackend, obj: TokenObject): KeyRef {
  return new LazyKeyRef(crypto, obj);
}

/** Makes an imported EC private key known to the token's partner index (see ec-partners.ts). */
export function rememberEcPrivate(app: AppState, obj: TokenObject): void {
  const point = obj.cachedKey?.isPrivate && ecPoints.get(obj.cachedKey);
  if (point) app.token.ecPartners.remember(point, obj);
}

/** A newly generated EC pair: the private half is indexed under the public point (checked on use). */
export function rememberEcPair(app: AppState, pub: TokenObject, priv: TokenObject): void {
  if (pub.keyType !== C.CKK_EC) return;
  const m = keyMaterialOf(C.CKO_PUBLIC_KEY, C.CKK_EC, pub.attrs);
  if (m.kind === 'ec') app.token.ecPartners.remember(pointKey(m.point), priv);
}

/**
 * The key a verification with `obj` runs on: for an EC public key whose private half this application
 * can use (alive and visible to it), that private key, whose d makes verification ~3x faster with the
 * same verdict (ec-partners.ts); otherwise `obj` itself. The private key is re-imported and its own
 * point compared, so a stale or wrong index entry only ever costs the fast path.
 */
export function verifyKeyRef(app: AppState, obj: TokenObject): KeyRef {
  const crypto = app.token.crypto;
  const own = keyRef(crypto, obj);
  const pub = obj.cachedKey;
  const point = pub?.kind === 'ec' && !pub.isPrivate ? ecPoints.get(pub) : undefined;
  const priv = point === undefined ? undefined : app.token.ecPartners.lookup(point);
  if (priv === undefined || !app.usable(priv)) return own;
  let handle: KeyHandle;
  try {
    handle = importKey(crypto, priv);
  } catch (e) {
    if (!(e instanceof Pkcs11Error)) throw e;
    return own;
  }
  return ecPoints.get(handle) === point && handle.isPrivate
    ? { object: obj, handle: () => handle }
    : own;
}

export type KeyUse = 'sign' | 'verify' | 'encrypt' | 'decrypt' | 'derive' | 'wrap' | 'unwrap';

/** Each use: its index in the approval cache below, its flag, the asymmetric class that may serve it. */
const USES: Record<KeyUse, readonly [index: number, flag: number, asymmetric: number]> = {
  sign: [0, C.CKA_SIGN, C.CKO_PRIVATE_KEY],
  verify: [1, C.CKA_VERIFY, C.CKO_PUBLIC_KEY],
  encrypt: [2, C.CKA_ENCRYPT, C.CKO_PUBLIC_KEY],
  decrypt: [3, C.CKA_DECRYPT, C.CKO_PRIVATE_KEY],
  derive: [4, C.CKA_DERIVE, C.CKO_PRIVATE_KEY],
  wrap: [5, C.CKA_WRAP, C.CKO_PUBLIC_KEY],
  unwrap: [6, C.CKA_UNWRAP, C.CKO_PRIVATE_KEY],
};

/**
 * (mechanism, use) pairs an imported key already passed checkKeyForUse for. The checks read only the
 * object's attributes and the imported key, and any attribute change drops the object's imported key,
 * so an approval recorded against that key can never outlive the attributes it was checked on.
 */
const approved = new WeakMap<KeyHandle, Set<number>>();

/** Checks that `key` may be used with mechanism `mech` for `use`, with the spec's CKR for each failure. */
export function checkKeyForUse(
  crypto: CryptoBackend,
  key: TokenObject,
  mech: Mechanism,
  use: KeyUse,
): void {
  const pair = mech.type * 8 + USES[use][0];
  const cached = key.cachedKey;
  if (cached !== undefined && approved.get(cached)?.has(pair)) return;
  checkUncached(crypto, key, mech, use);
  const handle = key.cachedKey;
  if (handle === undefined) return;
  const set = approved.get(handle) ?? new Set<number>();
  approved.set(handle, set);
  set.add(pair);
}

function checkUncached(
  crypto: CryptoBackend,
  key: TokenObject,
  mech: Mechanism,
  use: KeyUse,
): void {
  const cls = key.objectClass;
  if (cls !== C.CKO_PRIVATE_KEY && cls !== C.CKO_PUBLIC_KEY && cls !== C.CKO_SECRET_KEY) {
    throw new Pkcs11Error(C.CKR_KEY_HANDLE_INVALID, 'the handle is not a key');
  }
  const [, flag, asymmetric] = USES[use];
  // A secret key serves every use.
  if (cls !== asymmetric && cls !== C.CKO_SECRET_KEY) {
    const wants = asymmetric === C.CKO_PRIVATE_KEY ? 'a private' : 'a public';
    throw new Pkcs11Error(
      C.CKR_KEY_TYPE_INCONSISTENT,
      `a ${use} operation needs ${wants} or secret key`,
    );
  }
  if (!mech.keyTypes?.includes(key.keyType ?? -1)) {
    throw new Pkcs11Error(C.CKR_KEY_TYPE_INCONSISTENT, 'the key type does not suit this mechanism');
  }
  if (!key.flag(flag)) {
    throw new Pkcs11Error(C.CKR_KEY_FUNCTION_NOT_PERMITTED, `the key does not allow ${use}`);
  }
  const allowed = readBytes(key.attrs, C.CKA_ALLOWED_MECHANISMS);
  if (allowed && allowed.length > 0) {
    let ok = false;
    for (let i = 0; i + 8 <= allowed.length; i += 8)
      if (decodeUlong(allowed.subarray(i, i + 8)) === mech.type) ok = true;
    if (!ok)
      throw new Pkcs11Error(C.CKR_MECHANISM_INVALID, 'the key does not allow this mechanism');
  }
  if (cls !== C.CKO_SECRET_KEY) {
    const bits = importKey(crypto, key).bits;
    if (bits < mech.info.minKeySize || bits > mech.info.maxKeySize) {
      throw new Pkcs11Error(
        C.CKR_KEY_SIZE_RANGE,
        `a ${bits}-bit key is outside this mechanism's range`,
      );
    }
  }
}
