/**
 * A simulated NOR flash chip: erase-before-write, 0xFF erased state, program clears bits only, per-sector
 * erase counters, bad sectors, and power cuts injectable at any program or erase step (atomic, torn
 * program, torn erase). Every program page and every sector erase is one "step"; a cut interrupts one step
 * and leaves only the image bytes behind, as a real power loss does. Modelled on littlefs's emulated block
 * device (docs/flash-pal.md); the image may be backed by a file (see file-image.ts).
 * @module
 */

/** Flash geometry. Programs never cross a page in one step; erases cover one whole sector. */
export interface FlashGeometry {
  /** Erase unit in bytes. */
  sectorSize: number;
  /** Program page in bytes: one program step programs at most one page. */
  pageSize: number;
  sectorCount: number;
  /** Program granularity and alignment in bytes (1 on most NOR, 8 or 16 on MCU flash with ECC). */
  writeSize: number;
}

/** How a bad sector misbehaves (littlefs emubd's badblock behaviours). */
export type BadSectorMode = 'prog-error' | 'erase-error' | 'prog-noop' | 'erase-noop';

/** Which steps a power cut tears: 'atomic' drops the interrupted step, the others apply part of it. */
export type CutMode = 'atomic' | 'torn-program' | 'torn-erase' | 'torn';

/** How a torn program lands: a prefix of the bytes, or a random subset of the intended bit clears. */
export type TornProgramModel = 'prefix' | 'bits' | 'mixed';

/** One program page or one sector erase, as reported to `onStep`. */
export interface FlashStep {
  /** 1-based, counted over the device's lifetime. */
  index: number;
  kind: 'program' | 'erase';
  sector: number;
  address: number;
  length: number;
}

/** Receives every changed byte range, after each step (write-through persistence). */
export interface FlashBacking {
  write(offset: number, bytes: Uint8Array): void;
  close?(): void;
}

export interface FlashDeviceOptions {
  geometry?: Partial<FlashGeometry>;
  /** The image bytes, kept by reference (a "reboot" is a new PAL over the same bytes). */
  image?: Uint8Array;
  backing?: FlashBacking;
  /** 'bits' (default): programming a 1 over a 0 throws. 'erased': programming any non-0xFF byte throws. */
  strict?: 'bits' | 'erased';
  badSectors?: Readonly<Record<number, BadSectorMode>>;
  /** Erase cycles a sector survives before it turns bad with `wearOutMode` (default: unlimited). */
  endurance?: number;
  wearOutMode?: BadSectorMode;
  /** Seed of the generator that decides torn bits (deterministic replays). */
  seed?: number;
  onStep?: (step: FlashStep) => void;
}

export const DEFAULT_GEOMETRY: FlashGeometry = {
  sectorSize: 64 * 1024,
  pageSize: 256,
  sectorCount: 16,
  writeSize: 4,
};

/** The power went off: thrown by the step it interrupted and by every access until powerOn(). */
export class PowerCutError extends Error {
  override readonly name = 'PowerCutError';
}

/** A program or erase the chip reported as failed (a bad sector). */
export class FlashIoError extends Error {
  override readonly name = 'FlashIoError';
  readonly op: 'program' | 'erase';
  readonly sector: number;
  constructor(op: 'program' | 'erase', sector: number) {
    super(`flash ${op} failed in sector ${sector}`);
    this.op = op;
    this.sector = sector;
  }
}

