/**
 * Queries over the flash PAL's sector table that garbage collection decides by (docs/flash-pal.md §3):
 * which sector is oldest or newest, how many the log may use and keep spare, what a collection must
 * copy, which GC markers move with it, and the space figures. Pure functions: flash-log.ts and flash-gc.ts act on them.
 * Damaged sectors (kept as they are until a repair) are neither collected nor written, but they still
 * bound the "oldest live" sequence number and their objects must stay hidden behind later tombstones.
 * @module
 */
import {
  alignUp,
  ENTRY_OBJECT,
  type Layout,
  type NewEntry,
  NONE,
  type SectorHeader,
} from './format.js';
import type { EntryRec, MountFindings, SectorKind, SectorRef, SectorState } from './mount.js';

/**
 * Erased sectors kept in reserve (stores of 5 usable sectors or more). With one, a GC destination that
 * fails leaves no erased sector and every used one full: nothing can be collected again. The second lets
 * the collection be redone elsewhere, and capacity counts it, so the live data always fits without it.
 */
const SPARE_SECTORS = 2;

export interface FlashLogStats {
  sectorCount: number;
  erased: number;
  used: number;
  bad: number;
  /** Sectors whose header fails its checks, kept as they are (their records still read). */
  damaged: number;
  /** Sectors found dead or torn at mount, erased by the next write (a read writes nothing). */
  toErase: number;
  /** Bits read as written although they had flipped (found at mount). */
  correctedBits: number;
  /** Entry slots that could not be read (torn commits after a power cut, or damage). */
  unreadableSlots: number;
  activeSector: number | undefined;
  objects: number;
  /** Bytes (data and entry slots) of the newest version of every object outside damaged sectors. */
  liveBytes: number;
  /** Bytes programmed in used sectors, live or dead (headers excluded). */
  usedBytes: number;
  /** The most live bytes the store accepts (one or two sectors are always kept erased for GC). */
  capacityBytes: number;
}

/** The used sector with the smallest (`oldest`) or largest seq. */
export function usedSector(sectors: SectorState[], which: 'oldest' | 'newest') {
  let best: SectorState | undefined;
  for (const s of sectors) {
    if (s.state !== 'used') continue;
    if (!best || (which === 'oldest' ? s.seq < best.seq : s.seq > best.seq)) best = s;
  }
  return best;
}

/** Sectors the log may use: not retired, not damaged. */
export function usableCount(sectors: SectorState[]): number {
  return sectors.filter((s) => s.state !== 'bad' && s.state !== 'damaged').length;
}

/**
 * Two spares from 5 usable sectors up (3 or more left for data); smaller stores keep one, so a failing
 * GC destination there can still end writes (CKR_DEVICE_ERROR).
 */
export function sparesFor(sectors: SectorState[]): number {
  return usableCount(sectors) >= 5 ? SPARE_SECTORS : 1;
}

export function capacityOf(sectors: SectorState[], layout: Layout): number {
  const usable = usableCount(sectors) - sparesFor(sectors);
  return Math.max(0, usable) * (layout.sectorSize - 2 * layout.slot);
}

/** A new header's oldestLive: the smallest seq of a used or damaged sector (none when there is none). */
export function oldestLiveSeq(sectors: SectorState[]): number | undefined {
  let min: number | undefined;
  for (const s of sectors) {
    if (s.state === 'used' || s.state === 'damaged') min = Math.min(min ?? s.seq, s.seq);
  }
  return min;
}

/** Labels of object entries in damaged sectors → their lowest seq. */
export function hiddenByDamage(sectors: SectorState[]): Map<string, number> {
  const hidden = new Map<string, number>();
  for (const s of sectors) {
    if (s.state !== 'damaged') continue;
    for (const e of s.entries) {
      if (e.type === ENTRY_OBJECT)
        hidden.set(e.label, Math.min(e.seq, hidden.get(e.label) ?? e.seq));
    }
  }
  return hidden;
}

/**
 * The entries of `source` a collection must copy: the newest version of every live object, and the
 * newest tombstone of a deleted label that still hides an older version in a damaged sector (never
 * collected, so "the source is the oldest sector" no longer makes dropping it sound).
 */
