/**
 * The PAL (platform abstraction layer): the storage contract a port implements, as small as the seed's.
 *
 * corePKCS11 defines six functions (PKCS11_PAL_Initialize, _SaveObject, _FindObject, _GetObjectValue,
 * _GetObjectValueCleanup, _DestroyObject). This is the same contract in TypeScript. A port stores opaque
 * byte strings under labels and knows nothing about PKCS#11 attributes, handles or encryption: the token
 * above it does all of that (records, several objects per CKA_LABEL, listing, encryption at rest).
 *
 * Rules every port must keep:
 * - saveObject replaces the whole value under a label atomically: after a crash or power cut, a later
 *   findObject/getObjectValue sees either the complete old value or the complete new value, never a mix.
 * - Handles are small positive integers, stable while the port is open; 0 means "no object".
 * - Errors are thrown as Pkcs11Error: CKR_DEVICE_MEMORY when storage is full or a label cannot be stored
 *   (a port with fixed slots refuses unknown labels that way), CKR_DEVICE_ERROR for I/O failures,
 *   CKR_OBJECT_HANDLE_INVALID for an unknown handle.
 * Layer L2 (port interface).
 * @module
 */

/** A PAL object handle. 0 is CK_INVALID_HANDLE (the seed's eInvalidHandle). */
export type PalHandle = number;

/** The "no object" handle. */
export const INVALID_PAL_HANDLE: PalHandle = 0;

/** What PKCS11_PAL_GetObjectValue returns: the stored bytes and whether the object is private/secret. */
export interface PalObjectValue {
  data: Uint8Array;
  isPrivate: boolean;
}

export interface Pal {
  /** PKCS11_PAL_Initialize: prepare storage (mount, create directories, recover after a crash). */
  initialize(): void;

  /**
   * PKCS11_PAL_SaveObject: store `data` under `label`, replacing any previous value atomically.
   * `isPrivate` is returned by getObjectValue (corePKCS11 ports infer it from the label; we pass it).
   * Returns the object's handle (never 0: failures throw).
   */
  saveObject(label: string, data: Uint8Array, isPrivate: boolean): PalHandle;

  /** PKCS11_PAL_FindObject: the handle of the object stored under `label`, or 0 when there is none. */
  findObject(label: string): PalHandle;

  /** PKCS11_PAL_GetObjectValue: the stored bytes of an object (a copy the caller may keep until cleanup). */
  getObjectValue(handle: PalHandle): PalObjectValue;

  /** PKCS11_PAL_GetObjectValueCleanup: release a value from getObjectValue (ports zeroize it). */
  getObjectValueCleanup(value: PalObjectValue): void;

  /** PKCS11_PAL_DestroyObject: delete an object. Unknown handle: CKR_OBJECT_HANDLE_INVALID. */
  destroyObject(handle: PalHandle): void;

  /**
   * Optional: replace the value under `label` by `data` of the same length in place, so that storage that
   * is full still takes it (the PIN try counters are written this way). Not atomic: a crash may leave the
   * value torn, so callers keep two copies with checksums. The private flag stays as saved. Returns false,
   * writing nothing, when `label` holds no value of that length; the caller then uses saveObject.
   */
  overwrite?(label: string, data: Uint8Array): boolean;

  /**
   * Optional: run `fn` holding an exclusive lock on the storage shared with other processes, so that
   * read-modify-write sequences of the token are not interleaved with another process's. Ports whose
   * storage cannot be shared leave it out.
   */
  exclusive?<T>(fn: () => T): T;

  /**
   * Optional: a cheap value that changes whenever the stored objects change (in this process or another),
   * so the token can skip re-reading storage when nothing happened. Ports without one are re-read.
   */
  generation?(): string;

  /**
   * Optional: damage the port found in storage and kept as it was, one line each (a damaged flash
   * sector, bits read as written). Reading never repairs: a read path writes nothing.
   */
  damage?(): string[];

  /**
   * Optional: the explicit repair (`corepkcs11 fsck --repair`): rewrite what damage() reports so that
   * nothing readable is lost. Returns one line per thing rewritten.
   */
  repair?(): string[];

  /** Optional: release OS resources (file descriptors, locks). The port is unusable afterwards. */
  close?(): void;
}

/** The value stored under `label` (a copy the caller owns), or undefined when there is none. */
export function readLabel(pal: Pal, label: string): Uint8Array | undefined {
  const h = pal.findObject(label);
  if (h === INVALID_PAL_HANDLE) return undefined;
  const v = pal.getObjectValue(h);
  try {
    // A copy that survives the cleanup below, also when a port hands out a Buffer (whose slice is a view).
    return new Uint8Array(v.data);
  } finally {
    pal.getObjectValueCleanup(v);
  }
}

/** Replaces the value under `label`: in place where the port can (see overwrite), else by saveObject. */
export function overwriteLabel(
  pal: Pal,
  label: string,
  data: Uint8Array,
  isPrivate: boolean,
): void {
  if (pal.overwrite?.(label, data)) return;
  pal.saveObject(label, data, isPrivate);
}
