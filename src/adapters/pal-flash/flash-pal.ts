/**
 * The flash PAL port: the seed's six PAL functions over the simulated NOR flash (flash-log.ts holds the
 * format and recovery). Labels map to stable handles while the port is open; values come back as copies
 * that getObjectValueCleanup zeroizes. The device lives in memory, over caller-held bytes, or in an image
 * file (`flash:IMAGE`). After a simulated power cut the instance refuses further calls: a "reboot" is a
 * new PAL over the same device.
 * @module
 */
import { Pkcs11Error } from '../../errors.js';
import {
  CKR_DEVICE_ERROR,
  CKR_DEVICE_MEMORY,
  CKR_OBJECT_HANDLE_INVALID,
} from '../../pkcs11/constants.js';
import type { Pal, PalHandle, PalObjectValue } from '../../storage/pal.js';
import { imageFileSize, openImageFile } from './file-image.js';
import {
  DEFAULT_GEOMETRY,
  FlashDevice,
  type FlashDeviceOptions,
  type FlashGeometry,
  FlashIoError,
  PowerCutError,
} from './flash-device.js';
import { FlashLog, type FlashLogStats } from './flash-log.js';
import { FLAG_PRIVATE } from './format.js';

/** Longest label in UTF-8 bytes. */
export const MAX_LABEL_BYTES = 255;

export interface FlashPalOptions {
  /** An existing simulated chip: tests keep it across "reboots" and inject faults through it. */
  device?: FlashDevice;
  /** An image file (`flash:IMAGE`), created erased if missing and written through on every step. */
  path?: string;
  /** In-memory image bytes, kept by reference (ignored with `device` or `path`). */
  image?: Uint8Array;
  /** Defaults: 16 sectors of 64 KiB, 256-byte pages, 4-byte writes. An existing file sets the count. */
  geometry?: Partial<FlashGeometry>;
  /** Fault injection and strictness for a device the PAL creates itself. */
  faults?: Omit<FlashDeviceOptions, 'geometry' | 'image' | 'backing'>;
  /** Image files only: take the owner lock (default true). */
  lock?: boolean;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

export class FlashPal implements Pal {
  readonly #options: FlashPalOptions;
  #device: FlashDevice | undefined;
  #log: FlashLog | undefined;
  readonly #handleOf = new Map<string, PalHandle>();
  readonly #labelOf = new Map<PalHandle, string>();
  #nextHandle = 1;
  #state: 'open' | 'powered-off' | 'closed' = 'open';
  #changes = 0;

  constructor(options: FlashPalOptions = {}) {
    this.#options = options;
    this.#device = options.device;
  }

  /** The simulated chip (created by initialize() unless one was given). */
  get device(): FlashDevice | undefined {
    return this.#device;
  }

  initialize(): void {
    this.#guard(() => this.#mounted());
  }

