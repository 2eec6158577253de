/**
 * Key generation (v2.40 §5.14): C_GenerateKey and C_GenerateKeyPair, sync and async. Templates are
 * checked against the policy before any key is made, and both halves of a pair are admitted together:
 * if storing the second fails, the first is removed again (no half pairs). Layer L5.
 * @module
 */

import type { AttributeMap } from '../attributes/values.js';
import { normalizeTemplate, readBytes } from '../attributes/values.js';
import { Pkcs11Error } from '../errors.js';
import { mechanism } from '../mechanisms/registry.js';
import type { GeneratedKey, GeneratedPair, KeyLookup, Mechanism } from '../mechanisms/types.js';
import { completeAttributes } from '../objects/complete.js';
import { buildAttributes } from '../objects/factory.js';
import { TokenObject } from '../objects/object.js';
import { inheritHistory, markCopied } from '../objects/role-history.js';
import * as C from '../pkcs11/constants.js';
import type { KeyPairHandles, RawAttribute, RawMechanism } from '../pkcs11/types.js';
import { encodeBool } from '../util/bytes.js';
import type { AppState } from './app-state.js';
import { checkKeyForUse, keyRef, rememberEcPair } from './keys.js';
import { admitObject, checkObjectSize, recordChanges } from './object-calls.js';
import type { Session } from './session.js';

/**
 * The object a mechanism made (a secret key unless it says otherwise: a key-pair half, a data object from
 * CKM_HKDF_DATA, domain parameters), from its output and the caller's template; CKA_KEY_GEN_MECHANISM
 * from `mechanismType` (none for a derived key). `complete` false: the policy probe of a template before
 * anything is generated.
 */
function generatedObject(
  app: AppState,
  tmpl: AttributeMap,
  gen: GeneratedKey,
  mechanismType?: number,
  complete = true,
): TokenObject {
  // buildAttributes only reads the template: a copy is needed only to drop what the mechanism consumed.
  let template = tmpl;
  if (gen.consumes && gen.consumes.length > 0) {
    template = new Map(tmpl);
    for (const t of gen.consumes) template.delete(t);
  }
  const attrs = buildAttributes(template, {
    mode: 'generate',
    isSO: app.login === 'so',
    impliedClass: gen.objectClass ?? C.CKO_SECRET_KEY,
    profile: app.token.profile,
    ...(gen.keyType === undefined ? {} : { impliedSubtype: gen.keyType }),
    computed: gen.computed,
    ...(mechanismType === undefined ? {} : { mechanism: mechanismType }),
  });
  if (complete) completeAttributes(attrs, app.token.crypto, app.token.profile);
  return new TokenObject(attrs);
}

export function generateKey(
  app: AppState,
  h: number,
  m: RawMechanism,
  template: RawAttribute[],
): number {
  const session = app.requireSession(h);
  const mech = mechanism(m.mechanism, app.token.profile);
  if (!mech.generateKey)
    throw new Pkcs11Error(C.CKR_MECHANISM_INVALID, 'not a key generation mechanism');
  const tmpl = normalizeTemplate(template);
  // Secret keys are cheap to make: generate first, so the key type the mechanism implies is known.
  const gen = mech.generateKey(app.token.crypto, m, tmpl);
  const obj = generatedObject(app, tmpl, gen, m.mechanism);
  app.checkWrite(session, obj.isToken, obj.isPrivate);
  return admitObject(app, session, obj);
}

interface PairPlan {
  session: Session;
  pub: Map<number, Uint8Array | RawAttribute[]>;
  priv: Map<number, Uint8Array | RawAttribute[]>;
  generate: NonNullable<Mechanism['generateKeyPair']>;
  generateAsync: Mechanism['generateKeyPairAsync'];
  /** The key type of the pair (the templates are checked against its policy before generating). */
  keyType: number;
}

function planPair(
  app: AppState,
  h: number,
  m: RawMechanism,
  pubT: RawAttribute[],
  privT: RawAttribute[],
): PairPlan {
  const session = app.requireSession(h);
  const mech = mechanism(m.mechanism, app.token.profile);
  const generate = mech.generateKeyPair;
  const keyType = mech.keyPairType;
  if (!generate || keyType === undefined)
    throw new Pkcs11Error(C.CKR_MECHANISM_INVALID, 'not a key-pair generation mechanism');
  const pub = normalizeTemplate(pubT);
  const priv = normalizeTemplate(privT);
  return { session, pub, priv, generate, generateAsync: mech.generateKeyPairAsync, keyType };
}

