/**
 * The flash PAL's log-structured store (docs/flash-pal.md): append-only records, data programmed before
 * the commit entry, newest sequence number wins, tombstones for deletes, and FIFO garbage collection into
 * a spare sector with a "GC done" marker before the source is erased. Two spares are kept (from 5 good
 * sectors), so a destination that fails is replaced by the other. Sectors are opened in ring order and
 * collected oldest-first, so every sector is erased in turn (wear levelling). Program failures close the
 * sector and retry elsewhere; sectors that fail are retired as bad. Power cuts propagate untouched.
 * @module
 */
import { Pkcs11Error } from '../../errors.js';
import { CKR_DEVICE_ERROR, CKR_DEVICE_MEMORY } from '../../pkcs11/constants.js';
import { crc32 } from '../../util/crc32.js';
import { type FlashDevice, FlashIoError } from './flash-device.js';
import {
  alignUp,
  ENTRY_OBJECT,
  ENTRY_TOMBSTONE,
  type EntryFields,
  type Layout,
  layoutOf,
  NONE,
} from './format.js';
import {
  type EntryRec,
  emptySector,
  mountScan,
  type SectorRef,
  type SectorState,
} from './mount.js';
import { payloadLen, SectorIo } from './sector-io.js';

/** I/O failures tolerated within one save or destroy before it reports CKR_DEVICE_ERROR. */
const MAX_IO_RETRIES = 3;
/**
 * Erased sectors kept in reserve (stores of 5 good sectors or more). With one, a GC destination that
 * fails leaves no erased sector and every used one full: nothing can be collected again. The second lets
 * the collection be redone elsewhere, and capacity counts it, so the live data always fits without it.
 */
const SPARE_SECTORS = 2;
const MAX_SEQ = 0xfffffffe;
/**
 * Bytes of capacity only writes that do not grow the live data may use (replacing a value by one no
 * larger, tombstones): the room a log needs to write a new version before the old one can be collected.
 */
const HEADROOM = 1024;

export interface FlashLogStats {
  sectorCount: number;
  erased: number;
  used: number;
  bad: number;
  activeSector: number | undefined;
  objects: number;
  /** Bytes (data and entry slots) of the newest version of every object. */
  liveBytes: number;
  /** Bytes programmed in used sectors, live or dead (headers excluded). */
  usedBytes: number;
  /** The most live bytes the store accepts (one or two sectors are always kept erased for GC). */
  capacityBytes: number;
}

export class FlashLog {
  readonly #io: SectorIo;
  readonly #layout: Layout;
  readonly #sectors: SectorState[];
  readonly #index: Map<string, EntryRec>;
  #active: SectorState | undefined;
  #nextSectorSeq: number;
  #nextEntrySeq: number;
  #liveBytes = 0;

