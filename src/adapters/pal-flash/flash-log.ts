/**
 * The flash PAL's log-structured store (docs/flash-pal.md): append-only records, data programmed before
 * the commit entry, newest sequence number wins, tombstones for deletes, and FIFO garbage collection into
 * a spare sector with a "GC done" marker before the source is erased. Two spares are kept (from 5 good
 * sectors), so a destination that fails is replaced by the other. Sectors are opened in ring order and
 * collected oldest-first, so every sector is erased in turn (wear levelling). Program failures close the
 * sector and retry elsewhere; sectors that fail are retired as bad. Power cuts propagate untouched.
 * Reading writes nothing: what the mount found to erase waits for the first write, and damaged sectors
 * stay as they are, outside collection, until the explicit repair().
 * @module
 */
import { Pkcs11Error } from '../../errors.js';
import { CKR_DEVICE_ERROR, CKR_DEVICE_MEMORY } from '../../pkcs11/constants.js';
import { type FlashDevice, FlashIoError } from './flash-device.js';
import {
  alignUp,
  ENTRY_OBJECT,
  ENTRY_TOMBSTONE,
  type Layout,
  layoutOf,
  type NewEntry,
  recordFields,
} from './format.js';
import {
  type EntryRec,
  emptySector,
  type MountFindings,
  mountScan,
  type SectorState,
} from './mount.js';
import { payloadLen, SectorIo } from './sector-io.js';
import {
  capacityOf,
  entriesToCopy,
  type FlashLogStats,
  fieldsOf,
  hiddenByDamage,
  markersToCarry,
  nextOpening,
  spaceFor,
  sparesFor,
  statsOf,
  usableCount,
  usedSector,
} from './sectors.js';

export type { FlashLogStats } from './sectors.js';

/** I/O failures tolerated within one save or destroy before it reports CKR_DEVICE_ERROR. */
const MAX_IO_RETRIES = 3;
const MAX_SEQ = 0xfffffffe;
/**
 * Bytes of capacity only writes that do not grow the live data may use (replacing a value by one no
 * larger, tombstones): the room a log needs to write a new version before the old one can be collected.
 */
const HEADROOM = 1024;

export class FlashLog {
  readonly #io: SectorIo;
  readonly #layout: Layout;
  readonly #sectors: SectorState[];
  readonly #index: Map<string, EntryRec>;
  #active: SectorState | undefined;
  #nextSectorSeq: number;
  #nextEntrySeq: number;
  #liveBytes = 0;
  readonly #findings: MountFindings;
  /** Labels whose current value needed one bit put right when read (a repair writes them again). */
  readonly #valueFixes = new Set<string>();
  /** Labels of object entries in damaged sectors → their lowest seq (tombstones must keep hiding them). */
  #hidden: Map<string, number>;

  /**
   * Scans the flash and indexes every label. Writes nothing: what a power cut left to erase is erased
   * by the first write, and damaged sectors are kept until repair().
   */
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
    this.#findings = m;
    this.#active = usedSector(this.#sectors, 'newest');
    for (const rec of this.#index.values()) this.#liveBytes += this.#footprint(rec);
    this.#hidden = hiddenByDamage(this.#sectors);
  }

  /** What the mount and the reads since found wrong, one line each (damaged sectors, flipped bits). */
  problems(): string[] {
    const reads = [...this.#valueFixes].map(
      (l) => `"${l}": one flipped bit in its value, read as written`,
    );
    return [...this.#findings.problems, ...reads];
  }

  /** Space a record takes from the capacity: none while it sits in a damaged sector. */
  #footprint(rec: EntryRec): number {
    return this.#sectors[rec.sector]?.state === 'damaged' ? 0 : this.#io.footprint(payloadLen(rec));
  }

  /** Erases what the mount found dead or torn: the first write's job, never a read's. */
  #settle(): void {
    for (const s of this.#sectors) if (s.state === 'dead') this.#erase(s);
  }

  get(label: string): EntryRec | undefined {
    return this.#index.get(label);
  }

  labels(): IterableIterator<string> {
    return this.#index.keys();
  }

  /** The stored value of a committed object; CKR_DEVICE_ERROR if it no longer matches its CRC. */
  readValue(rec: EntryRec): Uint8Array {
    const { value, fixed } = this.#io.readValue(rec);
    if (fixed) this.#valueFixes.add(rec.label);
    return value;
  }

