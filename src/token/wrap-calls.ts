/**
 * Key wrapping (v2.40 §5.14 C_WrapKey, C_UnwrapKey) for secret keys, with any mechanism that encrypts
 * (AES key wrap, AES modes, RSA OAEP and PKCS#1 v1.5 …). On top of the spec's rules (CKA_EXTRACTABLE,
 * CKA_WRAP_WITH_TRUSTED, CKA_WRAP_TEMPLATE and CKA_UNWRAP_TEMPLATE as v2.40 §4.8 says): a sensitive key
 * is not wrapped under a key that could turn the wrapping back into clear text inside the token — a
 * secret key that can decrypt or unwrap freely (objects/role-history.ts has the rules and their
 * history), or an RSA public key whose private half here can. Keys unwrapped never claim
 * CKA_ALWAYS_SENSITIVE or CKA_NEVER_EXTRACTABLE (a key that can also encrypt could have planted them).
 * Layer L5.
 * @module
 */
import { normalizeTemplate, readBytes, readUlong } from '../attributes/values.js';
import { bufferTooSmall, isPkcs11Error, Pkcs11Error } from '../errors.js';
import { mechanism } from '../mechanisms/registry.js';
import { completeAttributes } from '../objects/complete.js';
import { buildAttributes } from '../objects/factory.js';
import { TokenObject } from '../objects/object.js';
import { cannotWrapSensitive, privateKeyReveals } from '../objects/role-history.js';
import * as C from '../pkcs11/constants.js';
import type { Output, RawAttribute, RawMechanism } from '../pkcs11/types.js';
import { encodeBool, encodeUlong, equalBytes, stripLeadingZeros } from '../util/bytes.js';
import type { AppState } from './app-state.js';
import { checkKeyForUse, type KeyUse, keyRef } from './keys.js';
import { admitObject } from './object-calls.js';
import { cipherWhole } from './operation.js';

/** The key-check codes of C_WrapKey/C_UnwrapKey name the wrapping key, not "the key". */
const RENAMED: Record<'wrap' | 'unwrap', Record<number, number>> = {
  wrap: {
    [C.CKR_KEY_HANDLE_INVALID]: C.CKR_WRAPPING_KEY_HANDLE_INVALID,
    [C.CKR_KEY_TYPE_INCONSISTENT]: C.CKR_WRAPPING_KEY_TYPE_INCONSISTENT,
    [C.CKR_KEY_SIZE_RANGE]: C.CKR_WRAPPING_KEY_SIZE_RANGE,
  },
  unwrap: {
    [C.CKR_KEY_HANDLE_INVALID]: C.CKR_UNWRAPPING_KEY_HANDLE_INVALID,
    [C.CKR_KEY_TYPE_INCONSISTENT]: C.CKR_UNWRAPPING_KEY_TYPE_INCONSISTENT,
    [C.CKR_KEY_SIZE_RANGE]: C.CKR_UNWRAPPING_KEY_SIZE_RANGE,
  },
};

function wrappingKey(app: AppState, m: RawMechanism, handle: number, use: 'wrap' | 'unwrap') {
  const mech = mechanism(m.mechanism, app.token.profile);
  const op = use === 'wrap' ? mech.encrypt : mech.decrypt;
  if (!op) throw new Pkcs11Error(C.CKR_MECHANISM_INVALID, `this mechanism cannot ${use} keys`);
  try {
    const key = app.requireObject(handle, C.CKR_KEY_HANDLE_INVALID);
    checkKeyForUse(app.token.crypto, key, mech, use as KeyUse);
    return { mech, key, op };
  } catch (e) {
    const renamed = isPkcs11Error(e) ? RENAMED[use][e.code] : undefined;
    if (renamed === undefined) throw e;
    throw new Pkcs11Error(renamed, (e as Pkcs11Error).detail, { cause: e });
  }
}

