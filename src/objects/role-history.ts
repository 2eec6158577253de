/**
 * The wrap-then-reveal rules (the Tookan attacks, Clulow 2003; Delaune, Kremer, Steel 2008), checked
 * where they leak instead of refusing keys with both roles. A key may be made with any roles, as
 * SoftHSMv2 and kryoptic allow. What must never happen is that the token itself turns a wrapping of a
 * sensitive key back into clear text: by decrypting it, or by unwrapping it into a key that is not
 * sensitive. So:
 *
 * - C_WrapKey refuses to wrap a sensitive key under a secret key that can reveal what it wraps: one
 *   that can decrypt, or unwrap without a CKA_UNWRAP_TEMPLATE that makes what it unwraps sensitive,
 *   or that ever could, or that is or was extractable (an unwrapped copy of it could);
 * - a revealing role (CKA_DECRYPT, a free CKA_UNWRAP) cannot be turned on, by C_SetAttributeValue or a
 *   C_CopyObject template, for a key that has ever had CKA_WRAP;
 * - CKA_WRAP cannot be turned on later for a key that has ever had a revealing role, nor for a key that
 *   has been copied (a copy made before has its own roles, which the token does not follow);
 * - copies, and derived keys whose value equals their base key's, share the history of the key they
 *   were made from.
 *
 * The history is a token-internal attribute (ROLE_HISTORY, a vendor-defined type no caller can read,
 * set or search for), stored and authenticated with the object like any attribute. Layer L3.
 * @module
 */
import type { AttributeMap } from '../attributes/values.js';
import { readBool, readBytes } from '../attributes/values.js';
import { Pkcs11Error } from '../errors.js';
import * as C from '../pkcs11/constants.js';
import type { TokenObject } from './object.js';

/** The token-internal attribute holding a secret key's role history (one byte of the bits below). */
export const ROLE_HISTORY = (C.CKA_VENDOR_DEFINED | 0x4350_7201) >>> 0;

const EVER_WRAP = 1;
/** CKA_DECRYPT, or CKA_UNWRAP without a template forcing CKA_SENSITIVE, at some time. */
const EVER_REVEAL = 2;
const EVER_EXTRACTABLE = 4;
/** The value exists in another object with roles of its own (C_CopyObject, identical derivation). */
const COPIED = 8;

const bits = (attrs: AttributeMap): number => readBytes(attrs, ROLE_HISTORY)?.[0] ?? 0;

/** Whether CKA_UNWRAP_TEMPLATE makes every key unwrapped with these attributes sensitive. */
function unwrapForcesSensitive(attrs: AttributeMap): boolean {
  const t = attrs.get(C.CKA_UNWRAP_TEMPLATE);
  if (!Array.isArray(t)) return false;
  const s = t.find((a) => a.type === C.CKA_SENSITIVE)?.value;
  return s instanceof Uint8Array && s.length === 1 && s[0] === 1;
}

/** Whether a key with these attributes can reveal what is wrapped under its value. */
function reveals(attrs: AttributeMap): boolean {
  const unwrapFree = readBool(attrs, C.CKA_UNWRAP) === true && !unwrapForcesSensitive(attrs);
  return readBool(attrs, C.CKA_DECRYPT) === true || unwrapFree;
}

/** The roles these attributes hold now, as history bits. */
function rolesNow(attrs: AttributeMap): number {
  return (
    (readBool(attrs, C.CKA_WRAP) === true ? EVER_WRAP : 0) |
    (reveals(attrs) ? EVER_REVEAL : 0) |
    (readBool(attrs, C.CKA_EXTRACTABLE) === true ? EVER_EXTRACTABLE : 0)
  );
}

const encode = (b: number) => Uint8Array.of(b);

/** Records the roles of a new secret key (any other object has no history). */
export function startHistory(attrs: AttributeMap): void {
  if (readBytes(attrs, C.CKA_CLASS)?.[0] !== C.CKO_SECRET_KEY) return;
  attrs.set(ROLE_HISTORY, encode(bits(attrs) | rolesNow(attrs)));
}

