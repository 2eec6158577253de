/**
 * The memory PAL port: objects live in a Map for the life of the process. The reference for how small a
 * port is, and the store behind `memory:` tokens and most tests.
 * @module
 */
import { Pkcs11Error } from '../../errors.js';
import { CKR_DEVICE_MEMORY, CKR_OBJECT_HANDLE_INVALID } from '../../pkcs11/constants.js';
import type { Pal, PalHandle, PalObjectValue } from '../../storage/pal.js';

export interface MemoryPalOptions {
  /** Total bytes the store may hold (CKR_DEVICE_MEMORY beyond). Default: unbounded. */
  capacity?: number;
}

export function createMemoryPal(options: MemoryPalOptions = {}): Pal {
  const byLabel = new Map<string, PalHandle>();
  const values = new Map<PalHandle, { label: string; data: Uint8Array; isPrivate: boolean }>();
  let nextHandle = 1;
  let used = 0;
  let changes = 0;
  const capacity = options.capacity ?? Number.POSITIVE_INFINITY;
  return {
    initialize() {},
    saveObject(label, data, isPrivate) {
      const existing = byLabel.get(label);
      const old = existing === undefined ? 0 : (values.get(existing)?.data.length ?? 0);
      if (used - old + data.length > capacity)
        throw new Pkcs11Error(CKR_DEVICE_MEMORY, 'memory PAL is full');
      const handle = existing ?? nextHandle++;
      if (existing !== undefined) values.get(existing)?.data.fill(0);
      values.set(handle, { label, data: new Uint8Array(data), isPrivate });
      byLabel.set(label, handle);
      used += data.length - old;
      changes++;
      return handle;
    },
    findObject(label) {
      return byLabel.get(label) ?? 0;
    },
    getObjectValue(handle): PalObjectValue {
      const v = values.get(handle);
      if (!v) throw new Pkcs11Error(CKR_OBJECT_HANDLE_INVALID, `no PAL object ${handle}`);
      return { data: new Uint8Array(v.data), isPrivate: v.isPrivate };
    },
    getObjectValueCleanup(value) {
      value.data.fill(0);
    },
    generation: () => String(changes),
    destroyObject(handle) {
      const v = values.get(handle);
      if (!v) throw new Pkcs11Error(CKR_OBJECT_HANDLE_INVALID, `no PAL object ${handle}`);
      v.data.fill(0);
      used -= v.data.length;
      values.delete(handle);
      byLabel.delete(v.label);
      changes++;
    },
  };
}
