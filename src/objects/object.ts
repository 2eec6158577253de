/**
 * A PKCS#11 object inside the token: its attributes (C layout) plus a cache for the imported key.
 * Layer L3.
 * @module
 */
import type { AttributeMap, AttributeValue } from '../attributes/values.js';
import { readBool, readBytes, readUlong } from '../attributes/values.js';
import type { KeyHandle } from '../crypto/backend.js';
import * as C from '../pkcs11/constants.js';
import { fromUtf8 } from '../util/bytes.js';
import { SENSITIVE } from './policy.js';
import { policyFor, subtypeAttribute } from './tables.js';

export class TokenObject {
  readonly attrs: AttributeMap;
  /** Stable identity of a token object in storage (undefined for session objects). */
  storageId: number | undefined;
  /**
   * A token object whose stored record this process has authenticated (its MAC checked after a login,
   * or written here). Trust decisions (CKA_TRUSTED, CKA_WRAP_WITH_TRUSTED, wrap templates) are only
   * taken from authenticated objects; session objects never left memory and count as authenticated.
   */
  verified = false;
  /** Imported key for crypto operations; dropped whenever attributes change. */
  #key: KeyHandle | undefined;

  constructor(attrs: AttributeMap) {
    this.attrs = attrs;
  }

  get objectClass(): number {
    return readUlong(this.attrs, C.CKA_CLASS) ?? -1;
  }

  /** CKA_KEY_TYPE or CKA_CERTIFICATE_TYPE, per class. */
  get subtype(): number | undefined {
    const a = subtypeAttribute(this.objectClass);
    return a === undefined ? undefined : readUlong(this.attrs, a);
  }

  get keyType(): number | undefined {
    return readUlong(this.attrs, C.CKA_KEY_TYPE);
  }

  get isToken(): boolean {
    return readBool(this.attrs, C.CKA_TOKEN) === true;
  }

  get isPrivate(): boolean {
    return readBool(this.attrs, C.CKA_PRIVATE) === true;
  }

  get label(): string {
    return fromUtf8(readBytes(this.attrs, C.CKA_LABEL) ?? new Uint8Array(0));
  }

  flag(type: number): boolean {
    return readBool(this.attrs, type) === true;
  }

  get(type: number): AttributeValue | undefined {
    return this.attrs.get(type);
  }

  /** fn 7: the attribute may not be revealed (CKA_SENSITIVE true or CKA_EXTRACTABLE false). */
  isConcealed(type: number): boolean {
    const rule = policyFor(this.objectClass, this.subtype)?.rules.get(type);
    if (!rule || (rule.flags & SENSITIVE) === 0) return false;
    return this.flag(C.CKA_SENSITIVE) || !this.flag(C.CKA_EXTRACTABLE);
  }

  /** True for private and secret keys: their values never leave in clear and need protection at rest. */
  get isSecretBearing(): boolean {
    const c = this.objectClass;
    return c === C.CKO_PRIVATE_KEY || c === C.CKO_SECRET_KEY;
  }

  get cachedKey(): KeyHandle | undefined {
    return this.#key;
  }

  set cachedKey(k: KeyHandle | undefined) {
    this.#key = k;
  }

  /** Replaces attribute values (already validated) and drops derived caches. */
  update(changes: AttributeMap): void {
    for (const [t, v] of changes) this.attrs.set(t, v);
    this.#key = undefined;
  }

  clone(): TokenObject {
    return new TokenObject(new Map(this.attrs));
  }
}
