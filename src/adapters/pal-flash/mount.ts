/**
 * Mount-time scan of the flash PAL (docs/flash-pal.md §4): classifies every sector, decides which ones an
 * interrupted garbage collection or erase left dead, and builds the in-RAM index of the newest committed
 * version of every label. Reads only: the erases it finds necessary wait for the first write
 * (flash-log.ts), and a sector whose header fails its checks but still holds readable records is kept
 * as it is ("damaged": its records are served, nothing is appended to it or collected from it) until
 * `corepkcs11 fsck --repair`. One flipped bit in a header, an entry or a label is read as written.
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
  type EntryRead,
  type Layout,
  NONE,
  type SectorHeader,
  slotOffset,
} from './format.js';
import { correctBytes, correctEntry, correctHeader, inferSectorSeq } from './salvage.js';

/** A committed object or tombstone entry, as kept in RAM. */
export interface EntryRec extends EntryFields {
  sector: number;
  slot: number;
  label: string;
  /** One flipped bit in its entry or label was read as written (a repair writes it again). */
  fixed?: boolean;
}

/**
 * erased: ready to open. used: healthy, in the log. dead: to be erased by the next write (collected,
 * garbage, or an interrupted GC destination). damaged: its header fails its checks, its records are
 * still read; kept until a repair. bad: retired for this session.
 */
export type SectorKind = 'erased' | 'used' | 'dead' | 'damaged' | 'bad';

export interface SectorState {
  index: number;
  state: SectorKind;
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
  /** No more appends in this session (a program failed here, or the sector is damaged). */
  closed: boolean;
  /** Program failures seen this session: when the sector is next erased it is retired as bad. */
  failures: number;
  /** Why a damaged sector is damaged (reports). */
  damage?: string;
}

export interface SectorRef {
  index: number;
  seq: number;
}

/** What the scan found wrong: reported by the PAL, never acted on by a read. */
export interface MountFindings {
  /** One line per damaged sector or corrected bit. */
  problems: string[];
  /** Bits read as written although they had flipped (headers, entries, labels). */
  correctedBits: number;
  /** Entry slots that could not be read (torn commits after a power cut, or damage). */
  unreadableSlots: number;
}

