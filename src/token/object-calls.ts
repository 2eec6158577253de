/**
 * Object management (v2.40 §5.7): C_CreateObject, C_CopyObject, C_DestroyObject, C_GetObjectSize,
 * C_GetAttributeValue, C_SetAttributeValue and the C_FindObjects family, over the policy in objects/.
 * Layer L5.
 * @module
 */
import type { AttributeMap } from '../attributes/values.js';
import {
  MAX_TEMPLATE_LENGTH,
  matchesTemplate,
  normalizeTemplate,
  normalizeValue,
  valueLength,
} from '../attributes/values.js';
import { Pkcs11Error } from '../errors.js';
import { completeAttributes } from '../objects/complete.js';
import { buildAttributes, checkChanges } from '../objects/factory.js';
import { TokenObject } from '../objects/object.js';
import { markCopied, ROLE_HISTORY } from '../objects/role-history.js';
import * as C from '../pkcs11/constants.js';
import type {
  AttributeAnswer,
  AttributeQuery,
  AttributeValues,
  RawAttribute,
} from '../pkcs11/types.js';
import { recordSize } from '../storage/record.js';
import type { AppState } from './app-state.js';
import { importKey, rememberEcPrivate } from './keys.js';
import type { Session } from './session.js';

/** The size C_GetObjectSize reports: the object's record as stored. */
function objectSize(attrs: AttributeMap): number {
  return recordSize(attrs.values());
}

/** CKR_DEVICE_MEMORY for an object above maxObjectBytes. */
export function checkObjectSize(app: AppState, attrs: AttributeMap): void {
  const size = objectSize(attrs);
  const max = app.token.options.maxObjectBytes;
  if (size > max)
    throw new Pkcs11Error(C.CKR_DEVICE_MEMORY, `object of ${size} bytes, maxObjectBytes ${max}`);
}

/** Registers a new object (token or session) and returns its handle. */
export function admitObject(app: AppState, session: Session, obj: TokenObject): number {
  checkObjectSize(app, obj.attrs);
  if (obj.isToken) app.token.addObject(obj);
  else {
    const max = app.token.options.maxSessionObjects;
    if (app.sessionObjects.size >= max) {
      throw new Pkcs11Error(
        C.CKR_DEVICE_MEMORY,
        `${app.sessionObjects.size} session objects, maxSessionObjects ${max}`,
      );
    }
    app.sessionObjects.set(obj, session.handle);
  }
  return app.handleOf(obj);
}

/** Validates asymmetric key material now, so a bad key fails at creation rather than at first use. */
function validateKey(app: AppState, obj: TokenObject): void {
  const cls = obj.objectClass;
  if (cls === C.CKO_PUBLIC_KEY || cls === C.CKO_PRIVATE_KEY) importKey(app.token.crypto, obj);
}

export function createObject(app: AppState, h: number, template: RawAttribute[]): number {
  const session = app.requireSession(h);
  const tmpl = normalizeTemplate(template);
  const attrs = buildAttributes(tmpl, {
    mode: 'create',
    isSO: app.login === 'so',
    profile: app.token.profile,
  });
  completeAttributes(attrs, app.token.crypto, app.token.profile);
  const obj = new TokenObject(attrs);
  app.checkWrite(session, obj.isToken, obj.isPrivate);
  validateKey(app, obj);
  const handle = admitObject(app, session, obj);
  rememberEcPrivate(app, obj);
  return handle;
}

export function copyObject(
  app: AppState,
  h: number,
  handle: number,
  template: RawAttribute[],
): number {
  const session = app.requireSession(h);
  const src = app.requireObject(handle);
  if (!src.flag(C.CKA_COPYABLE))
    throw new Pkcs11Error(C.CKR_ACTION_PROHIBITED, 'CKA_COPYABLE is false');
  const changes = checkChanges(src, normalizeTemplate(template), 'copy', app.login === 'so');
  const copy = new TokenObject(new Map(src.attrs));
  copy.update(changes);
  app.checkWrite(session, copy.isToken, copy.isPrivate);
  // The source learns it has a copy first: were the copy stored and this not, a later CKA_WRAP on the
  // source would go unchecked against the copy's roles (objects/role-history.ts).
  const copied = markCopied(src);
  if (copied) recordChanges(app, src, copied);
  return admitObject(app, session, copy);
}

export function destroyObject(app: AppState, h: number, handle: number): void {
  const session = app.requireSession(h);
  const obj = app.requireObject(handle);
  app.checkWrite(session, obj.isToken, obj.isPrivate);
  if (!obj.flag(C.CKA_DESTROYABLE))
    throw new Pkcs11Error(C.CKR_ACTION_PROHIBITED, 'CKA_DESTROYABLE is false');
  // Persist first, then invalidate: a failed delete leaves a usable object, not a ghost.
  if (obj.isToken) app.token.removeObject(obj);
  else app.sessionObjects.delete(obj);
  app.forget(obj);
  for (const s of app.sessions.values()) s.endKeyedOperations((k) => k === obj);
}

