/**
 * The on-flash format of the flash PAL (docs/flash-pal.md §2): a header slot at the start of each sector,
 * data growing up after it, fixed-size entry slots growing down from the sector's end. Every header and
 * entry carries a CRC-32; an entry's CRC also covers its sector's sequence number, so an entry never
 * outlives the sector generation it was written in. Little-endian throughout.
 * @module
 */
import { crc32 } from '../../util/crc32.js';
import type { FlashGeometry } from './flash-device.js';

/**
 * 2: the header records the write size (bytes 24–27), which sets the slot size and data alignment; an
 * image written with another write size would otherwise be misread without an error. Version 1 images
 * (no write size recorded) are refused like any other foreign format.
 */
export const FORMAT_VERSION = 2;
/** 'CPF1' read as a little-endian u32. */
const SECTOR_MAGIC = 0x31465043;
/** "No value" in u32 header fields (the erased state, so it costs no programming). */
export const NONE = 0xffffffff;
/** Bytes of a header or entry before padding to the program granularity. */
const SLOT_BYTES = 32;

export const ENTRY_OBJECT = 0x5a;
export const ENTRY_TOMBSTONE = 0x3c;
/** Written into a GC destination after the last copy: the source sector's content is now dead. */
export const ENTRY_GC_DONE = 0x69;
export const FLAG_PRIVATE = 0x01;

export interface Layout {
  sectorSize: number;
  sectorCount: number;
  writeSize: number;
  /** Size of a header or entry slot: 32 bytes rounded up to writeSize. */
  slot: number;
}

export function layoutOf(g: FlashGeometry): Layout {
  return {
    sectorSize: g.sectorSize,
    sectorCount: g.sectorCount,
    writeSize: g.writeSize,
    slot: alignUp(SLOT_BYTES, g.writeSize),
  };
}

export function alignUp(n: number, unit: number): number {
  return Math.ceil(n / unit) * unit;
}

/** Offset of entry slot `j` (0 = the topmost) inside a sector. */
export function slotOffset(layout: Layout, j: number): number {
  return layout.sectorSize - (j + 1) * layout.slot;
}

export interface SectorHeader {
  /** Order in which sectors were opened; newer sectors hold newer or copied entries. */
  seq: number;
  /** seq of the sector this one is collecting (its GC source), or NONE. */
  gcSource: number;
  /** Every sector with a smaller seq is dead (garbage collected) when this header exists. */
  oldestLive: number;
}

/** A valid header written for another format version or geometry: `what` says which (refuse to mount). */
export interface ForeignHeader {
  foreign: string;
}

export type HeaderRead = SectorHeader | 'erased' | 'invalid' | ForeignHeader;

export function encodeHeader(layout: Layout, h: SectorHeader): Uint8Array {
  const out = new Uint8Array(layout.slot).fill(0xff);
  const v = new DataView(out.buffer);
  v.setUint32(0, SECTOR_MAGIC, true);
  v.setUint8(4, FORMAT_VERSION);
  v.setUint32(8, layout.sectorSize, true);
  v.setUint32(12, h.seq, true);
  v.setUint32(16, h.gcSource, true);
  v.setUint32(20, h.oldestLive, true);
  v.setUint32(24, layout.writeSize, true);
  v.setUint32(28, crc32(out.subarray(0, 28)), true);
  return out;
}

export function decodeHeader(layout: Layout, bytes: Uint8Array): HeaderRead {
  if (bytes.every((b) => b === 0xff)) return 'erased';
  const v = view(bytes);
  if (v.getUint32(0, true) !== SECTOR_MAGIC) return 'invalid';
  if (v.getUint32(28, true) !== crc32(bytes.subarray(0, 28))) return 'invalid';
  const version = v.getUint8(4);
  if (version !== FORMAT_VERSION) {
    return {
      foreign: `format version ${version}, this build reads version ${FORMAT_VERSION} only`,
    };
  }
  const sectorSize = v.getUint32(8, true);
  if (sectorSize !== layout.sectorSize) {
    return { foreign: `written with sector size ${sectorSize}, opened with ${layout.sectorSize}` };
  }
  const writeSize = v.getUint32(24, true);
  if (writeSize !== layout.writeSize) {
    return { foreign: `written with write size ${writeSize}, opened with ${layout.writeSize}` };
  }
  return {
    seq: v.getUint32(12, true),
    gcSource: v.getUint32(16, true),
    oldestLive: v.getUint32(20, true),
  };
}

/** An entry slot's fields. For ENTRY_GC_DONE, dataOffset is the source sector and labelCrc its seq. */
export interface EntryFields {
  type: number;
  flags: number;
  labelLen: number;
  dataOffset: number;
  valueLen: number;
  labelCrc: number;
  valueCrc: number;
  seq: number;
}

export type EntryRead = EntryFields | 'erased' | 'invalid';

/** An entry's fields before the write gives it a place and a sequence number. */
export type NewEntry = Omit<EntryFields, 'seq' | 'dataOffset'>;

/** The fields of an object (or, with an empty value, tombstone) entry for `label` and `value`. */
export function recordFields(
  type: number,
  flags: number,
  label: Uint8Array,
  value: Uint8Array,
): NewEntry {
  const valueCrc = type === ENTRY_OBJECT ? crc32(value) : 0;
  return {
    type,
    flags,
    labelLen: label.length,
    valueLen: value.length,
    labelCrc: crc32(label),
    valueCrc,
  };
}

export function encodeEntry(layout: Layout, e: EntryFields, sectorSeq: number): Uint8Array {
  const out = new Uint8Array(layout.slot).fill(0xff);
  const v = new DataView(out.buffer);
  v.setUint8(0, e.type);
  v.setUint8(1, e.flags);
  v.setUint16(2, e.labelLen, true);
  v.setUint32(4, e.dataOffset, true);
  v.setUint32(8, e.valueLen, true);
  v.setUint32(12, e.labelCrc, true);
  v.setUint32(16, e.valueCrc, true);
  v.setUint32(20, e.seq, true);
  v.setUint32(28, entryCrc(out, sectorSeq), true);
  return out;
}

export function decodeEntry(layout: Layout, bytes: Uint8Array, sectorSeq: number): EntryRead {
  if (bytes.every((b) => b === 0xff)) return 'erased';
  const v = view(bytes);
  if (v.getUint32(28, true) !== entryCrc(bytes, sectorSeq)) return 'invalid';
  const e: EntryFields = {
    type: v.getUint8(0),
    flags: v.getUint8(1),
    labelLen: v.getUint16(2, true),
    dataOffset: v.getUint32(4, true),
    valueLen: v.getUint32(8, true),
    labelCrc: v.getUint32(12, true),
    valueCrc: v.getUint32(16, true),
    seq: v.getUint32(20, true),
  };
  if (e.type !== ENTRY_OBJECT && e.type !== ENTRY_TOMBSTONE && e.type !== ENTRY_GC_DONE) {
    return 'invalid';
  }
  if (e.type !== ENTRY_GC_DONE) {
    const end = e.dataOffset + e.labelLen + e.valueLen;
    if (e.dataOffset < layout.slot || end > layout.sectorSize - layout.slot) return 'invalid';
  }
  return e;
}

function entryCrc(slot: Uint8Array, sectorSeq: number): number {
  const seq = new Uint8Array(4);
  new DataView(seq.buffer).setUint32(0, sectorSeq, true);
  return crc32(seq, crc32(slot.subarray(0, 28)));
}

function view(bytes: Uint8Array): DataView {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}