  saveObject(label: string, data: Uint8Array, isPrivate: boolean): PalHandle {
    return this.#guard(() => {
      const log = this.#mounted();
      const bytes = encoder.encode(label);
      if (bytes.length > MAX_LABEL_BYTES) {
        throw new Pkcs11Error(CKR_DEVICE_MEMORY, `label longer than ${MAX_LABEL_BYTES} bytes`);
      }
      const key = normalized(label);
      log.write(key, bytes, data, isPrivate ? FLAG_PRIVATE : 0);
      this.#changes++;
      return this.#handleFor(key);
    });
  }

  findObject(label: string): PalHandle {
    return this.#guard(() => {
      this.#mounted();
      return this.#handleOf.get(normalized(label)) ?? 0;
    });
  }

  getObjectValue(handle: PalHandle): PalObjectValue {
    return this.#guard(() => {
      const log = this.#mounted();
      const rec = log.get(this.#labelFor(handle))!;
      return { data: log.readValue(rec), isPrivate: (rec.flags & FLAG_PRIVATE) !== 0 };
    });
  }

  getObjectValueCleanup(value: PalObjectValue): void {
    value.data.fill(0);
  }

  destroyObject(handle: PalHandle): void {
    this.#guard(() => {
      const log = this.#mounted();
      const label = this.#labelFor(handle);
      log.remove(label, encoder.encode(label));
      this.#changes++;
      this.#handleOf.delete(label);
      this.#labelOf.delete(handle);
    });
  }

  /** The image belongs to this PAL alone (file images are locked), so counting its own changes suffices. */
  generation(): string {
    return String(this.#changes);
  }

  close(): void {
    if (this.#state === 'closed') return;
    this.#state = 'closed';
    if (!this.#options.device) this.#device?.close();
  }

  /**
   * What the mount found wrong and kept as it was (damaged sectors, bits read as written), one line
   * each; empty for a healthy image. Reading never changes the image: see repair().
   */
  damage(): string[] {
    return this.#guard(() => this.#mounted().problems());
  }

  /**
   * Rewrites what damage() reports (`corepkcs11 fsck --repair`): damaged sectors' current records are
   * written again and the sectors erased. Returns one line per sector rewritten.
   */
  repair(): string[] {
    return this.#guard(() => {
      const done = this.#mounted().repair();
      if (done.length > 0) this.#changes++;
      return done;
    });
  }

  /** Space and sector counts (flash-specific; tests and diagnostics). */
  stats(): FlashLogStats {
    return this.#guard(() => this.#mounted().stats());
  }

  #guard<T>(fn: () => T): T {
    if (this.#state === 'closed') throw new Pkcs11Error(CKR_DEVICE_ERROR, 'flash PAL closed');
    if (this.#state === 'powered-off') {
      throw new Pkcs11Error(CKR_DEVICE_ERROR, 'flash lost power: open a new PAL to remount');
    }
    try {
      return fn();
    } catch (e) {
      if (e instanceof PowerCutError) this.#state = 'powered-off';
      if (e instanceof FlashIoError)
        throw new Pkcs11Error(CKR_DEVICE_ERROR, e.message, { cause: e });
      throw e;
    }
  }

  #mounted(): FlashLog {
    if (this.#log) return this.#log;
    const device = this.#device ?? this.#openDevice();
    this.#device = device;
    try {
      this.#log = new FlashLog(device);
    } catch (e) {
      if (!(e instanceof PowerCutError) && !this.#options.device) {
        device.close();
        this.#device = undefined;
      }
      throw e;
    }
    for (const label of this.#log.labels()) this.#handleFor(label);
    return this.#log;
  }

  #openDevice(): FlashDevice {
    const { path, faults, image } = this.#options;
    const geometry = { ...DEFAULT_GEOMETRY, ...this.#options.geometry };
    if (path === undefined) return new FlashDevice({ ...faults, geometry, image });
    const existing = imageFileSize(path);
    if (existing !== undefined && this.#options.geometry?.sectorCount === undefined) {
      if (existing === 0 || existing % geometry.sectorSize !== 0) {
        throw new Pkcs11Error(CKR_DEVICE_ERROR, `flash image ${path} is not whole sectors`);
      }
      geometry.sectorCount = existing / geometry.sectorSize;
    }
    const size = geometry.sectorSize * geometry.sectorCount;
    const file = openImageFile(path, size, this.#options.lock ?? true);
    try {
      return new FlashDevice({ ...faults, geometry, image: file.image, backing: file.backing });
    } catch (e) {
      file.backing.close?.();
      throw new Pkcs11Error(CKR_DEVICE_ERROR, `flash image ${path}: ${String(e)}`, { cause: e });
    }
  }

  #handleFor(label: string): PalHandle {
    let h = this.#handleOf.get(label);
    if (h === undefined) {
      h = this.#nextHandle++;
      this.#handleOf.set(label, h);
      this.#labelOf.set(h, label);
    }
    return h;
  }

  #labelFor(handle: PalHandle): string {
    const label = this.#labelOf.get(handle);
    if (label === undefined) {
      throw new Pkcs11Error(CKR_OBJECT_HANDLE_INVALID, `no flash object with handle ${handle}`);
    }
    return label;
  }
}

/** The label as it reads back from flash: lone surrogates become U+FFFD, as UTF-8 encoding makes them. */
function normalized(label: string): string {
  return /[\uD800-\uDFFF]/.test(label) ? decoder.decode(encoder.encode(label)) : label;
}

/** Creates a flash PAL port; storage is mounted (and recovered) by initialize() or the first call. */
export function createFlashPal(options: FlashPalOptions = {}): FlashPal {
  return new FlashPal(options);
}
