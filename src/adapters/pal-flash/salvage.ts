/**
 * Reading damaged flash without guessing (docs/flash-pal.md §4): a header or entry slot whose CRC fails
 * is read as what it was when one flipped bit explains the mismatch (CRC-32 locates it uniquely in
 * 32 bytes), and a sector whose header is beyond that still names its sequence number through its
 * entries: each entry's CRC covers that number, so the CRC can be solved for it, and a number that
 * several entries agree on, each with a label matching its own CRC, is the sector's. Reads only.
 * @module
 */
import { crc32, crc32BitError, crc32Suffix, withBitFlipped } from '../../util/crc32.js';
import type { FlashDevice } from './flash-device.js';
import {
  decodeEntry,
  decodeHeader,
  ENTRY_GC_DONE,
  type EntryFields,
  type HeaderRead,
  type Layout,
  slotOffset,
} from './format.js';

const CRC_AT = 28;

function u32(bytes: Uint8Array, at: number): number {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(at, true);
}

function le32(n: number): Uint8Array {
  const out = new Uint8Array(4);
  new DataView(out.buffer).setUint32(0, n, true);
  return out;
}

/** `slot` with its first 28 bytes corrected by one bit and its CRC field recomputed by `crcOf`. */
function corrected(
  slot: Uint8Array,
  message: Uint8Array,
  searchBytes: number,
  crcOf: (fixed: Uint8Array) => number,
): Uint8Array | undefined {
  const err = crc32BitError(message, u32(slot, CRC_AT), searchBytes);
  if (err === undefined) return undefined;
  const fixed = withBitFlipped(slot, err);
  new DataView(fixed.buffer).setUint32(CRC_AT, crcOf(fixed), true);
  return fixed;
}

/** A header slot that fails its CRC, read as written when one flipped bit explains it. */
export function correctHeader(layout: Layout, slot: Uint8Array): HeaderRead | undefined {
  const fixed = corrected(slot, slot.subarray(0, CRC_AT), CRC_AT, (f) =>
    crc32(f.subarray(0, CRC_AT)),
  );
  if (!fixed) return undefined;
  const h = decodeHeader(layout, fixed);
  return typeof h === 'string' ? undefined : h;
}

/** An entry slot that fails its CRC, read as written when one flipped bit explains it. */
export function correctEntry(
  layout: Layout,
  slot: Uint8Array,
  sectorSeq: number,
): EntryFields | undefined {
  const message = new Uint8Array(CRC_AT + 4);
  message.set(slot.subarray(0, CRC_AT));
  message.set(le32(sectorSeq), CRC_AT);
  const fixed = corrected(slot, message, CRC_AT, (f) =>
    crc32(le32(sectorSeq), crc32(f.subarray(0, CRC_AT))),
  );
  if (!fixed) return undefined;
  const e = decodeEntry(layout, fixed, sectorSeq);
  return typeof e === 'string' ? undefined : e;
}

/** Label bytes that fail their CRC, corrected when one flipped bit explains it. */
export function correctBytes(bytes: Uint8Array, crc: number): Uint8Array | undefined {
  const err = crc32BitError(bytes, crc);
  return err === undefined ? undefined : withBitFlipped(bytes, err);
}

/** The sector sequence number an entry slot's CRC was computed with (whatever the slot holds). */
function impliedSeq(slot: Uint8Array): number {
  const s = crc32Suffix(crc32(slot.subarray(0, CRC_AT)), u32(slot, CRC_AT));
  return u32(s, 0);
}

/**
 * The sequence number of a sector whose header cannot be read, from its entries: the number most
 * object and tombstone entries imply whose label bytes match their CRC. Undefined when no entry can
 * be read that way (the sector holds nothing recoverable).
 */
export function inferSectorSeq(
  device: FlashDevice,
  layout: Layout,
  index: number,
): number | undefined {
  const { sectorSize, slot } = layout;
  const base = index * sectorSize;
  const votes = new Map<number, number>();
  const maxSlots = Math.floor((sectorSize - slot) / slot);
  for (let j = 0; j < maxSlots; j++) {
    const bytes = device.read(base + slotOffset(layout, j), slot);
    if (bytes.every((b) => b === 0xff)) break;
    const seq = impliedSeq(bytes);
    const e = decodeEntry(layout, bytes, seq);
    if (typeof e === 'string' || e.type === ENTRY_GC_DONE) continue;
    if (e.dataOffset + e.labelLen + e.valueLen > slotOffset(layout, j)) continue;
    if (crc32(device.read(base + e.dataOffset, e.labelLen)) !== e.labelCrc) continue;
    votes.set(seq, (votes.get(seq) ?? 0) + 1);
  }
  let best: number | undefined;
  for (const [seq, n] of votes) if (best === undefined || n > (votes.get(best) ?? 0)) best = seq;
  return best;
}
