/**
 * Generic enforcement of the attribute policy for C_CreateObject, C_GenerateKey(Pair), C_CopyObject and
 * C_SetAttributeValue, with the error precedence of v2.40 §4.1.1 (TYPE_INVALID, VALUE_INVALID, READ_ONLY,
 * TEMPLATE_INCOMPLETE, TEMPLATE_INCONSISTENT). Class-specific completion (certificate fields, derived
 * lengths) lives in complete.ts. Layer L3.
 * @module
 */

import { isKnownAttribute } from '../attributes/kinds.js';
import type { AttributeMap, AttributeValue } from '../attributes/values.js';
import { readBool, readUlong } from '../attributes/values.js';
import { Pkcs11Error } from '../errors.js';
import * as C from '../pkcs11/constants.js';
import { encodeBool, encodeUlong } from '../util/bytes.js';
import type { TokenObject } from './object.js';
import {
  type AttributeRule,
  COPY_CHANGEABLE,
  type DefaultValue,
  FORBIDDEN_ON_CREATE,
  FORBIDDEN_ON_GENERATE,
  MODIFIABLE,
  type ObjectPolicy,
  ONLY_TO_FALSE,
  ONLY_TO_TRUE,
  REQUIRED_ON_CREATE,
  REQUIRED_ON_GENERATE,
  SO_ONLY_TRUE,
} from './policy.js';
import type { Profile } from './profile.js';
import { checkRoleChanges, startHistory } from './role-history.js';
import { policyFor, profileDefault, subtypeAttribute } from './tables.js';

export type BuildMode = 'create' | 'generate';

export interface BuildOptions {
  mode: BuildMode;
  /** The caller is the SO (may set CKA_TRUSTED). */
  isSO: boolean;
  /** Class and subtype implied by the mechanism (generate); the template may repeat but not contradict them. */
  impliedClass?: number;
  impliedSubtype?: number;
  /** Values the token computed (generated key material); they win over defaults. */
  computed?: AttributeMap;
  /** The generating mechanism (CKA_KEY_GEN_MECHANISM). */
  mechanism?: number;
  /** The token's profile: `compatible` takes a few defaults from SoftHSMv2 (tables.ts). */
  profile: Profile;
}

/** A CK_BBOOL value that is true (as readBool reads it). */
const isTrue = (v: AttributeValue): boolean => !Array.isArray(v) && v[0] === 1;
const hex = (t: number) => `0x${t.toString(16)}`;
const attrName = (t: number) => C.CKA_NAMES.get(t) ?? `attribute ${hex(t)}`;

/** The policy for a template's class and subtype, with the spec's error for each way it can be missing. */
export function resolvePolicy(template: AttributeMap, opts: BuildOptions): ObjectPolicy {
  const cls = readUlong(template, C.CKA_CLASS) ?? opts.impliedClass;
  if (cls === undefined) throw new Pkcs11Error(C.CKR_TEMPLATE_INCOMPLETE, 'CKA_CLASS is required');
  if (opts.impliedClass !== undefined && cls !== opts.impliedClass) {
    throw new Pkcs11Error(C.CKR_TEMPLATE_INCONSISTENT, 'CKA_CLASS contradicts the mechanism');
  }
  const subAttr = subtypeAttribute(cls);
  const sub =
    subAttr === undefined ? undefined : (readUlong(template, subAttr) ?? opts.impliedSubtype);
  if (subAttr !== undefined && opts.impliedSubtype !== undefined && sub !== opts.impliedSubtype) {
    throw new Pkcs11Error(
      C.CKR_TEMPLATE_INCONSISTENT,
      `${attrName(subAttr)} contradicts the mechanism`,
    );
  }
  if (subAttr !== undefined && sub === undefined) {
    throw new Pkcs11Error(C.CKR_TEMPLATE_INCOMPLETE, `${attrName(subAttr)} is required`);
  }
  const p = policyFor(cls, sub);
  if (!p) {
    const what =
      subAttr === undefined || policyFor(cls, undefined) ? 'CKA_CLASS' : attrName(subAttr);
    throw new Pkcs11Error(
      C.CKR_ATTRIBUTE_VALUE_INVALID,
      `${what}: object kind not supported by this token`,
    );
  }
  return p;
}