export interface MountResult extends MountFindings {
  sectors: SectorState[];
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

function readHeader(
  device: FlashDevice,
  layout: Layout,
  s: SectorState,
  f: MountFindings,
): SectorHeader | undefined {
  const { sectorSize, slot } = layout;
  const bytes = device.read(s.index * sectorSize, slot);
  const h = decodeHeader(layout, bytes);
  const foreign = (x: unknown) => typeof x === 'object' && x !== null && 'foreign' in x;
  if (foreign(h)) {
    const why = (h as { foreign: string }).foreign;
    throw new Pkcs11Error(CKR_DEVICE_ERROR, `flash sector ${s.index} has another format: ${why}`);
  }
  if (typeof h === 'object') return h as SectorHeader;
  if (h === 'erased' && device.isErased(s.index * sectorSize, sectorSize)) return undefined;
  const fixed = h === 'invalid' ? correctHeader(layout, bytes) : undefined;
  if (fixed && !foreign(fixed)) {
    f.correctedBits++;
    s.damage = 'its header fails its CRC (one flipped bit, read as written)';
    return fixed as SectorHeader;
  }
  // Beyond one bit: the entries still say which sector generation they belong to.
  const seq = inferSectorSeq(device, layout, s.index);
  s.state = 'dead';
  if (seq === undefined) return undefined;
  s.damage = `its header is unreadable (sequence number ${seq} recovered from its entries)`;
  return { seq, gcSource: NONE, oldestLive: 0 };
}

export function mountScan(device: FlashDevice, layout: Layout): MountResult {
  const f: MountFindings = { problems: [], correctedBits: 0, unreadableSlots: 0 };
  const sectors: SectorState[] = [];
  let maxSectorSeq = 0;
  let deadBelow = 0;
  for (let i = 0; i < layout.sectorCount; i++) {
    const s = emptySector(i);
    sectors.push(s);
    const h = readHeader(device, layout, s, f);
    if (!h) continue;
    Object.assign(s, { state: s.damage ? 'damaged' : 'used', ...h });
    maxSectorSeq = Math.max(maxSectorSeq, h.seq);
    deadBelow = Math.max(deadBelow, h.oldestLive);
  }

  const dead = new Set<number>();
  let maxEntrySeq = 0;
  /** Sector index → seqs of the sectors its GC markers declare collected. */
  const markersIn = new Map<number, Set<number>>();
  for (const s of sectors) {
    if (s.state !== 'used' && s.state !== 'damaged') continue;
    if (s.seq < deadBelow) {
      dead.add(s.index);
      continue;
    }
    scanEntries(device, layout, s, f);
    for (const m of s.markers) {
      markersIn.set(s.index, (markersIn.get(s.index) ?? new Set()).add(m.seq));
      const src = sectors[m.index];
      if ((src?.state === 'used' || src?.state === 'damaged') && src.seq === m.seq) {
        dead.add(src.index);
      }
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
  for (const s of sectors)
    if (s.state === 'damaged' && copiesOnly(s, sectors, dead)) dead.add(s.index);

  const index = buildIndex(sectors, dead);
  for (const e of index.values()) {
    if (e.fixed && sectors[e.sector]?.state === 'used') {
      f.problems.push(`"${e.label}" (sector ${e.sector}): one flipped bit, read as written`);
    }
  }
  for (const s of sectors) {
    if (dead.has(s.index)) {
      if (s.damage) f.problems.push(`sector ${s.index}: ${s.damage}; holds nothing of its own`);
      Object.assign(s, { state: 'dead', entries: [], markers: [] });
    } else if (s.state === 'damaged') {
      s.closed = true;
      const live = s.entries.filter((e) => index.get(e.label) === e).length;
      f.problems.push(
        `damaged sector ${s.index}: ${s.damage}; ${s.entries.length} records read, ${live} current; kept as it is until a repair`,
      );
    }
  }
  return { ...f, sectors, index, maxSectorSeq, maxEntrySeq };
}

/**
 * A damaged sector whose every record is also in a healthy live sector (same label, same seq) holds
 * nothing of its own: what a cut left of an interrupted GC destination, or of a repair's erase.
 */
function copiesOnly(s: SectorState, sectors: SectorState[], dead: Set<number>): boolean {
  const elsewhere = new Set<string>();
  for (const o of sectors) {
    if (o.state !== 'used' || dead.has(o.index)) continue;
    for (const e of o.entries) elsewhere.add(`${e.seq}:${e.label}`);
  }
  const namesLive = s.markers.some((m) => sectors[m.index]?.seq === m.seq && !dead.has(m.index));
  return !namesLive && s.entries.every((e) => elsewhere.has(`${e.seq}:${e.label}`));
}

/** Newest entry per label wins; on equal seq (copies) a healthy sector's, then the newer sector's. */
function buildIndex(sectors: SectorState[], dead: Set<number>): Map<string, EntryRec> {
  const rank = (r: EntryRec) => {
    const s = sectors[r.sector]!;
    return [r.seq, s.state === 'damaged' ? 0 : 1, s.seq];
  };
  const newer = (a: EntryRec, b: EntryRec) => {
    const [x, y] = [rank(a), rank(b)];
    for (let i = 0; i < x.length; i++)
      if (x[i] !== y[i]) return (x[i] as number) > (y[i] as number);
    return false;
  };
  const newest = new Map<string, EntryRec>();
  for (const s of sectors) {
    if ((s.state !== 'used' && s.state !== 'damaged') || dead.has(s.index)) continue;
    for (const e of s.entries) {
      const seen = newest.get(e.label);
      if (!seen || newer(e, seen)) newest.set(e.label, e);
    }
  }
  const index = new Map<string, EntryRec>();
  for (const [label, e] of newest) if (e.type === ENTRY_OBJECT) index.set(label, e);
  return index;
}

/**
 * Reads a sector's entry slots from the top down to the first erased slot, fills in `entries`,
 * `markers`, `slotsUsed` and `dataEnd`. Invalid slots (torn commits) are skipped
 * but stay consumed, and any programmed byte in the free gap (torn data) moves `dataEnd` past it.
 */
function scanEntries(device: FlashDevice, layout: Layout, s: SectorState, f: MountFindings): void {
  const { sectorSize, slot, writeSize } = layout;
  const base = s.index * sectorSize;
  const maxSlots = Math.floor((sectorSize - slot) / slot);
  let dataEnd = slot;
  let j = 0;
  for (; j < maxSlots; j++) {
    const at = slotOffset(layout, j);
    const bytes = device.read(base + at, slot);
    let e: EntryRead | (EntryFields & { fixed?: boolean }) = decodeEntry(layout, bytes, s.seq);
    if (e === 'erased') break;
    if (e === 'invalid') {
      const fixed = correctEntry(layout, bytes, s.seq);
      if (!fixed) {
        f.unreadableSlots++;
        continue;
      }
      e = { ...fixed, fixed: true };
      f.correctedBits++;
    }
    if (e.type === ENTRY_GC_DONE) {
      s.markers.push({ index: e.dataOffset, seq: e.labelCrc });
      continue;
    }
    const end = e.dataOffset + e.labelLen + e.valueLen;
    if (end > at) continue;
    let labelBytes = device.read(base + e.dataOffset, e.labelLen);
    if (crc32(labelBytes) !== e.labelCrc) {
      const fixed = correctBytes(labelBytes, e.labelCrc);
      if (!fixed) {
        f.unreadableSlots++;
        continue;
      }
      labelBytes = fixed;
      e = { ...e, fixed: true };
      f.correctedBits++;
    }
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