  /** Scans the flash, finishes whatever a power cut interrupted (erases), and indexes every label. */
  constructor(device: FlashDevice) {
    this.#layout = layoutOf(device.geometry);
    this.#io = new SectorIo(device, this.#layout);
    const { sectorCount, sectorSize, slot } = this.#layout;
    if (sectorCount < 2 || sectorSize < 4 * slot) {
      throw new Pkcs11Error(
        CKR_DEVICE_ERROR,
        `flash PAL needs 2 sectors of ${4 * slot} bytes or more`,
      );
    }
    const m = mountScan(device, this.#layout);
    this.#sectors = m.sectors;
    this.#index = m.index;
    this.#nextSectorSeq = m.maxSectorSeq + 1;
    this.#nextEntrySeq = m.maxEntrySeq + 1;
    for (const i of m.toErase) this.#erase(this.#sectors[i]!);
    this.#active = this.#newestUsed();
    for (const rec of this.#index.values()) this.#liveBytes += this.#io.footprint(payloadLen(rec));
  }

  get(label: string): EntryRec | undefined {
    return this.#index.get(label);
  }

  labels(): IterableIterator<string> {
    return this.#index.keys();
  }

  /** The stored value of a committed object; CKR_DEVICE_ERROR if it no longer matches its CRC. */
  readValue(rec: EntryRec): Uint8Array {
    return this.#io.readValue(rec);
  }

  /** Commits a new version of `label`; the old one stays valid until this returns. */
  write(label: string, labelBytes: Uint8Array, value: Uint8Array, flags: number): EntryRec {
    const payload = new Uint8Array(labelBytes.length + value.length);
    payload.set(labelBytes);
    payload.set(value, labelBytes.length);
    const size = this.#io.footprint(payload.length);
    if (alignUp(payload.length, this.#layout.writeSize) > this.#maxPayload()) {
      throw new Pkcs11Error(CKR_DEVICE_MEMORY, `object of ${value.length} bytes exceeds a sector`);
    }
    // A new version of a label frees the old one. Writes that store more stop HEADROOM short of the
    // capacity; one that stores no more may use it, so a full flash still takes a PIN try counter, a
    // smaller index or a tombstone (issue 16 §3), and garbage collection always finds the room.
    const old = this.#index.get(label);
    const freed = old ? this.#io.footprint(payloadLen(old)) : 0;
    const limit = size > freed ? this.#capacity() - HEADROOM : this.#capacity();
    if (this.#liveBytes - freed + size > limit) {
      throw new Pkcs11Error(CKR_DEVICE_MEMORY, 'flash full');
    }
    const fields = {
      type: ENTRY_OBJECT,
      flags,
      labelLen: labelBytes.length,
      valueLen: value.length,
      labelCrc: crc32(labelBytes),
      valueCrc: crc32(value),
    };
    const rec = this.#append(label, fields, payload);
    this.#liveBytes -= freed;
    this.#index.set(label, rec);
    this.#liveBytes += size;
    return rec;
  }

  /** Commits a tombstone for `label` (which must exist). */
  remove(label: string, labelBytes: Uint8Array): void {
    const old = this.#index.get(label);
    if (!old) return;
    const fields = {
      type: ENTRY_TOMBSTONE,
      flags: 0,
      labelLen: labelBytes.length,
      valueLen: 0,
      labelCrc: crc32(labelBytes),
      valueCrc: 0,
    };
    this.#append(label, fields, labelBytes);
    this.#index.delete(label);
    this.#liveBytes -= this.#io.footprint(payloadLen(old));
  }

  stats(): FlashLogStats {
    const count = (state: SectorState['state']) => this.#sectors.filter((s) => s.state === state);
    const { slot } = this.#layout;
    return {
      sectorCount: this.#sectors.length,
      erased: count('erased').length,
      used: count('used').length,
      bad: count('bad').length,
      activeSector: this.#active?.index,
      objects: this.#index.size,
      liveBytes: this.#liveBytes,
      usedBytes: count('used').reduce((n, s) => n + s.dataEnd - slot + s.slotsUsed * slot, 0),
      capacityBytes: this.#capacity(),
    };
  }

  #append(label: string, f: Omit<EntryFields, 'seq' | 'dataOffset'>, payload: Uint8Array) {
    if (this.#nextEntrySeq > MAX_SEQ) {
      throw new Pkcs11Error(CKR_DEVICE_ERROR, 'flash sequence numbers exhausted');
    }
    const fields = { ...f, seq: this.#nextEntrySeq++, dataOffset: 0 };
    for (let failures = 0; ; ) {
      this.#ensureRoom(payload.length);
      const s = this.#active!;
      try {
        return this.#io.writeRecord(s, label, fields, payload);
      } catch (e) {
        if (!(e instanceof FlashIoError)) throw e;
        s.closed = true;
        s.failures++;
        if (++failures >= MAX_IO_RETRIES) {
          throw new Pkcs11Error(CKR_DEVICE_ERROR, 'flash program failed', { cause: e });
        }
      }
    }
  }

  #ensureRoom(payloadLength: number): void {
    this.#restoreSpares();
    const good = this.#good();
    for (let i = 0; i <= good + 1; i++) {
      if (this.#active && this.#io.fits(this.#active, payloadLength)) return;
      this.#openNext();
    }
    throw new Pkcs11Error(CKR_DEVICE_MEMORY, 'flash full (fragmented)');
  }

  /**
   * Opens the next erased sector in ring order. When it is the last erased one, it becomes the GC
   * destination of the oldest sector, which is erased once its live objects are copied and marked done.
   */
  #openNext(): void {
    const { sectorCount } = this.#layout;
    for (;;) {
      const start = this.#active ? this.#active.index + 1 : 0;
      const candidates: SectorState[] = [];
      for (let k = 0; k < sectorCount; k++) {
        const s = this.#sectors[(start + k) % sectorCount]!;
        if (s.state === 'erased') candidates.push(s);
      }
      const target = candidates[0];
      if (!target) {
        this.#evacuateOldest();
        continue;
      }
      const oldest = this.#oldestUsed();
      const source = candidates.length <= this.#spares() ? oldest : undefined;
      const seq = this.#nextSectorSeq;
      const header = { seq, gcSource: source?.seq ?? NONE, oldestLive: oldest?.seq ?? seq };
      try {
        this.#io.writeHeader(target, header);
      } catch (e) {
        if (!(e instanceof FlashIoError)) throw e;
        target.state = 'bad';
        continue;
      }
      this.#nextSectorSeq++;
      Object.assign(target, emptySector(target.index), { state: 'used', ...header });
      target.dataEnd = this.#layout.slot;
      const previous = this.#active;
      this.#active = target;
      if (!source) return;
      try {
        this.#collect(source, target);
      } catch (e) {
        if (!(e instanceof FlashIoError)) throw e;
        // The copies were never indexed: drop the destination, the source is still intact. Should the
        // erase fail too, the mount still finds it dead: it holds no marker for its gcSource.
        this.#erase(target);
        target.state = 'bad';
        this.#active = previous;
        continue;
      }
      try {
        this.#mergeOldest(target);
      } catch (e) {
        if (!(e instanceof FlashIoError)) throw e;
        // The destination now holds the first source's only copies: keep it, stop writing to it.
        target.closed = true;
        target.failures++;
      }
      return;
    }
  }

  /**
   * A failure used up a spare: collect the oldest sector(s) into the active one while their live data
   * fits, so the spares come back as soon as the live data allows, not a whole lap later. Sound like any
   * merge: the source is the oldest sector, and a cut leaves only same-seq duplicates in the active one.
   */
  #restoreSpares(): void {
    const active = this.#active;
    if (!active || active.closed) return;
    if (this.#sectors.filter((s) => s.state === 'erased').length >= this.#spares()) return;
    try {
      this.#mergeOldest(active);
    } catch (e) {
      if (!(e instanceof FlashIoError)) throw e;
      active.closed = true;
      active.failures++;
    }
  }

  /**
   * Plain FIFO collection never consolidates: each sector's live data moves on alone. So while the next
   * oldest sector's live entries (and a marker) fit in the destination too, collect it as well; it is
   * the oldest by then, which keeps dropping its tombstones sound.
   */
  #mergeOldest(dest: SectorState): void {
    for (;;) {
      const next = this.#oldestUsed();
      if (!next || next === dest || !this.#liveFits(next, dest)) return;
      this.#collect(next, dest);
    }
  }

  /**
   * No erased sector is left (the spare turned out bad): free the oldest sector by copying its live
   * entries, one by one, into any used sector with room, then marking it collected and erasing it. Sound
   * like a normal collection: only newest versions are copied, and the source is the oldest sector.
   */
  #evacuateOldest(): void {
    const source = this.#oldestUsed();
    if (!source) throw new Pkcs11Error(CKR_DEVICE_ERROR, 'no usable flash sector left');
    const live = source.entries.filter(
      (e) => e.type === ENTRY_OBJECT && this.#index.get(e.label) === e,
    );
    for (const e of live) {
      const payload = this.#io.readPayload(e);
      const copy = this.#writeSomewhere(source, payload.length, (dest) =>
        this.#io.writeRecord(dest, e.label, e, payload),
      );
      this.#index.set(copy.label, copy);
    }
    for (const m of this.#markersToCarry(source)) {
      this.#writeSomewhere(source, 0, (dest) => this.#io.writeMarker(m, dest), this.#active);
    }
    this.#writeSomewhere(source, 0, (dest) => this.#io.writeMarker(source, dest), this.#active);
    this.#erase(source);
  }