/** An attribute the token fills in when the template leaves it out, as the profile resolves it. */
type Default = readonly [type: number, value: DefaultValue];

/** A policy's rules as lists, made once: building an object walks them, not the policy's Map. */
interface PolicyIndex {
  rules: readonly AttributeRule[];
  requiredOnCreate: readonly AttributeRule[];
  requiredOnGenerate: readonly AttributeRule[];
  /** Per profile, the rules that have a default, in rule order (made on first use). */
  defaults: Map<Profile, readonly Default[]>;
}

const INDEXES = new WeakMap<ObjectPolicy, PolicyIndex>();

function indexOf(p: ObjectPolicy): PolicyIndex {
  let index = INDEXES.get(p);
  if (index === undefined) {
    const rules = [...p.rules.values()];
    index = {
      rules,
      requiredOnCreate: rules.filter((r) => r.flags & REQUIRED_ON_CREATE),
      requiredOnGenerate: rules.filter((r) => r.flags & REQUIRED_ON_GENERATE),
      defaults: new Map(),
    };
    INDEXES.set(p, index);
  }
  return index;
}

/** The defaults of a policy's objects (all of class `cls`) on a token of `profile`. */
function defaultsOf(index: PolicyIndex, profile: Profile, cls: number): readonly Default[] {
  const known = index.defaults.get(profile);
  if (known !== undefined) return known;
  const defaults: Default[] = [];
  for (const r of index.rules) {
    const def = profileDefault(profile, cls, r.type) ?? r.default;
    if (def !== undefined) defaults.push([r.type, def]);
  }
  index.defaults.set(profile, defaults);
  return defaults;
}

/** Builds the full attribute set of a new object from a normalized template. */
export function buildAttributes(template: AttributeMap, opts: BuildOptions): AttributeMap {
  const p = resolvePolicy(template, opts);
  // 1. attributes the spec does not define at all; those of other kinds of objects are a
  // template inconsistency (§4.1.1: "a secret key with an attribute appropriate for public keys"),
  // reported after the checks that take precedence over it
  const foreign: number[] = [];
  for (const type of template.keys()) {
    if (p.rules.has(type)) continue;
    if (!isKnownAttribute(type)) {
      throw new Pkcs11Error(
        C.CKR_ATTRIBUTE_TYPE_INVALID,
        `attribute 0x${type.toString(16)} is not defined`,
      );
    }
    foreign.push(type);
  }
  // 2. read-only attributes
  const forbidden = opts.mode === 'create' ? FORBIDDEN_ON_CREATE : FORBIDDEN_ON_GENERATE;
  for (const [type, value] of template) {
    const r = p.rules.get(type);
    if (r && r.flags & forbidden) {
      throw new Pkcs11Error(
        C.CKR_ATTRIBUTE_READ_ONLY,
        `${attrName(type)} cannot be given to ${opts.mode}`,
      );
    }
    if (r && r.flags & SO_ONLY_TRUE && !opts.isSO && isTrue(value)) {
      throw new Pkcs11Error(C.CKR_ATTRIBUTE_READ_ONLY, `only the SO may set ${attrName(type)}`);
    }
  }
  // 3. required attributes
  const index = indexOf(p);
  for (const r of opts.mode === 'create' ? index.requiredOnCreate : index.requiredOnGenerate) {
    if (!template.has(r.type) && !opts.computed?.has(r.type)) {
      if (r.type === C.CKA_CLASS || r.type === C.CKA_KEY_TYPE) continue; // implied by the mechanism
      throw new Pkcs11Error(C.CKR_TEMPLATE_INCOMPLETE, `${attrName(r.type)} is required`);
    }
  }
  // 4. inconsistent
  if (foreign.length > 0) {
    throw new Pkcs11Error(
      C.CKR_TEMPLATE_INCONSISTENT,
      `${foreign.map(attrName).join(', ')} cannot be part of a ${p.name}`,
    );
  }
  const attrs: AttributeMap = new Map();
  for (const [t, v] of template) attrs.set(t, v);
  if (opts.impliedClass !== undefined) attrs.set(C.CKA_CLASS, encodeUlong(opts.impliedClass));
  const subAttr = subtypeAttribute(readUlong(attrs, C.CKA_CLASS) as number);
  if (subAttr !== undefined && opts.impliedSubtype !== undefined) {
    attrs.set(subAttr, encodeUlong(opts.impliedSubtype));
  }
  for (const [t, v] of opts.computed ?? []) attrs.set(t, v);
  const cls = readUlong(attrs, C.CKA_CLASS) as number;
  for (const [type, def] of defaultsOf(index, opts.profile, cls)) {
    if (attrs.has(type)) continue;
    const v = typeof def === 'function' ? def(attrs) : def;
    if (v !== undefined) attrs.set(type, v);
  }
  setProvenance(attrs, opts);
  startHistory(attrs);
  return attrs;
}