/**
 * Checks changes to a secret key (C_SetAttributeValue, or the template of a C_CopyObject) against its
 * history and returns them with the history they leave. Other objects: the changes as given.
 */
export function checkRoleChanges(
  obj: TokenObject,
  changes: AttributeMap,
  copy: boolean,
): AttributeMap {
  if (obj.objectClass !== C.CKO_SECRET_KEY) return changes;
  const before = new Map(obj.attrs);
  const after = new Map([...obj.attrs, ...changes]);
  const history = bits(before) | (copy ? COPIED : 0);
  if (reveals(after) && !reveals(before) && history & EVER_WRAP) {
    throw new Pkcs11Error(
      C.CKR_ATTRIBUTE_READ_ONLY,
      'a key that has had CKA_WRAP cannot be given CKA_DECRYPT or a CKA_UNWRAP that unwraps keys ' +
        'as not sensitive: it could reveal what it wrapped',
    );
  }
  const wrapNow = readBool(after, C.CKA_WRAP) === true && readBool(before, C.CKA_WRAP) !== true;
  if (wrapNow && history & (EVER_REVEAL | COPIED)) {
    throw new Pkcs11Error(
      C.CKR_ATTRIBUTE_READ_ONLY,
      history & EVER_REVEAL
        ? 'a key that has been able to decrypt or unwrap cannot be given CKA_WRAP later'
        : 'a copied key cannot be given CKA_WRAP later: a copy of it could decrypt what it wraps',
    );
  }
  return new Map([...changes, [ROLE_HISTORY, encode(history | rolesNow(after))]]);
}

/** The history of the source of a copy once it has been copied (undefined: nothing to record). */
export function markCopied(source: TokenObject): AttributeMap | undefined {
  if (source.objectClass !== C.CKO_SECRET_KEY || bits(source.attrs) & COPIED) return undefined;
  return new Map([[ROLE_HISTORY, encode(bits(source.attrs) | COPIED)]]);
}

/**
 * Whether `after` keeps every bit of the role history in `before`. A history only grows, whoever
 * writes it: a public session's C_CopyObject or role change adds bits; a lost bit is an edit made
 * outside the token (record-check.ts).
 */
export function historyKept(before: AttributeMap, after: AttributeMap): boolean {
  const was = bits(before);
  const now = readBytes(after, ROLE_HISTORY);
  if (now === undefined) return was === 0;
  return now.length === 1 && ((now[0] as number) & was) === was;
}

/** A derived key whose value equals its base key's is a copy of it: it takes the base's history. */
export function inheritHistory(derived: AttributeMap, base: TokenObject): void {
  const history = bits(base.attrs) | bits(derived) | COPIED;
  derived.set(ROLE_HISTORY, encode(history));
  if (reveals(derived) && history & EVER_WRAP) {
    throw new Pkcs11Error(
      C.CKR_TEMPLATE_INCONSISTENT,
      'the derived key is a copy of a wrapping key: it cannot decrypt or unwrap freely',
    );
  }
}

/**
 * Why a secret key may not wrap a sensitive key (undefined: it may): it can reveal what it wraps,
 * could once, or its value may exist in a key that can (it is or was extractable).
 */
export function cannotWrapSensitive(wrapping: TokenObject): string | undefined {
  if (wrapping.objectClass !== C.CKO_SECRET_KEY) return undefined;
  if (reveals(wrapping.attrs)) {
    return 'the wrapping key can also decrypt (or unwrap keys as not sensitive): it could reveal a sensitive key';
  }
  const history = bits(wrapping.attrs);
  if (history & EVER_REVEAL) return 'the wrapping key has been able to decrypt or unwrap freely';
  if (history & EVER_EXTRACTABLE) {
    return 'the wrapping key is or was extractable: an unwrapped copy of it could decrypt';
  }
  return undefined;
}

/** Whether an RSA private key can reveal what its public key wraps (its private roles now). */
export function privateKeyReveals(priv: TokenObject): boolean {
  return reveals(priv.attrs);
}