export function entriesToCopy(
  source: SectorState,
  index: Map<string, EntryRec>,
  hidden: Map<string, number>,
): EntryRec[] {
  const out: EntryRec[] = [];
  const tombs = new Map<string, EntryRec>();
  for (const e of source.entries) {
    if (e.type === ENTRY_OBJECT) {
      if (index.get(e.label) === e) out.push(e);
    } else if (!index.has(e.label) && e.seq > (hidden.get(e.label) ?? NONE)) {
      const seen = tombs.get(e.label);
      if (!seen || e.seq > seen.seq) tombs.set(e.label, e);
    }
  }
  return [...out, ...tombs.values()];
}

/** Entry slots and aligned data bytes the entries take in a destination. */
export function spaceFor(entries: EntryRec[], layout: Layout): { data: number; slots: number } {
  let data = 0;
  for (const e of entries) data += alignUp(e.labelLen + e.valueLen, layout.writeSize);
  return { data, slots: entries.length };
}

/**
 * Markers of `source` naming a collected sector that failed to erase (bad, still holding a valid
 * header): they move with the collection, or that stale sector would look live at the next mount.
 * Not into a `dest` whose header already declares it dead (its seq below dest's oldestLive), which is
 * always so for a collection (the stale sector was collected before dest was opened): carrying them
 * there would add a slot per generation and break "live entries plus a marker fit a fresh sector".
 */
export function markersToCarry(
  sectors: SectorState[],
  source: SectorState,
  dest?: SectorState,
): SectorRef[] {
  return source.markers.filter((m) => {
    const t = sectors[m.index];
    if (dest && m.seq < dest.oldestLive) return false;
    return t !== undefined && t.state === 'bad' && t.seq === m.seq;
  });
}

/** The entry fields of a record to write again (a new seq and place are given by the write). */
export function fieldsOf(e: EntryRec): NewEntry {
  const { type, flags, labelLen, valueLen, labelCrc, valueCrc } = e;
  return { type, flags, labelLen, valueLen, labelCrc, valueCrc };
}

/** The figures of FlashLogStats from the sector table and the log's own counts. */
export function statsOf(
  sectors: SectorState[],
  layout: Layout,
  found: MountFindings,
  live: { active: SectorState | undefined; objects: number; liveBytes: number },
): FlashLogStats {
  const count = (state: SectorKind) => sectors.filter((s) => s.state === state);
  return {
    sectorCount: sectors.length,
    erased: count('erased').length,
    used: count('used').length,
    bad: count('bad').length,
    damaged: count('damaged').length,
    toErase: count('dead').length,
    correctedBits: found.correctedBits,
    unreadableSlots: found.unreadableSlots,
    activeSector: live.active?.index,
    objects: live.objects,
    liveBytes: live.liveBytes,
    usedBytes: count('used').reduce(
      (n, s) => n + s.dataEnd - layout.slot + s.slotsUsed * layout.slot,
      0,
    ),
    capacityBytes: capacityOf(sectors, layout),
  };
}

/**
 * The next sector to open: the first erased one in ring order after `active`. When it is one of the
 * last spares, it opens as the GC destination of the oldest used sector (`source`). Undefined when no
 * erased sector is left.
 */
export function nextOpening(
  sectors: SectorState[],
  active: SectorState | undefined,
  seq: number,
): { target: SectorState; source: SectorState | undefined; header: SectorHeader } | undefined {
  const start = active ? active.index + 1 : 0;
  const candidates: SectorState[] = [];
  for (let k = 0; k < sectors.length; k++) {
    const s = sectors[(start + k) % sectors.length]!;
    if (s.state === 'erased') candidates.push(s);
  }
  const target = candidates[0];
  if (!target) return undefined;
  const source =
    candidates.length <= sparesFor(sectors) ? usedSector(sectors, 'oldest') : undefined;
  const oldestLive = oldestLiveSeq(sectors) ?? seq;
  return { target, source, header: { seq, gcSource: source?.seq ?? NONE, oldestLive } };
}