/** The attributes of a template-valued attribute (CKA_WRAP_TEMPLATE …); none when it is unset. */
function templateOf(obj: TokenObject, type: number): RawAttribute[] {
  const v = obj.get(type);
  return Array.isArray(v) ? v : [];
}

function sameValue(a: RawAttribute['value'] | undefined, b: RawAttribute['value']): boolean {
  if (a === undefined) return false;
  if (Array.isArray(a) || Array.isArray(b)) {
    if (!Array.isArray(a) || !Array.isArray(b) || a.length !== b.length) return false;
    return b.every((x) => sameValue(a.find((y) => y.type === x.type)?.value, x.value));
  }
  return equalBytes(a, b);
}

/**
 * Trust is taken only from records this process authenticated (issue 16 #5): before the first login a
 * stored key's CKA_TRUSTED, CKA_WRAP_WITH_TRUSTED and templates are unchecked bytes in a file.
 */
function requireAuthenticated(obj: TokenObject, what: string): void {
  if (obj.storageId !== undefined && !obj.verified) {
    throw new Pkcs11Error(
      C.CKR_USER_NOT_LOGGED_IN,
      `${what}: its stored record is authenticated at login; log in first`,
    );
  }
}

/**
 * For an RSA public wrapping key: a reason when a private key of the same modulus in the token (or
 * among this application's session objects) could decrypt (or unwrap as not sensitive) what it wraps.
 */
function privateHalfReveals(app: AppState, wrapping: TokenObject): string | undefined {
  if (wrapping.objectClass !== C.CKO_PUBLIC_KEY || wrapping.keyType !== C.CKK_RSA) return undefined;
  const modulus = readBytes(wrapping.attrs, C.CKA_MODULUS);
  if (!modulus) return undefined;
  const n = stripLeadingZeros(modulus);
  const candidates = [...app.token.candidates(new Map()), ...app.sessionObjects.keys()];
  const revealing = candidates.some(
    (o) =>
      o.objectClass === C.CKO_PRIVATE_KEY &&
      o.keyType === C.CKK_RSA &&
      equalBytes(stripLeadingZeros(readBytes(o.attrs, C.CKA_MODULUS) ?? new Uint8Array(0)), n) &&
      privateKeyReveals(o),
  );
  return revealing
    ? "the wrapping key's private half can decrypt (or unwrap as not sensitive) what it wraps"
    : undefined;
}

export function wrapKey(
  app: AppState,
  h: number,
  m: RawMechanism,
  wrapping: number,
  handle: number,
  capacity: number | null,
): Output {
  app.requireSession(h);
  const w = wrappingKey(app, m, wrapping, 'wrap');
  const key = app.requireObject(handle, C.CKR_KEY_HANDLE_INVALID);
  requireAuthenticated(w.key, 'the wrapping key');
  requireAuthenticated(key, 'the key to wrap');
  const value = readBytes(key.attrs, C.CKA_VALUE);
  if (key.objectClass !== C.CKO_SECRET_KEY || !value) {
    throw new Pkcs11Error(C.CKR_KEY_NOT_WRAPPABLE, 'only secret keys can be wrapped by this token');
  }
  if (!key.flag(C.CKA_EXTRACTABLE)) throw new Pkcs11Error(C.CKR_KEY_UNEXTRACTABLE);
  if (key.flag(C.CKA_WRAP_WITH_TRUSTED) && !w.key.flag(C.CKA_TRUSTED)) {
    throw new Pkcs11Error(
      C.CKR_KEY_NOT_WRAPPABLE,
      'CKA_WRAP_WITH_TRUSTED: the wrapping key is not trusted',
    );
  }
  if (key.flag(C.CKA_SENSITIVE)) {
    const why = cannotWrapSensitive(w.key) ?? privateHalfReveals(app, w.key);
    if (why) throw new Pkcs11Error(C.CKR_KEY_NOT_WRAPPABLE, why);
  }
  for (const a of templateOf(w.key, C.CKA_WRAP_TEMPLATE)) {
    if (!sameValue(key.get(a.type), a.value)) {
      throw new Pkcs11Error(
        C.CKR_KEY_NOT_WRAPPABLE,
        `the key does not match the wrapping key's CKA_WRAP_TEMPLATE (0x${a.type.toString(16)})`,
      );
    }
  }
  const wrapped = cipherWhole(w.op(app.token.crypto, m, keyRef(app.token.crypto, w.key)), value);
  if (capacity === null) return { length: wrapped.length, bytes: null };
  if (capacity < wrapped.length) bufferTooSmall(wrapped.length);
  return { length: wrapped.length, bytes: wrapped };
}