/** CKA_LOCAL, CKA_KEY_GEN_MECHANISM, CKA_ALWAYS_SENSITIVE, CKA_NEVER_EXTRACTABLE as §4.7/§4.9 define them. */
function setProvenance(attrs: AttributeMap, opts: BuildOptions): void {
  if (!attrs.has(C.CKA_LOCAL)) return;
  const generated = opts.mode === 'generate';
  attrs.set(C.CKA_LOCAL, encodeBool(generated));
  if (generated && opts.mechanism !== undefined) {
    attrs.set(C.CKA_KEY_GEN_MECHANISM, encodeUlong(opts.mechanism));
  }
  if (attrs.has(C.CKA_ALWAYS_SENSITIVE)) {
    attrs.set(
      C.CKA_ALWAYS_SENSITIVE,
      encodeBool(generated && readBool(attrs, C.CKA_SENSITIVE) === true),
    );
    attrs.set(
      C.CKA_NEVER_EXTRACTABLE,
      encodeBool(generated && readBool(attrs, C.CKA_EXTRACTABLE) === false),
    );
  }
}

/**
 * Validates a C_SetAttributeValue (or the template of a C_CopyObject) against an object and returns the
 * changes. Nothing is applied here: the caller applies them all or none.
 */
export function checkChanges(
  obj: TokenObject,
  template: AttributeMap,
  op: 'set' | 'copy',
  isSO: boolean,
): AttributeMap {
  const p = policyFor(obj.objectClass, obj.subtype);
  if (!p) throw new Pkcs11Error(C.CKR_GENERAL_ERROR, 'object without a policy');
  if (op === 'set' && !obj.flag(C.CKA_MODIFIABLE)) {
    throw new Pkcs11Error(C.CKR_ACTION_PROHIBITED, 'the object has CKA_MODIFIABLE false');
  }
  for (const type of template.keys()) {
    if (!p.rules.has(type)) {
      throw new Pkcs11Error(
        C.CKR_ATTRIBUTE_TYPE_INVALID,
        `${attrName(type)} is not valid for a ${p.name}`,
      );
    }
  }
  const allowed = op === 'copy' ? MODIFIABLE | COPY_CHANGEABLE : MODIFIABLE;
  for (const [type, value] of template) {
    const r = p.rules.get(type);
    if (!r) continue;
    const current = obj.get(type);
    const unchanged =
      current !== undefined &&
      !Array.isArray(current) &&
      !Array.isArray(value) &&
      current.length === value.length &&
      current.every((b, i) => b === value[i]);
    if (unchanged) continue;
    if (!(r.flags & allowed)) {
      throw new Pkcs11Error(C.CKR_ATTRIBUTE_READ_ONLY, `${attrName(type)} cannot be changed`);
    }
    const next = readBool(new Map([[type, value]]), type);
    if (r.flags & ONLY_TO_TRUE && obj.flag(type) && next === false) {
      throw new Pkcs11Error(C.CKR_ATTRIBUTE_READ_ONLY, `${attrName(type)} cannot go back to false`);
    }
    if (r.flags & ONLY_TO_FALSE && !obj.flag(type) && next === true) {
      throw new Pkcs11Error(C.CKR_ATTRIBUTE_READ_ONLY, `${attrName(type)} cannot go back to true`);
    }
    if (r.flags & SO_ONLY_TRUE && next === true && !isSO) {
      throw new Pkcs11Error(C.CKR_ATTRIBUTE_READ_ONLY, `only the SO may set ${attrName(type)}`);
    }
  }
  return checkRoleChanges(obj, new Map(template), op === 'copy');
}
