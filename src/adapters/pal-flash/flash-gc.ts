/**
 * The flash log's collector (docs/flash-pal.md §3): opening the next erased sector in ring order, FIFO
 * garbage collection of the oldest sector into a spare (live entries copied, a GC-done marker, then the
 * erase), merging while the next oldest fits too, refilling a spare a failure used up, evacuating the
 * oldest sector when no spare is left, and retiring sectors whose program or erase fails. flash-log.ts
 * decides what to write; this decides where, and makes the room.
 * @module
 */
import { Pkcs11Error } from '../../errors.js';
import { CKR_DEVICE_ERROR, CKR_DEVICE_MEMORY } from '../../pkcs11/constants.js';
import { FlashIoError } from './flash-device.js';
import { ENTRY_OBJECT, type Layout } from './format.js';
import { type EntryRec, emptySector, type SectorState } from './mount.js';
import type { SectorIo } from './sector-io.js';
import {
  entriesToCopy,
  markersToCarry,
  nextOpening,
  spaceFor,
  sparesFor,
  usableCount,
  usedSector,
} from './sectors.js';

/** What the log and its collector share: the sectors, the label index and where writes go. */
export interface LogState {
  readonly io: SectorIo;
  readonly layout: Layout;
  readonly sectors: SectorState[];
  readonly index: Map<string, EntryRec>;
  /** Labels of object entries in damaged sectors → their lowest seq (tombstones must keep hiding them). */
  hidden: Map<string, number>;
  active: SectorState | undefined;
  nextSectorSeq: number;
}

/** Runs `work` on sector `s`; a program failure closes the sector (written no more) and is absorbed. */
function closeOnFailure(s: SectorState, work: () => void): void {
  try {
    work();
  } catch (e) {
    if (!(e instanceof FlashIoError)) throw e;
    s.closed = true;
    s.failures++;
  }
}

/** Makes the active sector one that fits `payloadLength`, opening (and collecting) sectors as needed. */
export function ensureRoom(st: LogState, payloadLength: number): void {
  restoreSpares(st);
  const good = usableCount(st.sectors);
  for (let i = 0; i <= good + 1; i++) {
    if (st.active && st.io.fits(st.active, payloadLength)) return;
    openNext(st);
  }
  throw new Pkcs11Error(CKR_DEVICE_MEMORY, 'flash full (fragmented)');
}

/**
 * Opens the next erased sector in ring order. When it is the last erased one, it becomes the GC
 * destination of the oldest sector, which is erased once its live objects are copied and marked done.
 */
function openNext(st: LogState): void {
  for (;;) {
    const next = nextOpening(st.sectors, st.active, st.nextSectorSeq);
    if (!next) {
      evacuateOldest(st);
      continue;
    }
    const { target, source, header } = next;
    try {
      st.io.writeHeader(target, header);
    } catch (e) {
      if (!(e instanceof FlashIoError)) throw e;
      target.state = 'bad';
      continue;
    }
    st.nextSectorSeq++;
    Object.assign(target, emptySector(target.index), { state: 'used', ...header });
    target.dataEnd = st.layout.slot;
    const previous = st.active;
    st.active = target;
    if (!source) return;
    try {
      collect(st, source, target);
    } catch (e) {
      if (!(e instanceof FlashIoError)) throw e;
      // The copies were never indexed: drop the destination, the source is still intact. Should the
      // erase fail too, the mount still finds it dead: it holds no marker for its gcSource.
      erase(st, target);
      target.state = 'bad';
      st.active = previous;
      continue;
    }
    // Should a merge fail, the destination holds the first source's only copies: keep it, closed.
    closeOnFailure(target, () => mergeOldest(st, target));
    return;
  }
}

/**
 * A failure used up a spare: collect the oldest sector(s) into the active one while their live data
 * fits, so the spares come back as soon as the live data allows, not a whole lap later. Sound like any
 * merge: the source is the oldest sector, and a cut leaves only same-seq duplicates in the active one.
 */