export function unwrapKey(
  app: AppState,
  h: number,
  m: RawMechanism,
  unwrapping: number,
  wrapped: Uint8Array,
  template: RawAttribute[],
): number {
  const session = app.requireSession(h);
  const u = wrappingKey(app, m, unwrapping, 'unwrap');
  requireAuthenticated(u.key, 'the unwrapping key');
  const tmpl = normalizeTemplate(template);
  // The unwrapping key's CKA_UNWRAP_TEMPLATE applies first; the caller's template may only agree with it.
  for (const a of templateOf(u.key, C.CKA_UNWRAP_TEMPLATE)) {
    const given = tmpl.get(a.type);
    if (given !== undefined && !sameValue(given, a.value)) {
      throw new Pkcs11Error(
        C.CKR_TEMPLATE_INCONSISTENT,
        `the template contradicts the unwrapping key's CKA_UNWRAP_TEMPLATE (0x${a.type.toString(16)})`,
      );
    }
    tmpl.set(a.type, a.value);
  }
  let value: Uint8Array;
  try {
    value = cipherWhole(u.op(app.token.crypto, m, keyRef(app.token.crypto, u.key)), wrapped);
  } catch (e) {
    if (!isPkcs11Error(e)) throw e;
    const len = e.code === C.CKR_ENCRYPTED_DATA_LEN_RANGE || e.code === C.CKR_DATA_LEN_RANGE;
    throw new Pkcs11Error(len ? C.CKR_WRAPPED_KEY_LEN_RANGE : C.CKR_WRAPPED_KEY_INVALID, e.detail, {
      cause: e,
    });
  }
  // A value the key type cannot hold means the wrapped key was not one: with CKM_RSA_PKCS's implicit
  // rejection a bad padding decrypts to a random-length message and must read like any wrong blob.
  const keyType = readUlong(tmpl, C.CKA_KEY_TYPE);
  if (value.length === 0 || (keyType === C.CKK_AES && ![16, 24, 32].includes(value.length))) {
    throw new Pkcs11Error(C.CKR_WRAPPED_KEY_INVALID, `an unwrapped value of ${value.length} bytes`);
  }
  // fn 5/6: the template says what the key is; its value, length and history come from the unwrapping
  const attrs = buildAttributes(tmpl, {
    mode: 'generate',
    isSO: app.login === 'so',
    impliedClass: C.CKO_SECRET_KEY,
    profile: app.token.profile,
    computed: new Map([
      [C.CKA_VALUE, value],
      [C.CKA_VALUE_LEN, encodeUlong(value.length)],
    ]),
  });
  completeAttributes(attrs, app.token.crypto, app.token.profile);
  attrs.set(C.CKA_LOCAL, encodeBool(false));
  attrs.set(C.CKA_ALWAYS_SENSITIVE, encodeBool(false));
  attrs.set(C.CKA_NEVER_EXTRACTABLE, encodeBool(false));
  attrs.set(C.CKA_KEY_GEN_MECHANISM, new Uint8Array(8).fill(0xff));
  const obj = new TokenObject(attrs);
  app.checkWrite(session, obj.isToken, obj.isPrivate);
  return admitObject(app, session, obj);
}