  /** Commits a new version of `label`; the old one stays valid until this returns. */
  write(label: string, labelBytes: Uint8Array, value: Uint8Array, flags: number): EntryRec {
    this.#settle();
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
    const freed = old ? this.#footprint(old) : 0;
    const capacity = capacityOf(this.#sectors, this.#layout);
    const limit = size > freed ? capacity - HEADROOM : capacity;
    if (this.#liveBytes - freed + size > limit) {
      throw new Pkcs11Error(CKR_DEVICE_MEMORY, 'flash full');
    }
    const rec = this.#append(label, recordFields(ENTRY_OBJECT, flags, labelBytes, value), payload);
    this.#liveBytes -= freed;
    this.#index.set(label, rec);
    this.#liveBytes += size;
    return rec;
  }

  /** Commits a tombstone for `label` (which must exist). */
  remove(label: string, labelBytes: Uint8Array): void {
    const old = this.#index.get(label);
    if (!old) return;
    this.#settle();
    const none = new Uint8Array(0);
    this.#append(label, recordFields(ENTRY_TOMBSTONE, 0, labelBytes, none), labelBytes);
    this.#index.delete(label);
    this.#liveBytes -= this.#footprint(old);
  }

  /**
   * The explicit repair (`corepkcs11 fsck --repair`), never run by a read: every damaged sector's
   * current records, and its tombstones for labels that are gone, are written again as new versions;
   * a GC marker then names the sector and it is erased. What the mount found dead is erased too.
   * Returns one line per sector rewritten.
   */
  repair(): string[] {
    this.#settle();
    const done: string[] = [];
    const damaged = this.#sectors.filter((x) => x.state === 'damaged');
    for (const s of damaged.sort((a, b) => a.seq - b.seq)) {
      // The current version of each object, and the tombstones of labels now gone.
      const keep = s.entries.filter((e) =>
        e.type === ENTRY_OBJECT ? this.#index.get(e.label) === e : !this.#index.has(e.label),
      );
      for (const e of keep) this.#rewrite(e);
      this.#writeSomewhere(s, 0, (dest) => this.#io.writeMarker(s, dest), this.#active);
      this.#erase(s);
      const retired = s.state === 'bad' ? ' (its erase failed: retired)' : '';
      done.push(`sector ${s.index}: ${keep.length} records written again, sector erased${retired}`);
    }
    for (const rec of [...this.#index.values()]) {
      if (!rec.fixed && !this.#io.valueFixed(rec)) continue;
      this.#rewrite(rec);
      done.push(`"${rec.label}": written again without its flipped bit`);
    }
    this.#valueFixes.clear();
    this.#findings.problems.length = 0;
    this.#hidden = hiddenByDamage(this.#sectors);
    return done;
  }

  /** Writes a record again as its newest version: same label, flags and bytes (bits put right). */
  #rewrite(e: EntryRec): void {
    const rec = this.#append(e.label, fieldsOf(e), this.#io.readPayload(e));
    if (e.type !== ENTRY_OBJECT) return;
    this.#index.set(e.label, rec);
    this.#liveBytes += this.#footprint(rec) - this.#footprint(e);
  }

  stats(): FlashLogStats {
    const live = { active: this.#active, objects: this.#index.size, liveBytes: this.#liveBytes };
    return statsOf(this.#sectors, this.#layout, this.#findings, live);
  }

  #append(label: string, f: NewEntry, payload: Uint8Array) {
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
    const good = usableCount(this.#sectors);
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
    for (;;) {
      const next = nextOpening(this.#sectors, this.#active, this.#nextSectorSeq);
      if (!next) {
        this.#evacuateOldest();
        continue;
      }
      const { target, source, header } = next;
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
    const erased = this.#sectors.filter((s) => s.state === 'erased').length;
    if (!active || active.closed || erased >= sparesFor(this.#sectors)) return;
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
      const next = usedSector(this.#sectors, 'oldest');
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
    const source = usedSector(this.#sectors, 'oldest');
    if (!source) throw new Pkcs11Error(CKR_DEVICE_ERROR, 'no usable flash sector left');
    for (const e of entriesToCopy(source, this.#index, this.#hidden)) {
      const payload = this.#io.readPayload(e);
      const copy = this.#writeSomewhere(source, payload.length, (dest) =>
        this.#io.writeRecord(dest, e.label, e, payload),
      );
      if (copy.type === ENTRY_OBJECT) this.#index.set(copy.label, copy);
    }
    for (const m of markersToCarry(this.#sectors, source)) {
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
    const { data, slots } = spaceFor(
      entriesToCopy(source, this.#index, this.#hidden),
      this.#layout,
    );
    const markers = 1 + markersToCarry(this.#sectors, source, dest).length;
    return dest.dataEnd + data <= this.#io.freeLimit(dest, slots + markers);
  }

  #collect(source: SectorState, dest: SectorState): void {
    const copies: EntryRec[] = [];
    for (const e of entriesToCopy(source, this.#index, this.#hidden)) {
      copies.push(this.#io.writeRecord(dest, e.label, e, this.#io.readPayload(e)));
    }
    for (const m of markersToCarry(this.#sectors, source, dest)) this.#io.writeMarker(m, dest);
    this.#io.writeMarker(source, dest);
    for (const rec of copies) if (rec.type === ENTRY_OBJECT) this.#index.set(rec.label, rec);
    this.#erase(source);
  }

  /** Erases a sector; on failure it is retired as bad (its content is already dead). */
  #erase(s: SectorState): void {
    const ok = this.#io.erase(s);
    const { failures, seq } = s;
    Object.assign(s, emptySector(s.index));
    if (!ok || failures > 0) s.state = 'bad';
    // A failed erase may leave a valid header behind: remember its seq so markers naming it are kept.
    if (!ok) s.seq = seq;
    if (this.#active === s) this.#active = usedSector(this.#sectors, 'newest');
  }

  /** Largest label+value that fits a sector beside its header, its entry and the reserved slot. */
  #maxPayload(): number {
    return this.#layout.sectorSize - 3 * this.#layout.slot;
  }
}