export function getObjectSize(app: AppState, h: number, handle: number): number {
  app.requireSession(h);
  return objectSize(app.requireObject(handle).attrs);
}

/** §5.7 C_GetAttributeValue: every triple is processed; the worst outcome becomes the return value. */
export function getAttributeValue(
  app: AppState,
  h: number,
  handle: number,
  queries: AttributeQuery[],
): AttributeValues {
  app.requireSession(h);
  const obj = app.requireObject(handle);
  let rv = C.CKR_OK;
  const answers: AttributeAnswer[] = queries.map(({ type, capacity }) => {
    if (obj.isConcealed(type)) {
      rv = C.CKR_ATTRIBUTE_SENSITIVE;
      return { type, length: -1 };
    }
    const v = type === ROLE_HISTORY ? undefined : obj.get(type);
    if (v === undefined) {
      if (rv === C.CKR_OK) rv = C.CKR_ATTRIBUTE_TYPE_INVALID;
      return { type, length: -1 };
    }
    const length = valueLength(v);
    if (capacity === null) return { type, length };
    if (capacity < length) {
      if (rv === C.CKR_OK) rv = C.CKR_BUFFER_TOO_SMALL;
      return { type, length: -1 };
    }
    return { type, length, value: Array.isArray(v) ? v : v.slice() };
  });
  return { rv, answers };
}

export function setAttributeValue(
  app: AppState,
  h: number,
  handle: number,
  template: RawAttribute[],
): void {
  const session = app.requireSession(h);
  const obj = app.requireObject(handle);
  app.checkWrite(session, obj.isToken, obj.isPrivate);
  const changes = checkChanges(obj, normalizeTemplate(template), 'set', app.login === 'so');
  checkObjectSize(app, new Map([...obj.attrs, ...changes]));
  recordChanges(app, obj, changes);
}

/** Applies validated changes to an object: persisted first for a token object. */
export function recordChanges(app: AppState, obj: TokenObject, changes: AttributeMap): void {
  if (obj.isToken) app.token.updateObject(obj, changes);
  else obj.update(changes);
}

/** The find template; values a caller got wrong (bad lengths) simply match nothing. */
function findTemplate(template: RawAttribute[]): AttributeMap | undefined {
  const map: AttributeMap = new Map();
  for (const a of template) {
    if (a.type === ROLE_HISTORY) return undefined; // token-internal: no caller can search by it
    try {
      map.set(a.type, normalizeValue(a.type, a.value));
    } catch {
      return undefined;
    }
  }
  return map;
}

export function findObjectsInit(app: AppState, h: number, template: RawAttribute[]): void {
  const session = app.requireSession(h);
  if (session.find) throw new Pkcs11Error(C.CKR_OPERATION_ACTIVE, 'a find is already active');
  if (template.length > MAX_TEMPLATE_LENGTH) {
    throw new Pkcs11Error(
      C.CKR_ATTRIBUTE_VALUE_INVALID,
      `template longer than ${MAX_TEMPLATE_LENGTH}`,
    );
  }
  const tmpl = findTemplate(template);
  const results: number[] = [];
  if (tmpl) {
    const consider = (obj: TokenObject) => {
      if (!app.canSee(obj)) return;
      // Naming a concealed attribute would make the search an oracle for its value.
      for (const t of tmpl.keys()) if (obj.isConcealed(t)) return;
      if (matchesTemplate(obj.attrs, tmpl)) results.push(app.handleOf(obj));
    };
    for (const obj of app.token.candidates(tmpl)) consider(obj);
    for (const obj of app.sessionObjects.keys()) consider(obj);
  }
  session.find = { results, next: 0 };
}

export function findObjects(app: AppState, h: number, maxCount: number): number[] {
  const session = app.requireSession(h);
  const f = session.find;
  if (!f) throw new Pkcs11Error(C.CKR_OPERATION_NOT_INITIALIZED);
  if (!Number.isInteger(maxCount) || maxCount < 0) throw new Pkcs11Error(C.CKR_ARGUMENTS_BAD);
  const out = f.results.slice(f.next, f.next + maxCount);
  f.next += out.length;
  return out;
}

export function findObjectsFinal(app: AppState, h: number): void {
  const session = app.requireSession(h);
  if (!session.find) throw new Pkcs11Error(C.CKR_OPERATION_NOT_INITIALIZED);
  session.find = undefined;
}