/** A small deterministic PRNG (mulberry32), so torn writes replay exactly from a seed. */
export function makeRandom(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function checkGeometry(g: FlashGeometry): void {
  const ints = [g.sectorSize, g.pageSize, g.sectorCount, g.writeSize];
  if (!ints.every((n) => Number.isSafeInteger(n) && n > 0)) {
    throw new RangeError('flash geometry: sizes must be positive integers');
  }
  if (g.pageSize % g.writeSize !== 0 || g.sectorSize % g.pageSize !== 0) {
    throw new RangeError('flash geometry: writeSize | pageSize | sectorSize required');
  }
}

interface ArmedCut {
  step: number;
  mode: CutMode;
  torn: TornProgramModel;
}

export class FlashDevice {
  readonly geometry: FlashGeometry;
  readonly #image: Uint8Array;
  readonly #erases: number[];
  readonly #bad = new Map<number, BadSectorMode>();
  readonly #opts: FlashDeviceOptions;
  #random: () => number;
  #steps = 0;
  #cut: ArmedCut | undefined;
  #off = false;

  constructor(options: FlashDeviceOptions = {}) {
    this.geometry = { ...DEFAULT_GEOMETRY, ...options.geometry };
    checkGeometry(this.geometry);
    const size = this.geometry.sectorSize * this.geometry.sectorCount;
    this.#image = options.image ?? new Uint8Array(size).fill(0xff);
    if (this.#image.length !== size) {
      throw new RangeError(`flash image is ${this.#image.length} bytes, geometry needs ${size}`);
    }
    this.#erases = new Array<number>(this.geometry.sectorCount).fill(0);
    for (const [s, mode] of Object.entries(options.badSectors ?? {}))
      this.#bad.set(Number(s), mode);
    this.#opts = options;
    this.#random = makeRandom(options.seed ?? 1);
  }

  get size(): number {
    return this.#image.length;
  }

  /** The live image (not a copy): what survives a power cut. */
  get image(): Uint8Array {
    return this.#image;
  }

  /** Program and erase steps performed so far (including an interrupted one). */
  get steps(): number {
    return this.#steps;
  }

  get eraseCounts(): readonly number[] {
    return [...this.#erases];
  }

  get powerLost(): boolean {
    return this.#off;
  }

  /** Cut the power during the (afterSteps+1)-th step from now: steps 1..afterSteps complete. */
  armPowerCut(
    afterSteps: number,
    mode: CutMode = 'atomic',
    torn: TornProgramModel = 'mixed',
  ): void {
    this.#cut = { step: this.#steps + afterSteps + 1, mode, torn };
  }

  disarmPowerCut(): void {
    this.#cut = undefined;
  }

  /** Restore power after a cut (the "reboot"); the next PAL instance mounts the surviving image. */
  powerOn(): void {
    this.#off = false;
    this.#cut = undefined;
  }

  /** Reseed the torn-write generator (replays of one schedule with several torn patterns). */
  reseed(seed: number): void {
    this.#random = makeRandom(seed);
  }

  setBadSector(sector: number, mode: BadSectorMode | undefined): void {
    if (mode === undefined) this.#bad.delete(sector);
    else this.#bad.set(sector, mode);
  }

  badSectorMode(sector: number): BadSectorMode | undefined {
    return this.#bad.get(sector);
  }

  read(address: number, length: number): Uint8Array {
    this.#checkPower();
    this.#checkRange(address, length);
    return this.#image.slice(address, address + length);
  }

  /** True when [address, address+length) reads as erased (all 0xFF). */
  isErased(address: number, length: number): boolean {
    this.#checkPower();
    this.#checkRange(address, length);
    const end = address + length;
    for (let i = address; i < end; i++) if (this.#image[i] !== 0xff) return false;
    return true;
  }

  /**
   * Program `data` at `address`: each byte becomes old & new. The whole call is checked first (alignment,
   * strict NOR rule), then applied one page per step, so a cut can land between pages.
   */
  program(address: number, data: Uint8Array): void {
    this.#checkPower();
    const { writeSize, pageSize, sectorSize } = this.geometry;
    this.#checkRange(address, data.length);
    if (address % writeSize !== 0 || data.length % writeSize !== 0) {
      throw new RangeError(
        `flash program at ${address} (+${data.length}) not ${writeSize}-aligned`,
      );
    }
    const erasedOnly = this.#opts.strict === 'erased';
    for (let i = 0; i < data.length; i++) {
      const old = this.#image[address + i] as number;
      if (erasedOnly ? old !== 0xff : ((data[i] as number) & ~old & 0xff) !== 0) {
        throw new Error(
          `flash program sets bits at ${address + i}: 0x${old.toString(16)} <- 0x${(data[i] as number).toString(16)}`,
        );
      }
    }
    let done = 0;
    while (done < data.length) {
      const at = address + done;
      const len = Math.min(pageSize - (at % pageSize), data.length - done);
      this.#programStep(at, data.subarray(done, done + len), Math.floor(at / sectorSize));
      done += len;
    }
  }

  /** Erase one sector to 0xFF (one step). */
  erase(sector: number): void {
    this.#checkPower();
    if (!Number.isInteger(sector) || sector < 0 || sector >= this.geometry.sectorCount) {
      throw new RangeError(`flash erase: no sector ${sector}`);
    }
    const { sectorSize } = this.geometry;
    const base = sector * sectorSize;
    const step = this.#beginStep('erase', sector, base, sectorSize);
    if (step === 'cut') {
      const cut = this.#cut!;
      if (cut.mode === 'torn-erase' || cut.mode === 'torn') {
        this.#erases[sector] = (this.#erases[sector] as number) + 1;
        this.#tearErase(base, sectorSize);
      }
      this.#powerFail(base, sectorSize);
    }
    const bad = this.#bad.get(sector);
    if (bad === 'erase-error') throw new FlashIoError('erase', sector);
    this.#erases[sector] = (this.#erases[sector] as number) + 1;
    if (bad !== 'erase-noop') {
      this.#image.fill(0xff, base, base + sectorSize);
      this.#persist(base, sectorSize);
    }
    const { endurance, wearOutMode } = this.#opts;
    if (endurance !== undefined && (this.#erases[sector] as number) > endurance && !bad) {
      this.#bad.set(sector, wearOutMode ?? 'prog-error');
    }
  }

  close(): void {
    this.#opts.backing?.close?.();
  }

  #programStep(at: number, bytes: Uint8Array, sector: number): void {
    if (this.#beginStep('program', sector, at, bytes.length) === 'cut') {
      const cut = this.#cut!;
      if (cut.mode === 'torn-program' || cut.mode === 'torn')
        this.#tearProgram(at, bytes, cut.torn);
      this.#powerFail(at, bytes.length);
    }
    const bad = this.#bad.get(sector);
    if (bad === 'prog-noop') return;
    if (bad === 'prog-error') {
      this.#tearProgram(at, bytes, 'bits');
      this.#persist(at, bytes.length);
      throw new FlashIoError('program', sector);
    }
    for (let i = 0; i < bytes.length; i++) {
      this.#image[at + i] = (this.#image[at + i] as number) & (bytes[i] as number);
    }
    this.#persist(at, bytes.length);
  }

  #beginStep(kind: 'program' | 'erase', sector: number, address: number, length: number) {
    this.#steps++;
    this.#opts.onStep?.({ index: this.#steps, kind, sector, address, length });
    return this.#cut !== undefined && this.#steps >= this.#cut.step ? 'cut' : 'run';
  }

  #powerFail(address: number, length: number): never {
    this.#persist(address, length);
    this.#off = true;
    this.#cut = undefined;
    throw new PowerCutError(`power cut at step ${this.#steps}`);
  }

  /** Part of the intended bit clears land: a byte prefix (the last byte partly), or a random subset. */
  #tearProgram(at: number, bytes: Uint8Array, model: TornProgramModel): void {
    const rnd = this.#random;
    const prefix = model === 'prefix' || (model === 'mixed' && rnd() < 0.5);
    const cutAt = Math.floor(rnd() * bytes.length);
    for (let i = 0; i < bytes.length; i++) {
      const old = this.#image[at + i] as number;
      const clears = old & ~(bytes[i] as number) & 0xff;
      let landed: number;
      if (prefix) landed = i < cutAt ? clears : i === cutAt ? clears & randomByte(rnd) : 0;
      else landed = clears & randomByte(rnd);
      this.#image[at + i] = old & ~landed & 0xff;
    }
  }

  /** An interrupted erase: a prefix of the sector erased, or a random subset of its 0 bits set. */
  #tearErase(base: number, length: number): void {
    const rnd = this.#random;
    if (rnd() < 0.5) {
      this.#image.fill(0xff, base, base + Math.floor(rnd() * length));
    } else {
      for (let i = base; i < base + length; i++) {
        this.#image[i] = (this.#image[i] as number) | randomByte(rnd);
      }
    }
  }

  #persist(address: number, length: number): void {
    this.#opts.backing?.write(address, this.#image.subarray(address, address + length));
  }

  #checkPower(): void {
    if (this.#off) throw new PowerCutError('flash is powered off');
  }

  #checkRange(address: number, length: number): void {
    if (!Number.isInteger(address) || !Number.isInteger(length) || address < 0 || length < 0) {
      throw new RangeError(`flash access at ${address} (+${length})`);
    }
    if (address + length > this.#image.length) {
      throw new RangeError(`flash access at ${address} (+${length}) past the end`);
    }
  }
}

function randomByte(rnd: () => number): number {
  return Math.floor(rnd() * 256);
}