function admitPair(
  app: AppState,
  m: RawMechanism,
  plan: PairPlan,
  gen: GeneratedPair,
): KeyPairHandles {
  const half = (tmpl: AttributeMap, objectClass: number, computed: AttributeMap) =>
    generatedObject(app, tmpl, { objectClass, keyType: gen.keyType, computed }, m.mechanism);
  const pubObj = half(plan.pub, gen.publicClass, gen.publicComputed);
  const privObj = half(plan.priv, gen.privateClass, gen.privateComputed);
  app.checkWrite(plan.session, pubObj.isToken, pubObj.isPrivate);
  app.checkWrite(plan.session, privObj.isToken, privObj.isPrivate);
  if (pubObj.isToken && privObj.isToken) {
    // Both halves in storage at once: one index update, and never half a pair.
    checkObjectSize(app, pubObj.attrs);
    checkObjectSize(app, privObj.attrs);
    app.token.addObjects([pubObj, privObj]);
    rememberEcPair(app, pubObj, privObj);
    return { publicKey: app.handleOf(pubObj), privateKey: app.handleOf(privObj) };
  }
  const publicKey = admitObject(app, plan.session, pubObj);
  try {
    const privateKey = admitObject(app, plan.session, privObj);
    rememberEcPair(app, pubObj, privObj);
    return { publicKey, privateKey };
  } catch (e) {
    if (pubObj.isToken) app.token.removeObject(pubObj);
    else app.sessionObjects.delete(pubObj);
    app.forget(pubObj);
    throw e;
  }
}

/** Validates both templates against the policy with placeholder material, before generating. */
function precheck(app: AppState, plan: PairPlan): void {
  for (const [tmpl, cls] of [
    [plan.pub, C.CKO_PUBLIC_KEY],
    [plan.priv, C.CKO_PRIVATE_KEY],
  ] as const) {
    const shape = { objectClass: cls, keyType: plan.keyType, computed: new Map() };
    const probe = generatedObject(app, tmpl, shape, undefined, false);
    app.checkWrite(plan.session, probe.isToken, probe.isPrivate);
  }
}

export function generateKeyPair(
  app: AppState,
  h: number,
  m: RawMechanism,
  pubT: RawAttribute[],
  privT: RawAttribute[],
): KeyPairHandles {
  const plan = planPair(app, h, m, pubT, privT);
  precheck(app, plan);
  return admitPair(app, m, plan, plan.generate(app.token.crypto, m, plan.pub, plan.priv));
}

export async function generateKeyPairAsync(
  app: AppState,
  h: number,
  m: RawMechanism,
  pubT: RawAttribute[],
  privT: RawAttribute[],
): Promise<KeyPairHandles> {
  const plan = planPair(app, h, m, pubT, privT);
  precheck(app, plan);
  const gen = await (plan.generateAsync ?? plan.generate)(app.token.crypto, m, plan.pub, plan.priv);
  // The session may have closed while the key was being generated.
  app.requireSession(h);
  return admitPair(app, m, plan, gen);
}

/**
 * The second base key a mechanism names in its parameter (CKM_CONCATENATE_BASE_AND_KEY): a secret key
 * the caller can see. Its value goes into the derived key, so its protection is inherited too.
 */
function otherBaseKey(app: AppState, mech: Mechanism, m: RawMechanism): TokenObject | undefined {
  if (!mech.otherKeyHandle) return undefined;
  const other = app.requireObject(mech.otherKeyHandle(m), C.CKR_KEY_HANDLE_INVALID);
  if (other.objectClass !== C.CKO_SECRET_KEY || !mech.keyTypes?.includes(other.keyType ?? -1)) {
    throw new Pkcs11Error(C.CKR_KEY_TYPE_INCONSISTENT, 'the second key is not a secret key');
  }
  return other;
}

/**
 * Sensitivity only goes up: a key derived from a sensitive key is sensitive, and one made of the
 * bytes of a key that is not extractable is not extractable (v2.40 mechanisms §2.41). A template
 * that asks otherwise is CKR_TEMPLATE_INCONSISTENT; one that says nothing gets the inherited value.
 */
