/**
 * What the token knows about damage in its storage (issue: a flipped bit must never turn into "not
 * initialised"): the PAL's own reports, the records that could not be read at the last load, and
 * whether the token record is lost rather than absent. A token record that is missing while the
 * storage is damaged or still holds objects is lost: the token then writes no new one and refuses
 * C_InitToken until `corepkcs11 fsck --repair` has run, so the hint to re-initialise can never finish
 * a loss. Layer L5.
 * @module
 */
import { Pkcs11Error } from '../errors.js';
import * as C from '../pkcs11/constants.js';
import type { LoadResult } from './object-store.js';

export interface StorageHealth {
  /** The PAL's reports (damaged sectors, bits read as written). */
  storage: string[];
  /** Records that could not be read at the last load. */
  records: string[];
  /** Object records found at the last load. */
  objects: number;
  /** The token record is missing but the storage is damaged or holds objects. */
  recordLost: boolean;
  /** Records a login refused (failed authentication), and private objects gone outside the token. */
  rejected?: string[];
}

/** Every warning the token gives about damage starts with this (the CLI picks them out). */
export const DAMAGE_WARNING = 'damaged storage: ';

export function assessStorage(loaded: LoadResult, palDamage: string[]): StorageHealth {
  const { meta, objects, damaged } = loaded;
  const damagedStore = palDamage.length > 0 || damaged.length > 0;
  return {
    storage: palDamage,
    records: damaged,
    objects: objects.length,
    recordLost: meta === undefined && (damagedStore || objects.length > 0),
  };
}

/** The lines to warn about: every storage report, then the unreadable records. */
export function damageWarnings(h: StorageHealth): string[] {
  const lost = h.recordLost
    ? [`the token record is missing from storage that holds ${h.objects} objects or damage`]
    : [];
  return [...h.storage, ...h.records, ...lost].map((l) => `${DAMAGE_WARNING}${l}`);
}

/**
 * C_InitToken over a lost token record while storage is reported damaged would destroy what a repair
 * can save: refused until `corepkcs11 fsck --repair` has run (which rewrites what can be read and
 * removes what cannot). A token record missing from undamaged storage is the owner's call.
 */
export function checkReinitializable(h: StorageHealth): void {
  if (!h.recordLost || (h.storage.length === 0 && h.records.length === 0)) return;
  throw new Pkcs11Error(
    C.CKR_DEVICE_ERROR,
    `the token record is unreadable in damaged storage (${h.storage[0] ?? h.records[0]}): run \`corepkcs11 fsck --repair\` before re-initialising`,
  );
}