function restoreSpares(st: LogState): void {
  const active = st.active;
  const erased = st.sectors.filter((s) => s.state === 'erased').length;
  if (!active || active.closed || erased >= sparesFor(st.sectors)) return;
  closeOnFailure(active, () => mergeOldest(st, active));
}

/**
 * Plain FIFO collection never consolidates: each sector's live data moves on alone. So while the next
 * oldest sector's live entries (and a marker) fit in the destination too, collect it as well; it is
 * the oldest by then, which keeps dropping its tombstones sound.
 */
function mergeOldest(st: LogState, dest: SectorState): void {
  for (;;) {
    const next = usedSector(st.sectors, 'oldest');
    if (!next || next === dest || !liveFits(st, next, dest)) return;
    collect(st, next, dest);
  }
}

/**
 * No erased sector is left (the spare turned out bad): free the oldest sector by copying its live
 * entries, one by one, into any used sector with room, then marking it collected and erasing it. Sound
 * like a normal collection: only newest versions are copied, and the source is the oldest sector.
 */
function evacuateOldest(st: LogState): void {
  const source = usedSector(st.sectors, 'oldest');
  if (!source) throw new Pkcs11Error(CKR_DEVICE_ERROR, 'no usable flash sector left');
  for (const e of entriesToCopy(source, st.index, st.hidden)) {
    const payload = st.io.readPayload(e);
    const copy = writeSomewhere(st, source, payload.length, (dest) =>
      st.io.writeRecord(dest, e.label, e, payload),
    );
    if (copy.type === ENTRY_OBJECT) st.index.set(copy.label, copy);
  }
  for (const m of markersToCarry(st.sectors, source)) {
    writeSomewhere(st, source, 0, (dest) => st.io.writeMarker(m, dest), st.active);
  }
  writeSomewhere(st, source, 0, (dest) => st.io.writeMarker(source, dest), st.active);
  erase(st, source);
}

/**
 * Runs `write` on `preferred` if it fits `payloadLength`, else on the roomiest healthy sector other than
 * `source`. (Markers go to the active sector when they can: it is the last one to be collected.)
 */
export function writeSomewhere<T>(
  st: LogState,
  source: SectorState,
  payloadLength: number,
  write: (s: SectorState) => T,
  preferred?: SectorState,
): T {
  for (;;) {
    const room = (s: SectorState) => st.io.freeLimit(s, 1) - s.dataEnd;
    const fitting = st.sectors.filter((s) => s !== source && st.io.fits(s, payloadLength));
    const dest =
      preferred && fitting.includes(preferred)
        ? preferred
        : fitting.sort((a, b) => room(b) - room(a))[0];
    if (!dest) throw new Pkcs11Error(CKR_DEVICE_ERROR, 'no erased flash sector left (bad sectors)');
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
function liveFits(st: LogState, source: SectorState, dest: SectorState): boolean {
  const { data, slots } = spaceFor(entriesToCopy(source, st.index, st.hidden), st.layout);
  const markers = 1 + markersToCarry(st.sectors, source, dest).length;
  return dest.dataEnd + data <= st.io.freeLimit(dest, slots + markers);
}

function collect(st: LogState, source: SectorState, dest: SectorState): void {
  const copies: EntryRec[] = [];
  for (const e of entriesToCopy(source, st.index, st.hidden)) {
    copies.push(st.io.writeRecord(dest, e.label, e, st.io.readPayload(e)));
  }
  for (const m of markersToCarry(st.sectors, source, dest)) st.io.writeMarker(m, dest);
  st.io.writeMarker(source, dest);
  for (const rec of copies) if (rec.type === ENTRY_OBJECT) st.index.set(rec.label, rec);
  erase(st, source);
}

/** Erases a sector; on failure it is retired as bad (its content is already dead). */
export function erase(st: LogState, s: SectorState): void {
  const ok = st.io.erase(s);
  const { failures, seq } = s;
  Object.assign(s, emptySector(s.index));
  if (!ok || failures > 0) s.state = 'bad';
  // A failed erase may leave a valid header behind: remember its seq so markers naming it are kept.
  if (!ok) s.seq = seq;
  if (st.active === s) st.active = usedSector(st.sectors, 'newest');
}