function inheritProtection(tmpl: AttributeMap, mech: Mechanism, bases: TokenObject[]): void {
  const force = (type: number, value: boolean, name: string) => {
    const given = tmpl.get(type);
    if (given instanceof Uint8Array && given.length === 1 && given[0] !== (value ? 1 : 0)) {
      throw new Pkcs11Error(
        C.CKR_TEMPLATE_INCONSISTENT,
        `a key derived from ${value ? 'a sensitive' : 'an unextractable'} key is ${name}`,
      );
    }
    tmpl.set(type, encodeBool(value));
  };
  if (mech.sensitiveFromBase && bases.some((b) => b.flag(C.CKA_SENSITIVE))) {
    force(C.CKA_SENSITIVE, true, 'sensitive');
  }
  if (mech.unextractableFromBase && bases.some((b) => !b.flag(C.CKA_EXTRACTABLE))) {
    force(C.CKA_EXTRACTABLE, false, 'not extractable');
  }
}

/**
 * C_DeriveKey. A derived key is not local, and it is always-sensitive / never-extractable only if its
 * base keys were and it still is (v2.40 §4.9).
 */
export function deriveKey(
  app: AppState,
  h: number,
  m: RawMechanism,
  baseKey: number,
  template: RawAttribute[],
): number {
  const session = app.requireSession(h);
  const mech = mechanism(m.mechanism, app.token.profile);
  if (!mech.derive)
    throw new Pkcs11Error(C.CKR_MECHANISM_INVALID, 'not a key derivation mechanism');
  const base = app.requireObject(baseKey, C.CKR_KEY_HANDLE_INVALID);
  checkKeyForUse(app.token.crypto, base, mech, 'derive');
  const other = otherBaseKey(app, mech, m);
  const bases = other ? [base, other] : [base];
  const tmpl = normalizeTemplate(template);
  inheritProtection(tmpl, mech, bases);
  const crypto = app.token.crypto;
  // A second key named by the parameter (an HKDF salt key) passes the same checks as the base key.
  const keys: KeyLookup = (handle, use) => {
    const key = app.requireObject(handle, C.CKR_KEY_HANDLE_INVALID);
    checkKeyForUse(crypto, key, mech, use);
    return keyRef(crypto, key);
  };
  const otherRef = other && keyRef(crypto, other);
  const gen = mech.derive(crypto, m, keyRef(crypto, base), tmpl, otherRef, keys);
  const obj = generatedObject(app, tmpl, gen);
  if (obj.objectClass !== C.CKO_SECRET_KEY) {
    app.checkWrite(session, obj.isToken, obj.isPrivate);
    return admitObject(app, session, obj);
  }
  const attrs = obj.attrs;
  attrs.set(C.CKA_LOCAL, encodeBool(false));
  attrs.set(
    C.CKA_ALWAYS_SENSITIVE,
    encodeBool(bases.every((b) => b.flag(C.CKA_ALWAYS_SENSITIVE)) && obj.flag(C.CKA_SENSITIVE)),
  );
  attrs.set(
    C.CKA_NEVER_EXTRACTABLE,
    encodeBool(bases.every((b) => b.flag(C.CKA_NEVER_EXTRACTABLE)) && !obj.flag(C.CKA_EXTRACTABLE)),
  );
  app.checkWrite(session, obj.isToken, obj.isPrivate);
  // A key made of its base keys' bytes, or that came out equal to its base, is a copy of them: it
  // takes their history and they learn they were copied (role-history.ts). Else a chain (W xor d,
  // then xor d again) would give back a wrapping key that can decrypt what it wrapped.
  const value = readBytes(attrs, C.CKA_VALUE);
  for (const b of bases) {
    const bValue = b.objectClass === C.CKO_SECRET_KEY ? readBytes(b.attrs, C.CKA_VALUE) : undefined;
    const same = bValue && value && crypto.timingSafeEqual(bValue, value);
    if (!mech.unextractableFromBase && !same) continue;
    inheritHistory(attrs, b);
    const copied = markCopied(b);
    if (copied) recordChanges(app, b, copied);
  }
  return admitObject(app, session, obj);
}
