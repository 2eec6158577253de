/**
 * Mount-time scan of the flash PAL (docs/flash-pal.md §3): classifies every sector, decides which ones an
 * interrupted garbage collection or erase left dead, and builds the in-RAM index of the newest committed
 * version of every label. Reads only; the erases it asks for are done by the caller (flash-log.ts).
 * @module
 */
import { Pkcs11Error } from '../../errors.js';
import { CKR_DEVICE_ERROR } from '../../pkcs11/constants.js';
import { crc32 } from '../../util/crc32.js';
import type { FlashDevice } from './flash-device.js';
import {
  alignUp,
  decodeEntry,
  decodeHeader,
  ENTRY_GC_DONE,
  ENTRY_OBJECT,
  type EntryFields,
  type Layout,
  NONE,
  slotOffset,
} from './format.js';

/** A committed object or tombstone entry, as kept in RAM. */
export interface EntryRec extends EntryFields {
  sector: number;
  slot: number;
  label: string;
}

export interface SectorState {
  index: number;
  state: 'erased' | 'used' | 'bad';
  seq: number;
  gcSource: number;
  oldestLive: number;
  /** Committed object and tombstone entries, in slot (write) order. */
  entries: EntryRec[];
  /** The sectors (index and seq) this sector's GC markers declare collected. */
  markers: SectorRef[];
  /** Entry slots consumed, valid or not. */
  slotsUsed: number;
  /** Sector-relative offset where the next data may be programmed. */
  dataEnd: number;
  /** No more appends in this session (a program failed here). */
  closed: boolean;
  /** Program failures seen this session: when the sector is next erased it is retired as bad. */
  failures: number;
}

export interface SectorRef {
  index: number;
  seq: number;
}

export interface MountResult {
  sectors: SectorState[];
  /** Sectors to erase before use: garbage, dead (collected), or an interrupted GC destination. */
  toErase: number[];
  /** Newest committed object per label (labels whose newest entry is a tombstone are absent). */
  index: Map<string, EntryRec>;
  maxSectorSeq: number;
  maxEntrySeq: number;
}

const decoder = new TextDecoder();

export function emptySector(index: number): SectorState {
  return {
    index,
    state: 'erased',
    seq: NONE,
    gcSource: NONE,
    oldestLive: NONE,
    entries: [],
    markers: [],
    slotsUsed: 0,
    dataEnd: 0,
    closed: false,
    failures: 0,
  };
}

export function mountScan(device: FlashDevice, layout: Layout): MountResult {
  const { sectorSize, sectorCount, slot } = layout;
  const sectors: SectorState[] = [];
  const garbage: number[] = [];
  let maxSectorSeq = 0;
  let deadBelow = 0;
  for (let i = 0; i < sectorCount; i++) {
    const s = emptySector(i);
    sectors.push(s);
    const h = decodeHeader(layout, device.read(i * sectorSize, slot));
    if (typeof h === 'object' && 'foreign' in h) {
      throw new Pkcs11Error(CKR_DEVICE_ERROR, `flash sector ${i} has another format: ${h.foreign}`);
    }
    if (h === 'erased' && device.isErased(i * sectorSize, sectorSize)) continue;
    if (typeof h === 'string') {
      garbage.push(i);
      continue;
    }
    Object.assign(s, { state: 'used', seq: h.seq, gcSource: h.gcSource, oldestLive: h.oldestLive });
    maxSectorSeq = Math.max(maxSectorSeq, h.seq);
    deadBelow = Math.max(deadBelow, h.oldestLive);
  }

  const dead = new Set<number>();
  let maxEntrySeq = 0;
  /** Sector index → seqs of the sectors its GC markers declare collected. */
  const markersIn = new Map<number, Set<number>>();
  for (const s of sectors) {
    if (s.state !== 'used') continue;
    if (s.seq < deadBelow) {
      dead.add(s.index);
      continue;
    }
    scanEntries(device, layout, s);
    for (const m of s.markers) {
      markersIn.set(s.index, (markersIn.get(s.index) ?? new Set()).add(m.seq));
      const src = sectors[m.index];
      if (src?.state === 'used' && src.seq === m.seq) dead.add(src.index);
    }
    for (const e of s.entries) maxEntrySeq = Math.max(maxEntrySeq, e.seq);
  }

  // A sector opened as a GC destination commits the marker for its source before anything but copies
  // goes in. Without that marker its collection was cut short or failed: it holds only duplicates of
  // entries still in the source (or, once the source is collected, in another destination), so it is
  // dead, whether it is the newest sector or an older one whose erase failed. (A cut while merging a
  // further sector into it leaves harmless duplicates: same seq, same bytes.)
  for (const s of sectors) {
    if (s.state !== 'used' || dead.has(s.index) || s.gcSource === NONE) continue;
    if (!markersIn.get(s.index)?.has(s.gcSource)) dead.add(s.index);
  }

  const index = new Map<string, EntryRec>();
  const newestSeen = new Map<string, EntryRec>();
  for (const s of sectors) {
    if (s.state !== 'used') continue;
    if (dead.has(s.index)) {
      s.entries = [];
      s.markers = [];
      continue;
    }
    for (const e of s.entries) {
      const seen = newestSeen.get(e.label);
      const sectorOf = (r: EntryRec) => sectors[r.sector]!.seq;
      if (!seen || e.seq > seen.seq || (e.seq === seen.seq && sectorOf(e) > sectorOf(seen))) {
        newestSeen.set(e.label, e);
      }
    }
  }
  for (const [label, e] of newestSeen) if (e.type === ENTRY_OBJECT) index.set(label, e);
  return { sectors, toErase: [...garbage, ...dead], index, maxSectorSeq, maxEntrySeq };
}

/**
 * Reads a used sector's entry slots from the top down to the first erased slot, fills in `entries`,
 * `markers`, `slotsUsed` and `dataEnd`. Invalid slots (torn commits) are skipped
 * but stay consumed, and any programmed byte in the free gap (torn data) moves `dataEnd` past it.
 */
function scanEntries(device: FlashDevice, layout: Layout, s: SectorState): void {
  const { sectorSize, slot, writeSize } = layout;
  const base = s.index * sectorSize;
  const maxSlots = Math.floor((sectorSize - slot) / slot);
  let dataEnd = slot;
  let j = 0;
  for (; j < maxSlots; j++) {
    const at = slotOffset(layout, j);
    const e = decodeEntry(layout, device.read(base + at, slot), s.seq);
    if (e === 'erased') break;
    if (e === 'invalid') continue;
    if (e.type === ENTRY_GC_DONE) {
      s.markers.push({ index: e.dataOffset, seq: e.labelCrc });
      continue;
    }
    const end = e.dataOffset + e.labelLen + e.valueLen;
    if (end > at) continue;
    const labelBytes = device.read(base + e.dataOffset, e.labelLen);
    if (crc32(labelBytes) !== e.labelCrc) continue;
    dataEnd = Math.max(dataEnd, alignUp(end, writeSize));
    s.entries.push({ ...e, sector: s.index, slot: j, label: decoder.decode(labelBytes) });
  }
  s.slotsUsed = j;
  const gapEnd = slotOffset(layout, j);
  const gap = device.read(base + dataEnd, Math.max(0, gapEnd - dataEnd));
  let last = gap.length - 1;
  while (last >= 0 && gap[last] === 0xff) last--;
  s.dataEnd = alignUp(dataEnd + last + 1, writeSize);
}