  /**
   * Runs `write` on `preferred` if it fits `payloadLength`, else on the roomiest healthy sector other than
   * `source`. (Markers go to the active sector when they can: it is the last one to be collected.)
   */
  #writeSomewhere<T>(
    source: SectorState,
    payloadLength: number,
    write: (s: SectorState) => T,
    preferred?: SectorState,
  ): T {
    for (;;) {
      const room = (s: SectorState) => this.#io.freeLimit(s, 1) - s.dataEnd;
      const fitting = this.#sectors.filter((s) => s !== source && this.#io.fits(s, payloadLength));
      const dest =
        preferred && fitting.includes(preferred)
          ? preferred
          : fitting.sort((a, b) => room(b) - room(a))[0];
      if (!dest)
        throw new Pkcs11Error(CKR_DEVICE_ERROR, 'no erased flash sector left (bad sectors)');
      try {
        return write(dest);
      } catch (e) {
        if (!(e instanceof FlashIoError)) throw e;
        dest.closed = true;
        dest.failures++;
      }
    }
  }

  /** Whether `source`'s live entries and a GC marker fit in `dest`, keeping its reserved slot. */
  #liveFits(source: SectorState, dest: SectorState): boolean {
    let data = 0;
    let slots = 1 + this.#markersToCarry(source, dest).length;
    for (const e of source.entries) {
      if (e.type !== ENTRY_OBJECT || this.#index.get(e.label) !== e) continue;
      data += alignUp(payloadLen(e), this.#layout.writeSize);
      slots++;
    }
    return dest.dataEnd + data <= this.#io.freeLimit(dest, slots);
  }

  #collect(source: SectorState, dest: SectorState): void {
    const copies: EntryRec[] = [];
    for (const e of source.entries) {
      if (e.type !== ENTRY_OBJECT || this.#index.get(e.label) !== e) continue;
      copies.push(this.#io.writeRecord(dest, e.label, e, this.#io.readPayload(e)));
    }
    for (const m of this.#markersToCarry(source, dest)) this.#io.writeMarker(m, dest);
    this.#io.writeMarker(source, dest);
    for (const rec of copies) this.#index.set(rec.label, rec);
    this.#erase(source);
  }

  /**
   * Markers of `source` naming a collected sector that failed to erase (bad, still holding a valid
   * header): they move with the collection, or that stale sector would look live at the next mount.
   * Not into a `dest` whose header already declares it dead (its seq below dest's oldestLive), which is
   * always so for a collection (the stale sector was collected before dest was opened): carrying them
   * there would add a slot per generation and break "live entries plus a marker fit a fresh sector".
   */
  #markersToCarry(source: SectorState, dest?: SectorState): SectorRef[] {
    return source.markers.filter((m) => {
      const t = this.#sectors[m.index];
      if (dest && m.seq < dest.oldestLive) return false;
      return t !== undefined && t.state === 'bad' && t.seq === m.seq;
    });
  }

  /** Erases a sector; on failure it is retired as bad (its content is already dead). */
  #erase(s: SectorState): void {
    const ok = this.#io.erase(s);
    const { failures, seq } = s;
    Object.assign(s, emptySector(s.index));
    if (!ok || failures > 0) s.state = 'bad';
    // A failed erase may leave a valid header behind: remember its seq so markers naming it are kept.
    if (!ok) s.seq = seq;
    if (this.#active === s) this.#active = this.#newestUsed();
  }

  #oldestUsed(): SectorState | undefined {
    let best: SectorState | undefined;
    for (const s of this.#sectors) if (s.state === 'used' && (!best || s.seq < best.seq)) best = s;
    return best;
  }

  #newestUsed(): SectorState | undefined {
    let best: SectorState | undefined;
    for (const s of this.#sectors) if (s.state === 'used' && (!best || s.seq > best.seq)) best = s;
    return best;
  }

  /** Largest label+value that fits a sector beside its header, its entry and the reserved slot. */
  #maxPayload(): number {
    return this.#layout.sectorSize - 3 * this.#layout.slot;
  }

  #good(): number {
    return this.#sectors.filter((s) => s.state !== 'bad').length;
  }

  /**
   * Two spares from 5 good sectors up (3 or more left for data); smaller stores keep one, so a failing
   * GC destination there can still end writes (CKR_DEVICE_ERROR).
   */
  #spares(): number {
    return this.#good() >= 5 ? SPARE_SECTORS : 1;
  }

  #capacity(): number {
    const usable = this.#good() - this.#spares();
    return Math.max(0, usable) * (this.#layout.sectorSize - 2 * this.#layout.slot);
  }
}
