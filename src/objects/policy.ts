/**
 * Attribute policy as data: the flags of the PKCS#11 v2.40 common footnote table (§4.2, Table 10) and the
 * rule type every object class table is written in. Generic code in factory.ts enforces them for create,
 * generate, copy, set and get; no per-attribute if-chains elsewhere. Layer L3.
 * @module
 */
import type { AttributeMap, AttributeValue } from '../attributes/values.js';

/** fn 1: must be given to C_CreateObject (else CKR_TEMPLATE_INCOMPLETE). */
export const REQUIRED_ON_CREATE = 1 << 0;
/** fn 2: must not be given to C_CreateObject (else CKR_ATTRIBUTE_READ_ONLY). */
export const FORBIDDEN_ON_CREATE = 1 << 1;
/** fn 3: must be given to C_GenerateKey(Pair). */
export const REQUIRED_ON_GENERATE = 1 << 2;
/** fn 4: must not be given to C_GenerateKey(Pair). */
export const FORBIDDEN_ON_GENERATE = 1 << 3;
/** fn 6: must not be given to C_UnwrapKey (we group it with generate: both make the value themselves). */
export const FORBIDDEN_ON_UNWRAP = 1 << 5;
/** fn 7: not revealed when the key has CKA_SENSITIVE true or CKA_EXTRACTABLE false. */
export const SENSITIVE = 1 << 6;
/** fn 8: may be changed with C_SetAttributeValue (and C_CopyObject). */
export const MODIFIABLE = 1 << 7;
/** fn 10: only the SO may set it to true. */
export const SO_ONLY_TRUE = 1 << 9;
/** fn 11: once true it cannot change (may only go false → true). */
export const ONLY_TO_TRUE = 1 << 10;
/** fn 12: once false it cannot change (may only go true → false). */
export const ONLY_TO_FALSE = 1 << 11;
/** May be given to C_CopyObject even though C_SetAttributeValue cannot change it (CKA_TOKEN, CKA_PRIVATE…). */
export const COPY_CHANGEABLE = 1 << 16;

/** A default value, or a function computing it from the object's other attributes. */
export type DefaultValue = AttributeValue | ((attrs: AttributeMap) => AttributeValue | undefined);

export interface AttributeRule {
  type: number;
  flags: number;
  default?: DefaultValue;
}

/** The rules for one kind of object (class plus key/certificate type). */
export interface ObjectPolicy {
  readonly name: string;
  readonly rules: ReadonlyMap<number, AttributeRule>;
}

export function rule(type: number, flags = 0, def?: DefaultValue): AttributeRule {
  return def === undefined ? { type, flags } : { type, flags, default: def };
}

/** Builds a policy from layered rule lists; a later list overrides an earlier rule for the same type. */
export function policy(name: string, ...layers: AttributeRule[][]): ObjectPolicy {
  const rules = new Map<number, AttributeRule>();
  for (const layer of layers) for (const r of layer) rules.set(r.type, r);
  return { name, rules };
}
