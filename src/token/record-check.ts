/**
 * Whether a stored object may be used after a login (issue 16 #5), decided from its record and the
 * authenticated id set of its index bucket:
 * - a record with a MAC is used when the MAC holds (it binds the record to its PAL label), never else;
 * - a record without one was written while no PIN had unlocked the token key, so by a public session
 *   or by someone outside the token; it is used only when a public session could have written it:
 *   a new public object that claims nothing only the SO or a user can set, or a change to a public
 *   object's last authenticated version (its base, whose MAC must hold) that C_SetAttributeValue would
 *   allow in a public session. An id its bucket lists as authenticated that turns up without MAC and
 *   base lost its MAC outside the token. Such records are then adopted: written again with their MAC.
 * - when a pre-MAC store is migrated (its first login), every record is adopted as it is.
 * Layer L5.
 * @module
 */
import type { AttributeMap } from '../attributes/values.js';
import { reasonOf } from '../errors.js';
import { checkChanges } from '../objects/factory.js';
import { TokenObject } from '../objects/object.js';
import { SO_ONLY_TRUE } from '../objects/policy.js';
import { historyKept, ROLE_HISTORY } from '../objects/role-history.js';
import { policyFor } from '../objects/tables.js';
import * as C from '../pkcs11/constants.js';
import { decodeStoredRecord, type StoredAttribute } from '../storage/record.js';
import type { RecordSigner } from './record-auth.js';
import type { LoadResult, StoredObject } from './store-reader.js';

export type Verdict = 'verified' | 'adopt' | { rejected: string };

export interface CheckContext {
  signer: RecordSigner;
  /** Ids the object's bucket lists as authenticated ('all' when its set fails its own tag). */
  authenticatedIds: ReadonlySet<number> | 'all';
  /** The first login of a store written before records had MACs: adopt everything as it is. */
  migrate: boolean;
}

function attributeMap(attrs: readonly StoredAttribute[]): AttributeMap {
  const map: AttributeMap = new Map();
  for (const a of attrs) map.set(a.type, a.value);
  return map;
}

const hex = (t: number) => C.CKA_NAMES.get(t) ?? `attribute 0x${t.toString(16)}`;

/** Why a public session could not have created an object with these attributes (undefined: it could). */
function notPublicCreatable(attrs: readonly StoredAttribute[]): string | undefined {
  if (attrs.some((a) => a.sealed)) return 'it holds sealed values, which only a login writes';
  const obj = new TokenObject(attributeMap(attrs));
  if (obj.isPrivate) return 'it is private, which only a user login writes';
  const rules = policyFor(obj.objectClass, obj.subtype)?.rules;
  if (!rules) return 'it is no object this token makes';
  for (const r of rules.values()) {
    if (r.flags & SO_ONLY_TRUE && obj.flag(r.type)) return `only the SO sets ${hex(r.type)}`;
  }
  return undefined;
}

function same(a: StoredAttribute['value'] | undefined, b: StoredAttribute['value']): boolean {
  if (a === undefined) return false;
  if (Array.isArray(a) || Array.isArray(b)) {
    if (!Array.isArray(a) || !Array.isArray(b) || a.length !== b.length) return false;
    return a.every((x, i) => x.type === b[i]?.type && same(x.value, b[i].value));
  }
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

/** Why a public session could not have turned `base` into `attrs` (undefined: it could). */
function notPublicChange(
  base: readonly StoredAttribute[],
  attrs: readonly StoredAttribute[],
): string | undefined {
  const before = new TokenObject(attributeMap(base));
  if (before.isPrivate || base.some((a) => a.sealed))
    return 'a public session cannot change a private object';
  const after = attributeMap(attrs);
  for (const t of before.attrs.keys()) if (!after.has(t)) return `${hex(t)} went missing`;
  const changes: AttributeMap = new Map();
  for (const [t, v] of after) if (!same(before.attrs.get(t), v)) changes.set(t, v);
  // The role history is the token's own, which no caller sets: a public session's C_CopyObject of a
  // secret key adds to it (role-history.ts), and nothing may take from it.
  if (changes.has(ROLE_HISTORY)) {
    if (!historyKept(before.attrs, after)) return 'its role history lost what it recorded';
    changes.delete(ROLE_HISTORY);
  }
  try {
    checkChanges(before, changes, 'set', false);
  } catch (e) {
    return reasonOf(e);
  }
  return notPublicCreatable(attrs);
}

export function checkStored(s: StoredObject, ctx: CheckContext): Verdict {
  const { auth } = s;
  if (auth.kind === 'mac') {
    return ctx.signer.recordValid(s.palLabel, s.signed, auth.tag)
      ? 'verified'
      : { rejected: 'it fails its MAC (changed outside the token, or moved to another object)' };
  }
  if (ctx.migrate) return 'adopt';
  if (auth.kind === 'none' && auth.base) {
    const base = decodeStoredRecord(auth.base);
    if (
      base.auth.kind !== 'mac' ||
      !ctx.signer.recordValid(s.palLabel, base.signed, base.auth.tag)
    ) {
      return { rejected: 'the version it was changed from fails its MAC' };
    }
    const why = notPublicChange(base.record.attributes, s.attributes);
    return why ? { rejected: `no public session made this change: ${why}` } : 'adopt';
  }
  const ids = ctx.authenticatedIds;
  if (ids === 'all' || ids.has(s.id)) return { rejected: 'its MAC was removed outside the token' };
  const why = notPublicCreatable(s.attributes);
  return why ? { rejected: `it has no MAC, and ${why}` } : 'adopt';
}

/** The ids bucket `b` lists as authenticated: none without a set, 'all' when its tag fails. */
export function authenticatedIds(
  bucketAuth: LoadResult['bucketAuth'],
  signer: RecordSigner,
  b: number,
): ReadonlySet<number> | 'all' {
  const auth = bucketAuth.get(b);
  if (!auth) return new Set();
  if (!signer.bucketValid(b, auth.ids, auth.tag)) return 'all';
  return new Set(auth.ids.map(([id]) => id));
}

/**
 * Private objects an index bucket vouches for whose records are gone: a public session cannot
 * destroy a private object, so their loss happened outside the token (a public one may be a
 * legitimate C_DestroyObject before any login, and is not reported).
 */
export function missingPrivate(
  bucketAuth: LoadResult['bucketAuth'],
  signer: RecordSigner,
  present: ReadonlySet<number>,
): number[] {
  const out: number[] = [];
  for (const [b, auth] of bucketAuth) {
    if (!signer.bucketValid(b, auth.ids, auth.tag)) continue;
    for (const [id, p] of auth.ids) if (p === 1 && !present.has(id)) out.push(id);
  }
  return out;
}
