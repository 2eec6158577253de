/**
 * The flash PAL's log-structured store (docs/flash-pal.md): append-only records, data programmed before
 * the commit entry, newest sequence number wins, tombstones for deletes. Where a record goes, and the
 * garbage collection that makes room (a spare sector, a "GC done" marker before the source is erased,
 * ring-order wear levelling, bad sectors retired), is flash-gc.ts's. Program failures close the sector
 * and retry elsewhere. Power cuts propagate untouched. Reading writes nothing: what the mount found to
 * erase waits for the first write, and damaged sectors stay as they are, outside collection, until the
 * explicit repair().
 * @module
 */
import { Pkcs11Error } from '../../errors.js';
import { CKR_DEVICE_ERROR, CKR_DEVICE_MEMORY } from '../../pkcs11/constants.js';
import { type FlashDevice, FlashIoError } from './flash-device.js';
import { ensureRoom, erase, type LogState, writeSomewhere } from './flash-gc.js';
import {
  alignUp,
  ENTRY_OBJECT,
  ENTRY_TOMBSTONE,
  layoutOf,
  type NewEntry,
  recordFields,
} from './format.js';
import { type EntryRec, type MountFindings, mountScan } from './mount.js';
import { payloadLen, SectorIo } from './sector-io.js';
import {
  capacityOf,
  type FlashLogStats,
  fieldsOf,
  hiddenByDamage,
  statsOf,
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
  /** The sectors, the index and the active sector, shared with the collector (flash-gc.ts). */
  readonly #st: LogState;
  #nextEntrySeq: number;
  #liveBytes = 0;
  readonly #findings: MountFindings;
  /** Labels whose current value needed one bit put right when read (a repair writes them again). */
  readonly #valueFixes = new Set<string>();

  /**
   * Scans the flash and indexes every label. Writes nothing: what a power cut left to erase is erased
   * by the first write, and damaged sectors are kept until repair().
   */
  constructor(device: FlashDevice) {
    const layout = layoutOf(device.geometry);
    const { sectorCount, sectorSize, slot } = layout;
    if (sectorCount < 2 || sectorSize < 4 * slot) {
      throw new Pkcs11Error(
        CKR_DEVICE_ERROR,
        `flash PAL needs 2 sectors of ${4 * slot} bytes or more`,
      );
    }
    const m = mountScan(device, layout);
    this.#st = {
      io: new SectorIo(device, layout),
      layout,
      sectors: m.sectors,
      index: m.index,
      active: usedSector(m.sectors, 'newest'),
      nextSectorSeq: m.maxSectorSeq + 1,
      hidden: hiddenByDamage(m.sectors),
    };
    this.#nextEntrySeq = m.maxEntrySeq + 1;
    this.#findings = m;
    for (const rec of this.#st.index.values()) this.#liveBytes += this.#footprint(rec);
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
    return this.#st.sectors[rec.sector]?.state === 'damaged'
      ? 0
      : this.#st.io.footprint(payloadLen(rec));
  }

  /** Erases what the mount found dead or torn: the first write's job, never a read's. */
  #settle(): void {
    for (const s of this.#st.sectors) if (s.state === 'dead') erase(this.#st, s);
  }

  get(label: string): EntryRec | undefined {
    return this.#st.index.get(label);
  }

  labels(): IterableIterator<string> {
    return this.#st.index.keys();
  }

  /** The stored value of a committed object; CKR_DEVICE_ERROR if it no longer matches its CRC. */
  readValue(rec: EntryRec): Uint8Array {
    const { value, fixed } = this.#st.io.readValue(rec);
    if (fixed) this.#valueFixes.add(rec.label);
    return value;
  }

  /** Commits a new version of `label`; the old one stays valid until this returns. */
  write(label: string, labelBytes: Uint8Array, value: Uint8Array, flags: number): EntryRec {
    this.#settle();
    const payload = new Uint8Array(labelBytes.length + value.length);
    payload.set(labelBytes);
    payload.set(value, labelBytes.length);
    const size = this.#st.io.footprint(payload.length);
    if (alignUp(payload.length, this.#st.layout.writeSize) > this.#maxPayload()) {
      throw new Pkcs11Error(CKR_DEVICE_MEMORY, `object of ${value.length} bytes exceeds a sector`);
    }
    // A new version of a label frees the old one. Writes that store more stop HEADROOM short of the
    // capacity; one that stores no more may use it, so a full flash still takes a PIN try counter, a
    // smaller index or a tombstone (issue 16 §3), and garbage collection always finds the room.
    const old = this.#st.index.get(label);
    const freed = old ? this.#footprint(old) : 0;
    const capacity = capacityOf(this.#st.sectors, this.#st.layout);
    const limit = size > freed ? capacity - HEADROOM : capacity;
    if (this.#liveBytes - freed + size > limit) {
      // A damaged sector is kept as found until the explicit repair, and its room with it.
      const damaged = this.#st.sectors.filter((s) => s.state === 'damaged').length;
      throw new Pkcs11Error(
        CKR_DEVICE_MEMORY,
        damaged === 0
          ? 'flash full'
          : `flash full while ${damaged} damaged sector(s) are kept as found: the repair (corepkcs11 fsck --repair) frees them`,
      );
    }
    const rec = this.#append(label, recordFields(ENTRY_OBJECT, flags, labelBytes, value), payload);
    this.#liveBytes -= freed;
    this.#st.index.set(label, rec);
    this.#liveBytes += size;
    return rec;
  }

  /** Commits a tombstone for `label` (which must exist). */
  remove(label: string, labelBytes: Uint8Array): void {
    const old = this.#st.index.get(label);
    if (!old) return;
    this.#settle();
    const none = new Uint8Array(0);
    this.#append(label, recordFields(ENTRY_TOMBSTONE, 0, labelBytes, none), labelBytes);
    this.#st.index.delete(label);
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
    const damaged = this.#st.sectors.filter((x) => x.state === 'damaged');
    for (const s of damaged.sort((a, b) => a.seq - b.seq)) {
      // The current version of each object, and the tombstones of labels now gone.
      const keep = s.entries.filter((e) =>
        e.type === ENTRY_OBJECT ? this.#st.index.get(e.label) === e : !this.#st.index.has(e.label),
      );
      for (const e of keep) this.#rewrite(e);
      writeSomewhere(this.#st, s, 0, (dest) => this.#st.io.writeMarker(s, dest), this.#st.active);
      erase(this.#st, s);
      const retired = s.state === 'bad' ? ' (its erase failed: retired)' : '';
      done.push(`sector ${s.index}: ${keep.length} records written again, sector erased${retired}`);
    }
    for (const rec of [...this.#st.index.values()]) {
      if (!rec.fixed && !this.#st.io.valueFixed(rec)) continue;
      this.#rewrite(rec);
      done.push(`"${rec.label}": written again without its flipped bit`);
    }
    this.#valueFixes.clear();
    this.#findings.problems.length = 0;
    this.#st.hidden = hiddenByDamage(this.#st.sectors);
    return done;
  }

  /** Writes a record again as its newest version: same label, flags and bytes (bits put right). */
  #rewrite(e: EntryRec): void {
    const rec = this.#append(e.label, fieldsOf(e), this.#st.io.readPayload(e));
    if (e.type !== ENTRY_OBJECT) return;
    this.#st.index.set(e.label, rec);
    this.#liveBytes += this.#footprint(rec) - this.#footprint(e);
  }

  stats(): FlashLogStats {
    const live = {
      active: this.#st.active,
      objects: this.#st.index.size,
      liveBytes: this.#liveBytes,
    };
    return statsOf(this.#st.sectors, this.#st.layout, this.#findings, live);
  }

  #append(label: string, f: NewEntry, payload: Uint8Array) {
    if (this.#nextEntrySeq > MAX_SEQ) {
      throw new Pkcs11Error(CKR_DEVICE_ERROR, 'flash sequence numbers exhausted');
    }
    const fields = { ...f, seq: this.#nextEntrySeq++, dataOffset: 0 };
    for (let failures = 0; ; ) {
      ensureRoom(this.#st, payload.length);
      const s = this.#st.active!;
      try {
        return this.#st.io.writeRecord(s, label, fields, payload);
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

  /** Largest label+value that fits a sector beside its header, its entry and the reserved slot. */
  #maxPayload(): number {
    return this.#st.layout.sectorSize - 3 * this.#st.layout.slot;
  }
}
